/**
 * File I/O of the template logic: finding the service folder (symlink-safe), reading it
 * with the contract's selection, and writing the rendered copy. Everything else in
 * src/templates is pure.
 */
import { lstat, mkdir, readFile, readdir, realpath, rm, stat, writeFile, chmod } from 'node:fs/promises';
import path from 'node:path';
import { TemplateError } from './errors.js';
import { isInside, isSafeSegment, resolveServiceDir } from './locate.js';
import { isSafeRelPath, selectFiles, type SelectOptions } from './select.js';

export { packInput, buildInputTar } from './pack.js';

/** Relative posix path → content. */
export type ServiceFiles = Map<string, Buffer>;

/**
 * realpath of `p`, if it exists and (after resolving symlinks) is inside realpath(root);
 * else null (missing, or pointing outside).
 */
export async function realpathInside(root: string, p: string): Promise<string | null> {
  let realRoot: string;
  let real: string;
  try {
    realRoot = await realpath(root);
    real = await realpath(p);
  } catch {
    return null;
  }
  return isInside(realRoot, real) ? real : null;
}

/**
 * The service folder `<root>/<credDir>/<type>/<option>` as a real path.
 * TemplateError('bad_service') for unsafe names, ('not_found') when it is missing,
 * not a folder, or resolves outside `root`.
 */
export async function locateServiceDir(root: string, credDir: string, service: unknown): Promise<string> {
  const dir = resolveServiceDir(root, credDir, service);
  const real = await realpathInside(root, dir);
  if (real === null || !(await stat(real)).isDirectory()) {
    throw new TemplateError('not_found', `Unknown service: ${String(service)}`);
  }
  return real;
}

export interface ReadFolderOptions extends SelectOptions {
  /** descriptions root: symlinks must resolve inside it (default: the folder itself) */
  root?: string | undefined;
  /** limits (defaults 2000 files, 64 MiB in total) */
  maxFiles?: number | undefined;
  maxBytes?: number | undefined;
  /** told about symlinks that were left out because they point outside `root` */
  onSkip?: ((relPath: string, reason: string) => void) | undefined;
}

async function listFiles(dir: string, root: string, opts: ReadFolderOptions): Promise<Map<string, string>> {
  // relative posix path → absolute real path of a regular file
  const out = new Map<string, string>();
  const maxFiles = opts.maxFiles ?? 2000;
  const walk = async (abs: string, rel: string, depth: number): Promise<void> => {
    if (depth > 32) throw new TemplateError('bad_object', `service folder too deep at ${rel}`);
    const entries = (await readdir(abs, { withFileTypes: true })).map((e) => e.name).sort();
    for (const name of entries) {
      const childRel = rel === '' ? name : `${rel}/${name}`;
      let childAbs = path.join(abs, name);
      let st = await lstat(childAbs);
      if (st.isSymbolicLink()) {
        const real = await realpathInside(root, childAbs);
        if (real === null) {
          opts.onSkip?.(childRel, 'symlink points outside the descriptions folder (or is broken)');
          continue;
        }
        childAbs = real;
        st = await stat(real);
      }
      if (st.isDirectory()) await walk(childAbs, childRel, depth + 1);
      else if (st.isFile()) {
        out.set(childRel, childAbs);
        if (out.size > maxFiles) throw new TemplateError('bad_object', `service folder has more than ${maxFiles} files`);
      }
    }
  };
  await walk(dir, '', 0);
  return out;
}

/**
 * Reads the service folder `dir` with the contract's selection applied
 * (skip/rename by stage and credential, ignore globs; also inside `input/`).
 * Keys are the selected (renamed) relative posix paths, sorted.
 */
export async function readServiceFolder(dir: string, opts: ReadFolderOptions = {}): Promise<ServiceFiles> {
  const root = opts.root ?? dir;
  const all = await listFiles(dir, root, opts);
  const maxBytes = opts.maxBytes ?? 64 * 1024 * 1024;
  let total = 0;
  const files: ServiceFiles = new Map();
  for (const [target, source] of selectFiles(all.keys(), opts)) {
    const data = await readFile(all.get(source) as string);
    total += data.length;
    if (total > maxBytes) throw new TemplateError('bad_object', `service folder is larger than ${maxBytes} bytes`);
    files.set(target, data);
  }
  return files;
}

/**
 * Writes `files` to `<baseDir>/<id>/` (folders 0700, files 0600), replacing an older
 * copy of the same id. Returns the folder.
 */
export async function writeRenderedCopy(
  baseDir: string,
  id: string,
  files: ReadonlyMap<string, Buffer | string>,
): Promise<string> {
  if (!isSafeSegment(id)) throw new TemplateError('bad_value', `invalid service id for a folder name: ${JSON.stringify(id)}`);
  for (const rel of files.keys()) {
    if (!isSafeRelPath(rel)) throw new TemplateError('bad_value', `invalid file path: ${JSON.stringify(rel)}`);
  }
  const target = path.join(path.resolve(baseDir), id);
  await mkdir(path.resolve(baseDir), { recursive: true });
  await rm(target, { recursive: true, force: true });
  await mkdir(target, { mode: 0o700 });
  await chmod(target, 0o700);
  for (const rel of [...files.keys()].sort()) {
    const dest = path.join(target, ...rel.split('/'));
    let d = target;
    for (const seg of rel.split('/').slice(0, -1)) {
      d = path.join(d, seg);
      await mkdir(d, { mode: 0o700 }).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== 'EEXIST') throw e;
      });
    }
    await writeFile(dest, files.get(rel) as Buffer | string, { mode: 0o600 });
    await chmod(dest, 0o600);
  }
  return target;
}
