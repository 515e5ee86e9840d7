// Goal: API keys end to end with the real command: `aevon keys create`, a server that checks the key over HTTP,
// `aevon keys revoke` from another process taking effect on the running server, and no key in any output. Method:
// spawn the built CLI in a temporary folder (SQLite, and PostgreSQL for the shared-database case) and use fetch.
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestDatabase } from '../../../test/support/postgres.js';
import { createTestDatabase } from '../../../test/support/postgres.js';
import {
  assertCliBuilt,
  createWorkdir,
  runToEnd as runAevon,
  serve as serveAevon,
} from '../../../test/support/aevon-cli.js';
import { seedEvent, seedStatePath } from '../../../test/support/seed-quick-start.js';

const createKeysWorkdir = (): string => createWorkdir('log:\n  level: info\n');

const postEvent = (url: string, key: string | null, id: string) =>
  fetch(`${url}/v1/events`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(key === null ? {} : { authorization: `Bearer ${key}` }),
    },
    body: JSON.stringify({ ...seedEvent, id }),
  });

/** Creates a key with the CLI and returns it and its id. */
async function createKey(cwd: string, env: Record<string, string>, ...scopes: string[]) {
  const result = await runAevon(
    ['keys', 'create', ...scopes.flatMap((scope) => ['--scope', scope]), '--name', 'e2e'],
    cwd,
    env,
  );
  expect(result.code).toBe(0);
  const key = result.stdout.trim();
  const match = /^aev_([0-9a-f]{16})_[A-Za-z0-9_-]{43}$/.exec(key);
  expect(match).not.toBeNull();
  return { key, id: match?.[1] ?? '' };
}

/** Waits (at most 10 s) until `probe` answers `status`: revocation reaches a server within its cache time. */
async function eventually(probe: () => Promise<Response>, status: number): Promise<number> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const response = await probe();
    await response.body?.cancel();
    if (response.status === status || Date.now() > deadline) return response.status;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Create, serve, use, scope, revoke from another process, list: the life of a key. */
async function keyLifecycle(dir: string, env: Record<string, string>): Promise<void> {
  const writer = await createKey(dir, env, 'events:write');
  const reader = await createKey(dir, env, 'state:read');
  const server = await serveAevon(dir, env);
  try {
    // The key works; no key, and the wrong scope, do not.
    expect((await postEvent(server.url, writer.key, 'evt-1')).status).toBe(202);
    const anonymous = await postEvent(server.url, null, 'evt-2');
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toBe('Bearer realm="aevon"');
    expect(await anonymous.json()).toMatchObject({ code: 'AEV_UNAUTHENTICATED' });
    expect((await postEvent(server.url, reader.key, 'evt-3')).status).toBe(403);
    const state = await fetch(`${server.url}${seedStatePath}`, {
      headers: { authorization: `Bearer ${reader.key}` },
    });
    expect(state.status).toBe(200);
    expect(await state.json()).toMatchObject({ values: [{ event_count: 1 }] });
    expect((await fetch(`${server.url}/health`)).status).toBe(200);

    // When: another process revokes the writer's key
    const revoked = await runAevon(['keys', 'revoke', writer.id], dir, env);
    expect(revoked.code).toBe(0);

    // Then: the running server refuses it (within its 1 s cache time)
    expect(await eventually(() => postEvent(server.url, writer.key, 'evt-4'), 401)).toBe(401);
  } finally {
    server.child.kill('SIGTERM');
    expect(await server.exit).toBe(0);
  }
  const listed = await runAevon(['keys', 'list'], dir, env);
  expect(listed.code).toBe(0);
  expect(listed.stdout).toMatch(
    new RegExp(`${writer.id}\\s+e2e\\s+events:write\\s+\\S+Z\\s+\\S+Z`),
  );
  expect(listed.stdout).toMatch(new RegExp(`${reader.id}\\s+e2e\\s+state:read\\s+\\S+Z\\s+-`));
  // No secret in anything the server or list printed (log.level info logs every request).
  for (const { key } of [writer, reader]) {
    const secret = key.slice(-43);
    for (const output of [server.stdout(), server.stderr(), listed.stdout]) {
      expect(output).not.toContain(secret);
    }
  }
  expect(server.stdout()).toContain('authentication failed');
}

beforeAll(assertCliBuilt);

describe('aevon keys on SQLite', () => {
  let dir: string;
  beforeAll(() => {
    dir = createKeysWorkdir();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('refuses to serve 0.0.0.0 without a key, in one line, unless auth.required is false', async () => {
    const refused = await runAevon(['serve'], dir, { AEVON_SERVER_HOST: '0.0.0.0' });
    expect(refused.code).toBe(2);
    expect(refused.stderr.trim().split('\n')).toHaveLength(1);
    expect(refused.stderr).toMatch(/^aevon: AEV_CONFIG_INVALID: server.host: 0.0.0.0 /);

    const open = await serveAevon(dir, {
      AEVON_SERVER_HOST: '0.0.0.0',
      AEVON_AUTH_REQUIRED: 'false',
    });
    const url = open.url.replace('0.0.0.0', '127.0.0.1');
    expect((await postEvent(url, null, 'evt-open')).status).toBe(202);
    open.child.kill('SIGTERM');
    expect(await open.exit).toBe(0);
  }, 60_000);

  it('creates a key, serves with it, revokes it from another process, and never prints it', async () => {
    const fresh = createKeysWorkdir();
    try {
      await keyLifecycle(fresh, {});
    } finally {
      rmSync(fresh, { recursive: true, force: true });
    }
  }, 60_000);

  it('exits 1 with one line for an unknown id, and 2 for bad arguments', async () => {
    const unknown = await runAevon(['keys', 'revoke', '0000000000000000'], dir);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr.trim()).toBe(
      'aevon: AEV_NOT_FOUND: API key "0000000000000000" not found',
    );
    for (const args of [['keys'], ['keys', 'create'], ['keys', 'create', '--scope', 'root']]) {
      const bad = await runAevon(args, dir);
      expect(bad.code).toBe(2);
      expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    }
  }, 60_000);
});

describe('aevon keys on PostgreSQL', () => {
  let dir: string;
  let database: TestDatabase;
  beforeAll(async () => {
    dir = createKeysWorkdir();
    database = await createTestDatabase('aevon_keys_e2e');
  });
  afterAll(async () => {
    await database.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('manages the keys a server on the same database checks', async () => {
    const env = { AEVON_DATABASE_DSN: database.url };
    expect((await runAevon(['migrate'], dir, env)).code).toBe(0);
    await keyLifecycle(dir, env);
  }, 60_000);
});
