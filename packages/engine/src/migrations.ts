import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AevonError, isPlainObject } from '@aevon/core';
import type { AppliedMigration, UpcastFunction, Upcasters } from '@aevon/ddl';

/** Most migration files (`.sql`) one folder may hold. */
export const migrationFilesMax = 10_000;
/** Largest migration file, in bytes: a definitions change is DDL text, not data. */
export const migrationFileBytesMax = 1024 * 1024;

/** `NNNN_name.sql`: four or more digits, an underscore, a name of letters, digits, `_` and `-`. */
const migrationPattern = /^(\d{4,})_([A-Za-z0-9_-]+)\.sql$/;
/** `NNNN_name.upcast.mjs` or `.js`: the upcasters of the migration `NNNN_name.sql`. */
const upcasterPattern = /^(\d{4,}_[A-Za-z0-9_-]+)\.upcast\.m?js$/;

/** One migration file of the definitions migrations folder, read and checked. */
export interface MigrationFile {
  /** The number in its name (`0001_accounts.sql` → 1). */
  readonly number: number;
  /** The file name without `.sql` (`0001_accounts`): the name the log records. */
  readonly name: string;
  /** The absolute path of the `.sql` file. */
  readonly file: string;
  readonly ddl: string;
  /** SHA-256 of the file's text, lower-case hex: an applied file must keep it. */
  readonly checksum: string;
  /** The absolute path of its `NNNN_name.upcast.mjs` (or `.js`) module, or null when it has none. */
  readonly upcasterModule: string | null;
}

/** Where a migration file stands against the log. */
export interface MigrationStatus {
  readonly name: string;
  readonly state: 'applied' | 'pending';
  /** For an applied one: the definitions version it produced and when. */
  readonly version?: number;
  readonly recordedAt?: string;
}

/** SHA-256 of a migration file's text, lower-case hex. */
export function migrationChecksum(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/**
 * Reads the definitions migrations of a folder: every `NNNN_name.sql` directly inside it, in number order, with the
 * SHA-256 of its text, and its `NNNN_name.upcast.mjs` / `.js` module if present (its path only: the caller imports
 * it, see {@link upcastersFromModules}). Numbers start at 1 and have no gap and no duplicate, so that every node
 * applies the same files in the same order. Other files (a README) are ignored. A missing folder holds no migration.
 * @throws AEV_MIGRATION_INVALID naming the file: a `.sql` file whose name is not `NNNN_name.sql`, a duplicate or
 *   missing number, an upcaster module without its `.sql` file, a file too large or unreadable.
 */
export async function loadMigrations(dir: string): Promise<readonly MigrationFile[]> {
  const names = await listFolder(dir);
  const sqlFiles: { number: number; name: string; fileName: string }[] = [];
  const upcasterFiles = new Map<string, string>();
  for (const fileName of names) {
    const upcaster = upcasterPattern.exec(fileName);
    if (upcaster !== null) {
      const base = upcaster[1] ?? '';
      if (upcasterFiles.has(base)) {
        throw invalid(`two upcaster modules for ${base}.sql`, join(dir, fileName));
      }
      upcasterFiles.set(base, fileName);
      continue;
    }
    if (!fileName.toLowerCase().endsWith('.sql')) continue;
    const match = migrationPattern.exec(fileName);
    if (match === null) {
      throw invalid('a migration file is named NNNN_name.sql (4+ digits)', join(dir, fileName));
    }
    const number = Number(match[1]);
    sqlFiles.push({ number, name: fileName.slice(0, -'.sql'.length), fileName });
  }
  if (sqlFiles.length > migrationFilesMax) {
    throw invalid(`more than ${migrationFilesMax} migration files`, dir);
  }
  sqlFiles.sort((a, b) => a.number - b.number || a.name.localeCompare(b.name));
  sqlFiles.forEach((entry, index) => {
    const file = join(dir, entry.fileName);
    if (index > 0 && entry.number === index)
      throw invalid(`duplicate migration number ${entry.number}`, file);
    if (entry.number !== index + 1) {
      throw invalid(`migration ${index + 1} is missing: numbers start at 1 with no gap`, file);
    }
  });
  for (const [base, fileName] of upcasterFiles) {
    if (!sqlFiles.some((entry) => entry.name === base)) {
      throw invalid(`upcaster module without its migration ${base}.sql`, join(dir, fileName));
    }
  }
  const files: MigrationFile[] = [];
  for (const entry of sqlFiles) {
    const file = join(dir, entry.fileName);
    const ddl = await readMigration(file);
    const upcaster = upcasterFiles.get(entry.name);
    files.push({
      number: entry.number,
      name: entry.name,
      file,
      ddl,
      checksum: migrationChecksum(ddl),
      upcasterModule: upcaster === undefined ? null : join(dir, upcaster),
    });
  }
  return files;
}

/**
 * The migrations of `files` not applied yet, after checking that the applied ones (from the log) are the first
 * files, in order, each unchanged.
 * @throws AEV_MIGRATION_INVALID: an applied migration missing from the folder or at another place, or an applied file
 *   whose checksum changed (edit a new migration instead).
 */
export function pendingMigrations(
  files: readonly MigrationFile[],
  applied: readonly AppliedMigration[],
): readonly MigrationFile[] {
  applied.forEach((done, index) => {
    const file = files[index];
    if (file === undefined) {
      throw invalid(`the applied migration ${done.name} is missing from the migrations folder`);
    }
    if (file.name !== done.name) {
      throw invalid(
        `migration ${index + 1} was applied as ${done.name}; the folder has ${file.name} in its place`,
        file.file,
      );
    }
    if (file.checksum !== done.checksum) {
      throw invalid(
        `the applied migration ${done.name} was edited (checksum ${done.checksum.slice(0, 12)}… in the log, ` +
          `${file.checksum.slice(0, 12)}… now); add a new migration instead`,
        file.file,
      );
    }
  });
  return files.slice(applied.length);
}

/** Every migration file with its state: applied (with its version and time) or pending. Checks as {@link pendingMigrations}. */
export function migrationStatus(
  files: readonly MigrationFile[],
  applied: readonly AppliedMigration[],
): readonly MigrationStatus[] {
  const pending = new Set(pendingMigrations(files, applied).map((file) => file.name));
  return files.map((file, index) => {
    const done = applied[index];
    if (pending.has(file.name) || done === undefined) return { name: file.name, state: 'pending' };
    return {
      name: file.name,
      state: 'applied',
      version: done.version,
      recordedAt: done.recordedAt,
    };
  });
}

/**
 * Builds the upcasters of imported upcaster modules. Each module's default export maps an event type to its steps:
 * `export default { account_created: { 1: (data) => ({ ...data, plan: 'free' }) } }` turns version-1 data of
 * `account_created` into version 2. A step given by two modules is refused: which one runs would depend on the
 * order of the files.
 * @throws AEV_MIGRATION_INVALID naming the module for a default export of another shape.
 */
export function upcastersFromModules(
  modules: readonly { readonly file: string; readonly exports: unknown }[],
): Upcasters {
  const result = new Map<string, Map<number, UpcastFunction>>();
  for (const { file, exports } of modules) {
    const table = isPlainObject(exports) ? exports['default'] : undefined;
    if (!isPlainObject(table)) {
      throw invalid('an upcaster module has a default export { event_type: { N: fn } }', file);
    }
    for (const [eventType, steps] of Object.entries(table)) {
      if (!isPlainObject(steps)) {
        throw invalid(`upcasters of ${eventType} must map a version to a function`, file);
      }
      const byVersion = result.get(eventType) ?? new Map<number, UpcastFunction>();
      for (const [version, step] of Object.entries(steps)) {
        const from = Number(version);
        if (!/^[1-9]\d{0,8}$/.test(version) || typeof step !== 'function') {
          throw invalid(`${eventType}.${version}: a version (1, 2, ...) → a function`, file);
        }
        if (byVersion.has(from)) {
          throw invalid(`a second upcaster of ${eventType} from version ${from}`, file);
        }
        byVersion.set(from, step as UpcastFunction);
      }
      result.set(eventType, byVersion);
    }
  }
  return result;
}

async function listFolder(dir: string): Promise<readonly string[]> {
  try {
    return (await readdir(dir, { withFileTypes: true }))
      .filter((entry) => entry.isFile())
      .map((entry) => entry.name)
      .sort();
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ENOENT') return [];
    throw new AevonError(
      'AEV_MIGRATION_INVALID',
      { reason: 'cannot list the migrations folder', file: dir },
      { cause: error },
    );
  }
}

async function readMigration(file: string): Promise<string> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (error) {
    throw new AevonError(
      'AEV_MIGRATION_INVALID',
      { reason: 'cannot read the migration file', file },
      { cause: error },
    );
  }
  if (bytes.length > migrationFileBytesMax) {
    throw invalid(`a migration file is at most ${migrationFileBytesMax} bytes`, file);
  }
  return bytes.toString('utf8');
}

function invalid(reason: string, file?: string): AevonError<'AEV_MIGRATION_INVALID'> {
  return new AevonError(
    'AEV_MIGRATION_INVALID',
    file === undefined ? { reason } : { reason, file },
  );
}
