import { pathToFileURL } from 'node:url';
import type { Clock, CommitSignal, Random } from '@aevon/core';
import { AevonError } from '@aevon/core';
import type { DefinitionsChangeResult, Upcasters } from '@aevon/ddl';
import type { DefinitionsEngine, MigrationFile } from '@aevon/engine';
import { createDefinitionsEngine, loadMigrations, upcastersFromModules } from '@aevon/engine';
import type { AevonConfig } from './config/config.js';
import type { OpenedStorage } from './open-storage.js';

/** The definitions migrations of the configured folder, with the upcasters their modules export. */
export interface LoadedMigrations {
  readonly files: readonly MigrationFile[];
  readonly upcasters: Upcasters;
}

/**
 * Reads `definitions.migrations_dir` and imports its upcaster modules (`NNNN_name.upcast.mjs`). The CLI imports them,
 * not the engine: the composition root is the one place that loads code from files (as it loads storage packages).
 * @throws AEV_MIGRATION_INVALID for a bad folder or a module that fails to load or has the wrong shape.
 */
export async function loadConfiguredMigrations(config: AevonConfig): Promise<LoadedMigrations> {
  const files = await loadMigrations(config.definitionsMigrationsDir);
  const modules: { file: string; exports: unknown }[] = [];
  for (const { upcasterModule } of files) {
    if (upcasterModule === null) continue;
    try {
      modules.push({
        file: upcasterModule,
        exports: (await import(pathToFileURL(upcasterModule).href)) as unknown,
      });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      throw new AevonError(
        'AEV_MIGRATION_INVALID',
        { reason: `the upcaster module cannot be loaded: ${message}`, file: upcasterModule },
        { cause: error },
      );
    }
  }
  return { files, upcasters: upcastersFromModules(modules) };
}

/** Creates the definitions engine of an opened database, with the configured SQL limits. */
export async function openDefinitions(
  config: AevonConfig,
  opened: OpenedStorage,
  context: {
    readonly clock: Clock;
    readonly random: Random;
    readonly upcasters: Upcasters;
    readonly wakeSources?: readonly CommitSignal[];
  },
): Promise<DefinitionsEngine> {
  return createDefinitionsEngine({
    store: opened.aggregates,
    log: opened.storage,
    clock: context.clock,
    random: context.random,
    upcasters: context.upcasters,
    sqlTimeoutMs: config.sqlTimeoutMs,
    sqlRowsMax: config.sqlRowsMax,
    ...(context.wakeSources === undefined ? {} : { wakeSources: context.wakeSources }),
  });
}

/** One stderr line per warning of an applied migration: `aevon: warning: 0001_x.sql:20:5: message`. */
export function warningLines(
  file: MigrationFile,
  result: Pick<DefinitionsChangeResult, 'warnings'>,
): readonly string[] {
  return result.warnings.map((warning) => {
    const where = warning.at === undefined ? '' : `:${warning.at.line}:${warning.at.column}`;
    return `aevon: warning: ${file.name}.sql${where}: ${warning.message}`;
  });
}
