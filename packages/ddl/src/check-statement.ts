import { ddlError } from './ddl-error.js';
import { dataTypeProblem, defaultProblem } from './data-type.js';
import type {
  AggregateDefinition,
  ColumnDefinition,
  DataType,
  DefaultValue,
  EventTypeDefinition,
  FieldDefinition,
  SourcePosition,
  Statement,
  StreamDefinition,
} from './model.js';

/** Columns per aggregate and fields per event type, at most (PostgreSQL's column limit). */
export const membersMax = 1600;
/** Event types per stream, at most. */
export const streamEventTypesMax = 1000;

/**
 * The checks one statement can pass or fail on its own: valid type modifiers, defaults that fit, no duplicate
 * names, one primary key, a well-formed stream path. Checks that need other definitions are `checkDefinitions`.
 */
export function checkStatement(statement: Statement): void {
  switch (statement.kind) {
    case 'aggregate':
      checkAggregate(statement);
      return;
    case 'event_type':
      checkEventType(statement);
      return;
    case 'stream':
      checkStream(statement);
      return;
    case 'drop':
      checkName(statement.name, `${statement.target.replace('_', ' ')} name`, statement.at);
      return;
    case 'alter_aggregate':
      for (const action of statement.actions) {
        if (action.action === 'add_column') checkColumn(action.column, statement.name);
        if (action.action === 'set_type') checkType(action.type, action.at ?? statement.at);
        if (action.action === 'set_default')
          checkDefaultShape(action.default, action.at ?? statement.at);
      }
      return;
    case 'alter_event_type':
      for (const action of statement.actions) {
        if (action.action === 'add_field') checkField(action.field, statement.name);
        if (action.action === 'set_type') checkType(action.type, action.at ?? statement.at);
        if (action.action === 'set_default')
          checkDefaultShape(action.default, action.at ?? statement.at);
      }
      return;
    case 'alter_stream':
      return;
  }
}

function checkAggregate(aggregate: AggregateDefinition): void {
  checkName(aggregate.name, 'aggregate name', aggregate.at);
  if (aggregate.columns.length === 0)
    throw ddlError(`aggregate "${aggregate.name}" has no columns`, aggregate.at);
  checkCount(aggregate.columns.length, `columns in aggregate "${aggregate.name}"`, aggregate.at);
  const names = new Set<string>();
  let primaryKey: ColumnDefinition | undefined;
  for (const column of aggregate.columns) {
    if (names.has(column.name)) {
      throw ddlError(
        `column "${column.name}" appears twice in aggregate "${aggregate.name}"`,
        column.at ?? aggregate.at,
      );
    }
    names.add(column.name);
    checkColumn(column, aggregate.name, aggregate.at);
    if (column.primaryKey === true) {
      if (primaryKey !== undefined) {
        throw ddlError(
          `aggregate "${aggregate.name}" has a primary key already ("${primaryKey.name}"); ` +
            'composite keys are not supported',
          column.at ?? aggregate.at,
        );
      }
      primaryKey = column;
    }
  }
  if (primaryKey === undefined) {
    throw ddlError(`aggregate "${aggregate.name}" needs a PRIMARY KEY column`, aggregate.at);
  }
}

function checkColumn(column: ColumnDefinition, aggregate: string, fallback?: SourcePosition): void {
  const at = column.at ?? fallback;
  checkName(column.name, 'column name', at);
  if (column.type === undefined && column.references === undefined) {
    throw ddlError(
      `column "${column.name}" of aggregate "${aggregate}" needs a type or REFERENCES`,
      at,
    );
  }
  if (column.type !== undefined) checkType(column.type, at);
  if (column.default !== undefined) checkDefaultShape(column.default, at);
  if (column.type !== undefined && column.default !== undefined) {
    const problem = defaultProblem(column.type, column.default, isNotNull(column));
    if (problem !== undefined) throw ddlError(`column "${column.name}": ${problem}`, at);
  }
  if (
    column.primaryKey === true &&
    column.default?.kind === 'literal' &&
    column.default.literal.kind === 'null'
  ) {
    throw ddlError(`column "${column.name}": DEFAULT NULL contradicts PRIMARY KEY`, at);
  }
  if (column.references !== undefined) {
    checkName(column.references.aggregate, 'aggregate name', column.references.at ?? at);
    checkName(column.references.column, 'column name', column.references.at ?? at);
  }
}

function checkEventType(eventType: EventTypeDefinition): void {
  checkName(eventType.name, 'event type name', eventType.at);
  checkCount(eventType.fields.length, `fields in event type "${eventType.name}"`, eventType.at);
  const names = new Set<string>();
  for (const field of eventType.fields) {
    if (names.has(field.name)) {
      throw ddlError(
        `field "${field.name}" appears twice in event type "${eventType.name}"`,
        field.at ?? eventType.at,
      );
    }
    names.add(field.name);
    checkField(field, eventType.name, eventType.at);
  }
}

function checkField(field: FieldDefinition, eventType: string, fallback?: SourcePosition): void {
  const at = field.at ?? fallback;
  checkName(field.name, 'field name', at);
  if (field.type === undefined && field.link === undefined) {
    throw ddlError(`field "${field.name}" of event type "${eventType}" needs a type or a link`, at);
  }
  if (field.type !== undefined) checkType(field.type, at);
  if (field.default !== undefined) checkDefaultShape(field.default, at);
  if (field.type !== undefined && field.default !== undefined) {
    const problem = defaultProblem(field.type, field.default, field.notNull === true);
    if (problem !== undefined) throw ddlError(`field "${field.name}": ${problem}`, at);
  }
  if (field.link !== undefined) {
    if (!['creates', 'updates', 'references'].includes(field.link.kind)) {
      throw ddlError(`field "${field.name}": link must be creates, updates or references`, at);
    }
    checkName(field.link.aggregate, 'aggregate name', field.link.at ?? at);
    checkName(field.link.column, 'column name', field.link.at ?? at);
  }
}

/** A stream path: `/` then segments of literal text or a whole `{field}`; no empty segment, no repeated field. */
export function pathPlaceholders(path: string, at?: SourcePosition): string[] {
  if (!path.startsWith('/'))
    throw ddlError(`stream path ${JSON.stringify(path)} must start with "/"`, at);
  if (path.length > 1024) throw ddlError('a stream path is at most 1024 characters long', at);
  const names: string[] = [];
  const segments = path === '/' ? [] : path.slice(1).split('/');
  for (const segment of segments) {
    if (segment === '')
      throw ddlError(`stream path ${JSON.stringify(path)} has an empty segment`, at);
    const m = /^\{([A-Za-z_][A-Za-z0-9_$]*)\}$/.exec(segment);
    if (m !== null) {
      const name = m[1] as string;
      if (names.includes(name))
        throw ddlError(`stream path ${JSON.stringify(path)} names {${name}} twice`, at);
      names.push(name);
    } else if (/[{}*?#\s]/.test(segment)) {
      throw ddlError(
        `stream path ${JSON.stringify(path)}: segment ${JSON.stringify(segment)} must be plain text or a whole {field}`,
        at,
      );
    }
  }
  return names;
}

function checkStream(stream: StreamDefinition): void {
  checkName(stream.name, 'stream name', stream.at);
  pathPlaceholders(stream.path, stream.at);
  if (stream.eventTypes.length === 0)
    throw ddlError(`stream "${stream.name}" needs at least one event type`, stream.at);
  checkCount(
    stream.eventTypes.length,
    `event types in stream "${stream.name}"`,
    stream.at,
    streamEventTypesMax,
  );
  const seen = new Set<string>();
  for (const name of stream.eventTypes) {
    checkName(name, 'event type name', stream.at);
    if (seen.has(name))
      throw ddlError(`stream "${stream.name}" lists event type "${name}" twice`, stream.at);
    seen.add(name);
  }
}

export function checkType(type: DataType, at?: SourcePosition): void {
  const problem = dataTypeProblem(type);
  if (problem !== undefined) throw ddlError(problem, at);
}

function checkDefaultShape(value: DefaultValue, at?: SourcePosition): void {
  if (
    value.kind === 'literal' &&
    value.literal.kind === 'number' &&
    !/^-?\d+(\.\d*)?(e[+-]?\d+)?$/.test(value.literal.text)
  ) {
    throw ddlError(`DEFAULT ${value.literal.text} is not a decimal number`, at);
  }
}

export function isNotNull(column: ColumnDefinition): boolean {
  return column.notNull === true || column.primaryKey === true;
}

/** Names built in TypeScript pass the same rule as quoted identifiers: 1 to 63 characters, no NUL. */
function checkName(name: string, what: string, at?: SourcePosition): void {
  if (typeof name !== 'string' || name.length === 0 || name.length > 63 || name.includes('\0')) {
    throw ddlError(`${what} must be 1 to 63 characters long, without NUL`, at);
  }
}

function checkCount(
  count: number,
  what: string,
  at: SourcePosition | undefined,
  max = membersMax,
): void {
  if (count > max) throw ddlError(`${count} ${what}; at most ${max} are allowed`, at);
}
