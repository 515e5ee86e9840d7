import { AevonError, assert, defaultLimits, isPlainObject, isWellFormedText } from '@aevon/core';
import { fieldType } from '../catalog.js';
import type { Catalog } from '../catalog.js';
import { pathPlaceholders } from '../check-statement.js';
import { isSerial } from '../data-type.js';
import type {
  ColumnDefinition,
  DataType,
  EventTypeDefinition,
  FieldDefinition,
  StreamDefinition,
} from '../model.js';
import type { ExpectedRevision } from '@aevon/core';
import type {
  DefinitionsState,
  KeyToGenerate,
  Row,
  TypedWrite,
  Value,
} from '../store/aggregate-store.js';
import { coerceFromText, coerceValue, evaluateDefault, own, valueText } from './values.js';
import type { DefaultContext } from './values.js';

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
  const target = resolveTarget(state.catalog, input);
  if (!isPlainObject(input.body)) throw target.invalid('$body', 'must be a JSON object');
  const given = readBody(target, input.body);
  readPath(target, given, input.pathValues);
  const { data, keysToGenerate } = completeData(target, given, {
    now: input.now,
    uuid: input.randomUuid,
  });
  return {
    stream: target.stream.name,
    eventType: target.eventType.name,
    schemaVersion: state.versions.get(`event_type:${target.eventType.name}`) ?? 1,
    data,
    keysToGenerate,
  };
}

/** What {@link toTypedWrite} adds to a validated event. */
export interface TypedWriteStamp {
  /** The version of the definitions the event was validated against. */
  readonly definitionsVersion: number;
  readonly expected: ExpectedRevision;
  readonly id: string;
  /** Its `occurred_at` and `recorded_at`: the `now` it was validated with. */
  readonly at: string;
}

/**
 * The {@link TypedWrite} of a validated event: typed writes take no metadata, correlation or causation (yet), and
 * occur when they are recorded.
 */
export function toTypedWrite(validated: ValidatedEvent, stamp: TypedWriteStamp): TypedWrite {
  return {
    definitionsVersion: stamp.definitionsVersion,
    stream: validated.stream,
    eventType: validated.eventType,
    schemaVersion: validated.schemaVersion,
    data: validated.data,
    keysToGenerate: validated.keysToGenerate,
    expected: stamp.expected,
    id: stamp.id,
    metadata: {},
    occurredAt: stamp.at,
    recordedAt: stamp.at,
    correlationId: null,
    causationId: null,
  };
}

/** What an input is checked against, and how its errors read. */
interface Target {
  readonly catalog: Catalog;
  readonly stream: StreamDefinition;
  readonly eventType: EventTypeDefinition;
  readonly fields: ReadonlyMap<string, FieldDefinition>;
  readonly types: ReadonlyMap<string, DataType>;
  readonly placeholders: readonly string[];
  readonly invalid: (field: string, reason: string) => AevonError<'AEV_EVENT_DATA_INVALID'>;
}

/** Body and path values by field name, and the alias each field was sent under, if any. */
interface Given {
  readonly values: Map<string, Value>;
  readonly aliasOf: Map<string, string>;
}

function resolveTarget(catalog: Catalog, input: EventInput): Target {
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
  return {
    catalog,
    stream,
    eventType,
    fields: new Map(eventType.fields.map((f) => [f.name, f])),
    types: new Map(eventType.fields.map((f) => [f.name, fieldType(catalog, f)])),
    placeholders: pathPlaceholders(stream.path),
    invalid,
  };
}

function typeOf(target: Target, name: string): DataType {
  const type = target.types.get(name);
  assert(type !== undefined, `field "${name}" has no type`);
  return type;
}

/** Coerces the body's fields (aliases resolved to their fields); unknown names are refused. */
function readBody(target: Target, body: Readonly<Record<string, unknown>>): Given {
  const { invalid } = target;
  const values = new Map<string, Value>();
  const aliasOf = new Map<string, string>();
  const aliases = aliasTable(target.eventType.fields, target.fields);
  for (const [key, raw] of Object.entries(body)) {
    let name = key;
    if (!target.fields.has(key)) {
      const linked = aliases.get(key) ?? [];
      if (linked.length === 0) {
        throw invalid(key, `is not a field of event type "${target.eventType.name}"`);
      }
      if (linked.length > 1) {
        throw invalid(
          key,
          `is ambiguous: fields ${linked.map((t) => `"${t}"`).join(', ')} link it`,
        );
      }
      name = linked[0] ?? key;
      aliasOf.set(name, key);
    }
    const coerced = coerceValue(typeOf(target, name), raw);
    if (!coerced.ok) throw invalid(key, coerced.reason);
    if (values.has(name) && !sameValue(values.get(name) ?? null, coerced.value)) {
      throw invalid(name, `disagrees with "${aliasOf.get(name) ?? key}"`);
    }
    values.set(name, coerced.value);
  }
  return { values, aliasOf };
}

/** Path values fill the path's `{field}` placeholders in order; they must agree with the body. */
function readPath(target: Target, given: Given, pathValues: readonly string[]): void {
  const { invalid, placeholders, stream } = target;
  if (pathValues.length > placeholders.length) {
    throw invalid(
      '$path',
      `has ${pathValues.length} value${pathValues.length === 1 ? '' : 's'}; ` +
        `the path ${JSON.stringify(stream.path)} takes at most ${placeholders.length}`,
    );
  }
  pathValues.forEach((text, i) => {
    const name = placeholders[i];
    assert(name !== undefined, 'a path value beyond the placeholders');
    const coerced = coerceFromText(typeOf(target, name), text);
    if (!coerced.ok) throw invalid('$path', `{${name}} ${coerced.reason}`);
    const body = given.values.get(name);
    if (body !== undefined && !sameValue(body, coerced.value)) {
      throw invalid(
        '$path',
        `{${name}} is ${JSON.stringify(text)} but the body's ` +
          `"${given.aliasOf.get(name) ?? name}" is ${JSON.stringify(body)}`,
      );
    }
    given.values.set(name, coerced.value);
  });
}

/** Every field: given, defaulted, left to the store's sequence, or null; then the presence rules. */
function completeData(
  target: Target,
  given: Given,
  context: DefaultContext,
): { data: Row; keysToGenerate: KeyToGenerate[] } {
  const entries: [string, Value][] = [];
  const keysToGenerate: KeyToGenerate[] = [];
  for (const field of target.eventType.fields) {
    const type = typeOf(target, field.name);
    const link = field.link;
    let value: Value = given.values.get(field.name) ?? null;
    if (!given.values.has(field.name) && field.default !== undefined) {
      value = evaluateDefault(type, field.default, context);
    }
    if (value === null && link?.kind === 'creates') {
      const column = linkedColumn(target.catalog, link.aggregate, link.column);
      if (column.type !== undefined && isSerial(column.type)) {
        keysToGenerate.push({ field: field.name, aggregate: link.aggregate, column: link.column });
        continue;
      }
      if (column.default === undefined) {
        throw target.invalid(
          field.name,
          `is required: it is the key of the new ${link.aggregate} row`,
        );
      }
      value = evaluateDefault(type, column.default, context);
    }
    if (value === null) requireValue(target, field);
    entries.push([field.name, value]);
  }
  return { data: Object.fromEntries(entries), keysToGenerate };
}

/** Refuses null for a field that must have a value: NOT NULL, a `references` key, a stream path field. */
function requireValue(target: Target, field: FieldDefinition): void {
  const link = field.link;
  if (field.notNull === true) throw target.invalid(field.name, 'must not be null');
  if (link?.kind === 'references') {
    throw target.invalid(
      field.name,
      `is required: it names the ${link.aggregate} row (${link.aggregate}.${link.column})`,
    );
  }
  if (target.placeholders.includes(field.name)) {
    throw target.invalid(
      field.name,
      `is required: the stream path ${JSON.stringify(target.stream.path)} uses it`,
    );
  }
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
  assert(found !== undefined, `${aggregate}(${column}) is not in the catalog`);
  return found;
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
    const value = own(data, name);
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
