// Smoke test: the append benchmark runs end to end with tiny sizes, so it cannot rot. It asserts that it produced
// a result for every shape, never how fast anything was (benchmarks are not timed assertions).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inject, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

it('runs every append benchmark shape on every engine with tiny sizes', () => {
  const out = mkdtempSync(join(tmpdir(), 'aevon-bench-out-'));
  execFileSync(process.execPath, [join(root, 'bench/dist/append.js'), '--quick', '--out', out], {
    env: { ...process.env, AEVON_BENCH_POSTGRES_URL: inject('postgresUrl') },
    stdio: 'pipe',
    timeout: 120_000,
  });
  const file = readdirSync(out).find((f) => f.endsWith('append-quick.json'));
  expect(file).toBeDefined();
  const report = JSON.parse(readFileSync(join(out, file ?? ''), 'utf8')) as {
    config: { node: string; cpus: number };
    results: { engine: string; shape: string; eventsPerSecond: number; ratio: number }[];
  };
  expect(report.config.node).toBe(process.version);
  for (const engine of ['memory', 'sqlite', 'postgres']) {
    const shapes = report.results.filter((r) => r.engine === engine);
    expect(shapes.map((r) => r.shape)).toHaveLength(5);
    for (const r of shapes) expect(r.eventsPerSecond).toBeGreaterThan(0);
  }
}, 180_000);
