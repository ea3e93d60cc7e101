#!/usr/bin/env node
// The `relay` operator command: runs the built CLI (npm run build first).
import { existsSync } from 'node:fs';

const entry = new URL('../dist/apps/cli/src/main.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write('relay: not built yet; run `npm run build` first\n');
  process.exit(2);
}
await import(entry.href);
