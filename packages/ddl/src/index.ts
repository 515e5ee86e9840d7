export type {
  AggregateAlteration,
  AggregateDefinition,
  AlterAggregateStatement,
  AlterEventTypeStatement,
  AlterStatement,
  AlterStreamStatement,
  ColumnDefinition,
  ColumnRef,
  DataType,
  DefaultFunction,
  DefaultValue,
  Definition,
  DefinitionKind,
  DropStatement,
  EventTypeAlteration,
  EventTypeDefinition,
  FieldDefinition,
  FieldLink,
  LinkKind,
  Literal,
  SourcePosition,
  Statement,
  StreamAlteration,
  StreamDefinition,
  TypeName,
} from './model.js';
export { defaultFunctions, typeNames } from './model.js';
export { parseDataType, parseDdl, statementsMax } from './parser.js';
export { identifierLengthMax } from './lexer.js';
export {
  checkStatement,
  membersMax,
  pathPlaceholders,
  streamEventTypesMax,
} from './check-statement.js';
export type { Catalog, CatalogChange, ChangeImpact, CheckResult, DdlWarning } from './catalog.js';
export {
  applyStatement,
  checkDefinitions,
  columnType,
  emptyCatalog,
  fieldType,
} from './catalog.js';
export {
  assignable,
  characterLengthMax,
  formatDataType,
  numericPrecisionMax,
  storageType,
  timestampPrecisionMax,
} from './data-type.js';
export {
  formatColumn,
  formatDdl,
  formatDefault,
  formatField,
  formatStatement,
  quoteName,
} from './format-ddl.js';
export type {
  ColumnInput,
  ColumnRefInput,
  DataTypeInput,
  DefaultInput,
  FieldInput,
} from './define.js';
export { defineAggregate, defineEventType, defineStream } from './define.js';
export { ddlError, formatDdlError } from './ddl-error.js';
export type {
  AggregateStore,
  AppliedMigration,
  ChangeRange,
  DefinitionsChangedData,
  DefinitionsChangeRequest,
  DefinitionsChangeResult,
  DefinitionsState,
  JsonObject,
  KeyToGenerate,
  Row,
  RowChange,
  SqlColumn,
  SqlRequest,
  SqlResult,
  TypedWrite,
  TypedWriteResult,
  UpcastFunction,
  Upcasters,
  Value,
} from './store/aggregate-store.js';
export { definitionsEventType, definitionsStream } from './store/aggregate-store.js';
export type { Coerced, DefaultContext } from './write/values.js';
export {
  coerceFromText,
  coerceValue,
  evaluateDefault,
  keyJson,
  valueText,
} from './write/values.js';
export { columnDefaultUuid, derivedUuid } from './write/uuid.js';
export type { AppliedDefinitionsChange, DefinitionsChangeInput } from './write/definitions.js';
export {
  applyDefinitionsChange,
  emptyDefinitionsState,
  foldDefinitions,
  needsUpcaster,
  upcastersNeeded,
} from './write/definitions.js';
export type { EventInput, TypedWriteStamp, ValidatedEvent } from './write/validate-event.js';
export {
  sameValue,
  streamIdFor,
  toTypedWrite,
  validateEventInput,
} from './write/validate-event.js';
export type { RowChangeContext, RowOperation } from './write/plan-rows.js';
export { foreignKeys, planRowChanges, rowProblems } from './write/plan-rows.js';
export { upcastEventData } from './write/upcast.js';
export type {
  AppliedRowChange,
  LoggedEvent,
  RowOperationsOutcome,
  RowTables,
} from './write/replay.js';
export { applyRowOperations, replayOperations, replayRows } from './write/replay.js';
export type { TableChanges } from './write/table-changes.js';
export { aggregateTableChanges } from './write/table-changes.js';
export type { AggregateConstraint } from './write/conflicts.js';
export { aggregateConflict, missingRowConflict } from './write/conflicts.js';
