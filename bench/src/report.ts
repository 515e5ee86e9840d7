import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';

/** One measured figure, with the baseline it is compared against where there is one. */
export interface Measurement {
  readonly engine: string;
  readonly shape: string;
  readonly events: number;
  readonly seconds: number;
  readonly eventsPerSecond: number;
  readonly baseline?: string;
  readonly baselineEventsPerSecond?: number;
  /** eventsPerSecond / baselineEventsPerSecond. */
  readonly ratio?: number;
}

/**
 * Latency percentiles of one query shape (nearest rank, in milliseconds), with the same percentiles of a baseline
 * request measured in the same run where there is one.
 */
export interface LatencyMeasurement {
  readonly engine: string;
  readonly shape: string;
  readonly queries: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly p99Ms: number;
  /** The 99.9th percentile: with 1000 samples, the second largest. */
  readonly p999Ms: number;
  readonly maxMs: number;
  readonly meanMs: number;
  /** Answers checked against an independent computation, and how many differed (anything but 0 is a bug). */
  readonly checked?: number;
  readonly mismatches?: number;
  readonly baseline?: string;
  readonly baselineP50Ms?: number;
  readonly baselineP99Ms?: number;
  readonly baselineP999Ms?: number;
  /** p50Ms / baselineP50Ms. */
  readonly ratioP50?: number;
  /** p99Ms / baselineP99Ms. */
  readonly ratioP99?: number;
}

/** The configuration every result file carries, so numbers are never read without their context. */
export function environment(extra: Record<string, unknown>): Record<string, unknown> {
  return {
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    // Other work on the machine moves every figure: the 1, 5 and 15 minute load averages when the report is written.
    loadAverage: loadavg().map((load) => Math.round(load * 100) / 100),
    ...extra,
  };
}

/** Times an async function and returns seconds. */
export async function time(fn: () => Promise<void>): Promise<number> {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e9;
}

/** A measurement from a count and a duration, with an optional baseline. */
export function measure(
  engine: string,
  shape: string,
  events: number,
  seconds: number,
  baseline?: { name: string; eventsPerSecond: number },
): Measurement {
  const eventsPerSecond = events / seconds;
  return {
    engine,
    shape,
    events,
    seconds: round(seconds, 4),
    eventsPerSecond: Math.round(eventsPerSecond),
    ...(baseline === undefined
      ? {}
      : {
          baseline: baseline.name,
          baselineEventsPerSecond: Math.round(baseline.eventsPerSecond),
          ratio: round(eventsPerSecond / baseline.eventsPerSecond, 2),
        }),
  };
}

/**
 * Latency percentiles of a set of samples in milliseconds (nearest rank), with an optional baseline set.
 * @throws Error when `samplesMs` is empty: a percentile of nothing is a bug in the benchmark.
 */
export function latency(
  engine: string,
  shape: string,
  samplesMs: readonly number[],
  options: {
    readonly baseline?: { readonly name: string; readonly samplesMs: readonly number[] };
    readonly checked?: number;
    readonly mismatches?: number;
  } = {},
): LatencyMeasurement {
  const { baseline, checked, mismatches } = options;
  const base = baseline === undefined ? undefined : percentiles(baseline.samplesMs);
  const own = percentiles(samplesMs);
  return {
    engine,
    shape,
    queries: samplesMs.length,
    p50Ms: round(own.p50, 3),
    p95Ms: round(own.p95, 3),
    p99Ms: round(own.p99, 3),
    p999Ms: round(own.p999, 3),
    maxMs: round(own.max, 3),
    meanMs: round(own.mean, 3),
    ...(checked === undefined ? {} : { checked }),
    ...(mismatches === undefined ? {} : { mismatches }),
    ...(baseline === undefined || base === undefined
      ? {}
      : {
          baseline: baseline.name,
          baselineP50Ms: round(base.p50, 3),
          baselineP99Ms: round(base.p99, 3),
          baselineP999Ms: round(base.p999, 3),
          ratioP50: round(own.p50 / base.p50, 2),
          ratioP99: round(own.p99 / base.p99, 2),
        }),
  };
}

/** Percentiles (nearest rank), maximum and mean of a set of samples. */
export interface Percentiles {
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly p999: number;
  readonly max: number;
  readonly mean: number;
}

/**
 * The nearest-rank percentiles of `samples`.
 * @throws Error when `samples` is empty: a percentile of nothing is a bug in the benchmark.
 */
export function percentiles(samples: readonly number[]): Percentiles {
  if (samples.length === 0) throw new Error('no latency samples');
  const sorted = Float64Array.from(samples).sort();
  const rank = (p: number): number =>
    sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? 0;
  const total = sorted.reduce((sum, value) => sum + value, 0);
  return {
    p50: rank(50),
    p95: rank(95),
    p99: rank(99),
    p999: rank(99.9),
    max: sorted[sorted.length - 1] ?? 0,
    mean: total / sorted.length,
  };
}

/** Rounds to `digits` decimals. */
export function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** A markdown table of measurements. */
export function markdownTable(rows: readonly Measurement[]): string {
  const lines = [
    '| engine | shape | events | events/s | baseline | baseline events/s | ratio |',
    '| --- | --- | ---: | ---: | --- | ---: | ---: |',
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.engine} | ${r.shape} | ${r.events} | ${r.eventsPerSecond} | ${r.baseline ?? ''} | ` +
        `${r.baselineEventsPerSecond ?? ''} | ${r.ratio ?? ''} |`,
    );
  }
  return lines.join('\n');
}

/** A markdown table of latency measurements. */
export function latencyTable(rows: readonly LatencyMeasurement[]): string {
  const lines = [
    '| engine | shape | queries | p50 ms | p95 ms | p99 ms | p99.9 ms | max ms | mean ms | checked | ' +
      'mismatches | baseline | baseline p50 ms | baseline p99 ms | ratio p50 | ratio p99 |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: |',
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.engine} | ${r.shape} | ${r.queries} | ${r.p50Ms} | ${r.p95Ms} | ${r.p99Ms} | ${r.p999Ms} | ` +
        `${r.maxMs} | ${r.meanMs} | ${r.checked ?? ''} | ${r.mismatches ?? ''} | ${r.baseline ?? ''} | ` +
        `${r.baselineP50Ms ?? ''} | ${r.baselineP99Ms ?? ''} | ${r.ratioP50 ?? ''} | ${r.ratioP99 ?? ''} |`,
    );
  }
  return lines.join('\n');
}

/**
 * Writes `bench/results/<date>-<name>.json` and `.md`, and returns their paths. Latency measurements, when given,
 * go under `latencies` in the JSON and in a second table.
 */
export function writeResults(
  resultsDir: string,
  name: string,
  config: Record<string, unknown>,
  rows: readonly Measurement[],
  isoDate: string,
  latencies: readonly LatencyMeasurement[] = [],
): { json: string; markdown: string } {
  mkdirSync(resultsDir, { recursive: true });
  const stem = join(resultsDir, `${isoDate.slice(0, 10)}-${name}`);
  const document = {
    name,
    date: isoDate,
    config,
    results: rows,
    ...(latencies.length === 0 ? {} : { latencies }),
  };
  writeFileSync(`${stem}.json`, `${JSON.stringify(document, null, 2)}\n`);
  const md = [
    `# ${name} (${isoDate})`,
    '',
    '```json',
    JSON.stringify(config, null, 2),
    '```',
    '',
    markdownTable(rows),
    '',
    ...(latencies.length === 0 ? [] : [latencyTable(latencies), '']),
  ];
  writeFileSync(`${stem}.md`, md.join('\n'));
  return { json: `${stem}.json`, markdown: `${stem}.md` };
}

/** One table of a report: its rows go under `key` in the JSON, and under `title` in the markdown. */
export interface ReportSection {
  readonly key: string;
  readonly title: string;
  readonly rows: readonly object[];
  /** The markdown columns, in order: [heading, property]. Default: every property of the first row. */
  readonly columns?: readonly (readonly [string, string])[];
}

/** A markdown table of plain rows; a missing property is an empty cell. */
export function objectTable(
  rows: readonly object[],
  columns?: readonly (readonly [string, string])[],
): string {
  const first = rows[0];
  const cols =
    columns ?? (first === undefined ? [] : Object.keys(first).map((key) => [key, key] as const));
  const isNumeric = (key: string): boolean =>
    rows.some((row) => typeof (row as Record<string, unknown>)[key] === 'number');
  const cell = (row: object, key: string): string => {
    const value = (row as Record<string, unknown>)[key];
    if (typeof value === 'string') return value;
    if (typeof value === 'number' || typeof value === 'boolean') return String(value);
    return value === undefined || value === null ? '' : JSON.stringify(value);
  };
  return [
    `| ${cols.map(([heading]) => heading).join(' | ')} |`,
    `| ${cols.map(([, key]) => (isNumeric(key) ? '---:' : '---')).join(' | ')} |`,
    ...rows.map((row) => `| ${cols.map(([, key]) => cell(row, key)).join(' | ')} |`),
  ].join('\n');
}

/**
 * Writes `<resultsDir>/<date>-<name>.json` (the configuration and each section's rows under its key) and `.md` (the
 * configuration and one table per section), and returns their paths.
 */
export function writeReport(
  resultsDir: string,
  name: string,
  config: Record<string, unknown>,
  isoDate: string,
  sections: readonly ReportSection[],
  extra: Record<string, unknown> = {},
): { json: string; markdown: string } {
  mkdirSync(resultsDir, { recursive: true });
  const stem = join(resultsDir, `${isoDate.slice(0, 10)}-${name}`);
  const document: Record<string, unknown> = { name, date: isoDate, config };
  for (const section of sections) document[section.key] = section.rows;
  writeFileSync(`${stem}.json`, `${JSON.stringify({ ...document, ...extra }, null, 2)}\n`);
  const md = [`# ${name} (${isoDate})`, '', '```json', JSON.stringify(config, null, 2), '```', ''];
  for (const section of sections) {
    if (section.rows.length === 0) continue;
    md.push(`## ${section.title}`, '', objectTable(section.rows, section.columns), '');
  }
  writeFileSync(`${stem}.md`, md.join('\n'));
  return { json: `${stem}.json`, markdown: `${stem}.md` };
}
