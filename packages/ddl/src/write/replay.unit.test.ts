// Goal: replayRows, the reference model every store is compared with, gives the tables that the write semantics
// describe, for any valid sequence of typed events, across an event type version change. Method: fast-check draws
// random commands; a small hand-written model of this one schema decides which are valid and what the rows become;
// each command is also planned and applied with applyRowOperations (same verdict, same constraint), and replaying the
// accepted events (mixed with events replay must skip) gives exactly the model's tables.
import { asGlobalPosition } from '@aevon/core';
import type { RecordedEvent } from '@aevon/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { definitionsEventType } from '../store/aggregate-store.js';
import type { Row, Value } from '../store/aggregate-store.js';
import { applyDefinitionsChange, emptyDefinitionsState } from './definitions.js';
import { planRowChanges } from './plan-rows.js';
import { applyRowOperations, replayRows } from './replay.js';
import type { RowTables } from './replay.js';
import { upcastEventData } from './upcast.js';

const v1 = applyDefinitionsChange(emptyDefinitionsState(), {
  ddl: `
    CREATE AGGREGATE acct (
      id serial PRIMARY KEY, name varchar(10) NOT NULL, code text UNIQUE, created timestamptz DEFAULT now()
    );
    CREATE AGGREGATE note (id integer PRIMARY KEY, acct_id references acct(id), body text, priority integer);
    CREATE EVENT_TYPE acct_opened (id creates acct(id), name updates acct(name), code updates acct(code));
    CREATE EVENT_TYPE acct_renamed (id references acct(id), name updates acct(name));
    CREATE EVENT_TYPE note_added (
      id creates note(id), acct references acct(id), body updates note(body), owner updates note(acct_id)
    );
  `,
}).state;
const v2 = applyDefinitionsChange(v1, {
  ddl: 'ALTER EVENT_TYPE note_added ADD FIELD priority integer DEFAULT 5 updates note(priority)',
}).state;

type Command =
  | { type: 'acct_opened'; id: number; name: string | null; code: string | null }
  | { type: 'acct_renamed'; id: number; name: string | null }
  | {
      type: 'note_added';
      version: 1 | 2;
      id: number;
      acct: number;
      body: string | null;
      owner: number | null;
      priority: number | null;
    };

const key = fc.integer({ min: 1, max: 6 });
const name = fc.option(fc.constantFrom('ann', 'bob', 'ça', '🌍'), { freq: 6 });
const command: fc.Arbitrary<Command> = fc.oneof(
  fc.record({
    type: fc.constant('acct_opened' as const),
    id: key,
    name,
    code: fc.option(fc.constantFrom('x', 'y', 'z'), { freq: 2 }),
  }),
  fc.record({ type: fc.constant('acct_renamed' as const), id: key, name }),
  fc.record({
    type: fc.constant('note_added' as const),
    version: fc.constantFrom(1 as const, 2 as const),
    id: key,
    acct: key,
    body: fc.option(fc.string({ maxLength: 5 })),
    owner: fc.option(key, { freq: 2 }),
    priority: fc.option(fc.integer({ min: -3, max: 3 })),
  }),
);

/** The canonical timestamptz text of an ISO time: trailing fraction zeros dropped. */
const canonicalTime = (iso: string): string => iso.replace(/\.?0+Z$/, 'Z');

interface Model {
  acct: Map<number, Row>;
  note: Map<number, Row>;
}

/** The straightforward model: the constraint a command breaks, or null after applying it. */
function modelApply(model: Model, c: Command, recordedAt: string): string | null {
  switch (c.type) {
    case 'acct_opened': {
      if (model.acct.has(c.id)) return 'exists';
      if (c.name === null) return 'not_null';
      if (c.code !== null && [...model.acct.values()].some((r) => r.code === c.code))
        return 'unique';
      model.acct.set(c.id, {
        id: c.id,
        name: c.name,
        code: c.code,
        created: canonicalTime(recordedAt),
      });
      return null;
    }
    case 'acct_renamed': {
      const row = model.acct.get(c.id);
      if (row === undefined) return 'references';
      if (c.name === null) return 'not_null';
      model.acct.set(c.id, { ...row, name: c.name });
      return null;
    }
    case 'note_added': {
      if (model.note.has(c.id)) return 'exists';
      if (c.owner !== null && !model.acct.has(c.owner)) return 'references';
      if (!model.acct.has(c.acct)) return 'references';
      const priority = c.version === 1 ? 5 : c.priority;
      model.note.set(c.id, { id: c.id, acct_id: c.owner, body: c.body, priority });
      return null;
    }
  }
}

function eventOf(c: Command, index: number): RecordedEvent {
  const { type, ...fields } = c;
  let data: Record<string, Value> = fields;
  let schemaVersion = 1;
  if (c.type === 'note_added') {
    const { version, priority, ...rest } = fields as Omit<
      Extract<Command, { type: 'note_added' }>,
      'type'
    >;
    data = version === 1 ? rest : { ...rest, priority };
    schemaVersion = version;
  } else if (c.type === 'acct_renamed') schemaVersion = 1;
  return recorded(`ev-${index}`, type, data, schemaVersion, index);
}

function recorded(
  id: string,
  type: string,
  data: Record<string, Value>,
  schemaVersion: number,
  index: number,
): RecordedEvent {
  const recordedAt = new Date(Date.UTC(2024, 0, 1) + index * 1_001).toISOString();
  return {
    id,
    type,
    data: data as RecordedEvent['data'],
    metadata: {},
    schemaVersion,
    occurredAt: recordedAt,
    recordedAt,
    correlationId: null,
    causationId: null,
    stream: '/s',
    revision: BigInt(index),
    position: asGlobalPosition(String(index).padStart(8, '0')),
  };
}

const plain = (tables: ReadonlyMap<string, ReadonlyMap<string, Row>>) =>
  Object.fromEntries([...tables].map(([name, rows]) => [name, Object.fromEntries(rows)]));

describe('replayRows', () => {
  it('equals the model for random valid event sequences, and each step agrees with the model', () => {
    fc.assert(
      fc.property(fc.array(command, { maxLength: 40 }), (commands) => {
        const model: Model = { acct: new Map(), note: new Map() };
        const tables: RowTables = new Map([
          ['acct', new Map()],
          ['note', new Map()],
        ]);
        const log: RecordedEvent[] = [
          recorded('defs', definitionsEventType, { version: 1, ddl: '' }, 0, 0),
        ];
        commands.forEach((c, i) => {
          const event = eventOf(c, i + 1);
          const verdict = modelApply(model, c, event.recordedAt);
          const data = upcastEventData(
            v2,
            new Map(),
            event.type,
            event.schemaVersion,
            event.data,
            event.recordedAt,
          );
          const operations = planRowChanges(v2.catalog, event.type, data, {
            eventId: event.id,
            recordedAt: event.recordedAt,
          });
          const outcome = applyRowOperations(tables, operations, v2.catalog);
          expect(outcome.ok ? null : outcome.conflict.details.constraint).toBe(verdict);
          if (verdict === null) log.push(event);
          if (i % 7 === 3) log.push(recorded(`m-${i}`, 'metering.tick', { n: i }, 0, i));
        });
        const replayed = replayRows(v2, log, new Map());
        const expected = {
          acct: Object.fromEntries([...model.acct].map(([k, r]) => [String(k), r])),
          note: Object.fromEntries([...model.note].map(([k, r]) => [String(k), r])),
        };
        expect(plain(replayed)).toEqual(expected);
        expect(plain(replayed)).toEqual(plain(tables));
      }),
      { numRuns: 100 },
    );
  });

  it('asserts on a log whose events conflict (a bug, not bad input)', () => {
    const log = [
      recorded('a', 'acct_opened', { id: 1, name: 'a', code: null }, 1, 1),
      recorded('b', 'acct_opened', { id: 1, name: 'b', code: null }, 1, 2),
    ];
    expect(() => replayRows(v2, log, new Map())).toThrow(/replaying event b \(acct_opened\)/);
  });

  it('starts every aggregate of the catalog with an empty table', () => {
    expect(plain(replayRows(v2, [], new Map()))).toEqual({ acct: {}, note: {} });
  });
});
