import type { Catalog, CatalogChange } from '../catalog.js';

/** What a definitions change does to the aggregate tables of a store. Names are sorted. */
export interface TableChanges {
  /** Aggregates that are new: create the table (and fill it by replay: an old event type may link to it). */
  readonly created: readonly string[];
  /** Aggregates that stay but whose rows may differ: drop, create anew and fill by replaying the log. */
  readonly rebuilt: readonly string[];
  /** Aggregates that are gone: drop the table and its key counters. */
  readonly dropped: readonly string[];
}

/**
 * The one rule, shared by every store, that keeps each aggregate table equal to a replay of the log under the
 * definitions in force (`replayRows`):
 * - an aggregate whose definition changed in any way (shape, constraints, defaults), or that `sameShape` says
 *   differs (an engine-specific table shape, e.g. a type resolved through a reference), is rebuilt;
 * - so is one dropped and created again in the same change;
 * - so is every aggregate an altered or dropped event type links to (before or after the change): old events now
 *   read differently (a field's DEFAULT, an upcaster), or are no longer read at all (the replay skips unknown types).
 */
export function aggregateTableChanges(
  before: Catalog,
  after: Catalog,
  changes: readonly CatalogChange[],
  sameShape: (aggregate: string) => boolean = () => true,
): TableChanges {
  const rebuilt = new Set<string>();
  for (const { statement, impact } of changes) {
    if (impact === 'none') continue;
    if (statement.kind === 'drop' && statement.target === 'aggregate') rebuilt.add(statement.name);
    const eventType =
      statement.kind === 'alter_event_type' ||
      (statement.kind === 'drop' && statement.target === 'event_type')
        ? statement.name
        : null;
    if (eventType === null) continue;
    for (const catalog of [before, after]) {
      for (const field of catalog.eventTypes.get(eventType)?.fields ?? []) {
        if (field.link !== undefined) rebuilt.add(field.link.aggregate);
      }
    }
  }
  for (const [name, definition] of after.aggregates) {
    const old = before.aggregates.get(name);
    if (old === undefined) continue;
    if (definitionText(old) !== definitionText(definition) || !sameShape(name)) rebuilt.add(name);
  }
  const kept = (name: string): boolean => before.aggregates.has(name) && after.aggregates.has(name);
  return {
    created: [...after.aggregates.keys()].filter((name) => !before.aggregates.has(name)).sort(),
    rebuilt: [...rebuilt].filter(kept).sort(),
    dropped: [...before.aggregates.keys()].filter((name) => !after.aggregates.has(name)).sort(),
  };
}

/** A definition as JSON without source positions, to compare meanings. */
function definitionText(definition: object): string {
  return JSON.stringify(definition, (key, value: unknown) => (key === 'at' ? undefined : value));
}
