// The shared cache (${K8SMGR_CACHE:-~/.cache/k8smgr}) is filled safely when several
// processes ask for the same thing at once (issue 26: two test files each removed and
// re-created the hub venv under the other's feet). Real builds on an empty cache folder:
// the hub venv (scripts/hub-venv.sh, pip's download cache warm) and kwok
// (testenv/build.sh, Go's build cache warm), two processes each at the same moment; and
// scripts/cache.sh itself with a cheap builder, killed halfway or failing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `bash args...` with K8SMGR_CACHE=cache (and opts.env); `done` resolves when it exits. */
function bash(args: string[], cache: string, opts: { env?: Record<string, string>; onStderr?: (text: string) => void; detached?: boolean } = {}): { done: Promise<Run>; pid: number } {
  const env = { ...process.env, ...opts.env, K8SMGR_CACHE: cache };
  const child = spawn('bash', args, { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'], detached: opts.detached ?? false });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
    opts.onStderr?.(stderr);
  });
  const done = new Promise<Run>((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
  return { done, pid: child.pid ?? 0 };
}

/** Two runs at the same moment: one built, the other waited for it; both succeeded. */
function assertOneBuiltOneWaited(runs: Run[], what: string): void {
  for (const r of runs) assert.equal(r.code, 0, `${what} failed:\n${r.stdout}\n${r.stderr}`);
  const all = runs.map((r) => r.stderr).join('\n---\n');
  assert.equal(runs.filter((r) => /: built /.test(r.stderr)).length, 1, `one of the two built ${what}:\n${all}`);
  assert.equal(runs.filter((r) => /: waiting for another process that builds /.test(r.stderr)).length, 1, `the other one waited:\n${all}`);
}

const tempCache = (name: string): string => mkdtempSync(path.join(tmpdir(), `k8smgr-cache-${name}-`));
const leftovers = (dir: string): string[] => readdirSync(dir).filter((n) => /\.(tmp|old)-/.test(n));

test('two hub-venv.sh at once on an empty cache: one creates the venv, the other waits; both get the same complete venv', { timeout: 300_000 }, async () => {
  const cache = tempCache('venv');
  try {
    const runs = await Promise.all([0, 1].map(() => bash(['scripts/hub-venv.sh'], cache).done));
    assertOneBuiltOneWaited(runs, 'the hub venv');
    const paths = runs.map((r) => r.stdout.trim().split('\n').at(-1) ?? '');
    assert.equal(paths[0], paths[1], 'both print the same venv');
    const venv = paths[0]!;
    assert.equal(path.dirname(venv), cache);
    assert.match(path.basename(venv), /^hub-venv-[0-9a-f]{16}$/);
    assert.ok(existsSync(path.join(venv, '.k8smgr-complete')), 'the completion stamp');
    const version = spawnSync(path.join(venv, 'bin', 'jupyterhub'), ['--version'], { encoding: 'utf8' });
    assert.equal(version.stdout.trim(), '6.1.1', version.stderr);
    assert.deepEqual(leftovers(cache), []);
    // Once complete, a third run only prints the path: no lock, no message.
    const again = await bash(['scripts/hub-venv.sh'], cache).done;
    assert.equal(again.code, 0);
    assert.equal(again.stdout.trim(), venv);
    assert.equal(again.stderr, '');
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
});

test('two testenv/build.sh kwok at once on an empty cache: one builds, the other waits; bin/kwok is the complete build', { timeout: 300_000 }, async () => {
  const cache = tempCache('kwok');
  try {
    const runs = await Promise.all([0, 1].map(() => bash(['testenv/build.sh', 'kwok'], cache).done));
    assertOneBuiltOneWaited(runs, 'kwok');
    const binDir = spawnSync('bash', ['testenv/build.sh', '--print-bin-dir'], { cwd: repoRoot, env: { ...process.env, K8SMGR_CACHE: cache }, encoding: 'utf8' }).stdout.trim();
    const link = readlinkSync(path.join(binDir, 'kwok'));
    assert.match(link, /^\.\.\/kwok-[0-9a-f]{16}\/kwok$/);
    const groupDir = path.resolve(binDir, path.dirname(link));
    assert.match(readFileSync(path.join(groupDir, '.k8smgr-complete'), 'utf8'), /^kwok v/);
    const version = spawnSync(path.join(binDir, 'kwok'), ['--version'], { encoding: 'utf8' });
    assert.equal(version.status, 0, version.stderr);
    assert.deepEqual(leftovers(path.dirname(groupDir)), []);
    const again = await bash(['testenv/build.sh', 'kwok'], cache).done;
    assert.equal(again.code, 0);
    assert.match(again.stdout, /build.sh: kwok up to date in /);
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
});

/** A bash script that fills DIR with scripts/cache.sh: the builder writes a file, sleeps SLEEP s, may fail. */
function helperScript(dir: string): string {
  const script = path.join(dir, 'fill.sh');
  writeFileSync(script, [
    'set -euo pipefail',
    `source ${JSON.stringify(path.join(repoRoot, 'scripts/cache.sh'))}`,
    'CACHE_PREFIX=fill',
    // With FAIL=1 a command fails in the middle and the builder goes on (its last command succeeds): the build must fail.
    'build() { echo "half" >"$1/part"; sleep "$SLEEP"; if [[ ${FAIL:-0} != 0 ]]; then echo "the compiler said no" >&2; false; fi; echo "whole" >"$1/part"; }',
    'cache_fill "the thing" "$K8SMGR_CACHE/thing-$MODE" "key 1" "$MODE" "run it again" build',
    'cat "$K8SMGR_CACHE/thing-$MODE/part"',
  ].join('\n'));
  return script;
}

for (const mode of ['move', 'inplace']) {
  test(`scripts/cache.sh (${mode}): a builder killed halfway leaves nothing usable; the next run removes it and builds`, async () => {
    const cache = tempCache(`helper-${mode}`);
    try {
      const script = helperScript(cache);
      let building: () => void = () => undefined;
      const started = new Promise<void>((resolve) => (building = resolve));
      const first = bash([script], cache, { env: { MODE: mode, SLEEP: '30' }, detached: true, onStderr: (s) => s.includes('fill: building') && building() });
      await started;
      // While it builds, another process neither uses the half-made result nor removes it: it waits.
      let waited = false;
      const second = bash([script], cache, { env: { MODE: mode, SLEEP: '0' }, onStderr: (s) => (waited ||= s.includes('waiting for another process')) });
      await new Promise((r) => setTimeout(r, 1500));
      assert.ok(waited, 'the second run waits for the lock');
      const half = mode === 'move' ? readdirSync(cache).filter((n) => n.startsWith('thing-move.tmp-')).map((n) => path.join(cache, n, 'part')) : [path.join(cache, 'thing-inplace', 'part')];
      assert.equal(half.length, 1);
      assert.equal(readFileSync(half[0]!, 'utf8'), 'half\n', 'the half-made result is still there while its builder runs');
      process.kill(-first.pid, 'SIGKILL'); // the builder's whole process group, as a killed test run
      const firstRun = await first.done;
      assert.equal(firstRun.code, null);
      const secondRun = await second.done;
      assert.equal(secondRun.code, 0, secondRun.stderr);
      assert.equal(secondRun.stdout.trim(), 'whole', 'the second run built a complete result');
      assert.deepEqual(leftovers(cache), [], 'the killed builder\'s folder is gone');
    } finally {
      rmSync(cache, { recursive: true, force: true });
    }
  });
}

test('scripts/cache.sh: a failed build says which step failed, shows its log and what to do, and leaves nothing in place', async () => {
  const cache = tempCache('helper-fail');
  try {
    const script = helperScript(cache);
    const failed = await bash([script], cache, { env: { MODE: 'move', SLEEP: '0', FAIL: '1' } }).done;
    assert.equal(failed.code, 1);
    assert.match(failed.stderr, /fill: FAILED: building the thing \(after \d+ s\)\. Last lines of .*thing-move\.log:\n {4}the compiler said no\nfill: what to do: run it again\n/);
    assert.ok(!existsSync(path.join(cache, 'thing-move')));
    assert.deepEqual(leftovers(cache), []);
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
});
