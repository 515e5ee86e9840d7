import type { Catalog, CatalogChange, DefinitionsState, Upcasters } from '@aevon/ddl';
import type { ClientBase } from 'pg';
import type { Tables } from '../queries/tables.js';
import type { AggregateNames } from './aggregate-tables.js';
import { dropAggregateTable, quoteIdent, tableOf } from './aggregate-tables.js';
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
 * Makes the aggregate tables match the definitions after a change, inside its transaction:
 * - an aggregate that is gone is dropped;
 * - a new one is created and filled by replay (normally from nothing: a new aggregate has no events yet, unless an
 *   event type of an old name links to it again);
 * - one whose change is `rebuild` (or `upcaster`: a column type that linked fields follow), or that was dropped and
 *   created again in the same text, is rebuilt: created anew and filled by replaying the log;
 * - a `compatible` change needs no data: only `DROP NOT NULL` reaches the table, in place (defaults are evaluated by
 *   the store, never by the table).
 */
export async function applyTableChanges(
  client: ClientBase,
  input: TableChangeInput,
): Promise<TableChanges> {
  const { names, before, after, changes } = input;
  const afterCatalog = after.catalog;
  const dropped = [...before.aggregates.keys()].filter(
    (name) => !afterCatalog.aggregates.has(name),
  );
  const created = [...afterCatalog.aggregates.keys()].filter(
    (name) => !before.aggregates.has(name),
  );
  const rebuilt = new Set<string>();
  for (const change of changes) {
    const statement = change.statement;
    if (statement.kind === 'drop' && statement.target === 'aggregate') {
      if (before.aggregates.has(statement.name) && afterCatalog.aggregates.has(statement.name))
        rebuilt.add(statement.name);
    } else if (
      statement.kind === 'alter_aggregate' &&
      before.aggregates.has(statement.name) &&
      afterCatalog.aggregates.has(statement.name)
    ) {
      if (change.impact === 'rebuild' || change.impact === 'upcaster') rebuilt.add(statement.name);
    }
  }
  for (const name of dropped) await dropAggregateTable(client, names, name);
  for (const change of changes) {
    const statement = change.statement;
    if (statement.kind !== 'alter_aggregate' || rebuilt.has(statement.name)) continue;
    if (!before.aggregates.has(statement.name)) continue;
    for (const action of statement.actions) {
      if (action.action !== 'drop_not_null') continue;
      await client.query(
        `ALTER TABLE ${tableOf(names, statement.name)} ALTER COLUMN ${quoteIdent(action.column)} DROP NOT NULL`,
      );
    }
  }
  const filled = [...created, ...[...rebuilt].filter((name) => !created.includes(name))].sort();
  if (filled.length > 0) {
    await rebuildTables(client, names, input.tables, after, filled, input.upcasters);
  }
  return { created: created.sort(), rebuilt: [...rebuilt].sort(), dropped: dropped.sort() };
}
