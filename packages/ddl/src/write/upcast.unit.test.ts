// Goal: reading an old event through a chain of compatible event type changes gives what the default rule promises:
// a field that existed when the event was written and was never dropped keeps its value; a field added (or dropped and
// added again) later has the DEFAULT it was added with, or null. Method: fast-check draws chains of ALTER EVENT_TYPE
// actions; a model tracks, per field, the value an old event ends with; upcastEventData must agree.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { DefinitionsState, Row, Value } from '../store/aggregate-store.js';
import { applyDefinitionsChange, emptyDefinitionsState } from './definitions.js';
import { upcastEventData } from './upcast.js';

const pool = ['a', 'b', 'c', 'd', 'e'] as const;
type Action =
  | { kind: 'add'; field: string; withDefault: number | null }
  | { kind: 'drop'; field: string }
  | { kind: 'set_default'; field: string; value: number }
  | { kind: 'drop_not_null'; field: string };

const action: fc.Arbitrary<Action> = fc.oneof(
  fc.record({
    kind: fc.constant('add' as const),
    field: fc.constantFrom(...pool),
    withDefault: fc.option(fc.integer({ min: -9, max: 9 })),
  }),
  fc.record({ kind: fc.constant('drop' as const), field: fc.constantFrom(...pool) }),
  fc.record({
    kind: fc.constant('set_default' as const),
    field: fc.constantFrom(...pool),
    value: fc.integer({ min: -9, max: 9 }),
  }),
  fc.record({ kind: fc.constant('drop_not_null' as const), field: fc.constantFrom(...pool) }),
);

describe('upcastEventData over compatible chains', () => {
  it('keeps surviving values and gives re-added fields the default they were added with', () => {
    fc.assert(
      fc.property(fc.array(action, { maxLength: 12 }), (actions) => {
        let state: DefinitionsState = applyDefinitionsChange(emptyDefinitionsState(), {
          ddl: 'CREATE EVENT_TYPE ev (k integer NOT NULL, a integer, b integer DEFAULT 1)',
        }).state;
        const old: Row = { k: 42, a: 7, b: 8 };
        // The model: field → the value the old event reads as; present fields only.
        const model = new Map<string, Value>(Object.entries(old));
        for (const step of actions) {
          const exists = state.catalog.eventTypes
            .get('ev')
            ?.fields.some((f) => f.name === step.field);
          let ddl: string;
          if (step.kind === 'add') {
            if (exists === true) continue;
            ddl = `ADD FIELD ${step.field} integer${step.withDefault === null ? '' : ` DEFAULT ${step.withDefault}`}`;
            model.set(step.field, step.withDefault);
          } else {
            if (exists !== true) continue;
            if (step.kind === 'drop') {
              ddl = `DROP FIELD ${step.field}`;
              model.delete(step.field);
            } else if (step.kind === 'set_default') {
              ddl = `ALTER FIELD ${step.field} SET DEFAULT ${step.value}`;
            } else ddl = `ALTER FIELD ${step.field} DROP NOT NULL`;
          }
          state = applyDefinitionsChange(state, { ddl: `ALTER EVENT_TYPE ev ${ddl}` }).state;
        }
        const read = upcastEventData(state, new Map(), 'ev', 1, old, '2024-01-01T00:00:00.000Z');
        expect(read).toEqual(Object.fromEntries(model));
        expect(Object.keys(read)).toEqual(
          state.catalog.eventTypes.get('ev')?.fields.map((f) => f.name),
        );
      }),
    );
  });
});
