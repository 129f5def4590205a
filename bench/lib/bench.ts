// runBench(scenario, options): starts the control plane, runs the scenarios,
// returns and writes the results. Used by bench/run.ts and the smoke test.
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { clusterDown, clusterUp, repoRoot } from './cluster.js';
import { buildManager, RUNTIME_LABELS, type Runtime } from './manager.js';
import { summarizeProfile } from './profile.js';
import { checkTargets, machine, renderTables, updateDoc, type BenchResults } from './results.js';
import { populationPass, storms, type BenchOptions } from './scenarios.js';
import { scale, soak } from './soak.js';

export const SCENARIOS = ['poll', 'start-storm', 'stop-storm', 'memory', 'auth', 'all', 'soak', 'scale'] as const;
export type Scenario = (typeof SCENARIOS)[number];

export const FULL: Omit<BenchOptions, 'logDir' | 'log'> = {
  pollSizes: [100, 1000, 5000],
  memorySizes: [0, 1000, 5000],
  authSize: 1000,
  stormSizes: [100, 300],
  durationSeconds: 10,
  warmupSeconds: 3,
  connections: 16,
  pacedRate: 1000,
};

export const SMOKE: Omit<BenchOptions, 'logDir' | 'log'> = {
  pollSizes: [5],
  memorySizes: [0, 5],
  authSize: 5,
  stormSizes: [3],
  durationSeconds: 2,
  warmupSeconds: 1,
  connections: 4,
  pacedRate: 100,
};

export interface RunOptions {
  scenario: Scenario;
  sizes?: Partial<Omit<BenchOptions, 'logDir' | 'log'>>;
  smoke?: boolean;
  /** Where the JSON goes; default bench/results. */
  outDir?: string;
  profile?: boolean;
  /** Update docs/performance.md's generated table (default: for `all` at full size). */
  updateDocs?: boolean;
  log?: (line: string) => void;
  /** bundle (default): the production bundle, as the image runs; tsc: the former tsc build; tsx: the sources as they are (quicker to start, for the smoke test). */
  runtime?: Runtime;
  /** soak and scale: services, minutes, polls/s (defaults: soak 5,000 / 60 / 200; scale 20,000, paced at --rate or 1,000). */
  soak?: { services?: number; minutes?: number; rate?: number };
  /** Run on a control plane of its own (a second one, taken down at the end), so that the apiserver's request counts are the manager's alone. */
  ownControlPlane?: boolean;
}

export async function runBench(opts: RunOptions): Promise<{ results: BenchResults; jsonPath: string; table: string }> {
  const startedAt = new Date();
  const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
  const outDir = opts.outDir ?? path.join(repoRoot, 'bench', 'results');
  mkdirSync(outDir, { recursive: true });
  // Manager logs (a line per request: tens of MB) and CPU profiles stay out of the work tree.
  const workDir = path.join(tmpdir(), 'k8smgr-bench', stamp);
  const logDir = path.join(workDir, 'logs');
  mkdirSync(logDir, { recursive: true });
  const profileDir = opts.profile ? path.join(workDir, 'profiles') : undefined;
  const log = opts.log ?? ((line: string) => console.log(`bench: ${line}`));
  const options: BenchOptions = { ...(opts.smoke ? SMOKE : FULL), ...opts.sizes, logDir, log, ...(profileDir ? { profileDir } : {}) };

  let ownDir: string | undefined;
  if (opts.ownControlPlane) {
    ownDir = path.join(workDir, 'control-plane');
    process.env.K8SMGR_TESTENV_DIR = ownDir;
    delete process.env.KUBECONFIG;
    log(`a control plane of its own in ${ownDir}`);
  }
  log('control plane up');
  clusterUp();
  try {
    return await runScenario(opts, { startedAt, stamp, outDir, workDir, logDir, profileDir, log, options });
  } finally {
    if (ownDir) {
      log('taking its own control plane down');
      clusterDown();
    }
  }
}

async function runScenario(
  opts: RunOptions,
  c: { startedAt: Date; stamp: string; outDir: string; workDir: string; logDir: string; profileDir: string | undefined; log: (line: string) => void; options: BenchOptions },
): Promise<{ results: BenchResults; jsonPath: string; table: string }> {
  const { startedAt, outDir, profileDir, log, options } = c;
  log('building the manager');
  const runtime = await buildManager(opts.runtime);

  const s = opts.scenario;
  const want = { poll: s === 'poll' || s === 'all', memory: s === 'memory' || s === 'all', auth: s === 'auth' || s === 'all' };
  const results: BenchResults = {
    scenario: s,
    date: startedAt.toISOString().slice(0, 10),
    startedAt: startedAt.toISOString(),
    finishedAt: '',
    machine: machine(),
    runtime: RUNTIME_LABELS[runtime],
    options: { ...options, log: undefined, smoke: opts.smoke === true },
    poll: [],
    startStorm: [],
    memory: [],
    auth: [],
    soak: null,
    scale: null,
    targets: [],
    profiles: [],
  };
  if (want.poll || want.memory || want.auth) {
    const pass = await populationPass(options, want);
    results.poll = pass.poll;
    results.memory = pass.memory;
    results.auth = pass.auth;
  }
  if (s === 'start-storm' || s === 'stop-storm' || s === 'all') results.startStorm = await storms(options);
  if (s === 'soak') {
    results.soak = await soak({
      services: opts.soak?.services ?? (opts.smoke ? 5 : 5000),
      minutes: opts.soak?.minutes ?? (opts.smoke ? 1 : 60),
      rate: opts.soak?.rate ?? (opts.smoke ? 20 : 200),
      connections: 4,
      logDir: options.logDir,
      log,
      ownControlPlane: opts.ownControlPlane === true,
    });
  }
  if (s === 'scale') {
    results.scale = await scale({
      services: opts.soak?.services ?? (opts.smoke ? 5 : 20_000),
      rate: opts.soak?.rate ?? options.pacedRate,
      connections: Math.min(8, options.connections),
      durationSeconds: options.durationSeconds,
      warmupSeconds: options.warmupSeconds,
      logDir: options.logDir,
      log,
    });
  }
  results.targets = checkTargets(results);
  results.finishedAt = new Date().toISOString();
  if (profileDir && existsSync(profileDir)) {
    for (const f of readdirSync(profileDir).filter((f) => f.endsWith('.cpuprofile'))) {
      results.profiles.push({ file: path.join(profileDir, f), top: summarizeProfile(path.join(profileDir, f)) });
    }
  }
  const name = s === 'all' && !opts.smoke ? `${results.date}.json` : `${results.date}-${s}${opts.smoke ? '-smoke' : ''}.json`;
  const jsonPath = path.join(outDir, name);
  writeFileSync(jsonPath, `${JSON.stringify(results, null, 2)}\n`);
  const table = renderTables(results);
  if (opts.updateDocs ?? (s === 'all' && !opts.smoke && !opts.sizes)) {
    updateDoc(path.join(repoRoot, 'docs', 'performance.md'), results, path.relative(repoRoot, jsonPath));
  }
  return { results, jsonPath, table };
}
