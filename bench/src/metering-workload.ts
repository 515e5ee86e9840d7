// The metering benchmark's workload: seeded events spread over principals and days, state queries over random
// windows, and an independent model of what every query must answer, so that a fast wrong answer cannot pass.

/** A seeded pseudo-random source of floats in [0, 1) (mulberry32), so that every run sends the same workload. */
export type RandomSource = () => number;

/** Creates a {@link RandomSource} from a 32-bit seed. */
export function createRandomSource(seed: number): RandomSource {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** An integer in [0, n). */
export function randomInt(random: RandomSource, n: number): number {
  return Math.floor(random() * n);
}

/** Where the events of a workload lie. */
export interface WorkloadSpace {
  readonly principals: number;
  /** `occurred_at` lies in `[startMs, startMs + days)`, on whole seconds. */
  readonly startMs: number;
  readonly days: number;
}

/** Events as columns (a million objects would cost the client more memory and time than these arrays). */
export interface EventColumns {
  readonly count: number;
  /** Principal index: the principal is `user_<index>`. */
  readonly principal: Uint32Array;
  /** Seconds after {@link WorkloadSpace.startMs}. */
  readonly occurredSec: Uint32Array;
  /** `data.tokens`, which the sum rule adds up. */
  readonly tokens: Uint8Array;
}

/**
 * `count` events with uniformly random principals (any of the space's, or only those of `among`), `occurred_at`
 * and tokens (1 to 100).
 */
export function generateEvents(
  random: RandomSource,
  count: number,
  space: WorkloadSpace,
  among?: readonly number[],
): EventColumns {
  const spanSeconds = space.days * 86_400;
  const columns = {
    count,
    principal: new Uint32Array(count),
    occurredSec: new Uint32Array(count),
    tokens: new Uint8Array(count),
  };
  for (let i = 0; i < count; i += 1) {
    columns.principal[i] =
      among === undefined
        ? randomInt(random, space.principals)
        : (among[randomInt(random, among.length)] ?? 0);
    columns.occurredSec[i] = randomInt(random, spanSeconds);
    columns.tokens[i] = 1 + randomInt(random, 100);
  }
  return columns;
}

/** `2026-02-11T10:30:00Z`: RFC 3339 in UTC, whole seconds. */
export function formatTimestamp(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19)}Z`;
}

/** The JSON envelope of event `i` of `columns`, as a metering client sends it (about 190 bytes). */
export function eventJson(id: string, columns: EventColumns, i: number, startMs: number): string {
  return JSON.stringify({
    id,
    principal_id: `user_${columns.principal[i] ?? 0}`,
    type: 'api.request',
    schema_version: 0,
    occurred_at: formatTimestamp(startMs + (columns.occurredSec[i] ?? 0) * 1000),
    data: { route: '/v1/things', status: 200, tokens: columns.tokens[i] ?? 0 },
  });
}

/** A batch body (a JSON array) of events `from` to `to - 1` of `columns`, with ids `<prefix><i>`. */
export function batchJson(
  prefix: string,
  columns: EventColumns,
  from: number,
  to: number,
  startMs: number,
): string {
  const parts: string[] = [];
  for (let i = from; i < to; i += 1) parts.push(eventJson(`${prefix}${i}`, columns, i, startMs));
  return `[${parts.join(',')}]`;
}

/** The rules the benchmark loads: the quick start's count rule and a sum over `data.tokens`. */
export const benchRules = [
  { name: 'count_api_requests', sourceEvent: 'api.request', operator: 'count' },
  { name: 'sum_tokens', sourceEvent: 'api.request', operator: 'sum', field: 'tokens' },
] as const;

/** The granularities the state benchmark queries. */
export const stateGranularities = ['total', '1h', '1m'] as const;
export type StateGranularity = (typeof stateGranularities)[number];

/** The ranges the state benchmark queries: each query spans exactly one of these. */
export const stateRanges = [
  { name: '1 hour', ms: 3_600_000 },
  { name: '1 day', ms: 86_400_000 },
  { name: '30 days', ms: 30 * 86_400_000 },
] as const;

/** One cell of the state benchmark: a granularity over a range of a fixed length. */
export interface StateCell {
  readonly granularity: StateGranularity;
  readonly rangeName: string;
  readonly rangeMs: number;
}

/** Every granularity over every range: 9 cells. */
export const stateCells: readonly StateCell[] = stateGranularities.flatMap((granularity) =>
  stateRanges.map((range) => ({ granularity, rangeName: range.name, rangeMs: range.ms })),
);

/** One state query of the benchmark. */
export interface StateQuery {
  readonly principal: number;
  readonly rule: (typeof benchRules)[number];
  readonly granularity: StateGranularity;
  readonly fromMs: number;
  readonly toMs: number;
  /** The request path and query string. */
  readonly path: string;
}

/**
 * `count` state queries of one cell: each a random principal (any of the space's, or one of `among`), a random rule,
 * and a range of exactly `cell.rangeMs` starting at a random whole minute such that it lies inside the workload.
 * @throws Error when the workload spans less than the cell's range.
 */
export function generateQueries(
  random: RandomSource,
  count: number,
  space: WorkloadSpace,
  cell: StateCell,
  among?: readonly number[],
): StateQuery[] {
  const spanMinutes = space.days * 1440;
  const rangeMinutes = cell.rangeMs / 60_000;
  if (rangeMinutes > spanMinutes) {
    throw new Error(
      `the workload spans ${space.days} days, less than a range of ${cell.rangeName}`,
    );
  }
  return Array.from({ length: count }, () => {
    const principal =
      among === undefined
        ? randomInt(random, space.principals)
        : (among[randomInt(random, among.length)] ?? 0);
    const rule = benchRules[randomInt(random, benchRules.length)] ?? benchRules[0];
    const startMinute = randomInt(random, spanMinutes - rangeMinutes + 1);
    const fromMs = space.startMs + startMinute * 60_000;
    const toMs = fromMs + cell.rangeMs;
    const path =
      `/v1/state/user_${principal}?rule=${rule.name}&start=${formatTimestamp(fromMs)}` +
      `&end=${formatTimestamp(toMs)}&granularity=${cell.granularity}`;
    return { principal, rule, granularity: cell.granularity, fromMs, toMs, path };
  });
}

const unitMsByGranularity: Readonly<Record<Exclude<StateGranularity, 'total'>, number>> = {
  '1h': 3_600_000,
  '1m': 60_000,
};

/** What the client itself knows was stored: every event's time and tokens, by principal. */
export interface StateModel {
  add(columns: EventColumns, startMs: number): void;
  /**
   * Compares a state answer with the model, window by window: `total` has exactly one window, the range; `1h` and
   * `1m` have exactly the non-empty windows, aligned to UTC hours or minutes and clipped to the range, each with the
   * event count and value (count or sum of tokens) of the principal's events in it.
   * @returns null when equal, else what differs.
   */
  check(query: StateQuery, body: string): string | null;
}

interface WindowExpectation {
  endMs: number;
  count: number;
  sum: number;
}

/** Creates an empty {@link StateModel} for `principals` principals. */
export function createStateModel(principals: number): StateModel {
  const times: number[][] = Array.from({ length: principals }, () => []);
  const tokens: number[][] = Array.from({ length: principals }, () => []);
  const expectedWindows = (query: StateQuery): Map<number, WindowExpectation> => {
    const windows = new Map<number, WindowExpectation>();
    if (query.granularity === 'total')
      windows.set(query.fromMs, { endMs: query.toMs, count: 0, sum: 0 });
    const own = times[query.principal] ?? [];
    const ownTokens = tokens[query.principal] ?? [];
    for (let i = 0; i < own.length; i += 1) {
      const ms = own[i] ?? 0;
      if (ms < query.fromMs || ms >= query.toMs) continue;
      let startMs = query.fromMs;
      let endMs = query.toMs;
      if (query.granularity !== 'total') {
        const unit = unitMsByGranularity[query.granularity];
        const aligned = Math.floor(ms / unit) * unit;
        startMs = Math.max(aligned, query.fromMs);
        endMs = Math.min(aligned + unit, query.toMs);
      }
      const window = windows.get(startMs) ?? { endMs, count: 0, sum: 0 };
      window.count += 1;
      window.sum += ownTokens[i] ?? 0;
      windows.set(startMs, window);
    }
    return windows;
  };
  return {
    add: (columns, startMs) => {
      for (let i = 0; i < columns.count; i += 1) {
        const p = columns.principal[i] ?? 0;
        times[p]?.push(startMs + (columns.occurredSec[i] ?? 0) * 1000);
        tokens[p]?.push(columns.tokens[i] ?? 0);
      }
    },
    check: (query, body) => {
      const expected = expectedWindows(query);
      const answer = JSON.parse(body) as {
        values?: {
          window_start: string;
          window_end: string;
          value: string | null;
          event_count: number;
        }[];
      };
      const values = answer.values ?? [];
      if (values.length !== expected.size) {
        return `${query.path}: answered ${values.length} windows, expected ${expected.size}`;
      }
      for (const window of values) {
        const startMs = Date.parse(window.window_start);
        const own = expected.get(startMs);
        const value = query.rule.operator === 'count' ? own?.count : own?.sum;
        if (
          own === undefined ||
          Date.parse(window.window_end) !== own.endMs ||
          window.event_count !== own.count ||
          BigInt(window.value ?? '0') !== BigInt(value ?? 0)
        ) {
          return (
            `${query.path}: window ${JSON.stringify(window)}, expected ` +
            (own === undefined ? 'no such window' : JSON.stringify({ ...own, startMs }))
          );
        }
      }
      return null;
    },
  };
}
