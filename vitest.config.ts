import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (pkg: string, file = 'index.ts'): string =>
  fileURLToPath(new URL(`./packages/${pkg}/src/${file}`, import.meta.url));

// Tests run against the TypeScript sources, so a test never sees a stale build; the e2e tier spawns the built CLI,
// which is why `npm test` runs `tsc -b` first.
export default defineConfig({
  resolve: {
    alias: [
      { find: /^@aevon\/core\/testing$/, replacement: src('core', 'testing/index.ts') },
      {
        find: /^@aevon\/(core|ddl|sqlite|postgres|conformance|engine|server|cli)$/,
        replacement: src('$1'),
      },
    ],
  },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'test/**/*.test.ts', 'bench/**/*.test.ts'],
    globalSetup: ['./test/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
