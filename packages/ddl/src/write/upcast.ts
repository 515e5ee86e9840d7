import { AevonError } from '@aevon/core';
import type { EventTypeDefinition } from '../model.js';
import type { DefinitionsState, Row, Upcasters, Value } from '../store/aggregate-store.js';
import { needsUpcaster } from './definitions.js';
import { derivedUuid } from './uuid.js';
import { coerceValue, evaluateDefault, own, put } from './values.js';

/**
 * Reads the data of an event written at `fromVersion` of `eventType` as the current version: step by step, the
 * registered upcaster of each step if any, else the default rule (fields the next version dropped are removed, fields
 * it added take their DEFAULT evaluated at `recordedAt`, or null); then every field is coerced to its current type.
 * A DEFAULT gen_random_uuid() of an added field gives a UUID derived from the event's data and time (deterministic).
 * @throws AEV_MIGRATION_INVALID when a step needs an upcaster and none is registered, when the version is unknown,
 *   or when the result does not fit the current event type.
 */
export function upcastEventData(
  state: DefinitionsState,
  upcasters: Upcasters,
  eventType: string,
  fromVersion: number,
  data: Row,
  recordedAt: string,
): Row {
  const versions = state.eventTypeVersions.get(eventType);
  const invalid = (reason: string): AevonError<'AEV_MIGRATION_INVALID'> =>
    new AevonError('AEV_MIGRATION_INVALID', { reason: `event type "${eventType}": ${reason}` });
  if (versions === undefined || versions.length === 0) throw invalid('is not defined');
  const current = versions.length;
  if (!Number.isInteger(fromVersion) || fromVersion < 1 || fromVersion > current) {
    throw invalid(`has no version ${fromVersion} (versions 1 to ${current})`);
  }
  let values: Record<string, unknown> = { ...data };
  for (let version = fromVersion; version < current; version++) {
    const from = versions[version - 1];
    const to = versions[version];
    if (from === undefined || to === undefined) throw invalid(`version ${version + 1} is missing`);
    const upcaster = upcasters.get(eventType)?.get(version);
    if (upcaster !== undefined) {
      values = upcaster(values);
      continue;
    }
    if (needsUpcaster(from, to)) {
      throw invalid(`events of version ${version} need an upcaster to version ${version + 1}`);
    }
    values = defaultStep(from, to, values, `${eventType}\u0000${version}`, recordedAt);
  }
  const latest = versions[current - 1];
  if (latest === undefined) throw invalid(`version ${current} is missing`);
  const result: Record<string, Value> = {};
  for (const field of latest.fields) {
    if (field.type === undefined) throw invalid(`field "${field.name}" has no type`);
    const coerced = coerceValue(field.type, own(values, field.name));
    if (!coerced.ok) {
      throw invalid(
        `data of version ${fromVersion} read as version ${current}: "${field.name}" ${coerced.reason}`,
      );
    }
    put(result, field.name, coerced.value);
  }
  return result;
}

/**
 * One compatible step by the default rule: fields the next version dropped are removed, fields it added take their
 * DEFAULT at `recordedAt` (gen_random_uuid() derived from `seed`, the data and the field), or null.
 */
function defaultStep(
  from: EventTypeDefinition,
  to: EventTypeDefinition,
  values: Readonly<Record<string, unknown>>,
  seed: string,
  recordedAt: string,
): Record<string, unknown> {
  const next: Record<string, unknown> = {};
  for (const field of to.fields) {
    let value: unknown = null;
    if (from.fields.some((f) => f.name === field.name)) value = own(values, field.name);
    else if (field.default !== undefined && field.type !== undefined) {
      const name = `${seed}\u0000${field.name}\u0000${recordedAt}\u0000${JSON.stringify(values)}`;
      value = evaluateDefault(field.type, field.default, {
        now: recordedAt,
        uuid: () => derivedUuid(name),
      });
    }
    put(next, field.name, value);
  }
  return next;
}
