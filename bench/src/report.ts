import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
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

/** The configuration every result file carries, so numbers are never read without their context. */
export function environment(extra: Record<string, unknown>): Record<string, unknown> {
  return {
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
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

function round(value: number, digits: number): number {
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

/** Writes `bench/results/<date>-<name>.json` and `.md`, and returns their paths. */
export function writeResults(
  resultsDir: string,
  name: string,
  config: Record<string, unknown>,
  rows: readonly Measurement[],
  isoDate: string,
): { json: string; markdown: string } {
  mkdirSync(resultsDir, { recursive: true });
  const stem = join(resultsDir, `${isoDate.slice(0, 10)}-${name}`);
  writeFileSync(
    `${stem}.json`,
    `${JSON.stringify({ name, date: isoDate, config, results: rows }, null, 2)}\n`,
  );
  const md = [
    `# ${name} (${isoDate})`,
    '',
    '```json',
    JSON.stringify(config, null, 2),
    '```',
    '',
    markdownTable(rows),
    '',
  ];
  writeFileSync(`${stem}.md`, md.join('\n'));
  return { json: `${stem}.json`, markdown: `${stem}.md` };
}
