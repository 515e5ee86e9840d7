// Smoke test: the API key lookup benchmark runs end to end with --quick on both engines, so that it cannot rot. It
// asserts the result file's shape and that every figure is positive, never how fast (no timed assertions).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, inject, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

it('measures key lookups on SQLite and PostgreSQL next to an append baseline', () => {
  // Given a temporary results folder
  const out = mkdtempSync(join(tmpdir(), 'aevon-bench-out-'));
  try {
    // When the benchmark runs with --quick
    execFileSync(
      process.execPath,
      [join(root, 'bench/dist/api-keys.js'), '--quick', '--out', out],
      {
        env: { ...process.env, AEVON_BENCH_POSTGRES_URL: inject('postgresUrl') },
        stdio: 'pipe',
        timeout: 120_000,
      },
    );
    // Then one row per engine plus the hash check, each with positive percentiles
    const file = readdirSync(out).find((f) => f.endsWith('api-keys-quick.json'));
    expect(file).toBeDefined();
    const report = JSON.parse(readFileSync(join(out, file ?? ''), 'utf8')) as {
      latency: { engine: string; p50Ms: number; p99Ms: number; baselineP50Ms?: number }[];
    };
    expect(report.latency.map((row) => row.engine)).toEqual(['cpu', 'sqlite', 'postgres']);
    for (const row of report.latency) {
      expect(row.p50Ms).toBeGreaterThanOrEqual(0);
      expect(row.p99Ms).toBeGreaterThanOrEqual(row.p50Ms);
    }
    for (const row of report.latency.slice(1)) expect(row.baselineP50Ms).toBeGreaterThan(0);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
