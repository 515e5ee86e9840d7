import { createInMemoryApiKeyStore, createManualClock, isAevonError } from '@aevon/core';
import { describe, expect, it } from 'vitest';
import { isLoopbackHost, resolveApiKeyAuth } from './api-key-auth-mode.js';

const clock = createManualClock(0);

describe('isLoopbackHost', () => {
  it.each(['127.0.0.1', '127.1.2.3', 'localhost', 'LOCALHOST', '::1', '[::1]', '::ffff:127.0.0.1'])(
    'counts %s as loopback',
    (host) => expect(isLoopbackHost(host)).toBe(true),
  );
  it.each(['0.0.0.0', '::', '10.0.0.5', '192.168.1.1', 'example.com', '128.0.0.1', '::2'])(
    'counts %s as reachable from the network',
    (host) => expect(isLoopbackHost(host)).toBe(false),
  );
});

describe('resolveApiKeyAuth', () => {
  it('serves the quick start (loopback, no keys, auto) with auth that turns on with the first key', async () => {
    const store = createInMemoryApiKeyStore();
    const auth = await resolveApiKeyAuth(
      { authRequired: null, serverHost: '127.0.0.1' },
      { store, clock },
    );
    expect(auth).toEqual({ store, clock });
  });

  it('refuses auto on 0.0.0.0 while no key exists, in one line naming both ways out', async () => {
    expect.assertions(3);
    const store = createInMemoryApiKeyStore();
    try {
      await resolveApiKeyAuth({ authRequired: null, serverHost: '0.0.0.0' }, { store, clock });
    } catch (error) {
      expect(isAevonError(error, 'AEV_CONFIG_INVALID')).toBe(true);
      expect(String(error)).toContain('aevon keys create');
      expect(String(error)).toContain('auth.required: false');
    }
  });

  it('serves 0.0.0.0 once a key exists, with required, and without auth when told so', async () => {
    const store = createInMemoryApiKeyStore();
    const wide = { serverHost: '0.0.0.0' };
    expect(await resolveApiKeyAuth({ ...wide, authRequired: false }, { store, clock })).toBe(
      undefined,
    );
    expect(await resolveApiKeyAuth({ ...wide, authRequired: true }, { store, clock })).toEqual({
      store,
      clock,
      isRequired: true,
    });
    await store.create({
      id: '0123456789abcdef',
      name: '',
      scopes: ['admin'],
      secretHash: '0'.repeat(64),
      createdAt: '2026-02-11T10:30:00.000Z',
      revokedAt: null,
    });
    expect(await resolveApiKeyAuth({ ...wide, authRequired: null }, { store, clock })).toEqual({
      store,
      clock,
    });
  });
});
