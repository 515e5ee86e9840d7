// Goal: the definitions migrations folder is read in number order with checksums, and every malformed folder, and
// every applied file that changed, is AEV_MIGRATION_INVALID naming the file.
// Method: temporary folders with real files; pendingMigrations against applied-migration records as the log holds
// them; upcastersFromModules on module-shaped objects.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { asGlobalPosition } from '@aevon/core';
import type { AppliedMigration } from '@aevon/ddl';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  loadMigrations,
  migrationChecksum,
  migrationStatus,
  pendingMigrations,
  upcastersFromModules,
} from './migrations.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'aevon-migrations-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function files(entries: Record<string, string>): Promise<void> {
  for (const [name, text] of Object.entries(entries)) await writeFile(join(dir, name), text);
}

function applied(name: string, text: string, version: number): AppliedMigration {
  return {
    name,
    checksum: migrationChecksum(text),
    version,
    position: asGlobalPosition(String(version).padStart(20, '0')),
    recordedAt: '2026-01-01T00:00:00.000Z',
  };
}

describe('loadMigrations', () => {
  it('reads NNNN_name.sql in number order with the SHA-256 of each text and its upcaster module', async () => {
    await files({
      '0002_billing.sql': 'CREATE AGGREGATE b (id serial primary key);',
      '0001_accounts.sql': 'CREATE AGGREGATE a (id serial primary key);',
      '0002_billing.upcast.mjs': 'export default {};',
      'README.md': 'not a migration',
    });
    const loaded = await loadMigrations(dir);
    expect(loaded.map((file) => file.name)).toEqual(['0001_accounts', '0002_billing']);
    expect(loaded[0]?.checksum).toBe(
      migrationChecksum('CREATE AGGREGATE a (id serial primary key);'),
    );
    expect(loaded[0]?.checksum).toMatch(/^[0-9a-f]{64}$/);
    expect(loaded[0]?.upcasterModule).toBeNull();
    expect(loaded[1]?.upcasterModule).toBe(join(dir, '0002_billing.upcast.mjs'));
  });

  it('finds no migration in a missing folder', async () => {
    expect(await loadMigrations(join(dir, 'absent'))).toEqual([]);
  });

  it.each([
    [{ '0001_a.sql': '', '0003_c.sql': '' }, 'migration 2 is missing', '0003_c.sql'],
    [{ '0001_a.sql': '', '0001_b.sql': '' }, 'duplicate migration number 1', '0001_b.sql'],
    [{ '0002_b.sql': '' }, 'migration 1 is missing', '0002_b.sql'],
    [{ '001_a.sql': '' }, 'NNNN_name.sql', '001_a.sql'],
    [{ '0001 accounts.sql': '' }, 'NNNN_name.sql', '0001 accounts.sql'],
    [{ '0001_a.sql': '', '0002_b.upcast.mjs': '' }, 'without its migration', '0002_b.upcast.mjs'],
  ])('refuses %j', async (entries, reason, file) => {
    await files(entries);
    await expect(loadMigrations(dir)).rejects.toMatchObject({
      code: 'AEV_MIGRATION_INVALID',
      details: { reason: expect.stringContaining(reason), file: join(dir, file) },
    });
  });
});

describe('pendingMigrations', () => {
  it('gives the files after the applied ones, and the status of each', async () => {
    await files({ '0001_a.sql': 'A', '0002_b.sql': 'B', '0003_c.sql': 'C' });
    const loaded = await loadMigrations(dir);
    const log = [applied('0001_a', 'A', 1)];
    expect(pendingMigrations(loaded, log).map((file) => file.name)).toEqual(['0002_b', '0003_c']);
    expect(migrationStatus(loaded, log)).toEqual([
      { name: '0001_a', state: 'applied', version: 1, recordedAt: '2026-01-01T00:00:00.000Z' },
      { name: '0002_b', state: 'pending' },
      { name: '0003_c', state: 'pending' },
    ]);
  });

  it('refuses an applied file that was edited', async () => {
    await files({ '0001_a.sql': 'A edited' });
    const loaded = await loadMigrations(dir);
    expect(() => pendingMigrations(loaded, [applied('0001_a', 'A', 1)])).toThrow(
      expect.objectContaining({
        code: 'AEV_MIGRATION_INVALID',
        details: expect.objectContaining({ reason: expect.stringContaining('was edited') }),
      }),
    );
  });

  it('refuses an applied migration missing from the folder or replaced by another', async () => {
    await files({ '0001_z.sql': 'Z' });
    const loaded = await loadMigrations(dir);
    const log = [applied('0001_a', 'A', 1)];
    expect(() => pendingMigrations(loaded, log)).toThrow(/applied as 0001_a/);
    expect(() => pendingMigrations([], log)).toThrow(/missing from the migrations folder/);
  });
});

describe('upcastersFromModules', () => {
  it('maps event type → from-version → function, across modules', () => {
    const up = (data: Readonly<Record<string, unknown>>) => ({ ...data, plan: 'free' });
    const upcasters = upcastersFromModules([
      { file: 'a.mjs', exports: { default: { account_created: { 1: up } } } },
      { file: 'b.mjs', exports: { default: { account_created: { 2: up } } } },
    ]);
    expect([...(upcasters.get('account_created')?.keys() ?? [])]).toEqual([1, 2]);
    expect(upcasters.get('account_created')?.get(1)?.({ id: 1 })).toEqual({ id: 1, plan: 'free' });
  });

  it.each([
    [{ default: 3 }, 'default export'],
    [{}, 'default export'],
    [{ default: { e: 1 } }, 'map a version'],
    [{ default: { e: { 0: () => ({}) } } }, 'a version (1, 2, ...)'],
    [{ default: { e: { 1: 'no' } } }, 'a version (1, 2, ...)'],
  ])('refuses the module %j', (exports, reason) => {
    expect(() => upcastersFromModules([{ file: 'm.mjs', exports }])).toThrow(
      expect.objectContaining({
        code: 'AEV_MIGRATION_INVALID',
        details: { reason: expect.stringContaining(reason), file: 'm.mjs' },
      }),
    );
  });

  it('refuses a step two modules give', () => {
    const step = { default: { e: { 1: (data: Readonly<Record<string, unknown>>) => data } } };
    expect(() =>
      upcastersFromModules([
        { file: 'a.mjs', exports: step },
        { file: 'b.mjs', exports: step },
      ]),
    ).toThrow(/a second upcaster of e from version 1/);
  });
});
