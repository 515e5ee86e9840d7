import { describe, expect, it } from 'vitest';
import {
  checkApiKeyName,
  formatApiKey,
  normalizeScopes,
  parseApiKey,
  scopesAllow,
} from './api-key.js';

const id = '0123456789abcdef';
const secret = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJ_-01234';

describe('API key format', () => {
  it('parses what it formats, with _ and - inside the secret', () => {
    // Given / When
    const key = formatApiKey({ id, secret });
    // Then
    expect(key).toBe(`aev_${id}_${secret}`);
    expect(parseApiKey(key)).toEqual({ id, secret });
  });

  it.each([
    ['', 'empty'],
    [`${id}_${secret}`, 'no prefix'],
    [`AEV_${id}_${secret}`, 'upper-case prefix'],
    [`aev_${id}${secret}`, 'no separator'],
    [`aev_${id.toUpperCase()}_${secret}`, 'upper-case id'],
    [`aev_${id}0_${secret}`, 'long id'],
    [`aev_${id}_${secret}x`, 'long secret'],
    [`aev_${id}_${secret.slice(1)}`, 'short secret'],
    [`aev_${id}_${secret.slice(1)}=`, 'padding'],
    [`aev_${id}_${secret.slice(1)} `, 'a space'],
  ])('rejects %j (%s)', (key) => {
    expect(parseApiKey(key)).toBeNull();
  });
});

describe('API key scopes', () => {
  it('allows a held scope and everything to admin, and nothing else', () => {
    expect(scopesAllow(['events:write'], 'events:write')).toBe(true);
    expect(scopesAllow(['events:write'], 'state:read')).toBe(false);
    expect(scopesAllow(['state:read'], 'events:write')).toBe(false);
    expect(scopesAllow(['admin'], 'events:write')).toBe(true);
    expect(scopesAllow(['admin'], 'state:read')).toBe(true);
  });

  it('stores scopes without duplicates in a fixed order', () => {
    expect(normalizeScopes(['admin', 'events:write', 'admin'])).toEqual(['events:write', 'admin']);
  });

  it('accepts printable names up to 100 characters and rejects the rest', () => {
    expect(checkApiKeyName('')).toBeNull();
    expect(checkApiKeyName('ci deploy ✓')).toBeNull();
    expect(checkApiKeyName('x'.repeat(101))).toMatch(/at most 100/);
    expect(checkApiKeyName('a\nb')).toMatch(/control/);
  });
});
