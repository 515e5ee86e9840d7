import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ApiKeyRecord, ApiKeyScope, ApiKeyStore, Clock } from '@aevon/core';
import { apiKeySecretHashPattern, assert, parseApiKey, scopesAllow } from '@aevon/core';
import {
  aggregateChangesPaths,
  aggregateChangesWebSocketPaths,
  aggregateRowPaths,
  definitionsPaths,
  sqlPaths,
  typedStreamPaths,
} from '../routes/typed.js';
import { sendProblem } from './error-handler.js';
import { createProblem } from './problem.js';

/** Default most milliseconds a key lookup (and "is any key configured") is reused: revocation takes this long. */
export const defaultApiKeyCacheTtlMs = 1000;

/** Default most keys (known or unknown ids) the lookup cache holds; the oldest entry goes first. */
export const defaultApiKeyCacheEntriesMax = 10_000;

/** API key authentication of {@link ServerOptions.apiKeys}. */
export interface ApiKeyAuthOptions {
  readonly store: ApiKeyStore;
  /** Times the cache entries. */
  readonly clock: Clock;
  /**
   * `true`: every route but `/health` and `/ready` needs a key, even while the database holds none. Default
   * (`false`): authentication turns on once any key has been created in the store (and stays on when every key is
   * revoked). To turn authentication off, pass no `apiKeys` at all.
   */
  readonly isRequired?: boolean;
  /**
   * How long a key lookup is reused, in milliseconds: a revoked key keeps working for at most this long. 0 looks the
   * key up on every request. Default: {@link defaultApiKeyCacheTtlMs}.
   */
  readonly cacheTtlMs?: number;
  /** Most cached lookups. Default: {@link defaultApiKeyCacheEntriesMax}. */
  readonly cacheEntriesMax?: number;
}

/** Routes anyone may call: probes must work for load balancers and supervisors that hold no key. */
const openRoutes: ReadonlySet<string> = new Set(['/health', '/ready']);

/** The scope each route needs, by `METHOD url-pattern`; another authenticated route needs any valid key. */
const scopeByRoute: ReadonlyMap<string, ApiKeyScope> = new Map<string, ApiKeyScope>([
  ['POST /v1/events', 'events:write'],
  ['POST /v1/ingest', 'events:write'],
  ['POST /v1/events/batch', 'events:write'],
  ['GET /v1/state/:principal_id', 'state:read'],
  ['HEAD /v1/state/:principal_id', 'state:read'],
  ['GET /v1/aggregates/:principal_id', 'state:read'],
  ['HEAD /v1/aggregates/:principal_id', 'state:read'],
  ['GET /v1/subscriptions', 'state:read'],
  ['GET /subscriptions', 'state:read'],
  // Named subscriptions: defining or deleting one is administration; reading, streaming and acknowledging one is
  // what a consumer holding a read key does.
  ['PUT /v1/subscriptions/:name', 'admin'],
  ['DELETE /v1/subscriptions/:name', 'admin'],
  ['GET /v1/subscriptions/:name', 'state:read'],
  ['HEAD /v1/subscriptions/:name', 'state:read'],
  ['GET /v1/subscriptions/:name/events', 'state:read'],
  ['POST /v1/subscriptions/:name/ack', 'state:read'],
  ['GET /v1/named-subscriptions', 'state:read'],
  ['HEAD /v1/named-subscriptions', 'state:read'],
  ['GET /v1/subscriptions/ws', 'state:read'],
  ['GET /subscriptions/ws', 'state:read'],
  // Typed events and aggregates: writing an event needs the write scope; reading rows, SQL (read-only by
  // construction), the definitions and the change feeds need the read scope.
  ...typedStreamPaths.map((url) => [`POST ${url}`, 'events:write'] as const),
  ...aggregateRowPaths.flatMap((url) => [
    [`GET ${url}`, 'state:read'] as const,
    [`HEAD ${url}`, 'state:read'] as const,
  ]),
  ...aggregateChangesPaths.map((url) => [`GET ${url}`, 'state:read'] as const),
  ...aggregateChangesWebSocketPaths.map((url) => [`GET ${url}`, 'state:read'] as const),
  ...sqlPaths.map((url) => [`POST ${url}`, 'state:read'] as const),
  ...definitionsPaths.flatMap((url) => [
    [`GET ${url}`, 'state:read'] as const,
    [`HEAD ${url}`, 'state:read'] as const,
  ]),
]);

/** The SHA-256 of an API key secret, lower-case hex: the form an {@link ApiKeyStore} holds. */
export function hashApiKeySecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/**
 * Adds the `onRequest` hook that checks `Authorization: Bearer aev_<id>_<secret>`. It runs before the body is read
 * or parsed, so a refused request writes nothing: no key, a malformed one, or an unknown, revoked or wrong one is
 * 401 `AEV_UNAUTHENTICATED` with `WWW-Authenticate: Bearer`; a valid key without the route's scope is 403
 * `AEV_FORBIDDEN`. The secret is compared by hash with `timingSafeEqual`. A store failure is answered 503 (the
 * request is refused, never let through).
 */
export function registerApiKeyAuth(app: FastifyInstance, options: ApiKeyAuthOptions): void {
  const lookup = createKeyLookup(options);
  app.addHook('onRequest', async (request, reply) => {
    const route = request.routeOptions.url;
    if (route !== undefined && openRoutes.has(route)) return;
    if (!(await lookup.isOn())) return;
    const key = await authenticate(request, lookup);
    if (typeof key === 'string') return refuse(request, reply, key);
    const scope = route === undefined ? undefined : scopeByRoute.get(`${request.method} ${route}`);
    if (scope !== undefined && !scopesAllow(key.scopes, scope)) {
      return forbid(request, reply, key.id, scope);
    }
    return;
  });
}

/** The key a request presents, or why it presents none (a reason safe to show and log). */
async function authenticate(
  request: FastifyRequest,
  lookup: KeyLookup,
): Promise<ApiKeyRecord | string> {
  const header = request.headers.authorization;
  if (header === undefined) return 'no Authorization header';
  const match = /^Bearer +(\S+) *$/i.exec(header);
  const parts = match?.[1] === undefined ? null : parseApiKey(match[1]);
  if (parts === null) return 'the Authorization header is not "Bearer aev_<id>_<secret>"';
  const record = await lookup.find(parts.id);
  const invalid = 'the API key is unknown, revoked or wrong';
  if (record === null) return invalid;
  assert(apiKeySecretHashPattern.test(record.secretHash), 'a stored secret hash is 64 hex digits');
  const presented = Buffer.from(hashApiKeySecret(parts.secret), 'hex');
  const stored = Buffer.from(record.secretHash, 'hex');
  // Hashes of equal length, compared in constant time: the time says nothing about how much of the secret matched.
  if (!timingSafeEqual(presented, stored)) return invalid;
  if (record.revokedAt !== null) return invalid;
  return record;
}

function refuse(request: FastifyRequest, reply: FastifyReply, reason: string): FastifyReply {
  // Failed attempts are worth an operator's attention; the reason never holds the key.
  request.log.info({ reason }, 'authentication failed');
  const error = reason.startsWith('no ') ? '' : ', error="invalid_token"';
  void reply.header('www-authenticate', `Bearer realm="aevon"${error}`);
  const problem = createProblem({
    code: 'AEV_UNAUTHENTICATED',
    detail: `authentication required: ${reason}`,
    details: { reason },
    requestId: request.id,
  });
  return sendProblem(reply, problem);
}

function forbid(
  request: FastifyRequest,
  reply: FastifyReply,
  keyId: string,
  scope: ApiKeyScope,
): FastifyReply {
  void reply.header(
    'www-authenticate',
    `Bearer realm="aevon", error="insufficient_scope", scope="${scope}"`,
  );
  const problem = createProblem({
    code: 'AEV_FORBIDDEN',
    detail: `API key ${keyId} lacks the scope ${scope}`,
    details: { keyId, scope },
    requestId: request.id,
  });
  return sendProblem(reply, problem);
}

interface KeyLookup {
  /** Whether authentication is on: required, or some key was ever created (sticky once true). */
  isOn(): Promise<boolean>;
  /** The key with this id, from the cache while fresh. */
  find(id: string): Promise<ApiKeyRecord | null>;
}

interface CachedKey {
  readonly record: ApiKeyRecord | null;
  readonly fetchedAtMs: number;
}

/**
 * Key lookups with a short-lived, bounded cache. Unknown ids are cached too, so that guessing ids does not turn
 * every request into a query; the bound evicts the oldest entry first (Map order is insertion order).
 */
function createKeyLookup(options: ApiKeyAuthOptions): KeyLookup {
  const { store, clock } = options;
  const ttlMs = options.cacheTtlMs ?? defaultApiKeyCacheTtlMs;
  const entriesMax = options.cacheEntriesMax ?? defaultApiKeyCacheEntriesMax;
  assert(Number.isSafeInteger(ttlMs) && ttlMs >= 0, 'cacheTtlMs is a non-negative integer');
  assert(Number.isSafeInteger(entriesMax) && entriesMax > 0, 'cacheEntriesMax is positive');
  const cache = new Map<string, CachedKey>();
  let isOn = options.isRequired === true;
  let checkedAtMs = Number.NEGATIVE_INFINITY;
  const isFresh = (atMs: number): boolean => clock.nowMs() - atMs < ttlMs;
  return {
    isOn: async () => {
      if (isOn || isFresh(checkedAtMs)) return isOn;
      // Keys are never deleted, so once a key exists authentication stays on without asking again.
      const nowMs = clock.nowMs();
      isOn = await store.hasAnyKey();
      checkedAtMs = nowMs;
      return isOn;
    },
    find: async (id) => {
      const cached = cache.get(id);
      if (cached !== undefined && isFresh(cached.fetchedAtMs)) return cached.record;
      const fetchedAtMs = clock.nowMs();
      const record = await store.find(id);
      cache.delete(id);
      if (cache.size >= entriesMax) {
        const oldest = cache.keys().next();
        if (oldest.done !== true) cache.delete(oldest.value);
      }
      cache.set(id, { record, fetchedAtMs });
      return record;
    },
  };
}
