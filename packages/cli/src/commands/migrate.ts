import type { AevonConfig } from '../config/config.js';
import { createCryptoRandom } from '../crypto-random.js';
import { exitCodes } from '../exit-codes.js';
import type { CliEnvironment } from '../main.js';
import { loadConfiguredMigrations, openDefinitions, warningLines } from '../open-definitions.js';
import { openStorage } from '../open-storage.js';
import { createSystemClock } from '../system-clock.js';

/** Options of `aevon migrate`. */
export interface MigrateOptions {
  /** `--status`: list the definitions migrations applied and pending, change nothing. */
  readonly isStatus: boolean;
}

/**
 * `aevon migrate`: opens the configured database with migrations on (creating a SQLite file and its folder if
 * needed), which applies every pending migration of the event log and the metering store; then applies the pending
 * definitions migrations of `definitions.migrations_dir` in order, printing each; then closes it. With `--status` it
 * lists each definitions migration as applied or pending instead.
 * @throws AEV_CONFIG_INVALID, AEV_STORAGE_UNAVAILABLE, AEV_STORAGE_SCHEMA_MISMATCH, AEV_MIGRATION_INVALID.
 */
export async function runMigrate(
  config: AevonConfig,
  environment: CliEnvironment,
  options: MigrateOptions = { isStatus: false },
): Promise<number> {
  // The folder first: a bad file fails before the database is touched.
  const { files, upcasters } = await loadConfiguredMigrations(config);
  const opened = await openStorage(config.database, { migrate: !options.isStatus });
  try {
    const definitions = await openDefinitions(config, opened, {
      clock: createSystemClock(),
      random: createCryptoRandom(),
      upcasters,
    });
    if (options.isStatus) {
      for (const status of await definitions.migrationStatus(files)) {
        const detail =
          status.state === 'applied'
            ? ` (definitions version ${status.version ?? '?'}, ${status.recordedAt ?? '?'})`
            : '';
        environment.stdout(`${status.state.padEnd(8)}${status.name}${detail}`);
      }
      return exitCodes.ok;
    }
    const applied = await definitions.migrate(files, (file, result) => {
      environment.stdout(
        `aevon: applied ${file.name} (definitions version ${result.state.version})`,
      );
      for (const line of warningLines(file, result)) environment.stderr(line);
    });
    const version = definitions.current().version;
    environment.stdout(
      `aevon: ${opened.engine} database ${opened.location} is up to date ` +
        `(${applied.length} definitions migration${applied.length === 1 ? '' : 's'} applied, ` +
        `definitions version ${version})`,
    );
    return exitCodes.ok;
  } finally {
    await opened.closeAggregates();
    await opened.storage.close();
  }
}
