import { exitCodes } from '../exit-codes.js';
import type { AevonConfig } from '../config/config.js';
import type { CliEnvironment } from '../main.js';
import { openStorage } from '../open-storage.js';

/**
 * `aevon migrate`: opens the configured database with migrations on (creating a SQLite file and its folder if
 * needed), which applies every pending migration of the event log and the metering store, then closes it.
 * @throws AEV_CONFIG_INVALID, AEV_STORAGE_UNAVAILABLE, AEV_STORAGE_SCHEMA_MISMATCH.
 */
export async function runMigrate(
  config: AevonConfig,
  environment: CliEnvironment,
): Promise<number> {
  const opened = await openStorage(config.database, { migrate: true });
  await opened.storage.close();
  environment.stdout(`aevon: ${opened.engine} database ${opened.location} is up to date`);
  return exitCodes.ok;
}
