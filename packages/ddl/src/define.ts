import { checkStatement } from './check-statement.js';
import { ddlError } from './ddl-error.js';
import { parseDataType } from './parser.js';
import type {
  AggregateDefinition,
  ColumnDefinition,
  ColumnRef,
  DataType,
  DefaultValue,
  EventTypeDefinition,
  FieldDefinition,
  LinkKind,
  StreamDefinition,
} from './model.js';

/** A type as an object, or as DDL spells it (`'varchar(40)'`, `'numeric(10,2)'`, `'text[]'`). */
export type DataTypeInput = DataType | string;
/** A column of an aggregate, as an object or as `'aggregate(column)'` (names taken exactly as written). */
export type ColumnRefInput = ColumnRef | string;
/** A DEFAULT: a JavaScript value becomes a literal (a string, a finite number, a boolean, null); functions as objects. */
export type DefaultInput = DefaultValue | string | number | bigint | boolean | null;

export interface ColumnInput {
  readonly name: string;
  readonly type?: DataTypeInput;
  readonly primaryKey?: boolean;
  readonly notNull?: boolean;
  readonly unique?: boolean;
  readonly default?: DefaultInput;
  readonly references?: ColumnRefInput;
}

export interface FieldInput {
  readonly name: string;
  readonly type?: DataTypeInput;
  readonly creates?: ColumnRefInput;
  readonly updates?: ColumnRefInput;
  readonly references?: ColumnRefInput;
  readonly notNull?: boolean;
  readonly default?: DefaultInput;
}

/**
 * Builds `CREATE AGGREGATE` without DDL text; the result is the same definition `parseDdl` would give and passes the
 * same checks (throws `AEV_DDL_INVALID` otherwise). Check it with the others with `checkDefinitions`.
 */
export function defineAggregate(input: {
  readonly name: string;
  readonly columns: readonly ColumnInput[];
}): AggregateDefinition {
  const definition: AggregateDefinition = {
    kind: 'aggregate',
    name: input.name,
    columns: input.columns.map(column),
  };
  checkStatement(definition);
  return definition;
}

/** Builds `CREATE EVENT_TYPE`; a field links to an aggregate with one of `creates`, `updates`, `references`. */
export function defineEventType(input: {
  readonly name: string;
  readonly fields: readonly FieldInput[];
}): EventTypeDefinition {
  const definition: EventTypeDefinition = {
    kind: 'event_type',
    name: input.name,
    fields: input.fields.map(field),
  };
  checkStatement(definition);
  return definition;
}

/** Builds `CREATE STREAM`. */
export function defineStream(input: {
  readonly name: string;
  readonly path: string;
  readonly eventTypes: readonly string[];
}): StreamDefinition {
  const definition: StreamDefinition = {
    kind: 'stream',
    name: input.name,
    path: input.path,
    eventTypes: [...input.eventTypes],
  };
  checkStatement(definition);
  return definition;
}

function column(input: ColumnInput): ColumnDefinition {
  const result: { -readonly [K in keyof ColumnDefinition]: ColumnDefinition[K] } = {
    name: input.name,
  };
  if (input.type !== undefined) result.type = dataType(input.type);
  if (input.primaryKey === true) result.primaryKey = true;
  if (input.notNull === true) result.notNull = true;
  if (input.unique === true) result.unique = true;
  if (input.default !== undefined) result.default = defaultValue(input.default);
  if (input.references !== undefined) result.references = columnRef(input.references);
  return result;
}

function field(input: FieldInput): FieldDefinition {
  const result: { -readonly [K in keyof FieldDefinition]: FieldDefinition[K] } = {
    name: input.name,
  };
  if (input.type !== undefined) result.type = dataType(input.type);
  const links = (['creates', 'updates', 'references'] as const).filter(
    (k) => input[k] !== undefined,
  );
  if (links.length > 1) {
    throw ddlError(
      `field "${input.name}": give one of creates, updates, references, not ${links.join(' and ')}`,
    );
  }
  const kind: LinkKind | undefined = links[0];
  if (kind !== undefined) result.link = { kind, ...columnRef(input[kind] as ColumnRefInput) };
  if (input.notNull === true) result.notNull = true;
  if (input.default !== undefined) result.default = defaultValue(input.default);
  return result;
}

function dataType(input: DataTypeInput): DataType {
  return typeof input === 'string' ? parseDataType(input) : input;
}

function columnRef(input: ColumnRefInput): ColumnRef {
  if (typeof input !== 'string') return { aggregate: input.aggregate, column: input.column };
  const m = /^\s*([^\s()]+)\s*\(\s*([^\s()]+)\s*\)\s*$/.exec(input);
  if (m === null) throw ddlError(`expected "aggregate(column)", found ${JSON.stringify(input)}`);
  return { aggregate: m[1] as string, column: m[2] as string };
}

function defaultValue(input: DefaultInput): DefaultValue {
  if (input === null) return { kind: 'literal', literal: { kind: 'null' } };
  // eslint-disable-next-line @typescript-eslint/switch-exhaustiveness-check -- other typeofs are excluded by DefaultInput and end in the throw below
  switch (typeof input) {
    case 'string':
      return { kind: 'literal', literal: { kind: 'string', value: input } };
    case 'boolean':
      return { kind: 'literal', literal: { kind: 'boolean', value: input } };
    case 'bigint':
      return { kind: 'literal', literal: { kind: 'number', text: input.toString() } };
    case 'number':
      if (!Number.isFinite(input)) throw ddlError(`DEFAULT ${input} is not a finite number`);
      return {
        kind: 'literal',
        literal: { kind: 'number', text: String(input).replace('e+', 'e') },
      };
    case 'object':
      return input;
  }
  throw ddlError(`DEFAULT of type ${typeof input} is not supported`);
}
