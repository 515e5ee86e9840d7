import { AevonError, defaultLimits, isPlainObject, isWellFormedText } from '@aevon/core';
import { columnType, fieldType } from '../catalog.js';
import type { Catalog } from '../catalog.js';
import { pathPlaceholders } from '../check-statement.js';
import { isSerial } from '../data-type.js';
import type { ColumnDefinition, DataType, FieldDefinition } from '../model.js';
import type { DefinitionsState, KeyToGenerate, Row, Value } from '../store/aggregate-store.js';
import { coerceFromText, coerceValue, evaluateDefault, valueText } from './values.js';

/** A typed event as a client sends it: `POST /streams/{stream}/{pathValues...}` with `XEvent-Type` and a body. */
export interface EventInput {
  /** The stream definition's name (`account_events`). */
  readonly stream: string;
  readonly eventType: string;
  readonly body: unknown;
  /** Path segments after the stream name: they fill the stream path's `{field}` placeholders in order. */
  readonly pathValues: readonly string[];
  /** The time DEFAULT NOW() of an event field takes (ISO 8601, UTC). */
  readonly now: string;
  /** The UUIDs DEFAULT gen_random_uuid() takes. */
  readonly randomUuid: () => string;
}

/** An event that fits its event type: every field (null when absent) but the serial keys the store generates. */
export interface ValidatedEvent {
  readonly stream: string;
  readonly eventType: string;
  readonly schemaVersion: number;
  readonly data: Row;
  readonly keysToGenerate: readonly KeyToGenerate[];
}

/**
 * Checks a typed event against the definitions and gives its data in canonical form (docs/reference/ddl.md,
 * "Writing events"): body fields coerced to their types, path values filling the path's fields, the `agg_col` alias
 * of linked fields, DEFAULTs of missing fields, NOT NULL, and the keys `creates`/`references` fields need.
 * @throws AEV_NOT_FOUND for an unknown stream definition; AEV_EVENT_DATA_INVALID naming the field at fault (`$type`
 *   for the event type, `$body` for a body that is not an object, `$path` for path values).
 */
export function validateEventInput(state: DefinitionsState, input: EventInput): ValidatedEvent {
  const { catalog } = state;
  const stream = catalog.streams.get(input.stream);
  if (stream === undefined) {
    throw new AevonError('AEV_NOT_FOUND', { resource: `stream definition "${input.stream}"` });
  }
  const invalid = (field: string, reason: string): AevonError<'AEV_EVENT_DATA_INVALID'> =>
    new AevonError('AEV_EVENT_DATA_INVALID', {
      stream: input.stream,
      eventType: input.eventType,
      field,
      reason,
    });
  const eventType = catalog.eventTypes.get(input.eventType);
  if (eventType === undefined) throw invalid('$type', 'is not a defined event type');
  if (!stream.eventTypes.includes(eventType.name)) {
    throw invalid('$type', `is not an event type of stream "${stream.name}"`);
  }
  if (!isPlainObject(input.body)) throw invalid('$body', 'must be a JSON object');
  const body = input.body;
  const fields = new Map<string, FieldDefinition>(eventType.fields.map((f) => [f.name, f]));
  const types = new Map<string, DataType>(
    eventType.fields.map((f) => [f.name, fieldType(catalog, f)]),
  );
  const typeOf = (name: string): DataType => types.get(name) ?? { name: 'text' };

  // Body values, by field; aliases resolved.
  const given = new Map<string, Value>();
  const aliasOf = new Map<string, string>();
  const aliases = aliasTable(eventType.fields, fields);
  for (const [key, raw] of Object.entries(body)) {
    let name = key;
    if (!fields.has(key)) {
      const target = aliases.get(key);
      if (target === undefined)
        throw invalid(key, `is not a field of event type "${eventType.name}"`);
      if (target.length > 1) {
        throw invalid(
          key,
          `is ambiguous: fields ${target.map((t) => `"${t}"`).join(', ')} link it`,
        );
      }
      name = target[0] as string;
      aliasOf.set(name, key);
    }
    const coerced = coerceValue(typeOf(name), raw);
    if (!coerced.ok) throw invalid(key, coerced.reason);
    const previous = given.get(name);
    if (given.has(name) && !sameValue(previous ?? null, coerced.value)) {
      throw invalid(name, `disagrees with "${aliasOf.get(name) ?? key}"`);
    }
    given.set(name, coerced.value);
  }

  // Path values fill the path's fields in order.
  const placeholders = pathPlaceholders(stream.path);
  if (input.pathValues.length > placeholders.length) {
    throw invalid(
      '$path',
      `has ${input.pathValues.length} value${input.pathValues.length === 1 ? '' : 's'}; ` +
        `the path ${JSON.stringify(stream.path)} takes at most ${placeholders.length}`,
    );
  }
  input.pathValues.forEach((text, i) => {
    const name = placeholders[i] as string;
    const coerced = coerceFromText(typeOf(name), text);
    if (!coerced.ok) throw invalid('$path', `{${name}} ${coerced.reason}`);
    if (given.has(name) && !sameValue(given.get(name) ?? null, coerced.value)) {
      throw invalid(
        '$path',
        `{${name}} is ${JSON.stringify(text)} but the body's "${aliasOf.get(name) ?? name}" is ` +
          JSON.stringify(given.get(name)),
      );
    }
    given.set(name, coerced.value);
  });

  // Every field: given, defaulted, generated or null.
  const data: Record<string, Value> = {};
  const keysToGenerate: KeyToGenerate[] = [];
  const context = { now: input.now, uuid: input.randomUuid };
  for (const field of eventType.fields) {
    const type = typeOf(field.name);
    let value: Value = given.get(field.name) ?? null;
    const link = field.link;
    if (value === null && !given.has(field.name) && field.default !== undefined) {
      value = evaluateDefault(type, field.default, context);
    }
    if (value === null && link?.kind === 'creates') {
      const column = linkedColumn(catalog, link.aggregate, link.column);
      const declared = columnTypeOf(catalog, link.aggregate, column);
      if (isSerial(declared)) {
        keysToGenerate.push({ field: field.name, aggregate: link.aggregate, column: link.column });
        continue;
      }
      if (column.default === undefined) {
        throw invalid(field.name, `is required: it is the key of the new ${link.aggregate} row`);
      }
      value = evaluateDefault(type, column.default, context);
    }
    if (value === null) {
      if (field.notNull === true) throw invalid(field.name, 'must not be null');
      if (link?.kind === 'references') {
        throw invalid(
          field.name,
          `is required: it names the ${link.aggregate} row (${link.aggregate}.${link.column})`,
        );
      }
      if (placeholders.includes(field.name)) {
        throw invalid(
          field.name,
          `is required: the stream path ${JSON.stringify(stream.path)} uses it`,
        );
      }
    }
    data[field.name] = value;
  }
  return {
    stream: stream.name,
    eventType: eventType.name,
    schemaVersion: state.versions.get(`event_type:${eventType.name}`) ?? 1,
    data,
    keysToGenerate,
  };
}

/** `agg_col` → the fields linked to `agg(col)`, for names that are not fields themselves. */
function aliasTable(
  list: readonly FieldDefinition[],
  fields: ReadonlyMap<string, FieldDefinition>,
): Map<string, string[]> {
  const table = new Map<string, string[]>();
  for (const field of list) {
    const link = field.link;
    if (link === undefined) continue;
    const alias = `${link.aggregate}_${link.column}`;
    if (fields.has(alias)) continue;
    table.set(alias, [...(table.get(alias) ?? []), field.name]);
  }
  return table;
}

function linkedColumn(catalog: Catalog, aggregate: string, column: string): ColumnDefinition {
  const found = catalog.aggregates.get(aggregate)?.columns.find((c) => c.name === column);
  if (found === undefined) throw new TypeError(`${aggregate}(${column}) is not in the catalog`);
  return found;
}

function columnTypeOf(catalog: Catalog, aggregate: string, column: ColumnDefinition): DataType {
  return column.type ?? columnType(catalog, aggregate, column);
}

/** Whether two canonical values are the same value. */
export function sameValue(a: Value, b: Value): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * The stream id of an event: the stream definition's path with each `{field}` replaced by the canonical text of that
 * field's value (`/accounts/{id}` → `/accounts/1`).
 * @throws AEV_NOT_FOUND for an unknown stream definition; AEV_EVENT_DATA_INVALID (`$path`) for a value that is null,
 *   not a scalar, empty, contains `/` or control characters, or makes the id too long.
 */
export function streamIdFor(catalog: Catalog, stream: string, data: Row): string {
  const definition = catalog.streams.get(stream);
  if (definition === undefined) {
    throw new AevonError('AEV_NOT_FOUND', { resource: `stream definition "${stream}"` });
  }
  const invalid = (reason: string): AevonError<'AEV_EVENT_DATA_INVALID'> =>
    new AevonError('AEV_EVENT_DATA_INVALID', { stream, eventType: '', field: '$path', reason });
  const id = definition.path.replace(/\{([^}]*)\}/g, (_match, name: string) => {
    const value = data[name] ?? null;
    if (value === null) throw invalid(`{${name}} has no value`);
    if (typeof value === 'object')
      throw invalid(`{${name}} must be a single value, not ${JSON.stringify(value)}`);
    const text = valueText(value);
    if (text === '') throw invalid(`{${name}} must not be empty`);
    if (text.includes('/'))
      throw invalid(`{${name}} must not contain "/": ${JSON.stringify(text)}`);
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u001f\u007f-\u009f]/.test(text) || !isWellFormedText(text)) {
      throw invalid(`{${name}} must not contain control characters`);
    }
    return text;
  });
  if (id.length > defaultLimits.streamIdLengthMax) {
    throw invalid(`the stream id must be at most ${defaultLimits.streamIdLengthMax} characters`);
  }
  return id;
}
