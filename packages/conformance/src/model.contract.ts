import type { EventStore, ExpectedRevision, GlobalPosition, RecordedEvent } from '@aevon/core';
import {
  createEventStore,
  createInMemoryStorage,
  createManualClock,
  createSeededRandom,
} from '@aevon/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { collect, withStore } from './helpers.js';
import type { StorageFactory } from './storage-factory.js';

type ExpectedChoice = 'any' | 'no_stream' | 'stream_exists' | 'actual' | 'behind' | 'ahead';

/** One generated operation; ids are drawn from a small pool so that duplicates happen often. */
type Operation =
  | { kind: 'append'; parts: { stream: number; ids: number[]; expected: ExpectedChoice }[] }
  | {
      kind: 'readStream';
      stream: number;
      from: number;
      to: number;
      direction: 'forward' | 'backward';
      limit: number;
    }
  | {
      kind: 'readAll';
      from: number;
      to: number;
      exclusive: boolean;
      direction: 'forward' | 'backward';
      limit: number;
    };

const streamNames = ['a', 'b/1', 'c/ü'];

const operation: fc.Arbitrary<Operation> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('append' as const),
      parts: fc.uniqueArray(
        fc.record({
          stream: fc.integer({ min: 0, max: streamNames.length - 1 }),
          ids: fc.uniqueArray(fc.integer({ min: 0, max: 40 }), { minLength: 1, maxLength: 4 }),
          expected: fc.constantFrom<ExpectedChoice>(
            'any',
            'no_stream',
            'stream_exists',
            'actual',
            'behind',
            'ahead',
          ),
        }),
        { minLength: 1, maxLength: 2, selector: (p) => p.stream },
      ),
    }),
  },
  fc.record({
    kind: fc.constant('readStream' as const),
    stream: fc.integer({ min: 0, max: streamNames.length - 1 }),
    from: fc.integer({ min: 0, max: 8 }),
    to: fc.integer({ min: 0, max: 8 }),
    direction: fc.constantFrom('forward' as const, 'backward' as const),
    limit: fc.integer({ min: 1, max: 10 }),
  }),
  fc.record({
    kind: fc.constant('readAll' as const),
    from: fc.integer({ min: 0, max: 20 }),
    to: fc.integer({ min: 0, max: 20 }),
    exclusive: fc.boolean(),
    direction: fc.constantFrom('forward' as const, 'backward' as const),
    limit: fc.integer({ min: 1, max: 25 }),
  }),
);

async function expectedFor(
  store: EventStore,
  stream: string,
  choice: ExpectedChoice,
): Promise<ExpectedRevision> {
  if (choice === 'any' || choice === 'no_stream' || choice === 'stream_exists') return choice;
  const revision = (await store.streamInfo(stream))?.revision ?? -1n;
  if (choice === 'actual') return revision < 0n ? 'no_stream' : revision;
  if (choice === 'ahead') return revision + 1n;
  return revision > 0n ? revision - 1n : 5n;
}

/** Applies one operation and describes its observable outcome without engine-specific positions. */
async function apply(
  store: EventStore,
  op: Operation,
  log: () => Promise<RecordedEvent[]>,
): Promise<unknown> {
  const shape = (events: readonly RecordedEvent[]) =>
    events.map((e) => `${e.stream}#${e.revision}:${e.id}`);
  try {
    switch (op.kind) {
      case 'append': {
        const parts = [];
        for (const part of op.parts) {
          const stream = streamNames[part.stream] ?? 'a';
          const events = part.ids.map((id) => ({ id: `id-${id}`, type: 't', data: { id } }));
          parts.push({ stream, events, expected: await expectedFor(store, stream, part.expected) });
        }
        const result = await store.appendMany(parts);
        return { ok: shape(result.events), streams: result.streams };
      }
      case 'readStream': {
        const range = {
          start: BigInt(Math.min(op.from, op.to)),
          end: BigInt(Math.max(op.from, op.to)),
        };
        const page = await store.readStreamPage(streamNames[op.stream] ?? 'a', {
          ...range,
          direction: op.direction,
          limit: op.limit,
        });
        return shape(page);
      }
      case 'readAll': {
        // Bounds are given as the positions of the k-th event of each engine's own log, since formats differ.
        const all = await log();
        const at = (k: number): GlobalPosition | undefined =>
          all[Math.min(k, all.length - 1)]?.position;
        const start = at(Math.min(op.from, op.to));
        const end = at(Math.max(op.from, op.to));
        const page = await store.readAllPage({
          ...(start === undefined ? {} : { start, startExclusive: op.exclusive }),
          ...(end === undefined ? {} : { end }),
          direction: op.direction,
          limit: op.limit,
        });
        return shape(page);
      }
    }
  } catch (error) {
    const coded = error as { code?: string; details?: unknown };
    return { error: coded.code ?? String(error), details: coded.details };
  }
}

/**
 * Model-based property test: random sequences of appends (every expectation form, duplicate ids, multi-stream)
 * and reads run on the engine under test and on the in-memory model; every outcome must be the same.
 */
export function describeModelContract(
  factory: StorageFactory,
  options: { numRuns?: number } = {},
): void {
  describe('model', () => {
    it('behaves like the in-memory model on random operation sequences', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(operation, { minLength: 1, maxLength: 25 }),
          async (operations) => {
            const model = createEventStore({
              storage: createInMemoryStorage(),
              clock: createManualClock(0),
              random: createSeededRandom(1),
            });
            await withStore(factory, async ({ store }) => {
              for (const op of operations) {
                const expected = await apply(model, op, () => collect(model.readAll()));
                const actual = await apply(store, op, () => collect(store.readAll()));
                // Duplicate-id details carry engine-specific positions; compare everything else.
                expect(strip(actual)).toEqual(strip(expected));
              }
              const modelLog = await collect(model.readAll());
              const engineLog = await collect(store.readAll());
              expect(engineLog.map((e) => [e.stream, e.revision, e.id, e.data])).toEqual(
                modelLog.map((e) => [e.stream, e.revision, e.id, e.data]),
              );
            });
            await model.close();
          },
        ),
        { numRuns: options.numRuns ?? 25 },
      );
    });
  });
}

function strip(outcome: unknown): unknown {
  if (typeof outcome !== 'object' || outcome === null || !('details' in outcome)) return outcome;
  const { details, ...rest } = outcome as { details: Record<string, unknown> };
  if (details === undefined) return rest;
  const { position: _position, ...kept } = details;
  return { ...rest, details: kept };
}
