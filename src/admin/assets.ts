// The page's static files (src/admin/static/: HTML, CSS, plain ES modules; no
// build step), read once into memory. Only files of that folder with a known
// type are served, by exact name: a request cannot name a path.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Asset {
  body: Buffer;
  type: string;
  etag: string;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** The folder of the static files: next to this module, or (in a compiled dist/) in the sources. */
export function staticDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const candidates = [path.join(here, 'static'), path.resolve(here, '..', '..', 'src', 'admin', 'static')];
  return candidates.find((dir) => existsSync(path.join(dir, 'index.html'))) ?? candidates[0]!;
}

export async function loadAssets(dir = staticDir()): Promise<Map<string, Asset>> {
  const assets = new Map<string, Asset>();
  for (const name of (await readdir(dir)).sort()) {
    const type = TYPES[path.extname(name)];
    if (!type || !/^[a-z0-9][a-z0-9.-]*$/.test(name)) continue;
    const body = await readFile(path.join(dir, name));
    assets.set(name, { body, type, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` });
  }
  if (!assets.has('index.html')) throw new Error(`admin page: no index.html in ${dir}`);
  return assets;
}

/** The manager's version (package.json, two levels up from src/admin/ and from dist/admin/ alike). */
export function packageVersion(): string {
  try {
    const file = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'package.json');
    const version = (JSON.parse(readFileSync(file, 'utf8')) as { version?: unknown }).version;
    return typeof version === 'string' ? version : 'unknown';
  } catch {
    return 'unknown';
  }
}
