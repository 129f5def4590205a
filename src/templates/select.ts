/**
 * The contract's folder selection, on a list of relative (posix) file paths. Pure.
 *
 * For every path segment (file and folder names, also inside `input/`):
 * - `<stage>_` is stripped (current stage); otherwise a name starting with a prefix of
 *   `skip.stage` (another stage) leaves the file out;
 * - then `<credential>_` is stripped; otherwise a name starting with a prefix of
 *   `skip.credential` (another credential) leaves the file out.
 * So `<stage>_<cred>_X`, `<stage>_X` and `<cred>_X` all become `X`; when several files
 * end up at the same path the most specific wins (stage+credential > stage > credential
 * > plain, judged from the file name backwards to the top folder).
 * Files matching one of the `ignore` globs (by original or renamed path) are left out.
 */

export interface SelectOptions {
  stage?: string | undefined;
  credential?: string | undefined;
  /** config `services.skip.stage`, e.g. ["production_", "staging_"] */
  skipStage?: readonly string[] | undefined;
  /** config `services.skip.credential`, e.g. ["jupyterjsc_", "other_"] */
  skipCredential?: readonly string[] | undefined;
  /** config `services.descriptions_ignore_files` globs */
  ignore?: readonly string[] | undefined;
}

/**
 * Tiny glob → RegExp: `**` any characters including `/` (`**\/` also zero folders),
 * `*` any characters but `/`, `?` one character but `/`; everything else literal.
 */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] as string;
    if (c === '*') {
      if (glob[i + 1] === '*') {
        i++;
        if (glob[i + 1] === '/') {
          i++;
          re += '(?:.*/)?';
        } else {
          re += '.*';
        }
      } else {
        re += '[^/]*';
      }
    } else if (c === '?') {
      re += '[^/]';
    } else {
      re += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    }
  }
  return new RegExp(`^${re}$`);
}

/**
 * A glob without `/` matches any single path segment (like `.gitignore`: `*.swp`, `.git`);
 * a glob with `/` matches the whole relative path.
 */
export function matchesAnyGlob(relPath: string, globs: readonly RegExp[], segmentGlobs: readonly RegExp[]): boolean {
  if (globs.some((g) => g.test(relPath))) return true;
  const segments = relPath.split('/');
  return segmentGlobs.some((g) => segments.some((s) => g.test(s)));
}

export function compileIgnore(ignore: readonly string[] = []): (relPath: string) => boolean {
  const pathGlobs = ignore.filter((g) => g.includes('/')).map(globToRegExp);
  const segmentGlobs = ignore.filter((g) => g !== '' && !g.includes('/')).map(globToRegExp);
  return (p) => matchesAnyGlob(p, pathGlobs, segmentGlobs);
}

export function isSafeRelPath(p: string): boolean {
  if (p === '' || p.startsWith('/') || p.includes('\\') || p.includes('\0')) return false;
  return p.split('/').every((s) => s !== '' && s !== '.' && s !== '..');
}

/** Renames one name; null = left out. `score`: 2 for stage, 1 for credential. */
export function selectName(
  name: string,
  opts: SelectOptions,
): { name: string; score: number } | null {
  let n = name;
  let score = 0;
  const stagePrefix = opts.stage ? `${opts.stage}_` : undefined;
  if (stagePrefix !== undefined && n.startsWith(stagePrefix)) {
    n = n.slice(stagePrefix.length);
    score += 2;
  } else if ((opts.skipStage ?? []).some((p) => p !== '' && n.startsWith(p))) {
    return null;
  }
  const credPrefix = opts.credential ? `${opts.credential}_` : undefined;
  if (credPrefix !== undefined && n.startsWith(credPrefix)) {
    n = n.slice(credPrefix.length);
    score += 1;
  } else if ((opts.skipCredential ?? []).some((p) => p !== '' && n.startsWith(p))) {
    return null;
  }
  return n === '' ? null : { name: n, score };
}

function moreSpecific(a: readonly number[], b: readonly number[]): boolean {
  // compare from the file name backwards to the top folder
  for (let i = a.length - 1; i >= 0; i--) {
    const x = a[i] ?? 0;
    const y = b[i] ?? 0;
    if (x !== y) return x > y;
  }
  return false;
}

/**
 * Selects and renames files. Returns target path → source path, sorted by target.
 * Unsafe paths (`..`, absolute, backslash, empty segments) are left out.
 */
export function selectFiles(relPaths: Iterable<string>, opts: SelectOptions = {}): Map<string, string> {
  const ignored = compileIgnore(opts.ignore);
  const chosen = new Map<string, { source: string; scores: number[] }>();
  for (const source of relPaths) {
    if (!isSafeRelPath(source) || ignored(source)) continue;
    const names: string[] = [];
    const scores: number[] = [];
    let keep = true;
    for (const seg of source.split('/')) {
      const r = selectName(seg, opts);
      if (r === null) {
        keep = false;
        break;
      }
      names.push(r.name);
      scores.push(r.score);
    }
    if (!keep) continue;
    const target = names.join('/');
    if (ignored(target)) continue;
    const prev = chosen.get(target);
    if (
      prev === undefined ||
      moreSpecific(scores, prev.scores) ||
      (!moreSpecific(prev.scores, scores) && source < prev.source)
    ) {
      chosen.set(target, { source, scores });
    }
  }
  const out = new Map<string, string>();
  for (const target of [...chosen.keys()].sort()) out.set(target, (chosen.get(target) as { source: string }).source);
  return out;
}

/** Applies {@link selectFiles} to an in-memory map of relative path → content. */
export function selectFileMap<T>(files: ReadonlyMap<string, T>, opts: SelectOptions = {}): Map<string, T> {
  const out = new Map<string, T>();
  for (const [target, source] of selectFiles(files.keys(), opts)) out.set(target, files.get(source) as T);
  return out;
}
