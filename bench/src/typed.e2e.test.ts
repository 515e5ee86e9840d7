// Smoke test: the typed-write benchmark runs end to end with tiny sizes, so it cannot rot. It asserts that it
// produced every row on both engines with a baseline beside it, never how fast anything was (benchmarks are not
// timed assertions).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inject, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

it('runs the typed writes and the SQL queries on SQLite and PostgreSQL with tiny sizes', () => {
  const out = mkdtempSync(join(tmpdir(), 'aevon-bench-out-'));
  try {
    execFileSync(process.execPath, [join(root, 'bench/dist/typed.js'), '--quick', '--out', out], {
      env: { ...process.env, AEVON_BENCH_POSTGRES_URL: inject('postgresUrl') },
      stdio: 'pipe',
      timeout: 120_000,
    });
    const file = readdirSync(out).find((f) => f.endsWith('typed-quick.json'));
    expect(file).toBeDefined();
    const report = JSON.parse(readFileSync(join(out, file ?? ''), 'utf8')) as {
      config: { node: string; sizes: { sequential: number; concurrent: number } };
      writes: {
        engine: string;
        shape: string;
        events: number;
        eventsPerSecond: number;
        plainEventsPerSecond: number;
        ratio: number;
      }[];
      sql: {
        engine: string;
        shape: string;
        queries: number;
        p99Ms: number;
        baselineP99Ms: number;
      }[];
    };
    expect(report.config.node).toBe(process.version);
    const { sequential, concurrent } = report.config.sizes;
    for (const engine of ['sqlite', 'postgres']) {
      const writes = report.writes.filter((r) => r.engine === engine);
      expect(writes.map((r) => [r.shape, r.events])).toEqual([
        ['account_created, sequential', sequential],
        ['account_name_updated, sequential', sequential],
        ['account_created, 4 concurrent writers', concurrent],
        ['account_name_updated, 4 concurrent writers', concurrent],
      ]);
      for (const r of writes) {
        expect(r.eventsPerSecond).toBeGreaterThan(0);
        expect(r.plainEventsPerSecond).toBeGreaterThan(0);
      }
      const sql = report.sql.filter((r) => r.engine === engine);
      expect(sql.map((r) => r.shape)).toEqual([
        'POST /v1/sql, primary-key lookup, 100 accounts',
        'POST /v1/sql, join over the accounts (last_name filter, ~1% of rows), 100 accounts',
      ]);
      for (const r of sql) {
        expect(r.queries).toBe(20);
        expect(r.p99Ms).toBeGreaterThan(0);
        expect(r.baselineP99Ms).toBeGreaterThan(0);
      }
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}, 180_000);
