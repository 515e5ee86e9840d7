// Smoke test: the peer benchmark (Aevon against Emmett) runs end to end with tiny sizes on both engines, so it
// cannot rot. It asserts that both libraries produced a figure for every shape, never how fast anything was.
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { inject, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

it('runs every peer benchmark shape for Aevon and Emmett on SQLite and PostgreSQL', async () => {
  const out = mkdtempSync(join(tmpdir(), 'aevon-bench-peer-'));
  try {
    await promisify(execFile)(
      process.execPath,
      [join(root, 'bench/dist/peer.js'), '--quick', '--engines', 'sqlite,postgres', '--out', out],
      {
        env: { ...process.env, AEVON_BENCH_POSTGRES_URL: inject('postgresUrl') },
        timeout: 150_000,
      },
    );
    const file = readdirSync(out).find((f) => f.endsWith('peer-quick.json'));
    expect(file).toBeDefined();
    const report = JSON.parse(readFileSync(join(out, file ?? ''), 'utf8')) as {
      config: {
        node: string;
        sqlite: { aevon: { journal_mode: string }; emmett: { journal_mode: string } };
        postgres: { synchronous_commit: string };
      };
      results: {
        engine: string;
        shape: string;
        events: number;
        seconds: number;
        baselineEvents: number;
        baselineSeconds: number;
      }[];
    };
    expect(report.config.node).toBe(process.version);
    expect(report.config.sqlite.aevon.journal_mode).toBe('wal');
    expect(report.config.sqlite.emmett.journal_mode).toBe('wal');
    for (const engine of ['sqlite', 'postgres']) {
      const shapes = report.results.filter((r) => r.engine === engine);
      expect(shapes.map((r) => r.shape)).toEqual([
        'append 1, sequential',
        'append 1, 2 concurrent appenders',
        'append 10, sequential',
        'append 10, 2 concurrent appenders',
      ]);
      // From the unrounded counts and durations: a slow shape must not round down to 0 events/s and fail the test.
      for (const r of shapes) {
        expect(r.events / r.seconds).toBeGreaterThan(0);
        expect(r.baselineEvents / r.baselineSeconds).toBeGreaterThan(0);
      }
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}, 180_000);
