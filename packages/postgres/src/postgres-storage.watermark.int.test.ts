import type { GlobalPosition, PreparedEvent, Range, RecordedEvent } from '@aevon/core';
import { createSeededRandom } from '@aevon/core';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestDatabase } from '../../../test/support/postgres.js';
import { createTestDatabase } from '../../../test/support/postgres.js';
import type { PostgresStorage } from './postgres-storage.js';
import { createPostgresStorage } from './postgres-storage.js';
import { appendInTransaction } from './queries/append.js';
import { tablesOf } from './queries/tables.js';

const schema = 'aevon';
const writerCount = 16;
const transactionsPerWriter = 20;
const pageLimit = 5;
const seed = Number(process.env['SEED'] ?? 20260211);

let database: TestDatabase;
let reader: PostgresStorage;

beforeAll(async () => {
  database = await createTestDatabase('aevon_wm');
  // The reader never waits for held rows, so that its pages sit right at the watermark's edge.
  reader = await createPostgresStorage({
    connectionString: database.url,
    schema,
    readVisibilityWaitMs: 0,
  });
});
afterAll(async () => {
  await reader.close();
  await database.drop();
});

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function page(start: GlobalPosition | null): Range<GlobalPosition> {
  return {
    start,
    startExclusive: start !== null,
    end: null,
    endExclusive: false,
    limit: pageLimit,
    direction: 'forward',
  };
}

function prepared(id: string): PreparedEvent {
  return {
    id,
    type: 'thing.happened',
    data: { id },
    metadata: {},
    schemaVersion: 0,
    occurredAt: '2026-02-11T10:30:00.000Z',
    recordedAt: '2026-02-11T10:30:00.000Z',
    correlationId: null,
    causationId: null,
  };
}

/**
 * One writer on its own connection: each transaction may take its xid early, sleeps, appends through the storage's
 * own append SQL, holds the transaction open for a random time, then commits (or, sometimes, rolls back).
 * Returns the ids it committed.
 */
async function runWriter(index: number): Promise<{ committed: string[]; rolledBack: string[] }> {
  const random = createSeededRandom(seed + index);
  const below = (n: number): number => random.nextUint32() % n;
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  const committed: string[] = [];
  const rolledBack: string[] = [];
  try {
    for (let t = 0; t < transactionsPerWriter; t += 1) {
      const ids = Array.from({ length: 1 + below(3) }, (_, e) => `w${index}-t${t}-e${e}`);
      await client.query('BEGIN');
      // Taking the xid early and committing late is what lets a low xid commit after higher ones.
      if (below(2) === 0) await client.query('SELECT pg_current_xact_id()');
      await sleep(below(8));
      const outcomes = await appendInTransaction(client, tablesOf(schema), [
        [{ stream: `s/${below(6)}`, expected: 'any', events: ids.map(prepared) }],
      ]);
      expect(outcomes[0]?.ok).toBe(true);
      await sleep(below(25));
      if (below(10) === 0) {
        await client.query('ROLLBACK');
        rolledBack.push(...ids);
      } else {
        await client.query('COMMIT');
        committed.push(...ids);
      }
    }
  } finally {
    await client.end();
  }
  return { committed, rolledBack };
}

describe('postgres storage: global order under late commits', () => {
  it('lets a checkpointed reader see every committed event exactly once, in the final order', async () => {
    // Goal: prove the watermark. Method: 16 writers on separate connections hold transactions open for random times,
    // so transaction ids commit out of order, while a reader pages forward from its last position with a tiny page.
    // Given
    const seen: RecordedEvent[] = [];
    let checkpoint: GlobalPosition | null = null;
    let writing = true;
    const readPages = async (): Promise<number> => {
      const events = await reader.readAll(page(checkpoint));
      for (const event of events) {
        if (checkpoint !== null) expect(event.position > checkpoint).toBe(true);
        seen.push(event);
        checkpoint = event.position;
      }
      return events.length;
    };
    // When
    const writers = Promise.all(
      Array.from({ length: writerCount }, (_, i) => runWriter(i)),
    ).finally(() => {
      writing = false;
    });
    let pages = 0;
    while (writing) {
      pages += 1;
      if ((await readPages()) === 0) await sleep(1);
    }
    const results = await writers;
    while ((await readPages()) > 0) pages += 1;
    // Then
    const committed = results.flatMap((r) => r.committed);
    const rolledBack = new Set(results.flatMap((r) => r.rolledBack));
    const seenIds = seen.map((e) => e.id);
    expect(new Set(seenIds).size).toBe(seenIds.length);
    expect([...seenIds].sort()).toEqual([...committed].sort());
    expect(seenIds.some((id) => rolledBack.has(id))).toBe(false);
    const final = await reader.readAll({ ...page(null), limit: 10_000 });
    expect(final.map((e) => e.position)).toEqual(seen.map((e) => e.position));
    expect(final.map((e) => e.id)).toEqual(seenIds);
    expect(pages).toBeGreaterThan(committed.length / pageLimit);
  });
});
