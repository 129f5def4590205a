/**
 * Deterministic tar.gz of a template's `input/` folder (pure: built in memory).
 * Same files → same bytes: sorted entries, mtime 0, uid/gid 0, no user names,
 * directories 0755, files 0644 (0755 when the content starts with `#!`).
 */
import { gzipSync } from 'node:zlib';
import { Header, Pax } from 'tar';

const BLOCK = 512;
const EPOCH = new Date(0);

function headerBlocks(p: string, type: 'File' | 'Directory', mode: number, size: number): Buffer[] {
  const header = new Header({
    path: p,
    mode,
    uid: 0,
    gid: 0,
    size,
    mtime: EPOCH,
    type,
    uname: '',
    gname: '',
  });
  const block = Buffer.alloc(BLOCK);
  const needPax = header.encode(block, 0);
  const out: Buffer[] = [];
  if (needPax) out.push(new Pax({ path: p, size, mtime: EPOCH }).encode());
  out.push(block);
  return out;
}

/**
 * The files below `inputDir/` of `files` (keys are relative posix paths), as a tar
 * whose top folder is `<inputDir>/`. Always contains at least the top folder entry.
 */
export function buildInputTar(files: ReadonlyMap<string, Buffer>, inputDir = 'input'): Buffer {
  const prefix = `${inputDir}/`;
  const fileEntries = [...files.keys()].filter((k) => k.startsWith(prefix) && k.length > prefix.length).sort();
  const dirs = new Set<string>([prefix]);
  for (const f of fileEntries) {
    const segs = f.split('/');
    for (let i = 1; i < segs.length; i++) dirs.add(`${segs.slice(0, i).join('/')}/`);
  }
  const entries = [...[...dirs].map((d) => ({ p: d, dir: true })), ...fileEntries.map((f) => ({ p: f, dir: false }))];
  entries.sort((a, b) => (a.p < b.p ? -1 : a.p > b.p ? 1 : 0));
  const chunks: Buffer[] = [];
  for (const e of entries) {
    if (e.dir) {
      chunks.push(...headerBlocks(e.p, 'Directory', 0o755, 0));
      continue;
    }
    const data = files.get(e.p) as Buffer;
    const exec = data.length >= 2 && data[0] === 0x23 && data[1] === 0x21; // "#!"
    chunks.push(...headerBlocks(e.p, 'File', exec ? 0o755 : 0o644, data.length));
    chunks.push(data);
    const pad = (BLOCK - (data.length % BLOCK)) % BLOCK;
    if (pad > 0) chunks.push(Buffer.alloc(pad));
  }
  chunks.push(Buffer.alloc(BLOCK * 2)); // end-of-archive
  return Buffer.concat(chunks);
}

/** base64 of the gzipped {@link buildInputTar} (the `<input>` keyword's value). */
export function packInput(files: ReadonlyMap<string, Buffer>, inputDir = 'input'): string {
  return gzipSync(buildInputTar(files, inputDir), { level: 9 }).toString('base64');
}
