export type { Coerced, DefaultContext } from './values.js';
export { coerceFromText, coerceValue, evaluateDefault, keyJson, valueText } from './values.js';
export { columnDefaultUuid, derivedUuid } from './uuid.js';
export type { AppliedDefinitionsChange, DefinitionsChangeInput } from './definitions.js';
export {
  applyDefinitionsChange,
  emptyDefinitionsState,
  foldDefinitions,
  needsUpcaster,
  upcastersNeeded,
} from './definitions.js';
export type { EventInput, ValidatedEvent } from './validate-event.js';
export { sameValue, streamIdFor, validateEventInput } from './validate-event.js';
export type { RowChangeContext, RowOperation } from './plan-rows.js';
export { foreignKeys, planRowChanges, rowProblems } from './plan-rows.js';
export { upcastEventData } from './upcast.js';
export type { AppliedRowChange, RowOperationsOutcome, RowTables } from './replay.js';
export { applyRowOperations, replayRows } from './replay.js';
