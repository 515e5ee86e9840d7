import { randomBytes } from 'node:crypto';
import type { ApiKeyRecord, ApiKeyScope, ApiKeyStore, Clock } from '@aevon/core';
import { AevonError, formatApiKey, formatTimestamp, normalizeScopes } from '@aevon/core';
import type { AevonConfig } from '../config/config.js';
import { exitCodes } from '../exit-codes.js';
import type { CliEnvironment } from '../main.js';
import { openStorage } from '../open-storage.js';
import { createSystemClock } from '../system-clock.js';

/** What `aevon keys` was asked to do (arguments already checked by the command line). */
export type KeysRequest =
  | {
      readonly action: 'create';
      readonly scopes: readonly ApiKeyScope[];
      readonly name: string;
    }
  | { readonly action: 'list' }
  | { readonly action: 'revoke'; readonly id: string };

/**
 * `aevon keys create|list|revoke` on the database of `database.dsn`: the same keys every `aevon serve` on that
 * database checks. `create` prints the key once, on stdout (alone, so that `KEY=$(aevon keys create ...)` works),
 * and stores only the SHA-256 of its secret.
 * @throws AEV_NOT_FOUND when `revoke` names no key; AEV_CONFIG_INVALID, AEV_STORAGE_UNAVAILABLE,
 *   AEV_STORAGE_SCHEMA_MISMATCH when the database cannot be opened.
 */
export async function runKeys(
  config: AevonConfig,
  environment: CliEnvironment,
  request: KeysRequest,
): Promise<number> {
  // PostgreSQL: the event log's schema must exist (aevon migrate); the key table is created with the other tables.
  const opened = await openStorage(config.database, { migrate: false });
  try {
    const store = opened.apiKeys;
    switch (request.action) {
      case 'create':
        await createKey(store, createSystemClock(), request, environment);
        break;
      case 'list':
        printKeys(await store.list(), environment);
        break;
      case 'revoke':
        await revokeKey(store, createSystemClock(), request.id, environment);
        break;
    }
  } finally {
    await opened.storage.close();
  }
  return exitCodes.ok;
}

async function createKey(
  store: ApiKeyStore,
  clock: Clock,
  request: { readonly scopes: readonly ApiKeyScope[]; readonly name: string },
  environment: CliEnvironment,
): Promise<void> {
  // The server hashes presented secrets the same way; loaded here only, so that list and revoke stay light.
  const { hashApiKeySecret } = await import('@aevon/server');
  // 64 random bits of id (public, a lookup key) and 256 of secret, from the OS CSPRNG.
  const id = randomBytes(8).toString('hex');
  const secret = randomBytes(32).toString('base64url');
  const record: ApiKeyRecord = {
    id,
    name: request.name,
    scopes: normalizeScopes(request.scopes),
    secretHash: hashApiKeySecret(secret),
    createdAt: formatTimestamp(clock.nowMs()),
    revokedAt: null,
  };
  await store.create(record);
  environment.stdout(formatApiKey({ id, secret }));
  const named = record.name === '' ? '' : ` ${JSON.stringify(record.name)}`;
  environment.stderr(
    `aevon: created API key ${id}${named} with scopes ${record.scopes.join(', ')}; ` +
      'the key above is shown only once and cannot be recovered',
  );
}

async function revokeKey(
  store: ApiKeyStore,
  clock: Clock,
  id: string,
  environment: CliEnvironment,
): Promise<void> {
  const revokedAt = formatTimestamp(clock.nowMs());
  const record = await store.revoke(id, revokedAt);
  if (record === null) {
    throw new AevonError('AEV_NOT_FOUND', { resource: `API key ${JSON.stringify(id)}` });
  }
  const when = record.revokedAt === revokedAt ? '' : ` (already revoked at ${record.revokedAt})`;
  environment.stdout(`aevon: revoked API key ${id}${when}`);
}

const headings = ['ID', 'NAME', 'SCOPES', 'CREATED', 'REVOKED'] as const;

/** One aligned row per key; never the secret, which is not stored, nor its hash. */
function printKeys(keys: readonly ApiKeyRecord[], environment: CliEnvironment): void {
  if (keys.length === 0) {
    environment.stdout('aevon: no API keys (create one with aevon keys create --scope SCOPE)');
    return;
  }
  const rows: (readonly string[])[] = [
    headings,
    ...keys.map((key) => [
      key.id,
      key.name === '' ? '-' : key.name,
      key.scopes.join(','),
      key.createdAt,
      key.revokedAt ?? '-',
    ]),
  ];
  const widths = headings.map((_, column) =>
    Math.max(...rows.map((row) => (row[column] ?? '').length)),
  );
  for (const row of rows) {
    environment.stdout(
      row
        .map((cell, column) => cell.padEnd(widths[column] ?? 0))
        .join('  ')
        .trimEnd(),
    );
  }
}
