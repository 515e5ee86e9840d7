export type { CliEnvironment } from './main.js';
export { runCli } from './main.js';
export type { AevonConfig, ConfigKey, DatabaseConfig, LogLevel } from './config/config.js';
export { configKeys, defaultConfigFileName, logLevels } from './config/config.js';
export type { LoadConfigOptions } from './config/load-config.js';
export { loadConfig } from './config/load-config.js';
export type { MeteringStore, OpenedStorage, OpenStorageOptions } from './open-storage.js';
export { openStorage, redactDsn } from './open-storage.js';
export {
  exitCodeForError,
  exitCodes,
  forcedExitCodeBySignal,
  formatErrorLine,
} from './exit-codes.js';
export { createSystemClock } from './system-clock.js';
export { createCryptoRandom } from './crypto-random.js';
