/**
 * The definition model: what a DDL statement means, as plain readonly data. The parser produces it, the builders
 * produce it, `formatDdl` prints it back, and `checkDefinitions` judges a sequence of it. Nothing here does I/O.
 *
 * Names are stored as written after SQL folding: an unquoted identifier is lower-cased, a quoted one kept as is.
 * `at` is where the element starts in the DDL text (absent for definitions built in TypeScript); it only serves
 * error messages and is never part of a definition's meaning.
 */

/** A 1-based line and column in DDL text. */
export interface SourcePosition {
  readonly line: number;
  readonly column: number;
}

/** The base types, spelled as PostgreSQL spells their canonical names. */
export const typeNames = [
  'smallint',
  'integer',
  'bigint',
  'smallserial',
  'serial',
  'bigserial',
  'numeric',
  'real',
  'double precision',
  'boolean',
  'text',
  'varchar',
  'char',
  'uuid',
  'date',
  'timestamp',
  'timestamptz',
  'jsonb',
] as const;

export type TypeName = (typeof typeNames)[number];

/**
 * A column or field type. `length` belongs to varchar/char (`char` without one means `char(1)`, `varchar` without
 * one is unbounded); `precision` and `scale` to numeric; `precision` alone to timestamp/timestamptz (fractional
 * second digits). `array` marks a one-dimensional array of the base type (`text[]`).
 */
export interface DataType {
  readonly name: TypeName;
  readonly length?: number;
  readonly precision?: number;
  readonly scale?: number;
  readonly array?: true;
}

/** A constant in DDL text. Numbers keep their decimal text, so that numeric defaults stay exact. */
export type Literal =
  | { readonly kind: 'string'; readonly value: string }
  | { readonly kind: 'number'; readonly text: string }
  | { readonly kind: 'boolean'; readonly value: boolean }
  | { readonly kind: 'null' };

/** The functions a DEFAULT may call (PostgreSQL's, evaluated when a row or event is written). */
export const defaultFunctions = [
  'now',
  'current_timestamp',
  'current_date',
  'gen_random_uuid',
] as const;
export type DefaultFunction = (typeof defaultFunctions)[number];

export type DefaultValue =
  | { readonly kind: 'literal'; readonly literal: Literal }
  | { readonly kind: 'function'; readonly name: DefaultFunction };

/** `aggregate(column)`: a column of an aggregate, named from somewhere else. */
export interface ColumnRef {
  readonly aggregate: string;
  readonly column: string;
  readonly at?: SourcePosition;
}

export interface ColumnDefinition {
  readonly name: string;
  /** Absent only when `references` is given: the column then takes the referenced column's type (serial → integer). */
  readonly type?: DataType;
  readonly primaryKey?: true;
  readonly notNull?: true;
  readonly unique?: true;
  readonly default?: DefaultValue;
  /** A foreign key: the row this column names must exist in that aggregate. */
  readonly references?: ColumnRef;
  readonly at?: SourcePosition;
}

/** `CREATE AGGREGATE`: a table derived from events, queryable with SQL. */
export interface AggregateDefinition {
  readonly kind: 'aggregate';
  readonly name: string;
  readonly columns: readonly ColumnDefinition[];
  readonly at?: SourcePosition;
}

/**
 * How an event field is tied to an aggregate. `creates`: the event inserts a row whose key (the column, which must be
 * the primary key) is this field, defaulted (serial) when absent. `updates`: the event sets the column on the row
 * its `creates`/`references` field of the same aggregate identifies. `references`: that row must exist.
 */
export type LinkKind = 'creates' | 'updates' | 'references';

export interface FieldLink extends ColumnRef {
  readonly kind: LinkKind;
}

export interface FieldDefinition {
  readonly name: string;
  /** Absent only when `link` is given: the field then takes the column's type (serial → integer). */
  readonly type?: DataType;
  readonly link?: FieldLink;
  readonly notNull?: true;
  readonly default?: DefaultValue;
  readonly at?: SourcePosition;
}

/** `CREATE EVENT_TYPE`: the schema of one kind of event and what it does to aggregates. */
export interface EventTypeDefinition {
  readonly kind: 'event_type';
  readonly name: string;
  readonly fields: readonly FieldDefinition[];
  readonly at?: SourcePosition;
}

/** `CREATE STREAM`: where events of the given types are written; `{field}` segments of the path are event fields. */
export interface StreamDefinition {
  readonly kind: 'stream';
  readonly name: string;
  readonly path: string;
  readonly eventTypes: readonly string[];
  readonly at?: SourcePosition;
}

export type Definition = AggregateDefinition | EventTypeDefinition | StreamDefinition;
export type DefinitionKind = Definition['kind'];

export interface DropStatement {
  readonly kind: 'drop';
  readonly target: DefinitionKind;
  readonly name: string;
  readonly ifExists?: true;
  readonly at?: SourcePosition;
}

/** One action of `ALTER AGGREGATE`. */
export type AggregateAlteration =
  | {
      readonly action: 'add_column';
      readonly column: ColumnDefinition;
      readonly at?: SourcePosition;
    }
  | { readonly action: 'drop_column'; readonly column: string; readonly at?: SourcePosition }
  | {
      readonly action: 'set_type';
      readonly column: string;
      readonly type: DataType;
      readonly at?: SourcePosition;
    }
  | {
      readonly action: 'set_default';
      readonly column: string;
      readonly default: DefaultValue;
      readonly at?: SourcePosition;
    }
  | { readonly action: 'drop_default'; readonly column: string; readonly at?: SourcePosition }
  | { readonly action: 'set_not_null'; readonly column: string; readonly at?: SourcePosition }
  | { readonly action: 'drop_not_null'; readonly column: string; readonly at?: SourcePosition };

/** One action of `ALTER EVENT_TYPE`. */
export type EventTypeAlteration =
  | { readonly action: 'add_field'; readonly field: FieldDefinition; readonly at?: SourcePosition }
  | { readonly action: 'drop_field'; readonly field: string; readonly at?: SourcePosition }
  | {
      readonly action: 'set_type';
      readonly field: string;
      readonly type: DataType;
      readonly at?: SourcePosition;
    }
  | {
      readonly action: 'set_default';
      readonly field: string;
      readonly default: DefaultValue;
      readonly at?: SourcePosition;
    }
  | { readonly action: 'drop_default'; readonly field: string; readonly at?: SourcePosition }
  | { readonly action: 'set_not_null'; readonly field: string; readonly at?: SourcePosition }
  | { readonly action: 'drop_not_null'; readonly field: string; readonly at?: SourcePosition };

/** One action of `ALTER STREAM`. */
export type StreamAlteration =
  | { readonly action: 'add_event_type'; readonly eventType: string; readonly at?: SourcePosition }
  | {
      readonly action: 'drop_event_type';
      readonly eventType: string;
      readonly at?: SourcePosition;
    };

export interface AlterAggregateStatement {
  readonly kind: 'alter_aggregate';
  readonly name: string;
  readonly actions: readonly AggregateAlteration[];
  readonly at?: SourcePosition;
}

export interface AlterEventTypeStatement {
  readonly kind: 'alter_event_type';
  readonly name: string;
  readonly actions: readonly EventTypeAlteration[];
  readonly at?: SourcePosition;
}

export interface AlterStreamStatement {
  readonly kind: 'alter_stream';
  readonly name: string;
  readonly actions: readonly StreamAlteration[];
  readonly at?: SourcePosition;
}

export type AlterStatement =
  AlterAggregateStatement | AlterEventTypeStatement | AlterStreamStatement;

/** A parsed DDL statement: a CREATE is its definition. */
export type Statement = Definition | DropStatement | AlterStatement;
