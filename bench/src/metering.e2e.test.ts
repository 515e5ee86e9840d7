// Smoke test: the metering benchmark runs end to end with tiny sizes against real `aevon serve` processes (and the
// bare Fastify ceiling), one engine per test, so that it cannot rot. It asserts that every figure is there and
// positive and that every state answer matched the benchmark's own model, never how fast anything was (benchmarks
// are not timed assertions). Build first.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, inject, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

interface Report {
  config: {
    node: string;
    cpus: number;
    sizes: {
      storedEvents: number[];
      ingest: { clients: number; batchSize: number };
      state: { queries: number; tailEvents: number; hotPrincipals: number };
    };
    [engine: string]: unknown;
  };
  ingest: {
    engine: string;
    shape: string;
    events: number;
    eventsPerSecond: number;
    p50Ms: number;
    p99Ms: number;
    baselineEventsPerSecond: number;
    baselineP50Ms: number;
    baselineP99Ms: number;
    ratio: number;
  }[];
  sweep: {
    engine: string;
    shape: string;
    storedEvents: number;
    events: number;
    eventsPerSecond: number;
    ratio?: number;
  }[];
  state: {
    engine: string;
    shape: string;
    storedEvents: number;
    tailEvents: number;
    granularity: string;
    range: string;
    queries: number;
    p50Ms: number;
    p99Ms: number;
    p999Ms: number;
    maxMs: number;
    checked: number;
    mismatches: number;
    ratioP50?: number;
  }[];
}

/** Runs the benchmark with --quick on one engine and returns its JSON report. */
function runQuick(engine: string): Report {
  const out = mkdtempSync(join(tmpdir(), 'aevon-bench-out-'));
  try {
    execFileSync(
      process.execPath,
      [join(root, 'bench/dist/metering.js'), '--quick', '--engines', engine, '--out', out],
      {
        env: { ...process.env, AEVON_BENCH_POSTGRES_URL: inject('postgresUrl') },
        stdio: 'pipe',
        timeout: 120_000,
      },
    );
    const file = readdirSync(out).find((f) => f.endsWith('metering-quick.json'));
    expect(file).toBeDefined();
    expect(readdirSync(out)).toContain(file?.replace(/\.json$/, '.md'));
    return JSON.parse(readFileSync(join(out, file ?? ''), 'utf8')) as Report;
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

describe.each(['sqlite', 'postgres'])('the metering benchmark on %s', (engine) => {
  it('measures every ingest, sweep and state shape with tiny sizes and no wrong answer', () => {
    // When the benchmark runs with --quick on this engine
    const report = runQuick(engine);
    const { sizes } = report.config;
    const [stored] = sizes.storedEvents;
    const { queries, tailEvents, hotPrincipals } = sizes.state;

    // Then the configuration is there
    expect(report.config.node).toBe(process.version);
    expect(report.config.cpus).toBeGreaterThan(0);
    expect(stored).toBeGreaterThan(0);

    // And each ingest shape has positive figures next to the ceiling's
    const { clients, batchSize } = sizes.ingest;
    expect(report.ingest.map((r) => [r.engine, r.shape])).toEqual([
      [engine, 'POST /v1/events, 1 event/request, 1 connection'],
      [engine, `POST /v1/events, 1 event/request, ${clients} connections`],
      [engine, `POST /v1/events/batch, ${batchSize} events/request, 1 connection`],
      [engine, `POST /v1/events/batch, ${batchSize} events/request, ${clients} connections`],
    ]);
    for (const r of report.ingest) {
      for (const figure of [
        r.events,
        r.eventsPerSecond,
        r.p50Ms,
        r.p99Ms,
        r.baselineEventsPerSecond,
        r.baselineP50Ms,
        r.baselineP99Ms,
        r.ratio,
      ])
        expect(figure).toBeGreaterThan(0);
      expect(r.p50Ms).toBeLessThanOrEqual(r.p99Ms);
    }

    // And the bulk load, the sweep after a crash and the rebuild each folded the whole log
    expect(report.sweep.map((r) => r.shape)).toEqual([
      expect.stringMatching(/^bulk load: /),
      expect.stringMatching(/^sweep: after a crash, the scheduler .* folds the whole load$/),
      expect.stringMatching(/^rebuild: the scheduler .* from an empty checkpoint$/),
    ]);
    for (const r of report.sweep) {
      expect(r.storedEvents).toBe(stored);
      expect(r.eventsPerSecond).toBeGreaterThan(0);
    }
    expect(report.sweep.map((r) => r.events)).toEqual([stored, stored, (stored ?? 0) + tailEvents]);
    expect(report.sweep[1]?.ratio).toBeGreaterThan(0);
    expect(report.sweep[2]?.ratio).toBeGreaterThan(0);
    const phase = (report.config[engine] as { phases: Record<string, unknown>[] }).phases[0];
    expect(phase).toMatchObject({
      storedEvents: stored,
      backlogAfterCrash: stored,
      tailBacklog: tailEvents,
      backlogBeforeReset: 0,
      rebuildEvents: (stored ?? 0) + tailEvents,
      backlogAfterRebuild: 0,
    });
    expect(phase?.['hotPrincipals']).toHaveLength(hotPrincipals);

    // And every cell was measured all swept and with the tail, and every answer matched the model
    const cells = (tail: number) =>
      report.state
        .filter((r) => r.tailEvents === tail && r.granularity !== 'random')
        .map((r) => `${r.granularity} over ${r.range}`);
    const expectedCells = ['total', '1h', '1m'].flatMap((g) =>
      ['1 hour', '1 day', '30 days'].map((range) => `${g} over ${range}`),
    );
    expect(cells(0)).toEqual(expectedCells);
    expect(cells(tailEvents)).toEqual(expectedCells);
    expect(report.state).toHaveLength(2 * expectedCells.length + 1);
    for (const r of report.state) {
      expect(r.engine).toBe(engine);
      expect(r.storedEvents).toBe(stored);
      expect(r.queries).toBe(queries);
      for (const ms of [r.p50Ms, r.p99Ms, r.p999Ms, r.maxMs]) expect(ms).toBeGreaterThan(0);
      expect(r.p50Ms).toBeLessThanOrEqual(r.p99Ms);
      expect(r.p99Ms).toBeLessThanOrEqual(r.p999Ms);
      expect(r.p999Ms).toBeLessThanOrEqual(r.maxMs);
      expect(r.checked).toBe(r.queries);
      expect(r.mismatches).toBe(0);
      if (r.granularity !== 'random') expect(r.ratioP50).toBeGreaterThan(0);
    }
  }, 120_000);
});
