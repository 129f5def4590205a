import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as tar from 'tar';
import { TemplateError } from '../../../src/templates/errors.js';
import {
  locateServiceDir,
  packInput,
  readServiceFolder,
  realpathInside,
  writeRenderedCopy,
} from '../../../src/templates/files.js';

const FIXTURES = fileURLToPath(new URL('../../fixtures/templates/descriptions', import.meta.url));
const SELECT = {
  stage: 'production',
  credential: 'jupyterjsc',
  skipStage: ['production_', 'staging_'],
  skipCredential: ['jupyterjsc_', 'other_'],
  ignore: ['*.md', '*.swp'],
};

let tmp: string;
before(async () => {
  tmp = await mkdtemp(path.join(tmpdir(), 'k8smgr-templates-'));
});
after(async () => {
  await rm(tmp, { recursive: true, force: true });
});

async function unpack(b64: string): Promise<{ dir: string; entries: { path: string; mode: number; mtime: number; type: string }[] }> {
  const dir = await mkdtemp(path.join(tmp, 'unpack-'));
  const tgz = path.join(dir, 'input.tar.gz');
  await writeFile(tgz, Buffer.from(b64, 'base64'));
  const entries: { path: string; mode: number; mtime: number; type: string }[] = [];
  await tar.list({
    file: tgz,
    onReadEntry: (e) => {
      entries.push({ path: e.path, mode: (e.mode ?? 0) & 0o7777, mtime: e.mtime?.getTime() ?? -1, type: e.type });
    },
  });
  const out = path.join(dir, 'out');
  await mkdir(out);
  await tar.extract({ file: tgz, cwd: out });
  return { dir: out, entries };
}

void describe('locateServiceDir / realpathInside', () => {
  void it('finds an existing service folder', async () => {
    const dir = await locateServiceDir(FIXTURES, 'jupyterjsc', 'jupyterlab/default');
    assert.equal(dir, path.join(FIXTURES, 'jupyterjsc/jupyterlab/default'));
  });
  void it('answers not_found for a missing service or a file', async () => {
    await assert.rejects(locateServiceDir(FIXTURES, 'jupyterjsc', 'jupyterlab/missing'), (e: unknown) => e instanceof TemplateError && e.code === 'not_found');
    await assert.rejects(locateServiceDir(FIXTURES, 'nobody', 'jupyterlab/default'), (e: unknown) => e instanceof TemplateError && e.code === 'not_found');
  });
  void it('answers bad_service for unsafe paths before touching the disk', async () => {
    await assert.rejects(locateServiceDir(FIXTURES, 'jupyterjsc', '../../x'), (e: unknown) => e instanceof TemplateError && e.code === 'bad_service');
  });
  void it('does not follow symlinks that point outside the root', async () => {
    const root = path.join(tmp, 'desc');
    const outside = path.join(tmp, 'outside');
    await mkdir(path.join(root, 'cred', 'type'), { recursive: true });
    await mkdir(outside, { recursive: true });
    await writeFile(path.join(outside, 'service.yaml'), 'secret: stuff\n');
    await symlink(outside, path.join(root, 'cred', 'type', 'evil'));
    await mkdir(path.join(root, 'cred', 'type', 'real'));
    await symlink(path.join(root, 'cred', 'type', 'real'), path.join(root, 'cred', 'type', 'alias'));
    assert.equal(await realpathInside(root, path.join(root, 'cred', 'type', 'evil')), null);
    assert.equal(await realpathInside(root, path.join(root, 'nope')), null);
    await assert.rejects(locateServiceDir(root, 'cred', 'type/evil'), (e: unknown) => e instanceof TemplateError && e.code === 'not_found');
    assert.equal(await locateServiceDir(root, 'cred', 'type/alias'), await realpathInside(root, path.join(root, 'cred', 'type', 'real')));
  });
});

void describe('readServiceFolder', () => {
  void it('reads the folder with the selection applied (also inside input/)', async () => {
    const files = await readServiceFolder(path.join(FIXTURES, 'jupyterjsc/jupyterlab/default'), { ...SELECT, root: FIXTURES });
    assert.deepEqual([...files.keys()], [
      'input/config.txt',
      'input/secret.txt',
      'input/start.sh',
      'input/sub/data.txt',
      'options.yaml',
      'service.yaml',
      'update.yaml',
    ]);
    assert.equal(files.get('input/config.txt')?.toString(), 'production\n');
    assert.equal(files.get('input/secret.txt')?.toString(), 'jsc\n');
    assert.match(files.get('service.yaml')?.toString() ?? '', /^# production template/);
  });
  void it('selects for staging too', async () => {
    const files = await readServiceFolder(path.join(FIXTURES, 'jupyterjsc/jupyterlab/default'), { ...SELECT, stage: 'staging', credential: 'other' });
    assert.equal(files.get('input/config.txt')?.toString(), 'staging\n');
    assert.equal(files.get('input/secret.txt')?.toString(), 'other-credential\n');
    assert.match(files.get('service.yaml')?.toString() ?? '', /^# plain template/);
  });
  void it('skips symlinks pointing outside the root and tells why', async () => {
    const root = path.join(tmp, 'desc2');
    const svc = path.join(root, 'c', 't', 'o');
    await mkdir(path.join(svc, 'input'), { recursive: true });
    await writeFile(path.join(svc, 'service.yaml'), 'x');
    await writeFile(path.join(root, 'shared.txt'), 'shared');
    await symlink('/etc/passwd', path.join(svc, 'input', 'passwd'));
    await symlink(path.join(root, 'shared.txt'), path.join(svc, 'input', 'shared.txt'));
    const skipped: string[] = [];
    const files = await readServiceFolder(svc, { root, onSkip: (p) => skipped.push(p) });
    assert.deepEqual([...files.keys()], ['input/shared.txt', 'service.yaml']);
    assert.equal(files.get('input/shared.txt')?.toString(), 'shared');
    assert.deepEqual(skipped, ['input/passwd']);
  });
  void it('enforces limits', async () => {
    await assert.rejects(
      readServiceFolder(path.join(FIXTURES, 'jupyterjsc/jupyterlab/default'), { maxFiles: 3 }),
      (e: unknown) => e instanceof TemplateError && /more than 3 files/.test(e.message),
    );
    await assert.rejects(
      readServiceFolder(path.join(FIXTURES, 'jupyterjsc/jupyterlab/default'), { maxBytes: 10 }),
      (e: unknown) => e instanceof TemplateError && /larger than 10 bytes/.test(e.message),
    );
  });
});

void describe('packInput', () => {
  const files = new Map<string, Buffer>([
    ['service.yaml', Buffer.from('not packed')],
    ['input/start.sh', Buffer.from('#!/bin/sh\necho start\n')],
    ['input/sub/data.txt', Buffer.from('sub\n')],
    ['input/a.txt', Buffer.from('a'.repeat(600))],
    [`input/${'d'.repeat(120)}/long-name.txt`, Buffer.from('long')],
    ['inputx/not.txt', Buffer.from('no')],
  ]);

  void it('packs input/ as top folder with the files, fixed mtime and modes', async () => {
    const { dir, entries } = await unpack(packInput(files));
    assert.deepEqual(entries.map((e) => e.path), [
      'input/',
      'input/a.txt',
      `input/${'d'.repeat(120)}/`,
      `input/${'d'.repeat(120)}/long-name.txt`,
      'input/start.sh',
      'input/sub/',
      'input/sub/data.txt',
    ]);
    assert.ok(entries.every((e) => e.mtime === 0));
    assert.deepEqual(entries.map((e) => [e.type, e.mode.toString(8)]), [
      ['Directory', '755'], ['File', '644'], ['Directory', '755'], ['File', '644'], ['File', '755'], ['Directory', '755'], ['File', '644'],
    ]);
    assert.deepEqual(await readdir(dir), ['input']);
    assert.equal(await readFile(path.join(dir, 'input/start.sh'), 'utf8'), '#!/bin/sh\necho start\n');
    assert.equal(await readFile(path.join(dir, 'input/a.txt'), 'utf8'), 'a'.repeat(600));
    assert.equal(await readFile(path.join(dir, 'input/sub/data.txt'), 'utf8'), 'sub\n');
    assert.equal(await readFile(path.join(dir, `input/${'d'.repeat(120)}/long-name.txt`), 'utf8'), 'long');
  });

  void it('is deterministic: same files (any insertion order) give byte-equal output', () => {
    const a = packInput(files);
    const b = packInput(new Map([...files].reverse()));
    assert.equal(a, b);
    assert.notEqual(a, packInput(new Map([...files, ['input/new.txt', Buffer.from('x')]])));
    // gzip header mtime is 0 too
    assert.equal(Buffer.from(a, 'base64').readUInt32LE(4), 0);
    assert.ok(gunzipSync(Buffer.from(a, 'base64')).length % 512 === 0);
  });

  void it('packs only the top folder when there is no input/', async () => {
    const { entries } = await unpack(packInput(new Map([['service.yaml', Buffer.from('x')]])));
    assert.deepEqual(entries.map((e) => e.path), ['input/']);
  });

  void it('uses a configured input folder name', async () => {
    const { entries } = await unpack(packInput(new Map([['files/x.txt', Buffer.from('x')]]), 'files'));
    assert.deepEqual(entries.map((e) => e.path), ['files/', 'files/x.txt']);
  });
});

void describe('writeRenderedCopy', () => {
  void it('writes <base>/<id>/ with 0700 folders and 0600 files, replacing an older copy', async () => {
    const base = path.join(tmp, 'services');
    const id = 'srv-1a2b3c4d';
    await writeRenderedCopy(base, id, new Map([['old.txt', 'old']]));
    const dir = await writeRenderedCopy(base, id, new Map<string, Buffer | string>([
      ['service.yaml', 'rendered'],
      ['input/sub/data.txt', Buffer.from('sub')],
    ]));
    assert.equal(dir, path.join(base, id));
    assert.deepEqual((await readdir(dir)).sort(), ['input', 'service.yaml']);
    assert.equal(await readFile(path.join(dir, 'service.yaml'), 'utf8'), 'rendered');
    assert.equal(await readFile(path.join(dir, 'input/sub/data.txt'), 'utf8'), 'sub');
    assert.equal((await stat(dir)).mode & 0o777, 0o700);
    assert.equal((await stat(path.join(dir, 'input'))).mode & 0o777, 0o700);
    assert.equal((await stat(path.join(dir, 'input/sub'))).mode & 0o777, 0o700);
    assert.equal((await stat(path.join(dir, 'service.yaml'))).mode & 0o777, 0o600);
    assert.equal((await stat(path.join(dir, 'input/sub/data.txt'))).mode & 0o777, 0o600);
  });
  void it('refuses unsafe ids and paths', async () => {
    const base = path.join(tmp, 'services2');
    for (const id of ['..', '../x', 'a/b', '']) {
      await assert.rejects(writeRenderedCopy(base, id, new Map()), (e: unknown) => e instanceof TemplateError && e.code === 'bad_value');
    }
    for (const p of ['../x', '/abs', 'a/../../b', 'a\\b']) {
      await assert.rejects(writeRenderedCopy(base, 'id', new Map([[p, 'x']])), (e: unknown) => e instanceof TemplateError && e.code === 'bad_value');
    }
  });
});
