// helm and kubectl for the tests and scripts, built from their Go modules by
// testenv/build.sh (kubectl from k8s.io/kubernetes in testenv/go.mod, helm from
// testenv/helm/go.mod) into the same cache directory as the control plane.
// The first call builds what is missing (minutes on a cold Go cache; a no-op
// afterwards) and throws a clear error when Go cannot build them.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const buildScript = path.join(repoRoot, 'testenv', 'build.sh');

export interface Tools {
  /** The directory of all binaries of the test environment (build.sh --print-bin-dir). */
  binDir: string;
  helm: string;
  kubectl: string;
}

let built: Tools | undefined;

/** Paths of helm and kubectl; builds them first when missing or out of date (testenv/build.sh kubectl helm). */
export function tools(): Tools {
  if (built) return built;
  const started = Date.now();
  const build = spawnSync('bash', [buildScript, 'kubectl', 'helm'], { cwd: repoRoot, encoding: 'utf8', maxBuffer: 64 << 20 });
  const output = `${build.stdout ?? ''}${build.stderr ?? ''}`;
  if (build.error || build.status !== 0) {
    const why = build.error ? build.error.message : `exit code ${build.status}`;
    throw new Error(
      `building helm and kubectl with testenv/build.sh failed (${why}). They are built from Go modules ` +
        `(testenv/go.mod, testenv/helm/go.mod) and need Go >= 1.26 on PATH and the Go module proxy. Output:\n${output.slice(-4000)}`,
    );
  }
  if (/build\.sh: built /.test(output)) {
    process.stderr.write(`${output.split('\n').filter((l) => l.startsWith('build.sh: built ')).join('\n')} (${Math.round((Date.now() - started) / 1000)} s in all)\n`);
  }
  const binDir = spawnSync('bash', [buildScript, '--print-bin-dir'], { encoding: 'utf8' }).stdout.trim();
  const result = { binDir, helm: path.join(binDir, 'helm'), kubectl: path.join(binDir, 'kubectl') };
  for (const bin of [result.helm, result.kubectl]) {
    if (!existsSync(bin)) throw new Error(`testenv/build.sh succeeded but ${bin} is missing`);
  }
  built = result;
  return result;
}

export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  input?: string;
  /** Added to a minimal environment (PATH, HOME and helm's own directories in a temporary folder). */
  env?: Record<string, string>;
  cwd?: string;
}

/** Runs helm or kubectl (a name or a path); never throws for a non-zero exit: check `status`. */
export function run(tool: 'helm' | 'kubectl', args: string[], opts: RunOptions = {}): RunResult {
  const bin = tools()[tool];
  // helm keeps caches and repository settings under these: away from the user's home.
  const helmHome = path.join(tmpdir(), 'k8smgr-helm-home');
  mkdirSync(helmHome, { recursive: true });
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '/root',
    HELM_CACHE_HOME: path.join(helmHome, 'cache'),
    HELM_CONFIG_HOME: path.join(helmHome, 'config'),
    HELM_DATA_HOME: path.join(helmHome, 'data'),
    ...opts.env,
  };
  const res = spawnSync(bin, args, { cwd: opts.cwd ?? repoRoot, env, input: opts.input, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (res.error) throw new Error(`${tool} ${args.join(' ')}: ${res.error.message}`);
  return { status: res.status, stdout: res.stdout, stderr: res.stderr };
}

/** Like run, but throws with helm's or kubectl's message unless it exits 0; returns stdout. */
export function runOk(tool: 'helm' | 'kubectl', args: string[], opts: RunOptions = {}): string {
  const res = run(tool, args, opts);
  if (res.status !== 0) throw new Error(`${tool} ${args.join(' ')} exited with ${res.status}:\n${res.stderr}${res.stdout}`);
  return res.stdout;
}
