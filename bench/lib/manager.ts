// Runs `k8smgr serve` as a child process for the bench: its output goes straight
// to a log file (as a container runtime would take it, so the bench process
// spends nothing on it), its RSS is read from /proc, and a small preloaded probe
// writes process.memoryUsage() before and after a full GC to a file on SIGUSR2
// (no change to src/ needed).
// Runs what the image runs: the production bundle (scripts/build.mjs, as
// `npm run build`), built into node_modules/.cache. K8SMGR_BENCH_RUNTIME=tsc
// runs a tsc build instead (the former production build, for before/after
// figures), =tsx the sources.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, cpSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { repoRoot } from './cluster.js';
import { managerEnv } from '../../test/helpers/manager.js';

// One per bench process, so that a bench and the smoke test never build into each other's.
// Two levels below BUILD_ROOT, as in the repository, so that files found relative to the code are found.
const BUILD_ROOT = path.join(repoRoot, 'node_modules', '.cache', 'k8smgr-bench', String(process.pid));

const PROBE = [
  "import { writeFileSync } from 'node:fs';",
  "import { setFlagsFromString } from 'node:v8';",
  "import { runInNewContext } from 'node:vm';",
  'const file = process.env.K8SMGR_BENCH_PROBE_FILE;',
  // A full GC on request, without --expose-gc on the command line: the live heap, not the garbage of the moment.
  "setFlagsFromString('--expose-gc');",
  "const gc = runInNewContext('gc');",
  "if (file) process.on('SIGUSR2', () => { const before = process.memoryUsage(); gc(); writeFileSync(file, JSON.stringify({ before, after: process.memoryUsage(), at: Date.now() })); });",
].join('\n');

export type Runtime = 'bundle' | 'tsc' | 'tsx';
export const RUNTIME_LABELS: Record<Runtime, string> = {
  bundle: 'the production bundle (esbuild, as the image runs)',
  tsc: 'a tsc build (the former production build)',
  tsx: 'tsx (sources)',
};

let built: { runtime: Runtime; entry: string[] } | undefined;
/** USER_HZ: 100 on every Linux this runs on (getconf CLK_TCK). */
const CLOCK_TICKS = 100;

/**
 * Node flags of the image's ENTRYPOINT (Dockerfile), so the bench runs the
 * manager as the image does; K8SMGR_BENCH_NODE_FLAGS (space-separated) replaces
 * them for experiments.
 */
export function imageNodeFlags(): string[] {
  const given = process.env.K8SMGR_BENCH_NODE_FLAGS;
  if (given !== undefined) return given.split(/\s+/).filter(Boolean);
  const dockerfile = readFileSync(path.join(repoRoot, 'Dockerfile'), 'utf8');
  const entry = /^ENTRYPOINT\s+(\[.*\])\s*$/m.exec(dockerfile)?.[1];
  if (!entry) return [];
  const argv = JSON.parse(entry) as string[];
  const node = argv.indexOf('node');
  return node < 0 ? [] : argv.slice(node + 1).filter((a) => a.startsWith('--'));
}

/** Builds the manager once per bench run into node_modules/.cache (never dist/: bin/k8smgr.js would pick that up). */
export async function buildManager(prefer?: Runtime): Promise<Runtime> {
  if (built) return built.runtime;
  const runtime = prefer ?? (process.env.K8SMGR_BENCH_RUNTIME as Runtime | undefined) ?? 'bundle';
  if (runtime === 'tsx') {
    built = { runtime, entry: ['--import', 'tsx', path.join(repoRoot, 'src', 'cli', 'main.ts')] };
    return runtime;
  }
  process.once('exit', () => rmSync(BUILD_ROOT, { recursive: true, force: true }));
  if (runtime === 'bundle') {
    const { bundle } = (await import(path.join(repoRoot, 'scripts', 'build.mjs'))) as { bundle: (o: { outDir: string }) => Promise<string> };
    built = { runtime, entry: [...imageNodeFlags(), await bundle({ outDir: path.join(BUILD_ROOT, 'dist', 'bundle') })] };
    return runtime;
  }
  const outDir = path.join(BUILD_ROOT, 'dist');
  const tsc = path.join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc');
  const r = spawnSync(process.execPath, [tsc, '-p', path.join(repoRoot, 'tsconfig.build.json'), '--noEmit', 'false', '--outDir', outDir, '--sourceMap', 'false'], {
    cwd: repoRoot,
    encoding: 'utf8',
    timeout: 5 * 60_000,
  });
  // Type errors elsewhere in the tree (other work in progress) still emit JS; use it if main.js is there.
  if (!existsSync(path.join(outDir, 'cli', 'main.js'))) throw new Error(`bench: could not compile src/ (${r.status}):\n${r.stdout}${r.stderr}`);
  if (existsSync(path.join(repoRoot, 'src', 'admin', 'static'))) cpSync(path.join(repoRoot, 'src', 'admin', 'static'), path.join(outDir, 'admin', 'static'), { recursive: true });
  built = { runtime, entry: [path.join(outDir, 'cli', 'main.js')] };
  return runtime;
}

export interface BenchManagerOptions {
  kubeconfigPath: string;
  namespace: string;
  configPath: string;
  logFile: string;
  env?: Record<string, string>;
  /** Extra node flags, e.g. --cpu-prof. */
  nodeArgs?: string[];
  readyTimeoutMs?: number;
}

export interface BenchManager {
  url: string;
  pid: number;
  child: ChildProcess;
  runtime: Runtime;
  /** Milliseconds from spawn to /api/ready/ answering 200. */
  readyMs: number;
  rss(): { rssKiB: number; hwmKiB: number };
  /** User + system CPU seconds the manager process has used so far (/proc/<pid>/stat). */
  cpuSeconds(): number;
  /** process.memoryUsage() of the manager before and after a full GC, through the preloaded probe. */
  memoryUsage(): Promise<{ before: NodeJS.MemoryUsage; after: NodeJS.MemoryUsage } | undefined>;
  log(): string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export async function startBenchManager(opts: BenchManagerOptions): Promise<BenchManager> {
  const runtime = await buildManager();
  if (!built) throw new Error('bench: no manager build');
  mkdirSync(path.dirname(opts.logFile), { recursive: true });
  const probeFile = `${opts.logFile}.memory.json`;
  const fd = openSync(opts.logFile, 'a');
  const entry = built.entry;
  const spawnedAt = Date.now();
  const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), '--import', `data:text/javascript,${encodeURIComponent(PROBE)}`, ...entry, 'serve'], {
    cwd: repoRoot,
    env: managerEnv({ ...opts, env: { K8SMGR_BENCH_PROBE_FILE: probeFile, ...opts.env } }),
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const readLog = () => (existsSync(opts.logFile) ? readFileSync(opts.logFile, 'utf8') : '');
  const deadline = Date.now() + (opts.readyTimeoutMs ?? 180_000);
  let url: string | undefined;
  let readyMs = -1;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`manager exited with ${child.exitCode} before it was ready:\n${readLog().slice(-4000)}`);
    url ??= /K8s Manager listening .*url=(http:\/\/[0-9.:]+)/.exec(readLog())?.[1];
    if (url) {
      const ready = await fetch(`${url}/api/ready/`).then((r) => r.status === 200, () => false);
      if (ready) {
        readyMs = Date.now() - spawnedAt;
        break;
      }
    }
    await sleep(100);
  }
  if (!url || readyMs < 0) {
    child.kill('SIGKILL');
    throw new Error(`manager did not become ready in time:\n${readLog().slice(-4000)}`);
  }
  const pid = child.pid ?? -1;
  return {
    url,
    pid,
    child,
    runtime,
    readyMs,
    rss() {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      const kib = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
      return { rssKiB: kib('VmRSS'), hwmKiB: kib('VmHWM') };
    },
    cpuSeconds() {
      // Fields after the command (which is in parentheses): state is field 3, utime 14, stime 15.
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
    },
    async memoryUsage() {
      const before = existsSync(probeFile) ? statSync(probeFile).mtimeMs : 0;
      child.kill('SIGUSR2');
      for (let i = 0; i < 50; i++) {
        await sleep(20);
        if (existsSync(probeFile) && statSync(probeFile).mtimeMs !== before) {
          try {
            return JSON.parse(readFileSync(probeFile, 'utf8')) as { before: NodeJS.MemoryUsage; after: NodeJS.MemoryUsage };
          } catch {
            // written half: read again
          }
        }
      }
      return undefined;
    },
    log: readLog,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null) child.kill(signal);
      const code = await Promise.race([exited, sleep(20_000, undefined, { ref: false }).then(() => 'timeout' as const)]);
      if (code === 'timeout') {
        child.kill('SIGKILL');
        return exited;
      }
      return code;
    },
  };
}
