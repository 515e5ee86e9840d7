import type { EventData, Limits, PendingEvent } from '@aevon/core';
import {
  checkName,
  checkPayload,
  invalidRequest,
  isPlainObject,
  parseDecimal,
  parseTimestamp,
  principalStream,
  principalStreamPrefix,
  lookupField,
} from '@aevon/core';
import type { Rule } from './contract.js';
import type { DataValidator } from './schema-validator.js';

/** The top-level fields of a metering envelope (`POST /v1/events`). */
export const envelopeFields: readonly string[] = [
  'id',
  'principal_id',
  'type',
  'schema_version',
  'occurred_at',
  'data',
  'metadata',
];
const knownFields: ReadonlySet<string> = new Set(envelopeFields);

/** A checked envelope, ready to append to its principal's stream. */
export interface ValidEnvelope {
  readonly stream: string;
  readonly principalId: string;
  readonly event: PendingEvent & { readonly id: string };
}

/** What {@link validateEnvelope} checks an envelope against. */
export interface EnvelopeContext {
  readonly limits: Limits;
  /** The rules by source event type, to require their numeric fields. */
  readonly rulesByType: ReadonlyMap<string, readonly Rule[]>;
  readonly validateData: DataValidator;
}

/**
 * Checks a metering envelope as the seed defines it: `id`, `principal_id`, `type` (strings), `occurred_at`
 * (RFC 3339 with a zone) and `data` (an object) are required; `schema_version` (a non-negative integer, default 0
 * which skips schema validation) and `metadata` (an object of strings) are optional; any other field is rejected.
 * With `schema_version > 0` the data must match the registered schema. For every sum/min/max rule reading the
 * event's type, its field must be present and numeric (a JSON number or numeric string).
 * @throws AEV_REQUEST_INVALID naming the field; AEV_SCHEMA_VALIDATION_FAILED; AEV_EVENT_DATA_TOO_LARGE.
 */
export function validateEnvelope(body: unknown, context: EnvelopeContext): ValidEnvelope {
  const { limits } = context;
  if (!isPlainObject(body)) throw invalidRequest('the event must be a JSON object', 'body');
  for (const key of Object.keys(body)) {
    if (!knownFields.has(key)) throw invalidRequest('is not a field of an event', key);
  }
  const id = checkName(body['id'], 'id', limits.eventIdLengthMax);
  const principalMax = limits.streamIdLengthMax - principalStreamPrefix.length;
  const principalId = checkName(body['principal_id'], 'principal_id', principalMax);
  const type = checkName(body['type'], 'type', limits.eventTypeLengthMax);
  const occurredAt = body['occurred_at'];
  if (typeof occurredAt !== 'string' || parseTimestamp(occurredAt) === null) {
    throw invalidRequest(
      'must be an RFC 3339 timestamp with a zone (2026-02-11T10:30:00Z)',
      'occurred_at',
    );
  }
  const data = body['data'];
  if (!isPlainObject(data)) throw invalidRequest('must be a JSON object', 'data');
  const schemaVersion = body['schema_version'] ?? 0;
  if (
    typeof schemaVersion !== 'number' ||
    !Number.isSafeInteger(schemaVersion) ||
    schemaVersion < 0
  ) {
    throw invalidRequest('must be a non-negative integer', 'schema_version');
  }
  const metadata = body['metadata'] ?? {};
  checkPayload(id, data, metadata, limits);
  const eventData = data as EventData;
  if (schemaVersion > 0) context.validateData(type, schemaVersion, eventData);
  for (const rule of context.rulesByType.get(type) ?? []) {
    if (rule.operator === 'count' || rule.field === undefined) continue;
    if (parseDecimal(lookupField(eventData, rule.field)) === null) {
      throw invalidRequest(
        `must be present and numeric for rule ${JSON.stringify(rule.name)}`,
        `data.${rule.field}`,
      );
    }
  }
  return {
    stream: principalStream(principalId),
    principalId,
    event: {
      id,
      type,
      data: eventData,
      metadata: metadata as Readonly<Record<string, string>>,
      schemaVersion,
      occurredAt,
    },
  };
}
