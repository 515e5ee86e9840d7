// Goal: stream path patterns match exactly what docs/reference/http.md promises (the wildcard table).
import { describe, expect, it } from 'vitest';
import { isAevonError } from '../errors/aevon-error.js';
import { compileStreamPattern } from './stream-pattern.js';

describe('compileStreamPattern', () => {
  it.each([
    ['/accounts/*', 'accounts/42', true],
    ['/accounts/*', '/accounts/42', true],
    ['/accounts/*', 'accounts', false],
    ['/accounts/*', 'accounts/42/orders', false],
    ['/accounts/*', 'accountsx/42', false],
    ['/accounts/**', 'accounts', true],
    ['/accounts/**', 'accounts/42', true],
    ['/accounts/**', 'accounts/42/orders/7', true],
    ['/accounts/**', 'orders/42', false],
    ['/accounts/{id}', 'accounts/42', true],
    ['/accounts/{id}', 'accounts/42/x', false],
    ['/accounts/*/orders/*', 'accounts/42/orders/7', true],
    ['/accounts/*/orders/*', 'accounts/42/invoices/7', false],
    ['/**/orders/*', 'accounts/42/orders/7', true],
    ['/**/orders/*', 'orders/7', true],
    ['/**', 'anything/at/all', true],
    ['principals/*', 'principals/user_123', true],
    ['principals/*', 'principals/p/2', false],
    ['principals/**', 'principals/p/2', true],
    ['/accounts', 'accounts', true],
    ['/accounts', 'accounts/1', false],
    ['/accounts/*', 'accounts/', false],
  ])('%s on %s is %s', (pattern, stream, expected) => {
    expect(compileStreamPattern(pattern)(stream)).toBe(expected);
  });

  it('binds a placeholder to a value', () => {
    const match = compileStreamPattern('/accounts/{id}/orders/*', { id: '42' });
    expect(match('accounts/42/orders/1')).toBe(true);
    expect(match('accounts/43/orders/1')).toBe(false);
  });

  it.each(['', '/accounts//x', '/acc*', '/a/{id', '/a/b**', 'x'.repeat(513)])(
    'rejects %j with AEV_REQUEST_INVALID on field stream',
    (pattern) => {
      let caught: unknown;
      try {
        compileStreamPattern(pattern);
      } catch (error) {
        caught = error;
      }
      expect(isAevonError(caught, 'AEV_REQUEST_INVALID')).toBe(true);
      expect((caught as { details: { field: string } }).details.field).toBe('stream');
    },
  );
});
