#!/usr/bin/env node
// Entry of the `k8smgr` command: runs the production bundle (dist/bundle/,
// `npm run build`) when present, else a tsc build (dist/cli/), else the
// TypeScript sources through tsx (development checkout).
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const built = [join(root, 'dist', 'bundle', 'k8smgr.js'), join(root, 'dist', 'cli', 'main.js')].find((file) => existsSync(file));
if (built) {
  await import(pathToFileURL(built).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import(pathToFileURL(join(root, 'src', 'cli', 'main.ts')).href);
}
