// The page's JavaScript and the browser tests, linted with ESLint's recommended rules.
import js from '@eslint/js';
import globals from 'globals';

export default [
  js.configs.recommended,
  {
    files: ['www/**/*.js'],
    languageOptions: { ecmaVersion: 2022, sourceType: 'module', globals: { ...globals.browser, ...globals.worker } },
  },
  {
    files: ['tests/e2e/**/*.mjs', 'bench/**/*.mjs', 'bench/**/*.js'],
    languageOptions: { ecmaVersion: 2022, sourceType: 'module', globals: { ...globals.node, ...globals.browser } },
  },
  { ignores: ['dist/', 'node_modules/', 'www/glimpse.js'] },
];
