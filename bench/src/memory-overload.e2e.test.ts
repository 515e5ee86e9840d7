// Smoke test: the overload memory benchmark runs end to end with --quick (about 3 s of overload, 1 s of recovery)
// against a real `aevon serve` process on SQLite, so that it cannot rot. It asserts the result file's shape and what
// must hold whatever the machine (every refusal is a 429 with Retry-After, nothing else fails, the light load after
// the overload is accepted), never how much memory or how fast. Build first; Linux only.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

interface Report {
  config: { sizes: { clients: number; inFlightMax: number } };
  overload: Record<string, number | string | null>[];
  series: { engine: string; samples: { seconds: number; rssMiB: number }[] }[];
}

describe('the overload memory benchmark on sqlite', () => {
  it('samples the server memory and counts 202 and 429 under a short overload', () => {
    // Given a temporary results folder
    const out = mkdtempSync(join(tmpdir(), 'aevon-bench-out-'));
    try {
      // When the benchmark runs with --quick on SQLite
      execFileSync(
        process.execPath,
        [
          join(root, 'bench/dist/memory-overload.js'),
          '--quick',
          '--engines',
          'sqlite',
          '--out',
          out,
        ],
        { stdio: 'pipe', timeout: 120_000 },
      );

      // Then the result files hold one row whose answers are all 202 or 429 with Retry-After
      const file = readdirSync(out).find((f) => f.endsWith('memory-overload-quick.json'));
      expect(file).toBeDefined();
      expect(readdirSync(out)).toContain(file?.replace(/\.json$/, '.md'));
      const report = JSON.parse(readFileSync(join(out, file ?? ''), 'utf8')) as Report;
      expect(report.overload).toHaveLength(1);
      const row = report.overload[0] ?? {};
      expect(row).toMatchObject({
        engine: 'sqlite',
        clients: report.config.sizes.clients,
        inFlightMax: report.config.sizes.inFlightMax,
        refusedWithoutRetryAfter: 0,
        other: 0,
        firstOther: null,
        recoveryRefused: 0,
        recoveryOther: 0,
      });
      expect(row['requests']).toBe(Number(row['accepted']) + Number(row['refused']));
      for (const key of ['accepted', 'refused', 'recoveryAccepted', 'idleRssMiB', 'peakRssMiB'])
        expect(row[key], key).toBeGreaterThan(0);
      // And an RSS series with one sample per tick
      expect(report.series[0]?.engine).toBe('sqlite');
      expect(report.series[0]?.samples.length).toBeGreaterThan(0);
      for (const sample of report.series[0]?.samples ?? [])
        expect(sample.rssMiB).toBeGreaterThan(0);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 120_000);
});
