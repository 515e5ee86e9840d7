// Goal: a definitions state is the fold of DDL changes: versions per definition and per event type (with every old
// event type shape kept), migrations recorded once, and the upcaster steps a change needs. Method: apply texts to the
// empty state and compare with expected states; fold recorded events and compare with applying directly.
import { asGlobalPosition, isAevonError } from '@aevon/core';
import type { RecordedEvent } from '@aevon/core';
import { describe, expect, it } from 'vitest';
import { eventdExamples } from '../eventd-examples.fixture.js';
import { definitionsEventType, definitionsStream } from '../store/aggregate-store.js';
import type { DefinitionsState } from '../store/aggregate-store.js';
import {
  applyDefinitionsChange,
  emptyDefinitionsState,
  foldDefinitions,
  upcastersNeeded,
} from './definitions.js';

const seed = eventdExamples.join(';\n');
const apply = (state: DefinitionsState, ddl: string): DefinitionsState =>
  applyDefinitionsChange(state, { ddl }).state;
const fieldTypes = (state: DefinitionsState, eventType: string): string[][] =>
  (state.eventTypeVersions.get(eventType) ?? []).map((d) =>
    d.fields.map((f) => `${f.name}:${JSON.stringify(f.type)}${f.notNull === true ? '!' : ''}`),
  );

describe('applyDefinitionsChange', () => {
  it('starts empty at version 0', () => {
    const state = emptyDefinitionsState();
    expect(state.version).toBe(0);
    expect(state.catalog.aggregates.size + state.catalog.eventTypes.size).toBe(0);
    expect(state.migrations).toEqual([]);
  });

  it('applies the seed: every definition at version 1, event types resolved', () => {
    const result = applyDefinitionsChange(emptyDefinitionsState(), { ddl: seed });
    expect(result.changes.map((c) => c.impact)).toEqual(['new', 'new', 'new', 'new', 'new']);
    expect(result.state.version).toBe(1);
    expect(Object.fromEntries(result.state.versions)).toEqual({
      'aggregate:account': 1,
      'aggregate:billing_contact': 1,
      'event_type:account_created': 1,
      'event_type:account_name_updated': 1,
      'stream:account_events': 1,
    });
    expect(fieldTypes(result.state, 'account_name_updated')).toEqual([
      ['id:{"name":"integer"}', 'name:{"name":"varchar","length":40}'],
    ]);
    // The seed links two fields to billing_contact(first_name): a warning, not an error.
    expect(result.warnings).toHaveLength(1);
  });

  it('records a version of an event type per ALTER, even two in one text', () => {
    let state = apply(emptyDefinitionsState(), seed);
    const result = applyDefinitionsChange(state, {
      ddl:
        'ALTER EVENT_TYPE account_name_updated ADD FIELD reason text;\n' +
        'ALTER EVENT_TYPE account_name_updated ALTER FIELD reason TYPE varchar(10)',
    });
    state = result.state;
    expect(result.changes.map((c) => [c.impact, c.version])).toEqual([
      ['compatible', 2],
      ['upcaster', 3],
    ]);
    expect(state.versions.get('event_type:account_name_updated')).toBe(3);
    expect(fieldTypes(state, 'account_name_updated').map((v) => v.length)).toEqual([2, 3, 3]);
    expect(fieldTypes(state, 'account_name_updated')[2]?.[2]).toBe(
      'reason:{"name":"varchar","length":10}',
    );
    expect(state.version).toBe(2);
  });

  it('raises the version of event types whose typeless linked field changes with its column', () => {
    const before = apply(emptyDefinitionsState(), seed);
    const result = applyDefinitionsChange(before, {
      ddl: 'ALTER AGGREGATE account ALTER COLUMN name TYPE varchar(80)',
    });
    expect(result.changes.map((c) => c.impact)).toEqual(['upcaster']);
    expect(result.state.versions.get('event_type:account_created')).toBe(2);
    expect(result.state.versions.get('event_type:account_name_updated')).toBe(2);
    expect(fieldTypes(result.state, 'account_name_updated').map((v) => v[1])).toEqual([
      'name:{"name":"varchar","length":40}',
      'name:{"name":"varchar","length":80}',
    ]);
    expect(upcastersNeeded(before, result.changes)).toEqual([
      { eventType: 'account_created', fromVersion: 1 },
      { eventType: 'account_name_updated', fromVersion: 1 },
    ]);
  });

  it('restarts the versions of an event type dropped and created again', () => {
    let state = apply(
      emptyDefinitionsState(),
      'CREATE EVENT_TYPE e (a text); ALTER EVENT_TYPE e ADD FIELD b text',
    );
    expect(state.versions.get('event_type:e')).toBe(2);
    state = apply(state, 'DROP EVENT_TYPE e; CREATE EVENT_TYPE e (c integer)');
    expect(state.versions.get('event_type:e')).toBe(1);
    expect(fieldTypes(state, 'e')).toEqual([['c:{"name":"integer"}']]);
  });

  it('records a migration once and refuses its name again', () => {
    const first = applyDefinitionsChange(emptyDefinitionsState(), {
      ddl: seed,
      migration: { name: '0001_accounts.sql', checksum: 'abc' },
      position: asGlobalPosition('p1'),
      recordedAt: '2024-01-01T00:00:00.000Z',
    });
    expect(first.state.migrations).toEqual([
      {
        name: '0001_accounts.sql',
        checksum: 'abc',
        version: 1,
        position: 'p1',
        recordedAt: '2024-01-01T00:00:00.000Z',
      },
    ]);
    const again = (): unknown =>
      applyDefinitionsChange(first.state, {
        ddl: 'CREATE AGGREGATE x (id integer PRIMARY KEY)',
        migration: { name: '0001_accounts.sql', checksum: 'def' },
      });
    expect(again).toThrowError(expect.objectContaining({ code: 'AEV_MIGRATION_INVALID' }));
  });

  it('throws AEV_DDL_INVALID for text that does not check, leaving the state as it was', () => {
    const state = apply(emptyDefinitionsState(), seed);
    let error: unknown;
    try {
      applyDefinitionsChange(state, { ddl: 'DROP AGGREGATE account' });
    } catch (caught) {
      error = caught;
    }
    expect(isAevonError(error, 'AEV_DDL_INVALID')).toBe(true);
    expect(state.version).toBe(1);
    expect(state.catalog.aggregates.has('account')).toBe(true);
  });
});

describe('upcastersNeeded', () => {
  it('lists every upcaster step of event types, and none for compatible changes', () => {
    const before = apply(emptyDefinitionsState(), seed);
    const ddl =
      "ALTER EVENT_TYPE account_created ADD FIELD note text DEFAULT 'x', DROP FIELD send_notification;\n" +
      'ALTER EVENT_TYPE account_name_updated ALTER FIELD name SET NOT NULL;\n' +
      'ALTER EVENT_TYPE account_name_updated ADD FIELD reason text NOT NULL;\n' +
      'ALTER AGGREGATE account ADD COLUMN note text';
    const result = applyDefinitionsChange(before, { ddl });
    expect(upcastersNeeded(before, result.changes)).toEqual([
      { eventType: 'account_name_updated', fromVersion: 1 },
      { eventType: 'account_name_updated', fromVersion: 2 },
    ]);
  });
});

describe('foldDefinitions', () => {
  const event = (version: number, ddl: string, extra: object = {}): RecordedEvent => ({
    id: `e${version}`,
    type: definitionsEventType,
    data: { version, ddl, ...extra },
    metadata: {},
    schemaVersion: 0,
    occurredAt: `2024-01-0${version}T00:00:00.000Z`,
    recordedAt: `2024-01-0${version}T00:00:00.000Z`,
    correlationId: null,
    causationId: null,
    stream: definitionsStream,
    revision: BigInt(version - 1),
    position: asGlobalPosition(`p${version}`),
  });

  it('equals applying each change in order, migrations with their position and time', () => {
    const second = 'ALTER EVENT_TYPE account_name_updated ADD FIELD reason text';
    const folded = foldDefinitions([
      event(1, seed, { migration: { name: '0001.sql', checksum: 'c1' } }),
      { ...event(2, 'ignored'), type: 'something.else' },
      event(2, second),
    ]);
    const direct = apply(apply(emptyDefinitionsState(), seed), second);
    expect(folded.version).toBe(2);
    expect(folded.versions).toEqual(direct.versions);
    expect(folded.eventTypeVersions).toEqual(direct.eventTypeVersions);
    expect(folded.catalog).toEqual(direct.catalog);
    expect(folded.migrations).toEqual([
      {
        name: '0001.sql',
        checksum: 'c1',
        version: 1,
        position: 'p1',
        recordedAt: '2024-01-01T00:00:00.000Z',
      },
    ]);
  });

  it('asserts on a version gap (a corrupt log)', () => {
    expect(() => foldDefinitions([event(2, seed)])).toThrow(/expected 1/);
  });
});

describe('event types dragged by a column type change', () => {
  it('follow a typeless REFERENCES column to the UNIQUE column whose type changed', () => {
    const before = apply(
      emptyDefinitionsState(),
      `CREATE AGGREGATE a (id integer PRIMARY KEY, code varchar(5) UNIQUE);
       CREATE AGGREGATE b (id integer PRIMARY KEY, a_code references a(code));
       CREATE EVENT_TYPE e (id references b(id), a_code updates b(a_code));
       CREATE EVENT_TYPE f (id references b(id), a_code varchar(5) updates b(a_code));`,
    );
    const result = applyDefinitionsChange(before, {
      ddl: 'ALTER AGGREGATE a ALTER COLUMN code TYPE varchar(9)',
    });
    expect(result.state.versions.get('event_type:e')).toBe(2);
    // f's field has its own type: its events keep their shape.
    expect(result.state.versions.get('event_type:f')).toBe(1);
    expect(fieldTypes(result.state, 'e').map((v) => v[1])).toEqual([
      'a_code:{"name":"varchar","length":5}',
      'a_code:{"name":"varchar","length":9}',
    ]);
    expect(upcastersNeeded(before, result.changes)).toEqual([{ eventType: 'e', fromVersion: 1 }]);
  });
});

describe('DEFAULT literals the check accepts always evaluate', () => {
  it.each([
    [
      "text[] DEFAULT '{a,}'",
      "DEFAULT '{a,}' does not fit type text[]: must be an array literal such as {1,2}",
    ],
    [
      "date[] DEFAULT '{1}'",
      "DEFAULT '{1}' does not fit type date[]: element 0: must be a date YYYY-MM-DD",
    ],
    [
      'numeric(1,-5) DEFAULT 950000',
      'DEFAULT 950000 does not fit type numeric(1,-5): must be a numeric(1,-5): at most 6 digits before the decimal point',
    ],
    [
      "timestamptz DEFAULT '2024-01-01 00:00+25'",
      "DEFAULT '2024-01-01 00:00+25' does not fit type timestamptz: must be an RFC 3339 timestamp with a time zone, " +
        'such as "2024-01-31T12:00:00Z"',
    ],
  ])('refuses a column %s', (column, reason) => {
    let error: unknown;
    try {
      applyDefinitionsChange(emptyDefinitionsState(), {
        ddl: `CREATE AGGREGATE a (id integer PRIMARY KEY, c ${column})`,
      });
    } catch (caught) {
      error = caught;
    }
    expect(isAevonError(error, 'AEV_DDL_INVALID')).toBe(true);
    expect((error as Error).message).toContain(reason);
  });
});
