// Goal: crash safety (docs/reliability.md). kill -9 the built `aevon serve` at random moments under concurrent ingest
// with retries, and in the middle of a sweep, on SQLite and on PostgreSQL; after every kill, check on the database
// itself that every acknowledged event is stored exactly once, no rejected event is stored, and the pre-aggregates
// are exactly the fold of the log up to the stored checkpoint; at the end, that the state answers equal a
// recomputation from the log. Sizes: AEVON_CRASH_CYCLES, _CONCURRENCY, _SEED, _BACKLOG, _SWEEP_KILLS (the long mode
// is `npm run test:crash`). Build first: `npx tsc -b`.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { TestDatabase } from '../support/postgres.js';
import { createTestDatabase } from '../support/postgres.js';
import type { CrashTarget } from './crash-checks.js';
import {
  crashSettingsFromEnv,
  formatSummary,
  runIngestCrash,
  runSweepCrash,
} from './crash-driver.js';

const settings = crashSettingsFromEnv();
// Each cycle takes about 2 s on a busy machine; the long mode scales the timeout with its cycles.
const ingestTimeoutMs = 60_000 + settings.cycles * 10_000;
const sweepTimeoutMs = 120_000 + settings.sweepKills * 10_000 + settings.backlogEvents * 5;

console.log(`crash test seed=${settings.seed} (rerun with AEVON_CRASH_SEED=${settings.seed})`);

function describeEngine(
  name: string,
  open: () => Promise<{ target: CrashTarget; close: () => Promise<void> }>,
) {
  describe(`crash safety on ${name}`, () => {
    it(
      'keeps every acknowledged event exactly once and no rejected one across kill -9 under ingest',
      async () => {
        const { target, close } = await open();
        try {
          const summary = await runIngestCrash(target, settings);
          console.log(`crash ingest ${formatSummary(summary)}`);
          expect(summary.kills).toBe(settings.cycles);
          // The run exercised what it claims to: acknowledged and rejected events, and retries after kills.
          expect(summary.acknowledged).toBeGreaterThan(0);
          expect(summary.rejected).toBeGreaterThan(0);
          if (settings.cycles >= 5) expect(summary.retries).toBeGreaterThan(0);
          expect(summary.storedEvents).toBe(summary.acknowledged);
        } finally {
          await close();
        }
      },
      ingestTimeoutMs,
    );

    it(
      'keeps the checkpoint and the buckets consistent across kill -9 during a sweep',
      async () => {
        const { target, close } = await open();
        try {
          const summary = await runSweepCrash(target, settings);
          console.log(`crash sweep ${formatSummary(summary)}`);
          // At least one kill must land inside a sweep, or the run proved nothing; how many do depends on speed.
          if (settings.sweepKills >= 3) expect(summary.killsMidSweep).toBeGreaterThanOrEqual(1);
        } finally {
          await close();
        }
      },
      sweepTimeoutMs,
    );
  });
}

describeEngine('SQLite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'aevon-crash-db-'));
  return {
    target: { engine: 'sqlite', dsn: `sqlite:${join(dir, 'aevon.db')}` },
    close: async () => rmSync(dir, { recursive: true, force: true }),
  };
});

describeEngine('PostgreSQL', async () => {
  const database: TestDatabase = await createTestDatabase('aevon_crash');
  return { target: { engine: 'postgres', dsn: database.url }, close: () => database.drop() };
});
