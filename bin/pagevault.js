#!/usr/bin/env node
// Thin launcher: the CLI lives in src/cli and is compiled to dist/ by `npm run build:ts`
// (which `npm ci`/`npm install` run through the `prepare` script).
import { main } from '../dist/src/cli/main.js';

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    // main() handles every expected error itself; reaching here is a bug.
    console.error('pagevault: internal error:', err);
    process.exitCode = 70;
  },
);
