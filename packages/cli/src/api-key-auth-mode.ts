import type { ApiKeyStore, Clock } from '@aevon/core';
import { AevonError } from '@aevon/core';
import type { ApiKeyAuthOptions } from '@aevon/server';
import type { AevonConfig } from './config/config.js';

/**
 * True for a host only this machine can reach: `localhost`, `127.0.0.0/8` and `::1` (also IPv4-mapped). Every other
 * address, `0.0.0.0` and `::` included, may be reachable from the network.
 */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  if (bare === 'localhost' || bare === '::1' || bare === '0:0:0:0:0:0:0:1') return true;
  const ipv4 = bare.replace(/^::ffff:/, '');
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(ipv4);
}

/**
 * The API key authentication `aevon serve` runs with (docs/reference/config.md, `auth.required`): none with
 * `false`; always with `true`; with `auto` (the default), on once a key exists in the database, checked again while
 * serving so that the first `aevon keys create` turns it on without a restart.
 * @throws AEV_CONFIG_INVALID when `auto` would start a server without authentication on a host other machines can
 *   reach: create a key first, or say `auth.required: false` on purpose.
 */
export async function resolveApiKeyAuth(
  config: Pick<AevonConfig, 'authRequired' | 'serverHost'>,
  context: { readonly store: ApiKeyStore; readonly clock: Clock },
): Promise<ApiKeyAuthOptions | undefined> {
  if (config.authRequired === false) return undefined;
  if (config.authRequired === true) return { ...context, isRequired: true };
  if (!isLoopbackHost(config.serverHost) && !(await context.store.hasAnyKey())) {
    const reason =
      `server.host: ${config.serverHost} is not a loopback address and no API key exists, so anyone who can ` +
      `reach it could write and read; create a key (aevon keys create --scope admin) or set auth.required: false`;
    throw new AevonError('AEV_CONFIG_INVALID', { reason });
  }
  return context;
}
