import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AevonError, isPlainObject } from '@aevon/core';
import { compileSchemas } from './schema-validator.js';

/** JSON Schemas by event type, then by schema version. */
export type SchemaRegistry = ReadonlyMap<string, ReadonlyMap<number, object>>;

const versionFile = /^([1-9]\d{0,8})\.json$/;

/**
 * Loads the JSON Schemas of a directory laid out as `<dir>/<type>/<version>.json`: one folder per event type (the
 * folder name is the type, e.g. `schemas/api.request/`), one file per positive schema version written without
 * leading zeros (`1.json`, `2.json`). Each schema validates the `data` of events with that type and
 * `schema_version`. Other files (a README) and other names are ignored; a missing directory yields no schemas.
 * Every schema is compiled once here, so a broken one fails at startup.
 * @throws AEV_CONFIG_INVALID naming the file: unreadable, not JSON, not an object, or not a valid JSON Schema.
 */
export async function loadSchemas(dir: string): Promise<SchemaRegistry> {
  let types: string[];
  try {
    types = (await readdir(dir, { withFileTypes: true }))
      .filter((e) => e.isDirectory())
      .map((e) => e.name);
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ENOENT') return new Map();
    throw new AevonError(
      'AEV_CONFIG_INVALID',
      { reason: 'cannot list the schema directory', source: dir },
      { cause: error },
    );
  }
  const registry = new Map<string, Map<number, object>>();
  for (const type of types.sort()) {
    const folder = join(dir, type);
    const files = (await readdir(folder, { withFileTypes: true }))
      .filter((e) => e.isFile())
      .map((e) => e.name);
    for (const name of files.sort()) {
      const match = versionFile.exec(name);
      if (match?.[1] === undefined) continue;
      const file = join(folder, name);
      const schema = await readSchema(file);
      const versions = registry.get(type) ?? new Map<number, object>();
      versions.set(Number(match[1]), schema);
      registry.set(type, versions);
      compileSchemas(new Map([[type, new Map([[Number(match[1]), schema]])]]), file);
    }
  }
  return registry;
}

async function readSchema(file: string): Promise<object> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new AevonError(
      'AEV_CONFIG_INVALID',
      { reason: 'cannot read it as JSON', source: file },
      { cause: error },
    );
  }
  if (!isPlainObject(parsed))
    throw new AevonError('AEV_CONFIG_INVALID', { reason: 'must be a JSON object', source: file });
  return parsed;
}
