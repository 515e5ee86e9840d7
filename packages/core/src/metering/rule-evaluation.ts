import type { JsonValue } from '../event/event.js';
import type { DecimalString } from './decimal.js';
import { parseDecimal } from './decimal.js';

/** The aggregation operators of a metering rule. */
export type MeteringOperator = 'count' | 'sum' | 'min' | 'max';

/** A metering rule as core evaluates it (the engine's `Rule` has this shape). */
export interface MeteringRule {
  readonly name: string;
  /** The event `type` the rule folds. */
  readonly sourceEvent: string;
  readonly operator: MeteringOperator;
  /** For sum/min/max: a dot path into the event's `data` (`tokens.input`). Absent for count. */
  readonly field?: string;
}

/**
 * Looks up a dot path (`tokens.input`) in an event's data, through nested objects only.
 * @returns the value, or undefined when a segment is missing or crosses a non-object.
 */
export function lookupField(
  data: { readonly [key: string]: JsonValue },
  path: string,
): JsonValue | undefined {
  let current: JsonValue | undefined = data;
  for (const segment of path.split('.')) {
    if (typeof current !== 'object' || current === null || Array.isArray(current)) return undefined;
    const record: { readonly [key: string]: JsonValue } = current as {
      readonly [key: string]: JsonValue;
    };
    if (!Object.prototype.hasOwnProperty.call(record, segment)) return undefined;
    current = record[segment];
  }
  return current;
}

/**
 * The value an event contributes to a rule: `"1"` for count (every event counts), else the rule's field as an exact
 * decimal (a JSON number or a numeric string).
 * @returns null when a sum/min/max event lacks the field or holds a non-numeric value there (ingestion rejects such
 *   events; the sweep skips any that predate the rule).
 */
export function ruleValue(
  rule: MeteringRule,
  data: { readonly [key: string]: JsonValue },
): DecimalString | null {
  if (rule.operator === 'count') return '1';
  if (rule.field === undefined) return null;
  return parseDecimal(lookupField(data, rule.field));
}
