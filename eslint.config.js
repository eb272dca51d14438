// Lint: typescript-eslint's recommended rules plus the layering rules of the design
// (STYLE.md habit 14): only src/native/binding.ts loads the addon, and only snapshot/,
// restore/ and json/ (which read and write LMDB data) may import that seam; sinks/ and transforms/ stay
// independent of LMDB and of the CLI.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'build/**', 'node_modules/**', 'pagevault-demo/**', '.bench-data/**', '.cache/**', 'test-artifacts/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setImmediate: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', URL: 'readonly', AbortController: 'readonly', AbortSignal: 'readonly', performance: 'readonly' },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // The Studio: plain ES modules run by the browser.
    files: ['studio/**/*.js'],
    languageOptions: {
      sourceType: 'module',
      globals: { document: 'readonly', window: 'readonly', location: 'readonly', sessionStorage: 'readonly', fetch: 'readonly', navigator: 'readonly', crypto: 'readonly', btoa: 'readonly', Blob: 'readonly', URLSearchParams: 'readonly', Node: 'readonly', Intl: 'readonly' },
    },
  },
  {
    files: ['src/**/*.ts'],
    ignores: ['src/native/**', 'src/snapshot/**', 'src/restore/**', 'src/json/**'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['**/native/binding*', '*.node'], message: 'Only snapshot/, restore/ and json/ may use the native seam.' }] }],
    },
  },
  {
    files: ['src/sinks/**/*.ts', 'src/transforms/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['**/snapshot/**', '**/native/**', '**/cli/**'], message: 'sinks/ and transforms/ must not depend on LMDB reading or the CLI.' }] }],
    },
  },
);
