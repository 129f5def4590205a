// The OpenSSH client, run without a shell (spawn with an argument array) and
// with a bounded time for every call: one control master per HPC system
// (`ssh -M -S <socket> -fN tunnel_<system>`), forwards added and cancelled
// through its socket (`-O forward|cancel -L ...`), liveness by `-O check`.
import { spawn } from 'node:child_process';
import { unlink } from 'node:fs/promises';
import path from 'node:path';
import { validNode } from './request.js';

export interface SshOptions {
  binary: string;
  /** `-F` file (SSHCONFIGFILE); unset: ssh's default config. */
  configFile: string | undefined;
  controlDir: string;
  bindAddress: string;
  connectTimeoutSeconds: number;
  commandTimeoutSeconds: number;
  serverAliveIntervalSeconds: number;
}

export interface ForwardTarget {
  localPort: number;
  node: string;
  nodePort: number;
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

const SYSTEM_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
const OUTPUT_MAX = 16 * 1024;

function assertPort(n: number, what: string): void {
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new Error(`${what} is not a port: ${n}`);
}

export function assertSystem(system: string): void {
  if (!SYSTEM_RE.test(system)) throw new Error(`not a usable system name: ${JSON.stringify(system)}`);
}

export const aliasOf = (system: string): string => `tunnel_${system}`;

export function socketPath(controlDir: string, system: string): string {
  assertSystem(system);
  return path.join(controlDir, `${system.toLowerCase()}.sock`);
}

/** `<bind>:<local>:<node>:<port>`, after checking every part. */
export function forwardSpec(bindAddress: string, f: ForwardTarget): string {
  assertPort(f.localPort, 'local port');
  assertPort(f.nodePort, 'node port');
  if (!validNode(f.node)) throw new Error(`not a usable node name: ${JSON.stringify(f.node)}`);
  if (!/^([0-9]{1,3}\.){3}[0-9]{1,3}$/.test(bindAddress)) throw new Error(`not a usable bind address: ${bindAddress}`);
  return `${bindAddress}:${f.localPort}:${f.node}:${f.nodePort}`;
}

function baseArgs(opts: SshOptions, system: string): string[] {
  return [...(opts.configFile ? ['-F', opts.configFile] : []), '-S', socketPath(opts.controlDir, system)];
}

/** Starts the control master in the background once it has authenticated. */
export function masterArgs(opts: SshOptions, system: string): string[] {
  return [
    ...baseArgs(opts, system),
    '-o', 'ControlMaster=yes',
    '-o', 'ControlPersist=no',
    '-o', 'BatchMode=yes',
    '-o', `ConnectTimeout=${opts.connectTimeoutSeconds}`,
    '-o', `ServerAliveInterval=${opts.serverAliveIntervalSeconds}`,
    '-o', 'ServerAliveCountMax=3',
    '-o', 'ExitOnForwardFailure=no',
    '-f', '-N', '-T',
    aliasOf(system),
  ];
}

export function controlArgs(opts: SshOptions, system: string, op: 'check' | 'exit'): string[];
export function controlArgs(opts: SshOptions, system: string, op: 'forward' | 'cancel', target: ForwardTarget): string[];
export function controlArgs(opts: SshOptions, system: string, op: 'check' | 'exit' | 'forward' | 'cancel', target?: ForwardTarget): string[] {
  const forward = target ? ['-L', forwardSpec(opts.bindAddress, target)] : [];
  return [...baseArgs(opts, system), '-o', 'BatchMode=yes', '-O', op, ...forward, aliasOf(system)];
}

/** Runs `binary args` without a shell; kills it after `timeoutMs`. Never rejects. */
export function runCommand(binary: string, args: string[], timeoutMs: number): Promise<RunResult> {
  return new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    let settled = false;
    const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'], shell: false });
    child.stdout.on('data', (d: Buffer) => (stdout = (stdout + d.toString()).slice(0, OUTPUT_MAX)));
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(0, OUTPUT_MAX)));
    const finish = (code: number | null, extra = '') => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ code, stdout, stderr: (stderr + extra).trim(), timedOut });
    };
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
      finish(null, `\n(no answer within ${timeoutMs} ms: killed)`);
    }, timeoutMs);
    child.once('error', (err) => finish(null, `\n${err.message}`));
    // 'exit', not 'close': a process that forked into the background may keep our pipes.
    child.once('exit', (code) => {
      const grace = setTimeout(() => finish(code), 200);
      child.once('close', () => {
        clearTimeout(grace);
        finish(code);
      });
    });
  });
}

export interface MasterCheck {
  alive: boolean;
  pid: number | undefined;
  message: string;
}

export type Runner = (binary: string, args: string[], timeoutMs: number) => Promise<RunResult>;

export class SshClient {
  constructor(
    readonly opts: SshOptions,
    private readonly runner: Runner = runCommand,
  ) {}

  get #timeoutMs(): number {
    return this.opts.commandTimeoutSeconds * 1000;
  }

  async #control(args: string[], timeoutMs = this.#timeoutMs): Promise<RunResult> {
    return this.runner(this.opts.binary, args, timeoutMs);
  }

  async check(system: string): Promise<MasterCheck> {
    const r = await this.#control(controlArgs(this.opts, system, 'check'));
    const pid = /pid=([0-9]+)/.exec(r.stderr)?.[1];
    return { alive: r.code === 0, pid: pid ? Number(pid) : undefined, message: r.stderr };
  }

  /** Asks a master to exit and removes its socket (best effort). */
  async exit(system: string): Promise<void> {
    await this.#control(controlArgs(this.opts, system, 'exit'));
    await unlink(socketPath(this.opts.controlDir, system)).catch(() => undefined);
  }

  /** Starts a master (after removing a stale socket). Throws with ssh's own words on failure. */
  async startMaster(system: string): Promise<void> {
    await unlink(socketPath(this.opts.controlDir, system)).catch(() => undefined);
    const timeoutMs = (this.opts.connectTimeoutSeconds + this.opts.commandTimeoutSeconds) * 1000;
    const r = await this.#control(masterArgs(this.opts, system), timeoutMs);
    if (r.code !== 0) throw new SshError(`ssh ${aliasOf(system)} failed (exit ${r.code ?? 'none'}): ${r.stderr || 'no message'}`);
    const check = await this.check(system);
    if (!check.alive) throw new SshError(`ssh ${aliasOf(system)} started but its control socket does not answer: ${check.message}`);
  }

  async forward(system: string, target: ForwardTarget): Promise<void> {
    const r = await this.#control(controlArgs(this.opts, system, 'forward', target));
    if (r.code !== 0) throw new SshError(`forward ${forwardSpec(this.opts.bindAddress, target)} through ${aliasOf(system)} failed: ${r.stderr || `exit ${r.code ?? 'none'}`}`);
  }

  /** Cancels a forward; a forward that is not there is fine. */
  async cancel(system: string, target: ForwardTarget): Promise<RunResult> {
    return this.#control(controlArgs(this.opts, system, 'cancel', target));
  }
}

export class SshError extends Error {
  override name = 'SshError';
}
