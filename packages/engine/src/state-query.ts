import type { StateSnapshot } from '@aevon/core';
import {
  AevonError,
  bucketWidthMs,
  ceilToUnit,
  checkName,
  computeStateWindows,
  floorToUnit,
  formatUtcTimestamp,
  invalidRequest,
  parseTimestamp,
  principalStreamPrefix,
} from '@aevon/core';
import type { Limits } from '@aevon/core';
import type { Granularity, Rule, StateQueryInput, StateResponse } from './contract.js';

/** The longest range a state query may span: 366 days, so that one query reads at most ~527k buckets. */
export const stateRangeMsMax = 366 * 86_400_000;

const granularities: readonly Granularity[] = ['total', '1m', '1h', '1d'];

/** A checked state query. */
export interface ParsedStateQuery {
  readonly principalId: string;
  readonly rule: Rule;
  readonly start: string;
  readonly end: string;
  readonly granularity: Granularity;
  /** The range actually read, widened to whole minutes: `start` floored, `end` ceiled. */
  readonly fromMs: number;
  readonly toMs: number;
  readonly endMs: number;
}

/**
 * Checks the raw parameters of `GET /v1/state/{principal_id}`. The range `[start, end)` is widened to whole
 * minutes (start floored, end ceiled), since buckets are one minute wide.
 * @throws AEV_RULE_UNKNOWN for a rule not loaded; AEV_REQUEST_INVALID naming the parameter (`rule`, `start`, `end`,
 *   `granularity`, `principal_id`) when it is missing or malformed, when `start >= end`, or when the range spans
 *   more than {@link stateRangeMsMax}.
 */
export function parseStateQuery(
  input: StateQueryInput,
  rules: ReadonlyMap<string, Rule>,
  limits: Limits,
): ParsedStateQuery {
  const principalId = checkName(
    input.principalId,
    'principal_id',
    limits.streamIdLengthMax - principalStreamPrefix.length,
  );
  if (typeof input.rule !== 'string' || input.rule === '')
    throw invalidRequest('is required', 'rule');
  const rule = rules.get(input.rule);
  if (rule === undefined) throw new AevonError('AEV_RULE_UNKNOWN', { rule: input.rule });
  const start = timestamp(input.start, 'start');
  const end = timestamp(input.end, 'end');
  if (start.ms >= end.ms) throw invalidRequest('must be after start', 'end');
  if (end.ms - start.ms > stateRangeMsMax)
    throw invalidRequest('the range must span at most 366 days', 'end');
  const granularity = input.granularity ?? 'total';
  if (typeof granularity !== 'string' || !granularities.includes(granularity as Granularity)) {
    throw invalidRequest(`must be one of ${granularities.join(', ')}`, 'granularity');
  }
  return {
    principalId,
    rule,
    start: start.text,
    end: end.text,
    granularity: granularity as Granularity,
    fromMs: floorToUnit(start.ms, bucketWidthMs),
    toMs: ceilToUnit(end.ms, bucketWidthMs),
    endMs: end.ms,
  };
}

function timestamp(value: unknown, field: string): { text: string; ms: number } {
  if (value === undefined || value === '') throw invalidRequest('is required', field);
  const ms = typeof value === 'string' ? parseTimestamp(value) : null;
  if (typeof value !== 'string' || ms === null) {
    throw invalidRequest('must be an RFC 3339 timestamp with a zone (2026-02-11T10:00:00Z)', field);
  }
  return { text: value, ms };
}

/**
 * Builds the state response of the seed from a consistent snapshot. Window bounds are the widened range's, in UTC
 * without milliseconds when whole seconds. `data_through` is the earlier of the widened end and now: every event
 * ingested before the query is included (pre-aggregates plus raw tail), so `staleness_seconds` is always 0.
 */
export function buildStateResponse(
  query: ParsedStateQuery,
  snapshot: StateSnapshot,
  nowMs: number,
): StateResponse {
  const range = { startMs: query.fromMs, endMs: query.toMs };
  const windows = computeStateWindows(query.rule, snapshot, range, query.granularity);
  return {
    principal_id: query.principalId,
    rule: query.rule.name,
    operator: query.rule.operator,
    start: query.start,
    end: query.end,
    granularity: query.granularity,
    data_through: formatUtcTimestamp(Math.min(query.toMs, nowMs)),
    staleness_seconds: 0,
    values: windows.map((window) => ({
      window_start: formatUtcTimestamp(window.startMs),
      window_end: formatUtcTimestamp(window.endMs),
      value: window.value,
      event_count: window.eventCount,
    })),
  };
}
