// The user's persistent home: created on the first start from the skeleton,
// owned by the configured uid/gid, never overwritten afterwards.
import { cp, mkdir, stat, chown, readdir } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../config/schema.js';
import { credentialDir } from '../templates/locate.js';
import { globToRegExp } from '../templates/select.js';

export interface UserhomeInput {
  credential: string;
  service: string;
  userId: number;
}

export function userhomePath(cfg: Config, input: UserhomeInput): { home: string; skel: string } {
  const suffix = cfg.userhomes.service_suffix[input.service] ?? '';
  const owner = `${credentialDir(input.credential, cfg.services.credential_mapping)}${suffix}`;
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(owner)) throw new Error(`userhome folder name "${owner}" is not a safe folder name`);
  return {
    home: path.join(cfg.userhomes.base, owner, String(input.userId)),
    skel: path.join(cfg.userhomes.skel, owner),
  };
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(() => true, () => false);
}

async function chownTree(dir: string, uid: number, gid: number): Promise<void> {
  await chown(dir, uid, gid);
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) await chownTree(p, uid, gid);
    else await chown(p, uid, gid);
  }
}

/** Returns true when the home was created now. */
export async function ensureUserhome(cfg: Config, input: UserhomeInput): Promise<boolean> {
  if (!cfg.userhomes.enabled) return false;
  const { home, skel } = userhomePath(cfg, input);
  if (await exists(home)) return false;
  await mkdir(path.dirname(home), { recursive: true });
  // Claim the home with one atomic mkdir: of two starts of one user at once (two named
  // servers, two replicas), one creates and fills it, the other finds it there.
  try {
    await mkdir(home);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  const ignore = cfg.userhomes.skel_ignore_files.map((g) => globToRegExp(g));
  if (await exists(skel)) {
    await cp(skel, home, {
      recursive: true,
      errorOnExist: false,
      force: false,
      filter: (src) => !ignore.some((re) => re.test(path.basename(src))),
    });
  }
  if (process.getuid?.() === 0) await chownTree(home, cfg.userhomes.uid, cfg.userhomes.gid);
  return true;
}

