import { describe, expect, it } from 'vitest';
import { checkDefinitions, emptyCatalog } from '../catalog.js';
import { parseDdl } from '../parser.js';
import { aggregateTableChanges } from './table-changes.js';

const base = checkDefinitions(
  parseDdl(`
    CREATE AGGREGATE account (id serial PRIMARY KEY, name text);
    CREATE AGGREGATE note (id serial PRIMARY KEY, body text);
    CREATE EVENT_TYPE account_created (id creates account(id), name updates account(name));
    CREATE EVENT_TYPE note_created (id creates note(id), body updates note(body));`),
).catalog;

function changesOf(ddl: string, sameShape?: (name: string) => boolean) {
  const applied = checkDefinitions(parseDdl(ddl), base);
  return aggregateTableChanges(base, applied.catalog, applied.changes, sameShape);
}

describe('aggregateTableChanges', () => {
  it('creates every aggregate of a first change and rebuilds nothing', () => {
    const applied = checkDefinitions(
      parseDdl('CREATE AGGREGATE b (id int PRIMARY KEY); CREATE AGGREGATE a (id int PRIMARY KEY)'),
    );
    expect(aggregateTableChanges(emptyCatalog(), applied.catalog, applied.changes)).toEqual({
      created: ['a', 'b'],
      rebuilt: [],
      dropped: [],
    });
  });

  it('rebuilds an aggregate whose definition changed, and only that one', () => {
    expect(changesOf("ALTER AGGREGATE account ALTER COLUMN name SET DEFAULT 'x'")).toEqual({
      created: [],
      rebuilt: ['account'],
      dropped: [],
    });
  });

  it('rebuilds the aggregates an altered or dropped event type links to', () => {
    expect(
      changesOf("ALTER EVENT_TYPE note_created ADD FIELD tag text DEFAULT 'a'").rebuilt,
    ).toEqual(['note']);
    expect(changesOf('DROP EVENT_TYPE account_created').rebuilt).toEqual(['account']);
  });

  it('drops a dropped aggregate without rebuilding it, and rebuilds one dropped and created again', () => {
    expect(changesOf('DROP EVENT_TYPE note_created; DROP AGGREGATE note')).toEqual({
      created: [],
      rebuilt: [],
      dropped: ['note'],
    });
    expect(
      changesOf(
        'DROP EVENT_TYPE note_created; DROP AGGREGATE note; CREATE AGGREGATE note (id serial PRIMARY KEY, body text)',
      ),
    ).toEqual({ created: [], rebuilt: ['note'], dropped: [] });
  });

  it('rebuilds an aggregate the engine says changed shape though its definition did not', () => {
    expect(
      changesOf(
        "ALTER AGGREGATE note ALTER COLUMN body SET DEFAULT 'x'",
        (name) => name !== 'account',
      ).rebuilt,
    ).toEqual(['account', 'note']);
  });

  it('ignores DROP ... IF EXISTS of nothing', () => {
    expect(changesOf('DROP EVENT_TYPE IF EXISTS nothing')).toEqual({
      created: [],
      rebuilt: [],
      dropped: [],
    });
  });
});
