// Smoke test: the subscription benchmark runs end to end with --quick against a real `aevon serve` process, one
// engine per test, so that it cannot rot. The benchmark itself fails when a subscriber misses, repeats or reorders an
// event; this test asserts the result file's shape, never how fast (benchmarks are not timed assertions).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, inject, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

describe.each(['sqlite', 'postgres'])('the subscription benchmark on %s', (engine) => {
  it('measures delivery to every subscriber with nothing lost', () => {
    const out = mkdtempSync(join(tmpdir(), 'aevon-bench-out-'));
    try {
      execFileSync(
        process.execPath,
        [join(root, 'bench/dist/subscriptions.js'), '--quick', '--engines', engine, '--out', out],
        {
          env: { ...process.env, AEVON_BENCH_POSTGRES_URL: inject('postgresUrl') },
          stdio: 'pipe',
          timeout: 120_000,
        },
      );
      const file = readdirSync(out).find((f) => f.endsWith('subscriptions-quick.json'));
      expect(file).toBeDefined();
      const report = JSON.parse(readFileSync(join(out, file ?? ''), 'utf8')) as {
        delivery: Record<string, number | string>[];
      };
      expect(report.delivery).toHaveLength(1);
      const row = report.delivery[0] ?? {};
      expect(row).toMatchObject({ engine, subscribers: 2, events: 100, deliveries: 200 });
      for (const key of ['sentEventsPerSecond', 'p50Ms', 'p99Ms', 'maxMs'])
        expect(row[key], key).toBeGreaterThan(0);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 120_000);
});
