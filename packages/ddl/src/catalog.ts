import { ddlError } from './ddl-error.js';
import { assignable, defaultProblem, formatDataType, storageType } from './data-type.js';
import { checkStatement, isNotNull, pathPlaceholders } from './check-statement.js';
import type {
  AggregateDefinition,
  AlterAggregateStatement,
  AlterEventTypeStatement,
  AlterStreamStatement,
  ColumnDefinition,
  DataType,
  Definition,
  DropStatement,
  EventTypeDefinition,
  FieldDefinition,
  SourcePosition,
  Statement,
  StreamDefinition,
} from './model.js';

/** Every definition in force after a sequence of statements. Each kind has its own name space. */
export interface Catalog {
  readonly aggregates: ReadonlyMap<string, AggregateDefinition>;
  readonly eventTypes: ReadonlyMap<string, EventTypeDefinition>;
  readonly streams: ReadonlyMap<string, StreamDefinition>;
}

/**
 * What applying a statement means for data already written, so that later parts know what to do:
 * - `new`: a definition was created; nothing exists to migrate.
 * - `compatible`: old events read as before and aggregate tables need no rebuild (a nullable field, a field with a
 *   DEFAULT, a default changed, NOT NULL dropped, an event type added to a stream).
 * - `rebuild`: an aggregate's table changes shape; it is rebuilt by replaying the log.
 * - `upcaster`: old events may not satisfy the new event type (a type change, a new NOT NULL field without
 *   DEFAULT, SET NOT NULL); they need an upcaster from version N to N+1 before they are read as the new version.
 * - `drop`: a definition was removed.
 * - `none`: `DROP ... IF EXISTS` of something that did not exist.
 */
export type ChangeImpact = 'new' | 'compatible' | 'rebuild' | 'upcaster' | 'drop' | 'none';

export interface CatalogChange {
  readonly statement: Statement;
  readonly impact: ChangeImpact;
  /** Increments with every ALTER of the definition; 1 when created. Absent for DROP. */
  readonly version?: number;
}

/** A finding that does not make the definitions invalid but is probably a mistake (e.g. two fields set one column). */
export interface DdlWarning {
  readonly message: string;
  readonly at?: SourcePosition;
}

export interface CheckResult {
  readonly catalog: Catalog;
  readonly changes: readonly CatalogChange[];
  readonly versions: ReadonlyMap<string, number>;
  readonly warnings: readonly DdlWarning[];
}

export function emptyCatalog(): Catalog {
  return { aggregates: new Map(), eventTypes: new Map(), streams: new Map() };
}

/**
 * Applies statements in order to `base` (empty by default), checking each against the definitions before it:
 * unknown aggregates, columns and event types, link and type mismatches, duplicate names, DROP of something in use,
 * stream path fields no event type has. Throws `AEV_DDL_INVALID` at the first problem, pointing at the statement
 * element at fault (for ALTER and DROP, at the action).
 */
export function checkDefinitions(
  statements: readonly Statement[],
  base: Catalog = emptyCatalog(),
  baseVersions: ReadonlyMap<string, number> = new Map(),
): CheckResult {
  let catalog = base;
  const versions = new Map(baseVersions);
  const changes: CatalogChange[] = [];
  const warnings: DdlWarning[] = [];
  for (const statement of statements) {
    checkStatement(statement);
    const applied = applyStatement(catalog, statement);
    catalog = applied.catalog;
    const key = versionKey(statement);
    let version: number | undefined;
    if (applied.impact === 'new') version = 1;
    else if (statement.kind !== 'drop') version = (versions.get(key) ?? 1) + 1;
    if (version === undefined) versions.delete(key);
    else versions.set(key, version);
    changes.push(
      version === undefined
        ? { statement, impact: applied.impact }
        : { statement, impact: applied.impact, version },
    );
    warnings.push(...applied.warnings);
  }
  return { catalog, changes, versions, warnings };
}

function versionKey(statement: Statement): string {
  switch (statement.kind) {
    case 'aggregate':
    case 'alter_aggregate':
      return `aggregate:${statement.name}`;
    case 'event_type':
    case 'alter_event_type':
      return `event_type:${statement.name}`;
    case 'stream':
    case 'alter_stream':
      return `stream:${statement.name}`;
    case 'drop':
      return `${statement.target}:${statement.name}`;
  }
}

interface Applied {
  catalog: Catalog;
  impact: ChangeImpact;
  warnings: DdlWarning[];
}

/** Applies one statement (already checked on its own) to a catalog, returning a new catalog. */
export function applyStatement(catalog: Catalog, statement: Statement): Applied {
  switch (statement.kind) {
    case 'aggregate':
    case 'event_type':
    case 'stream':
      return create(catalog, statement);
    case 'drop':
      return drop(catalog, statement);
    case 'alter_aggregate':
      return alterAggregate(catalog, statement);
    case 'alter_event_type':
      return alterEventType(catalog, statement);
    case 'alter_stream':
      return alterStream(catalog, statement);
  }
}

function create(catalog: Catalog, definition: Definition): Applied {
  const existing = mapOf(catalog, definition.kind);
  if (existing.has(definition.name)) {
    throw ddlError(`${label(definition.kind)} "${definition.name}" already exists`, definition.at);
  }
  const next = withDefinition(catalog, definition);
  const warnings = validate(next, definition);
  return { catalog: next, impact: 'new', warnings };
}

function drop(catalog: Catalog, statement: DropStatement): Applied {
  const map = mapOf(catalog, statement.target);
  if (!map.has(statement.name)) {
    if (statement.ifExists === true) return { catalog, impact: 'none', warnings: [] };
    throw ddlError(`${label(statement.target)} "${statement.name}" does not exist`, statement.at);
  }
  const users = usersOf(catalog, statement.target, statement.name);
  if (users.length > 0) {
    throw ddlError(
      `cannot drop ${label(statement.target)} "${statement.name}": ${users.join(', ')}`,
      statement.at,
    );
  }
  const copy = new Map(map);
  copy.delete(statement.name);
  return {
    catalog: { ...catalog, [mapKey(statement.target)]: copy },
    impact: 'drop',
    warnings: [],
  };
}

/** Who depends on a definition (or one aggregate column, or one event type field), as phrases for a message. */
function usersOf(
  catalog: Catalog,
  kind: Definition['kind'],
  name: string,
  member?: string,
): string[] {
  const users: string[] = [];
  if (kind === 'aggregate') {
    for (const aggregate of catalog.aggregates.values()) {
      for (const column of aggregate.columns) {
        const ref = column.references;
        if (ref?.aggregate !== name || (member !== undefined && ref.column !== member)) continue;
        if (member === undefined && aggregate.name === name) continue;
        users.push(`column ${aggregate.name}.${column.name} references it`);
      }
    }
    for (const eventType of catalog.eventTypes.values()) {
      for (const field of eventType.fields) {
        const link = field.link;
        if (link?.aggregate !== name || (member !== undefined && link.column !== member)) continue;
        users.push(`field ${eventType.name}.${field.name} ${link.kind} it`);
      }
    }
  } else if (kind === 'event_type') {
    for (const stream of catalog.streams.values()) {
      if (!stream.eventTypes.includes(name)) continue;
      if (member === undefined) users.push(`stream "${stream.name}" lists it`);
      else if (pathPlaceholders(stream.path).includes(member)) {
        users.push(`the path ${JSON.stringify(stream.path)} of stream "${stream.name}" uses it`);
      }
    }
  }
  return users;
}

function alterAggregate(catalog: Catalog, statement: AlterAggregateStatement): Applied {
  let aggregate = catalog.aggregates.get(statement.name);
  if (aggregate === undefined)
    throw ddlError(`aggregate "${statement.name}" does not exist`, statement.at);
  let impact: ChangeImpact = 'compatible';
  for (const action of statement.actions) {
    const at = action.at ?? statement.at;
    const columns: ColumnDefinition[] = [...aggregate.columns];
    if (action.action === 'add_column') {
      const column = action.column;
      if (columns.some((c) => c.name === column.name)) {
        throw ddlError(
          `column "${column.name}" already exists in aggregate "${aggregate.name}"`,
          at,
        );
      }
      if (column.primaryKey === true) {
        throw ddlError(
          `aggregate "${aggregate.name}" has a primary key already; ADD COLUMN cannot add another`,
          at,
        );
      }
      if (column.notNull === true && column.default === undefined) {
        throw ddlError(
          `column "${column.name}" is NOT NULL without a DEFAULT: rows already derived would have no value`,
          at,
        );
      }
      columns.push(column);
      impact = raise(impact, 'rebuild');
    } else {
      const index = columns.findIndex((c) => c.name === action.column);
      const column = columns[index];
      if (column === undefined) {
        throw ddlError(
          `column "${action.column}" does not exist in aggregate "${aggregate.name}"`,
          at,
        );
      }
      const users = usersOf(catalog, 'aggregate', aggregate.name, column.name);
      switch (action.action) {
        case 'drop_column':
          if (column.primaryKey === true)
            throw ddlError(`cannot drop the primary key column "${column.name}"`, at);
          if (users.length > 0)
            throw ddlError(`cannot drop column "${column.name}": ${users.join(', ')}`, at);
          columns.splice(index, 1);
          impact = raise(impact, 'rebuild');
          break;
        case 'set_type': {
          if (column.primaryKey === true) {
            throw ddlError(`cannot change the type of the primary key column "${column.name}"`, at);
          }
          columns[index] = { ...column, type: action.type };
          // A field linked without a type of its own takes the column's type: its events change shape too.
          impact = raise(
            impact,
            typelessFieldLinks(catalog, aggregate.name, column.name) ? 'upcaster' : 'rebuild',
          );
          break;
        }
        case 'set_default':
          columns[index] = { ...column, default: action.default };
          break;
        case 'drop_default': {
          const { default: _removed, ...rest } = column;
          void _removed;
          columns[index] = rest;
          break;
        }
        case 'set_not_null':
          columns[index] = { ...column, notNull: true };
          impact = raise(impact, 'rebuild');
          break;
        case 'drop_not_null': {
          if (column.primaryKey === true)
            throw ddlError(`the primary key column "${column.name}" stays NOT NULL`, at);
          const { notNull: _removed, ...rest } = column;
          void _removed;
          columns[index] = rest;
          break;
        }
      }
    }
    aggregate = { ...aggregate, columns };
    const next = withDefinition(catalog, aggregate);
    validate(next, aggregate, at);
    catalog = next;
  }
  return { catalog, impact, warnings: [] };
}

/** The stronger of two impacts of actions in one ALTER: compatible < rebuild < upcaster. */
function raise(current: ChangeImpact, next: ChangeImpact): ChangeImpact {
  const order: readonly ChangeImpact[] = ['compatible', 'rebuild', 'upcaster'];
  return order.indexOf(next) > order.indexOf(current) ? next : current;
}

function typelessFieldLinks(catalog: Catalog, aggregate: string, column: string): boolean {
  for (const eventType of catalog.eventTypes.values()) {
    for (const field of eventType.fields) {
      if (
        field.type === undefined &&
        field.link?.aggregate === aggregate &&
        field.link.column === column
      ) {
        return true;
      }
    }
  }
  return false;
}

function alterEventType(catalog: Catalog, statement: AlterEventTypeStatement): Applied {
  let eventType = catalog.eventTypes.get(statement.name);
  if (eventType === undefined)
    throw ddlError(`event type "${statement.name}" does not exist`, statement.at);
  let impact: ChangeImpact = 'compatible';
  const warnings: DdlWarning[] = [];
  for (const action of statement.actions) {
    const at = action.at ?? statement.at;
    const fields: FieldDefinition[] = [...eventType.fields];
    if (action.action === 'add_field') {
      const field = action.field;
      if (fields.some((f) => f.name === field.name)) {
        throw ddlError(
          `field "${field.name}" already exists in event type "${eventType.name}"`,
          at,
        );
      }
      if (field.link?.kind === 'creates') {
        throw ddlError(
          `field "${field.name}": an added field cannot create rows that old events never created`,
          at,
        );
      }
      fields.push(field);
      if (field.notNull === true && field.default === undefined) impact = raise(impact, 'upcaster');
    } else {
      const index = fields.findIndex((f) => f.name === action.field);
      const field = fields[index];
      if (field === undefined) {
        throw ddlError(
          `field "${action.field}" does not exist in event type "${eventType.name}"`,
          at,
        );
      }
      switch (action.action) {
        case 'drop_field': {
          const users = usersOf(catalog, 'event_type', eventType.name, field.name);
          if (users.length > 0)
            throw ddlError(`cannot drop field "${field.name}": ${users.join(', ')}`, at);
          fields.splice(index, 1);
          break;
        }
        case 'set_type':
          fields[index] = { ...field, type: action.type };
          impact = raise(impact, 'upcaster');
          break;
        case 'set_default':
          fields[index] = { ...field, default: action.default };
          break;
        case 'drop_default': {
          const { default: _removed, ...rest } = field;
          void _removed;
          fields[index] = rest;
          break;
        }
        case 'set_not_null':
          fields[index] = { ...field, notNull: true };
          if (field.notNull !== true) impact = raise(impact, 'upcaster');
          break;
        case 'drop_not_null': {
          const { notNull: _removed, ...rest } = field;
          void _removed;
          fields[index] = rest;
          break;
        }
      }
    }
    eventType = { ...eventType, fields };
    const next = withDefinition(catalog, eventType);
    warnings.push(...validate(next, eventType, at));
    catalog = next;
  }
  return { catalog, impact, warnings };
}

function alterStream(catalog: Catalog, statement: AlterStreamStatement): Applied {
  let stream = catalog.streams.get(statement.name);
  if (stream === undefined)
    throw ddlError(`stream "${statement.name}" does not exist`, statement.at);
  for (const action of statement.actions) {
    const at = action.at ?? statement.at;
    const listed = stream.eventTypes.includes(action.eventType);
    if (action.action === 'add_event_type') {
      if (listed)
        throw ddlError(
          `stream "${stream.name}" already lists event type "${action.eventType}"`,
          at,
        );
      stream = { ...stream, eventTypes: [...stream.eventTypes, action.eventType] };
    } else {
      if (!listed)
        throw ddlError(
          `stream "${stream.name}" does not list event type "${action.eventType}"`,
          at,
        );
      if (stream.eventTypes.length === 1) {
        throw ddlError(
          `stream "${stream.name}" would have no event types left; drop the stream instead`,
          at,
        );
      }
      stream = { ...stream, eventTypes: stream.eventTypes.filter((e) => e !== action.eventType) };
    }
    const next = withDefinition(catalog, stream);
    validate(next, stream, at);
    catalog = next;
  }
  return { catalog, impact: 'compatible', warnings: [] };
}

/**
 * Checks one definition against the catalog it is part of. `override`, when given, is where every error points
 * (the ALTER action that caused it), since the definition's own positions may belong to an earlier text.
 */
function validate(
  catalog: Catalog,
  definition: Definition,
  override?: SourcePosition,
): DdlWarning[] {
  const pos = (at: SourcePosition | undefined): SourcePosition | undefined =>
    override ?? at ?? definition.at;
  switch (definition.kind) {
    case 'aggregate':
      for (const column of definition.columns)
        validateColumn(catalog, definition, column, pos(column.at));
      // Another aggregate may reference a column of this one whose type or key status just changed.
      for (const other of catalog.aggregates.values()) {
        if (other.name === definition.name) continue;
        for (const column of other.columns) {
          if (column.references?.aggregate === definition.name)
            validateColumn(catalog, other, column, pos(undefined));
        }
      }
      for (const eventType of catalog.eventTypes.values()) {
        if (eventType.fields.some((f) => f.link?.aggregate === definition.name)) {
          validateEventType(catalog, eventType, () => pos(undefined));
        }
      }
      return [];
    case 'event_type': {
      const warnings = validateEventType(catalog, definition, pos);
      for (const stream of catalog.streams.values()) {
        if (stream.eventTypes.includes(definition.name))
          validateStream(catalog, stream, pos(undefined));
      }
      return warnings;
    }
    case 'stream':
      validateStream(catalog, definition, pos(definition.at));
      return [];
  }
}

function validateColumn(
  catalog: Catalog,
  aggregate: AggregateDefinition,
  column: ColumnDefinition,
  at: SourcePosition | undefined,
): void {
  const ref = column.references;
  if (ref !== undefined) {
    const target = referencedColumn(catalog, ref.aggregate, ref.column, at);
    if (target.primaryKey !== true && target.unique !== true) {
      throw ddlError(
        `column ${aggregate.name}.${column.name} references ${ref.aggregate}(${ref.column}), ` +
          'which is neither PRIMARY KEY nor UNIQUE',
        at,
      );
    }
    const targetType = columnType(catalog, ref.aggregate, target, at);
    if (column.type !== undefined && !sameStorageType(column.type, targetType)) {
      throw ddlError(
        `column ${aggregate.name}.${column.name} is ${formatDataType(column.type)} but references ` +
          `${ref.aggregate}(${ref.column}) of type ${formatDataType(storageType(targetType))}`,
        at,
      );
    }
  }
  if (column.default !== undefined) {
    const problem = defaultProblem(
      columnType(catalog, aggregate.name, column, at),
      column.default,
      isNotNull(column),
    );
    if (problem !== undefined) throw ddlError(`column "${column.name}": ${problem}`, at);
  }
}

function validateEventType(
  catalog: Catalog,
  eventType: EventTypeDefinition,
  pos: (at: SourcePosition | undefined) => SourcePosition | undefined,
): DdlWarning[] {
  const warnings: DdlWarning[] = [];
  const keyFields = new Map<string, FieldDefinition>();
  const updated = new Map<string, FieldDefinition>();
  for (const field of eventType.fields) {
    const at = pos(field.at);
    const link = field.link;
    if (link !== undefined) {
      const column = referencedColumn(
        catalog,
        link.aggregate,
        link.column,
        pos(link.at ?? field.at),
      );
      const type = columnType(catalog, link.aggregate, column, at);
      if (link.kind === 'creates' || link.kind === 'references') {
        if (link.kind === 'creates' && column.primaryKey !== true) {
          throw ddlError(
            `field "${field.name}" creates ${link.aggregate}(${link.column}), which is not the primary key`,
            at,
          );
        }
        if (column.primaryKey !== true && column.unique !== true) {
          throw ddlError(
            `field "${field.name}" references ${link.aggregate}(${link.column}), ` +
              'which is neither PRIMARY KEY nor UNIQUE',
            at,
          );
        }
        const previous = keyFields.get(link.aggregate);
        if (column.primaryKey === true && previous !== undefined) {
          throw ddlError(
            `fields "${previous.name}" and "${field.name}" both identify a row of aggregate "${link.aggregate}"`,
            at,
          );
        }
        if (column.primaryKey === true) keyFields.set(link.aggregate, field);
      } else {
        if (column.primaryKey === true) {
          throw ddlError(
            `field "${field.name}" updates ${link.aggregate}(${link.column}), the primary key`,
            at,
          );
        }
        const key = `${link.aggregate}(${link.column})`;
        const previous = updated.get(key);
        if (previous !== undefined) {
          warnings.push({
            message:
              `fields "${previous.name}" and "${field.name}" of event type "${eventType.name}" both update ${key}; ` +
              'the later field wins',
            ...(at === undefined ? {} : { at }),
          });
        }
        updated.set(key, field);
      }
      if (field.type !== undefined && !assignable(field.type, type)) {
        throw ddlError(
          `field "${field.name}" is ${formatDataType(field.type)} but ${link.kind} ` +
            `${link.aggregate}(${link.column}) of type ${formatDataType(storageType(type))}`,
          at,
        );
      }
      if (field.default !== undefined) {
        const problem = defaultProblem(
          field.type ?? storageType(type),
          field.default,
          field.notNull === true,
        );
        if (problem !== undefined) throw ddlError(`field "${field.name}": ${problem}`, at);
      }
    } else if (field.type !== undefined && field.default !== undefined) {
      const problem = defaultProblem(field.type, field.default, field.notNull === true);
      if (problem !== undefined) throw ddlError(`field "${field.name}": ${problem}`, at);
    }
  }
  for (const field of eventType.fields) {
    const link = field.link;
    if (link?.kind !== 'updates' || keyFields.has(link.aggregate)) continue;
    throw ddlError(
      `field "${field.name}" updates aggregate "${link.aggregate}", but no field of event type ` +
        `"${eventType.name}" creates or references its primary key`,
      pos(field.at),
    );
  }
  return warnings;
}

function validateStream(
  catalog: Catalog,
  stream: StreamDefinition,
  at: SourcePosition | undefined,
): void {
  const placeholders = pathPlaceholders(stream.path, at);
  for (const name of stream.eventTypes) {
    const eventType = catalog.eventTypes.get(name);
    if (eventType === undefined)
      throw ddlError(`stream "${stream.name}": event type "${name}" does not exist`, at);
    for (const placeholder of placeholders) {
      if (!eventType.fields.some((f) => f.name === placeholder)) {
        throw ddlError(
          `stream "${stream.name}": path field {${placeholder}} is not a field of event type "${name}"`,
          at,
        );
      }
    }
  }
}

function referencedColumn(
  catalog: Catalog,
  aggregateName: string,
  columnName: string,
  at: SourcePosition | undefined,
): ColumnDefinition {
  const aggregate = catalog.aggregates.get(aggregateName);
  if (aggregate === undefined) throw ddlError(`aggregate "${aggregateName}" does not exist`, at);
  const column = aggregate.columns.find((c) => c.name === columnName);
  if (column === undefined) {
    throw ddlError(`column "${columnName}" does not exist in aggregate "${aggregateName}"`, at);
  }
  return column;
}

/** A column's declared type, or (for `col references other(x)` without one) the referenced column's storage type. */
export function columnType(
  catalog: Catalog,
  aggregateName: string,
  column: ColumnDefinition,
  at?: SourcePosition,
  depth = 0,
): DataType {
  if (column.type !== undefined) return column.type;
  const ref = column.references;
  if (ref === undefined || depth > 64) {
    throw ddlError(
      `column ${aggregateName}.${column.name} has no type it can take from a reference`,
      at,
    );
  }
  const target = referencedColumn(catalog, ref.aggregate, ref.column, at);
  return storageType(columnType(catalog, ref.aggregate, target, at, depth + 1));
}

/** A field's declared type, or the storage type of the column its link names. */
export function fieldType(catalog: Catalog, field: FieldDefinition): DataType {
  if (field.type !== undefined) return field.type;
  const link = field.link;
  if (link === undefined) throw ddlError(`field "${field.name}" has no type`, field.at);
  const column = referencedColumn(catalog, link.aggregate, link.column, field.at);
  return storageType(columnType(catalog, link.aggregate, column, field.at));
}

function sameStorageType(a: DataType, b: DataType): boolean {
  return formatDataType(storageType(a)) === formatDataType(storageType(b));
}

function mapOf(catalog: Catalog, kind: Definition['kind']): ReadonlyMap<string, Definition> {
  return catalog[mapKey(kind)];
}

function mapKey(kind: Definition['kind']): 'aggregates' | 'eventTypes' | 'streams' {
  return kind === 'aggregate' ? 'aggregates' : kind === 'event_type' ? 'eventTypes' : 'streams';
}

function withDefinition(catalog: Catalog, definition: Definition): Catalog {
  switch (definition.kind) {
    case 'aggregate':
      return {
        ...catalog,
        aggregates: new Map(catalog.aggregates).set(definition.name, definition),
      };
    case 'event_type':
      return {
        ...catalog,
        eventTypes: new Map(catalog.eventTypes).set(definition.name, definition),
      };
    case 'stream':
      return { ...catalog, streams: new Map(catalog.streams).set(definition.name, definition) };
  }
}

function label(kind: Definition['kind']): string {
  return kind === 'event_type' ? 'event type' : kind;
}
