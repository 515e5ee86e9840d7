// Smoke test: the memory benchmark runs end to end with --quick (about 3 s of load) against a real `aevon serve`
// process, one engine per test, so that it cannot rot. It asserts the result file's shape and that every figure is
// positive, never how much memory or how fast (benchmarks are not timed assertions). Build first; Linux only.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, inject, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

interface Report {
  config: { node: string; cpus: number; sizes: { clients: number; batchSize: number } };
  memory: Record<string, number | string>[];
  series: { engine: string; sampleMs: number; rssMiB: number[] }[];
}

describe.each(['sqlite', 'postgres'])('the memory benchmark on %s', (engine) => {
  it('samples the server memory under a short sustained ingest', () => {
    // Given a temporary results folder
    const out = mkdtempSync(join(tmpdir(), 'aevon-bench-out-'));
    try {
      // When the benchmark runs with --quick on this engine
      execFileSync(
        process.execPath,
        [join(root, 'bench/dist/memory.js'), '--quick', '--engines', engine, '--out', out],
        {
          env: { ...process.env, AEVON_BENCH_POSTGRES_URL: inject('postgresUrl') },
          stdio: 'pipe',
          timeout: 120_000,
        },
      );

      // Then the result files hold one row with positive figures and its RSS series
      const file = readdirSync(out).find((f) => f.endsWith('memory-quick.json'));
      expect(file).toBeDefined();
      expect(readdirSync(out)).toContain(file?.replace(/\.json$/, '.md'));
      const report = JSON.parse(readFileSync(join(out, file ?? ''), 'utf8')) as Report;
      expect(report.config.node).toBe(process.version);
      expect(report.config.cpus).toBeGreaterThan(0);
      const { clients, batchSize } = report.config.sizes;
      expect(report.memory).toHaveLength(1);
      const row = report.memory[0] ?? {};
      expect(row).toMatchObject({
        engine,
        shape: `POST /v1/events/batch, ${batchSize} events/request, ${clients} connections`,
        clients,
        eventsPerRequest: batchSize,
      });
      for (const key of [
        'seconds',
        'requests',
        'events',
        'eventsPerSecond',
        'p50Ms',
        'p99Ms',
        'idleRssMiB',
        'peakRssMiB',
        'finalRssMiB',
        'hwmMiB',
        'peakRatio',
        'finalRatio',
        'hwmRatio',
        'samples',
        'shutdownSeconds',
      ])
        expect(row[key], key).toBeGreaterThan(0);
      expect(row['events']).toBe(Number(row['requests']) * batchSize);
      expect(row['backlogAtEnd']).toBeGreaterThanOrEqual(0);
      expect(report.series).toHaveLength(1);
      expect(report.series[0]?.engine).toBe(engine);
      expect(report.series[0]?.rssMiB).toHaveLength(Number(row['samples']));
      for (const mib of report.series[0]?.rssMiB ?? []) expect(mib).toBeGreaterThan(0);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 120_000);
});
