import { formatDataType, showLiteral } from './data-type.js';
import type {
  AggregateAlteration,
  ColumnDefinition,
  DefaultValue,
  DefinitionKind,
  EventTypeAlteration,
  FieldDefinition,
  Statement,
  StreamAlteration,
} from './model.js';

/** Words the parser gives a meaning somewhere; a name spelled like one is printed quoted, so it reads back as a name. */
const reserved: ReadonlySet<string> = new Set(
  (
    'create drop alter aggregate event_type event stream primary key not null default unique references creates ' +
    'updates if exists add column field set type data path event_types true false with without time zone varying ' +
    'precision now current_timestamp current_date gen_random_uuid double character'
  ).split(' '),
);

/** A name as DDL writes it: bare when it reads back the same, else in double quotes. */
export function quoteName(name: string): string {
  return /^[a-z_][a-z0-9_$]*$/.test(name) && !reserved.has(name)
    ? name
    : `"${name.replace(/"/g, '""')}"`;
}

/**
 * Prints statements as DDL text that `parseDdl` reads back to the same statements (positions aside): one statement
 * per block, `;` after each, canonical type names, names quoted only where needed.
 */
export function formatDdl(statements: readonly Statement[]): string {
  return statements.map((s) => `${formatStatement(s)};\n`).join('\n');
}

export function formatStatement(statement: Statement): string {
  switch (statement.kind) {
    case 'aggregate':
      return block(
        `CREATE AGGREGATE ${quoteName(statement.name)}`,
        statement.columns.map(formatColumn),
      );
    case 'event_type':
      return block(
        `CREATE EVENT_TYPE ${quoteName(statement.name)}`,
        statement.fields.map(formatField),
      );
    case 'stream':
      return block(`CREATE STREAM ${quoteName(statement.name)}`, [
        `path ${showLiteral({ kind: 'string', value: statement.path })}`,
        `event_types (${statement.eventTypes.map(quoteName).join(', ')})`,
      ]);
    case 'drop':
      return `DROP ${kindKeyword(statement.target)} ${statement.ifExists === true ? 'IF EXISTS ' : ''}${quoteName(statement.name)}`;
    case 'alter_aggregate':
      return alter('AGGREGATE', statement.name, statement.actions.map(formatAggregateAction));
    case 'alter_event_type':
      return alter('EVENT_TYPE', statement.name, statement.actions.map(formatEventTypeAction));
    case 'alter_stream':
      return alter('STREAM', statement.name, statement.actions.map(formatStreamAction));
  }
}

function block(head: string, items: readonly string[]): string {
  return items.length === 0
    ? `${head} ()`
    : `${head} (\n${items.map((i) => `  ${i}`).join(',\n')}\n)`;
}

function alter(keyword: string, name: string, actions: readonly string[]): string {
  return `ALTER ${keyword} ${quoteName(name)}\n${actions.map((a) => `  ${a}`).join(',\n')}`;
}

function kindKeyword(kind: DefinitionKind): string {
  return kind === 'event_type' ? 'EVENT_TYPE' : kind.toUpperCase();
}

export function formatColumn(column: ColumnDefinition): string {
  const parts = [quoteName(column.name)];
  if (column.type !== undefined) parts.push(formatDataType(column.type));
  if (column.primaryKey === true) parts.push('PRIMARY KEY');
  if (column.notNull === true) parts.push('NOT NULL');
  if (column.unique === true) parts.push('UNIQUE');
  if (column.default !== undefined) parts.push(`DEFAULT ${formatDefault(column.default)}`);
  if (column.references !== undefined) {
    parts.push(
      `REFERENCES ${quoteName(column.references.aggregate)}(${quoteName(column.references.column)})`,
    );
  }
  return parts.join(' ');
}

export function formatField(field: FieldDefinition): string {
  const parts = [quoteName(field.name)];
  if (field.type !== undefined) parts.push(formatDataType(field.type));
  if (field.link !== undefined) {
    parts.push(
      `${field.link.kind} ${quoteName(field.link.aggregate)}(${quoteName(field.link.column)})`,
    );
  }
  if (field.notNull === true) parts.push('NOT NULL');
  if (field.default !== undefined) parts.push(`DEFAULT ${formatDefault(field.default)}`);
  return parts.join(' ');
}

export function formatDefault(value: DefaultValue): string {
  if (value.kind === 'literal') return showLiteral(value.literal);
  switch (value.name) {
    case 'now':
      return 'NOW()';
    case 'gen_random_uuid':
      return 'gen_random_uuid()';
    case 'current_timestamp':
      return 'CURRENT_TIMESTAMP';
    case 'current_date':
      return 'CURRENT_DATE';
  }
}

function memberChange(
  action: AggregateAlteration | EventTypeAlteration,
  member: string,
  keyword: string,
): string {
  const head = `ALTER ${keyword} ${quoteName(member)}`;
  switch (action.action) {
    case 'set_type':
      return `${head} TYPE ${formatDataType(action.type)}`;
    case 'set_default':
      return `${head} SET DEFAULT ${formatDefault(action.default)}`;
    case 'drop_default':
      return `${head} DROP DEFAULT`;
    case 'set_not_null':
      return `${head} SET NOT NULL`;
    case 'drop_not_null':
      return `${head} DROP NOT NULL`;
    case 'add_column':
    case 'drop_column':
    case 'add_field':
    case 'drop_field':
      return head;
  }
}

function formatAggregateAction(action: AggregateAlteration): string {
  switch (action.action) {
    case 'add_column':
      return `ADD COLUMN ${formatColumn(action.column)}`;
    case 'drop_column':
      return `DROP COLUMN ${quoteName(action.column)}`;
    case 'set_type':
    case 'set_default':
    case 'drop_default':
    case 'set_not_null':
    case 'drop_not_null':
      return memberChange(action, action.column, 'COLUMN');
  }
}

function formatEventTypeAction(action: EventTypeAlteration): string {
  switch (action.action) {
    case 'add_field':
      return `ADD FIELD ${formatField(action.field)}`;
    case 'drop_field':
      return `DROP FIELD ${quoteName(action.field)}`;
    case 'set_type':
    case 'set_default':
    case 'drop_default':
    case 'set_not_null':
    case 'drop_not_null':
      return memberChange(action, action.field, 'FIELD');
  }
}

function formatStreamAction(action: StreamAlteration): string {
  return `${action.action === 'add_event_type' ? 'ADD' : 'DROP'} EVENT_TYPE ${quoteName(action.eventType)}`;
}
