import type { Catalog, CatalogChange, DefinitionsState, Upcasters } from '@aevon/ddl';
import { aggregateTableChanges } from '@aevon/ddl';
import type { ClientBase } from 'pg';
import type { Tables } from '../queries/tables.js';
import type { AggregateNames } from './aggregate-tables.js';
import { dropAggregateTable } from './aggregate-tables.js';
import { rebuildTables } from './rebuild.js';

/** What a definitions change did to the aggregate tables. */
export interface TableChanges {
  readonly created: readonly string[];
  readonly rebuilt: readonly string[];
  readonly dropped: readonly string[];
}

/** Inputs of {@link applyTableChanges}. */
export interface TableChangeInput {
  readonly names: AggregateNames;
  readonly tables: Tables;
  /** The catalog before the change, and the definitions after it. */
  readonly before: Catalog;
  readonly after: DefinitionsState;
  readonly changes: readonly CatalogChange[];
  readonly upcasters: Upcasters;
}

/**
 * Makes the aggregate tables match the definitions after a change, inside its transaction. The rule keeps every
 * table a replay of the log, as the SQLite store's does:
 * - an aggregate that is gone is dropped (with its key counters);
 * - a new one is created and filled by replay (normally from nothing: a new aggregate has no events yet, unless an
 *   event type of an old name links to it again);
 * - one whose definition changed in any way (shape, constraints, defaults), or that was dropped and created again
 *   in the same text, is rebuilt: created anew and filled by replaying the log;
 * - so is every aggregate an altered event type links to: old events now read differently (a field's DEFAULT, an
 *   upcaster), and the rows must follow.
 */
export async function applyTableChanges(
  client: ClientBase,
  input: TableChangeInput,
): Promise<TableChanges> {
  const { names, before, after, changes } = input;
  const { created, rebuilt, dropped } = aggregateTableChanges(before, after.catalog, changes);
  for (const name of dropped) await dropAggregateTable(client, names, name);
  const filled = [...created, ...rebuilt].sort();
  if (filled.length > 0) {
    await rebuildTables(client, names, input.tables, after, filled, input.upcasters);
  }
  return { created, rebuilt, dropped };
}
