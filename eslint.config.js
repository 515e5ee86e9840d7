// Type-checked lint rules of STYLE.md 2.11, and the bans on ambient time and randomness of 2.8.
import eslint from '@eslint/js';
import tseslint from 'typescript-eslint';

const ambientBans = {
  'no-restricted-globals': [
    'error',
    { name: 'setTimeout', message: 'Inject a Clock (STYLE 2.8).' },
  ],
  'no-restricted-properties': [
    'error',
    { object: 'Date', property: 'now', message: 'Use the injected Clock (STYLE 2.8).' },
    { object: 'Math', property: 'random', message: 'Use the injected Random (STYLE 2.8).' },
    { object: 'crypto', property: 'randomUUID', message: 'Use the injected Random (STYLE 2.8).' },
  ],
  'no-restricted-syntax': [
    'error',
    {
      selector: "NewExpression[callee.name='Date'][arguments.length=0]",
      message: 'Use the injected Clock.',
    },
  ],
};

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', 'data/**', 'coverage/**', '.tmp/**'] },
  eslint.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { project: ['./tsconfig.check.json'], tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-non-null-assertion': 'error',
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      // Async functions without await are deliberate: they turn a synchronous throw into a rejected promise.
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
      'no-restricted-exports': [
        'error',
        {
          restrictDefaultExports: {
            direct: true,
            named: true,
            defaultFrom: true,
            namedFrom: true,
            namespaceFrom: true,
          },
        },
      ],
    },
  },
  {
    // The library code: no ambient time or randomness. The CLI (the composition root) provides the real Clock and
    // Random, and tests and benchmarks may use real time.
    files: ['packages/{core,engine,server,sqlite,postgres}/src/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: ambientBans,
  },
  {
    // Tests parse JSON and poke at deliberately wrong inputs; the unsafe-any family only adds noise there.
    files: ['**/*.test.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
    },
  },
  // Plain JavaScript files (this config) are outside the TypeScript project.
  { files: ['**/*.js'], ...tseslint.configs.disableTypeChecked },
  {
    // Config files must export a default.
    files: ['eslint.config.js', 'vitest.config.ts', 'test/global-setup.ts'],
    rules: { 'no-restricted-exports': 'off' },
  },
);
