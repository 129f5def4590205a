// The rendered manifests of a start, read back (read-only) from the copy the
// manager keeps under `services.base/<servername>-<start_id>/`. Path-safe: the
// folder name is checked as one safe segment, must resolve inside the base,
// and symlinks are never followed. Only YAML files are shown, with the data of
// any Secret masked; other files (template inputs may hold secrets) are listed
// by name and size only.
import { lstat, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { isSafeSegment } from '../templates/locate.js';
import { realpathInside } from '../templates/files.js';
import { serviceId } from '../templates/names.js';

export interface RenderedFile {
  path: string;
  size: number;
  /** The text (Secret data masked); absent when not shown, with `note` saying why. */
  content?: string;
  note?: string;
}

export type RenderedCopy = { folder: string; files: RenderedFile[] } | { folder: string; missing: string };

const MAX_FILES = 200;
const MAX_SHOWN_BYTES = 256 * 1024;
const MASK = '***';

export async function readRenderedCopy(base: string, servername: string, startId: string): Promise<RenderedCopy> {
  const folder = serviceId(servername, startId);
  if (!isSafeSegment(folder)) return { folder, missing: 'not a safe folder name' };
  const real = await realpathInside(base, path.join(path.resolve(base), folder));
  if (real === null) return { folder, missing: `no rendered copy under ${base}` };
  const files: RenderedFile[] = [];
  await walk(real, '', files, 0);
  files.sort((a, b) => a.path.localeCompare(b.path));
  return { folder, files };
}

async function walk(dir: string, prefix: string, out: RenderedFile[], depth: number): Promise<void> {
  if (depth > 8) return;
  const entries = await readdir(dir).catch(() => [] as string[]);
  for (const name of entries.sort()) {
    if (out.length >= MAX_FILES) return;
    const full = path.join(dir, name);
    const rel = prefix ? `${prefix}/${name}` : name;
    const info = await lstat(full).catch(() => undefined);
    if (!info || info.isSymbolicLink()) continue;
    if (info.isDirectory()) {
      await walk(full, rel, out, depth + 1);
      continue;
    }
    if (!info.isFile()) continue;
    out.push(await describe(full, rel, info.size));
  }
}

async function describe(full: string, rel: string, size: number): Promise<RenderedFile> {
  if (!/\.ya?ml$/i.test(rel)) return { path: rel, size, note: 'not shown (only YAML manifests are shown)' };
  if (size > MAX_SHOWN_BYTES) return { path: rel, size, note: `not shown (larger than ${MAX_SHOWN_BYTES} bytes)` };
  const text = await readFile(full, 'utf8').catch(() => undefined);
  if (text === undefined) return { path: rel, size, note: 'could not be read' };
  const masked = maskSecrets(text);
  return masked === undefined ? { path: rel, size, note: 'not shown (not valid YAML)' } : { path: rel, size, content: masked };
}

/** The YAML text with every value under `data`/`stringData` of a Secret masked; undefined when it does not parse. */
export function maskSecrets(text: string): string | undefined {
  const docs = parseAllDocuments(text);
  if (!Array.isArray(docs) || docs.some((d) => d.errors.length > 0)) return undefined;
  let changed = false;
  for (const doc of docs) {
    if (doc.get('kind') !== 'Secret') continue;
    for (const key of ['data', 'stringData']) {
      const value: unknown = doc.get(key);
      if (value && typeof value === 'object' && 'items' in value && Array.isArray((value as { items: unknown[] }).items)) {
        for (const item of (value as { items: Array<{ key: unknown }> }).items) {
          doc.setIn([key, String((item.key as { value?: unknown })?.value ?? item.key)], MASK);
          changed = true;
        }
      } else if (value !== undefined && value !== null) {
        doc.set(key, MASK);
        changed = true;
      }
    }
  }
  return changed ? docs.map((d) => d.toString()).join('') : text;
}
