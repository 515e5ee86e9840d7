import { AevonError, asGlobalPosition, assert } from '@aevon/core';
import type { GlobalPosition, RecordedEvent } from '@aevon/core';
import { applyStatement, checkDefinitions, emptyCatalog, fieldType } from '../catalog.js';
import type { Catalog, CatalogChange, DdlWarning } from '../catalog.js';
import type { EventTypeDefinition, Statement } from '../model.js';
import { parseDdl } from '../parser.js';
import { definitionsEventType } from '../store/aggregate-store.js';
import type {
  AppliedMigration,
  DefinitionsChangedData,
  DefinitionsState,
} from '../store/aggregate-store.js';

/** The definitions before any change: version 0, nothing defined. */
export function emptyDefinitionsState(): DefinitionsState {
  return {
    version: 0,
    catalog: emptyCatalog(),
    versions: new Map(),
    eventTypeVersions: new Map(),
    migrations: [],
  };
}

/** One definitions change to apply: the DDL text and, for a migration file, its name and checksum. */
export interface DefinitionsChangeInput {
  readonly ddl: string;
  readonly migration?: { readonly name: string; readonly checksum: string };
  /** The log position of the change's event; recorded with the migration (empty when not known yet). */
  readonly position?: GlobalPosition;
  readonly recordedAt?: string;
}

/** The definitions after a change, what each statement did to them, and the warnings of the check. */
export interface AppliedDefinitionsChange {
  readonly state: DefinitionsState;
  readonly changes: readonly CatalogChange[];
  readonly warnings: readonly DdlWarning[];
}

/**
 * Applies a DDL text to the definitions in force: parses it, checks every statement against the state's catalog and
 * versions (`checkDefinitions`), records each new event type version in `eventTypeVersions` (with every field's type
 * resolved, so that old versions keep the types they had), the migration when given, and `version + 1`.
 *
 * An `ALTER AGGREGATE ... SET TYPE` on a column that a typeless event field links to changes that event type's
 * shape: its version is raised too (and {@link upcastersNeeded} lists the step).
 * @throws AEV_DDL_INVALID for a text that does not parse or check; AEV_MIGRATION_INVALID for a migration name that
 *   is applied already.
 */
export function applyDefinitionsChange(
  state: DefinitionsState,
  change: DefinitionsChangeInput,
): AppliedDefinitionsChange {
  const migration = change.migration;
  if (migration !== undefined && state.migrations.some((m) => m.name === migration.name)) {
    throw new AevonError('AEV_MIGRATION_INVALID', {
      reason: `migration "${migration.name}" is applied already`,
      file: migration.name,
    });
  }
  const statements = parseDdl(change.ddl);
  const stepped = step(state, statements, true);
  const version = state.version + 1;
  const migrations: AppliedMigration[] = [...state.migrations];
  if (migration !== undefined) {
    migrations.push({
      name: migration.name,
      checksum: migration.checksum,
      version,
      position: change.position ?? asGlobalPosition(''),
      recordedAt: change.recordedAt ?? '',
    });
  }
  return {
    state: {
      version,
      catalog: stepped.catalog,
      versions: stepped.versions,
      eventTypeVersions: stepped.eventTypeVersions,
      migrations,
    },
    changes: stepped.changes,
    warnings: stepped.warnings,
  };
}

interface Stepped {
  catalog: Catalog;
  versions: Map<string, number>;
  eventTypeVersions: Map<string, readonly EventTypeDefinition[]>;
  changes: CatalogChange[];
  warnings: DdlWarning[];
  upcasters: { eventType: string; fromVersion: number }[];
}

/**
 * Applies statements one by one, so that every intermediate event type version is seen. With `check`, each goes
 * through `checkDefinitions` (which throws); without, through `applyStatement` alone (already checked statements).
 */
function step(state: DefinitionsState, statements: readonly Statement[], check: boolean): Stepped {
  let catalog = state.catalog;
  const versions = new Map(state.versions);
  const eventTypeVersions = new Map(state.eventTypeVersions);
  const changes: CatalogChange[] = [];
  const warnings: DdlWarning[] = [];
  const upcasters: { eventType: string; fromVersion: number }[] = [];
  for (const statement of statements) {
    let impact: CatalogChange['impact'];
    if (check) {
      const result = checkDefinitions([statement], catalog, versions);
      catalog = result.catalog;
      versions.clear();
      for (const [key, value] of result.versions) versions.set(key, value);
      changes.push(...result.changes);
      warnings.push(...result.warnings);
      impact = result.changes[0]?.impact ?? 'none';
    } else {
      const applied = applyStatement(catalog, statement);
      catalog = applied.catalog;
      impact = applied.impact;
    }
    const record = (name: string, fresh: boolean): void => {
      const definition = catalog.eventTypes.get(name);
      if (definition === undefined) return;
      const list = fresh ? [] : [...(eventTypeVersions.get(name) ?? [])];
      list.push(resolveEventType(catalog, definition));
      eventTypeVersions.set(name, list);
      if (check) versions.set(`event_type:${name}`, list.length);
    };
    if (statement.kind === 'event_type') record(statement.name, true);
    else if (statement.kind === 'alter_event_type') {
      const previous = eventTypeVersions.get(statement.name)?.length ?? 1;
      if (impact === 'upcaster') {
        upcasters.push({ eventType: statement.name, fromVersion: previous });
      }
      record(statement.name, false);
    } else if (statement.kind === 'drop' && statement.target === 'event_type') {
      eventTypeVersions.delete(statement.name);
    }
    for (const name of draggedEventTypes(catalog, statement, eventTypeVersions)) {
      upcasters.push({ eventType: name, fromVersion: eventTypeVersions.get(name)?.length ?? 1 });
      record(name, false);
    }
  }
  return { catalog, versions, eventTypeVersions, changes, warnings, upcasters };
}

/**
 * Whether events written as `from` may not read as `to` by the default rule (dropped fields removed, added fields
 * defaulted): a field changes type, or becomes NOT NULL (or is added NOT NULL) without a DEFAULT to fill it.
 * Both definitions are resolved (every field has its type).
 */
export function needsUpcaster(from: EventTypeDefinition, to: EventTypeDefinition): boolean {
  for (const field of to.fields) {
    const old = from.fields.find((f) => f.name === field.name);
    if (old === undefined) {
      if (field.notNull === true && field.default === undefined) return true;
      continue;
    }
    if (JSON.stringify(old.type) !== JSON.stringify(field.type)) return true;
    if (field.notNull === true && old.notNull !== true) return true;
  }
  return false;
}

/** The definition with every field's type spelled out (a linked field without one takes its column's type). */
export function resolveEventType(
  catalog: Catalog,
  definition: EventTypeDefinition,
): EventTypeDefinition {
  return {
    ...definition,
    fields: definition.fields.map((field) =>
      field.type === undefined ? { ...field, type: fieldType(catalog, field) } : field,
    ),
  };
}

/**
 * Event types whose fields changed type because `statement`, an ALTER AGGREGATE, changed the type of a column that
 * a typeless field takes its type from (directly, or through a typeless REFERENCES column): their events change shape.
 */
function draggedEventTypes(
  catalog: Catalog,
  statement: Statement,
  eventTypeVersions: ReadonlyMap<string, readonly EventTypeDefinition[]>,
): string[] {
  if (statement.kind !== 'alter_aggregate') return [];
  const names: string[] = [];
  for (const eventType of catalog.eventTypes.values()) {
    const list = eventTypeVersions.get(eventType.name);
    const latest = list?.[list.length - 1];
    if (latest === undefined) continue;
    const typeOf = (name: string): string =>
      JSON.stringify(latest.fields.find((f) => f.name === name)?.type);
    const resolved = resolveEventType(catalog, eventType);
    if (resolved.fields.some((f) => JSON.stringify(f.type) !== typeOf(f.name))) {
      names.push(eventType.name);
    }
  }
  return names;
}

/**
 * The definitions in force after the `aevon.definitions_changed` events given in log order (other events are
 * skipped), applied to `from` (none by default, or a state already folded, to catch up). Each event's `version` must
 * follow the previous one: a gap is a corrupt log (assertion error).
 */
export function foldDefinitions(
  events: readonly RecordedEvent[],
  from: DefinitionsState = emptyDefinitionsState(),
): DefinitionsState {
  let state = from;
  for (const event of events) {
    if (event.type !== definitionsEventType) continue;
    const data = event.data as unknown as DefinitionsChangedData;
    assert(
      typeof data.ddl === 'string' && data.version === state.version + 1,
      `definitions event ${event.id} has version ${String(data.version)}, expected ${state.version + 1}`,
    );
    state = applyDefinitionsChange(state, {
      ddl: data.ddl,
      // An event written by JSON may carry `"migration": null` for none.
      ...(data.migration === undefined || data.migration === null
        ? {}
        : { migration: data.migration }),
      position: event.position,
      recordedAt: event.recordedAt,
    }).state;
  }
  return state;
}

/**
 * The upcasters a change needs: for every `impact: 'upcaster'` change, the (event type, version) whose events no
 * longer read as the next version by the default rule; for an `ALTER AGGREGATE ... SET TYPE` the event types whose
 * typeless linked fields change type. `before` is the state the changes were applied to.
 */
export function upcastersNeeded(
  before: DefinitionsState,
  changes: readonly CatalogChange[],
): readonly { eventType: string; fromVersion: number }[] {
  const stepped = step(
    before,
    changes.map((c) => c.statement),
    false,
  );
  const seen = new Set<string>();
  return stepped.upcasters.filter((u) => {
    const key = `${u.eventType}\u0000${u.fromVersion}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
