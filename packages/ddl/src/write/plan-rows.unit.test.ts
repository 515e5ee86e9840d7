// Goal: the row operations of a typed event, the constraint checks on rows, in-memory application with the
// conflict rules, and reading old events as the current version. Method: plan the seed's events and small schemas,
// apply them to in-memory tables, and compare operations, rows and conflicts with what the write semantics say.
import { isAevonError } from '@aevon/core';
import { describe, expect, it } from 'vitest';
import { eventdExamples } from '../eventd-examples.fixture.js';
import type { DefinitionsState, Row, UpcastFunction } from '../store/aggregate-store.js';
import { applyDefinitionsChange, emptyDefinitionsState } from './definitions.js';
import { foreignKeys, planRowChanges, rowProblems } from './plan-rows.js';
import { applyRowOperations } from './replay.js';
import type { RowTables } from './replay.js';
import { upcastEventData } from './upcast.js';
import { columnDefaultUuid, derivedUuid, sha1 } from './uuid.js';

const define = (ddl: string, base = emptyDefinitionsState()): DefinitionsState =>
  applyDefinitionsChange(base, { ddl }).state;
const seed = define(eventdExamples.join(';\n'));
const context = { eventId: 'e-1', recordedAt: '2024-05-01T10:00:00.250Z' };
const aggregate = (state: DefinitionsState, name: string) => {
  const found = state.catalog.aggregates.get(name);
  if (found === undefined) throw new Error(name);
  return found;
};

describe('planRowChanges', () => {
  it('plans the seed account_created: inserts with the created_at DEFAULT from recordedAt', () => {
    const data = {
      id: 1,
      name: 'test account',
      created_at: null,
      billing_id: 1,
      billing_first_name: 'Bob',
      billing_last_name: 'Test',
      send_notification: true,
    };
    expect(planRowChanges(seed.catalog, 'account_created', data, context)).toEqual([
      {
        kind: 'insert',
        aggregate: 'account',
        key: 1,
        row: { id: 1, name: 'test account', created_at: '2024-05-01T10:00:00.25Z' },
        field: 'id',
      },
      {
        kind: 'insert',
        aggregate: 'billing_contact',
        key: 1,
        // The seed's typo: billing_last_name updates first_name too (the later field wins); last_name stays null.
        row: { id: 1, first_name: 'Test', last_name: null, account_id: null },
        field: 'billing_id',
      },
    ]);
  });

  it('plans the seed account_name_updated: require, then update', () => {
    expect(
      planRowChanges(seed.catalog, 'account_name_updated', { id: 123, name: 'n2' }, context),
    ).toEqual([
      { kind: 'require', aggregate: 'account', column: 'id', value: 123, field: 'id' },
      {
        kind: 'update',
        aggregate: 'account',
        column: 'id',
        value: 123,
        set: { name: 'n2' },
        field: 'id',
      },
    ]);
  });

  const state = define(`
    CREATE AGGREGATE team (id serial PRIMARY KEY, code varchar(5) UNIQUE, name text);
    CREATE AGGREGATE member (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      team_id references team(id),
      token uuid DEFAULT gen_random_uuid(),
      joined date DEFAULT CURRENT_DATE,
      role text NOT NULL DEFAULT 'member',
      score numeric(5,2) DEFAULT 1.5,
      tags text[] DEFAULT '{}'
    );
    CREATE EVENT_TYPE joined (
      member creates member(id),
      team references team(id),
      code references team(code),
      team_name updates team(name),
      role updates member(role),
      team_of updates member(team_id)
    );
  `);

  it('orders by aggregate as fields first name them: require/insert first, then the update', () => {
    const data = { member: 'm', team: 3, code: 'abc', team_name: 'T', role: null, team_of: 3 };
    const operations = planRowChanges(state.catalog, 'joined', data, context);
    expect(operations.map((o) => `${o.kind}:${o.aggregate}:${o.field}`)).toEqual([
      'insert:member:member',
      'require:team:team',
      'require:team:code',
      'update:team:team',
    ]);
    const insert = operations[0];
    expect(insert).toEqual({
      kind: 'insert',
      aggregate: 'member',
      key: 'm',
      field: 'member',
      row: {
        id: 'm',
        team_id: 3,
        token: columnDefaultUuid('e-1', 'member', 'token'),
        joined: '2024-05-01',
        role: 'member',
        score: '1.50',
        tags: [],
      },
    });
  });

  it('derives gen_random_uuid() defaults deterministically from the event and column', () => {
    const token = columnDefaultUuid('e-1', 'member', 'token');
    expect(token).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(columnDefaultUuid('e-1', 'member', 'token')).toBe(token);
    expect(columnDefaultUuid('e-2', 'member', 'token')).not.toBe(token);
    expect(columnDefaultUuid('e-1', 'member', 'id')).not.toBe(token);
    expect(derivedUuid('a')).not.toBe(derivedUuid('b'));
  });

  it('uses a UNIQUE references column to identify the updated row when no primary key field does', () => {
    const unique = define(
      `CREATE AGGREGATE t (id integer PRIMARY KEY, code text UNIQUE, n text);
       CREATE EVENT_TYPE e (code references t(code));`,
    );
    expect(planRowChanges(unique.catalog, 'e', { code: 'x' }, context)).toEqual([
      { kind: 'require', aggregate: 't', column: 'code', value: 'x', field: 'code' },
    ]);
  });
});

describe('sha1', () => {
  it.each([
    ['', 'da39a3ee5e6b4b0d3255bfef95601890afd80709'],
    ['abc', 'a9993e364706816aba3e25717850c26c9cd0d89d'],
    [
      'abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq',
      '84983e441c3bd26ebaae4aa1f95129e5e54670f1',
    ],
    ['a'.repeat(1000), '291e9a6c66994949b57ba5e650361e98fc36b1ba'],
  ])('hashes %j', (text, hex) => {
    const digest = [...sha1(new TextEncoder().encode(text))]
      .map((b) => b.toString(16).padStart(2, '0'))
      .join('');
    expect(digest).toBe(hex);
  });
});

describe('rowProblems and foreignKeys', () => {
  const member = aggregate(seed, 'billing_contact');
  it('lists null NOT NULL and key columns', () => {
    expect(rowProblems(member, { id: null, first_name: 'a', last_name: null })).toEqual([
      { column: 'id', reason: 'billing_contact.id must not be null' },
      { column: 'last_name', reason: 'billing_contact.last_name must not be null' },
    ]);
    expect(
      rowProblems(member, { id: 1, first_name: 'a', last_name: 'b', account_id: null }),
    ).toEqual([]);
  });
  it('lists non-null REFERENCES columns', () => {
    expect(foreignKeys(member, { id: 1, account_id: null })).toEqual([]);
    expect(foreignKeys(member, { id: 1, account_id: 4 })).toEqual([
      { column: 'account_id', aggregate: 'account', target: 'id', value: 4 },
    ]);
  });
});

describe('applyRowOperations', () => {
  const state = define(`
    CREATE AGGREGATE a (id integer PRIMARY KEY, code text UNIQUE, name text NOT NULL);
    CREATE AGGREGATE b (id integer PRIMARY KEY, a_id references a(id), parent integer references b(id));
  `);
  const fresh = (): RowTables =>
    new Map([
      ['a', new Map<string, Row>([['1', { id: 1, code: 'x', name: 'one' }]])],
      ['b', new Map<string, Row>()],
    ]);
  const conflict = (tables: RowTables, operations: Parameters<typeof applyRowOperations>[1]) => {
    const before = JSON.stringify([...tables].map(([k, v]) => [k, [...v]]));
    const outcome = applyRowOperations(tables, operations, state.catalog);
    expect(JSON.stringify([...tables].map(([k, v]) => [k, [...v]]))).toBe(before);
    if (outcome.ok) throw new Error('expected a conflict');
    expect(isAevonError(outcome.conflict, 'AEV_AGGREGATE_CONFLICT')).toBe(true);
    return outcome.conflict.details;
  };

  it('inserts and updates, reporting each change', () => {
    const tables = fresh();
    const outcome = applyRowOperations(
      tables,
      [
        { kind: 'insert', aggregate: 'b', key: 5, row: { id: 5, a_id: 1, parent: 5 }, field: 'f' },
        { kind: 'require', aggregate: 'a', column: 'code', value: 'x', field: 'g' },
        {
          kind: 'update',
          aggregate: 'a',
          column: 'code',
          value: 'x',
          set: { name: 'uno' },
          field: 'g',
        },
      ],
      state.catalog,
    );
    expect(outcome).toEqual({
      ok: true,
      changes: [
        {
          aggregate: 'b',
          key: 5,
          operation: 'insert',
          before: null,
          after: { id: 5, a_id: 1, parent: 5 },
        },
        {
          aggregate: 'a',
          key: 1,
          operation: 'update',
          before: { id: 1, code: 'x', name: 'one' },
          after: { id: 1, code: 'x', name: 'uno' },
        },
      ],
    });
    expect(tables.get('a')?.get('1')).toEqual({ id: 1, code: 'x', name: 'uno' });
    expect(tables.get('b')?.get('5')).toEqual({ id: 5, a_id: 1, parent: 5 });
  });

  it.each([
    [
      'a taken key',
      [
        {
          kind: 'insert',
          aggregate: 'a',
          key: 1,
          row: { id: 1, code: 'y', name: 'n' },
          field: 'f',
        },
      ],
      { aggregate: 'a', column: 'id', constraint: 'exists', reason: 'a id = 1 exists already' },
    ],
    [
      'a missing required row',
      [{ kind: 'require', aggregate: 'a', column: 'id', value: 2, field: 'f' }],
      { aggregate: 'a', column: 'id', constraint: 'references', reason: 'no a row has id = 2' },
    ],
    [
      'an update of a missing row',
      [{ kind: 'update', aggregate: 'a', column: 'id', value: 2, set: { name: 'n' }, field: 'f' }],
      { aggregate: 'a', column: 'id', constraint: 'references', reason: 'no a row has id = 2' },
    ],
    [
      'a REFERENCES column naming a missing row',
      [
        {
          kind: 'insert',
          aggregate: 'b',
          key: 1,
          row: { id: 1, a_id: 9, parent: null },
          field: 'f',
        },
      ],
      {
        aggregate: 'b',
        column: 'a_id',
        constraint: 'references',
        reason: 'b.a_id names a id = 9, which does not exist',
      },
    ],
    [
      'a taken UNIQUE value',
      [
        {
          kind: 'insert',
          aggregate: 'a',
          key: 2,
          row: { id: 2, code: 'x', name: 'n' },
          field: 'f',
        },
      ],
      { aggregate: 'a', column: 'code', constraint: 'unique', reason: 'a.code = x is taken' },
    ],
    [
      'a NOT NULL column set to null',
      [
        {
          kind: 'insert',
          aggregate: 'a',
          key: 2,
          row: { id: 2, code: 'z', name: 'n' },
          field: 'f',
        },
        { kind: 'update', aggregate: 'a', column: 'id', value: 1, set: { name: null }, field: 'f' },
      ],
      { aggregate: 'a', column: 'name', constraint: 'not_null', reason: 'a.name must not be null' },
    ],
  ] as const)('refuses %s, changing nothing', (_what, operations, details) => {
    expect(conflict(fresh(), operations)).toEqual(details);
  });
});

describe('upcastEventData', () => {
  const v1 = define(`
    CREATE AGGREGATE acc (id integer PRIMARY KEY, name varchar(10));
    CREATE EVENT_TYPE opened (id creates acc(id), name updates acc(name), old text, flag boolean);
  `);
  const v2 = define(
    `ALTER EVENT_TYPE opened DROP FIELD old, ADD FIELD at timestamptz DEFAULT now(), ADD FIELD n integer`,
    v1,
  );
  const v3 = define('ALTER EVENT_TYPE opened ALTER FIELD flag TYPE integer', v2);
  const v4 = define('ALTER AGGREGATE acc ALTER COLUMN name TYPE varchar(3)', v3);
  const recordedAt = '2023-01-02T03:04:05.000Z';
  const old = { id: 1, name: 'Ann', old: 'gone', flag: true };

  it('reads a compatible step by the default rule', () => {
    expect(upcastEventData(v2, new Map(), 'opened', 1, old, recordedAt)).toEqual({
      id: 1,
      name: 'Ann',
      flag: true,
      at: '2023-01-02T03:04:05Z',
      n: null,
    });
  });

  it('coerces the current version as is', () => {
    expect(upcastEventData(v1, new Map(), 'opened', 1, old, recordedAt)).toEqual(old);
  });

  it('refuses a step that needs an upcaster without one', () => {
    let error: unknown;
    try {
      upcastEventData(v3, new Map(), 'opened', 1, old, recordedAt);
    } catch (caught) {
      error = caught;
    }
    expect(isAevonError(error, 'AEV_MIGRATION_INVALID')).toBe(true);
    expect((error as Error).message).toContain('events of version 2 need an upcaster to version 3');
  });

  it('runs registered upcasters step by step, then coerces to the current types', () => {
    const toNumber: UpcastFunction = (data) => ({ ...data, flag: data.flag === true ? 1 : 0 });
    const shorten: UpcastFunction = (data) => ({
      ...data,
      name: typeof data.name === 'string' ? data.name.slice(0, 3) : null,
    });
    const upcasters = new Map([
      [
        'opened',
        new Map([
          [2, toNumber],
          [3, shorten],
        ]),
      ],
    ]);
    expect(v4.versions.get('event_type:opened')).toBe(4);
    expect(
      upcastEventData(v4, upcasters, 'opened', 1, { ...old, name: 'Annabel' }, recordedAt),
    ).toEqual({ id: 1, name: 'Ann', flag: 1, at: '2023-01-02T03:04:05Z', n: null });
    // Without the last upcaster, the dragged step (varchar(10) → varchar(3)) needs one.
    expect(() =>
      upcastEventData(
        v4,
        new Map([['opened', new Map([[2, toNumber]])]]),
        'opened',
        1,
        old,
        recordedAt,
      ),
    ).toThrow(/version 3 need an upcaster to version 4/);
  });

  it('refuses a result that does not fit the current types, and unknown versions', () => {
    const bad: UpcastFunction = (data) => ({ ...data, flag: 'x' });
    expect(() =>
      upcastEventData(v3, new Map([['opened', new Map([[2, bad]])]]), 'opened', 2, old, recordedAt),
    ).toThrow(/"flag" must be an integer/);
    expect(() => upcastEventData(v3, new Map(), 'opened', 9, old, recordedAt)).toThrow(
      /has no version 9/,
    );
    expect(() => upcastEventData(v3, new Map(), 'nope', 1, old, recordedAt)).toThrow(
      /is not defined/,
    );
  });
});

describe('names that Object.prototype also has', () => {
  const state = define(`
    CREATE AGGREGATE "toString" (id integer PRIMARY KEY, "constructor" text NOT NULL, "__proto__" text);
    CREATE EVENT_TYPE e ("__proto__" creates "toString"(id), "constructor" updates "toString"("constructor"));
  `);
  it('are plain own columns and fields, never Object.prototype', () => {
    const data = JSON.parse('{"__proto__": 1, "constructor": null}') as Row;
    const operations = planRowChanges(state.catalog, 'e', data, context);
    const insert = operations[0];
    expect(insert?.kind).toBe('insert');
    if (insert?.kind !== 'insert') return;
    expect(Object.keys(insert.row)).toEqual(['id', 'constructor', '__proto__']);
    expect(insert.row.__proto__).toBeNull();
    expect(Object.getPrototypeOf(insert.row)).toBe(Object.prototype);
    expect(rowProblems(aggregate(state, 'toString'), insert.row)).toEqual([
      { column: 'constructor', reason: 'toString.constructor must not be null' },
    ]);
    expect(rowProblems(aggregate(state, 'toString'), { id: 1 })).toHaveLength(1);
    expect(upcastEventData(state, new Map(), 'e', 1, data, context.recordedAt)).toEqual(data);
  });
});
