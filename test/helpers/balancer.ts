// A real HTTP load balancer (HAProxy) on loopback in front of several manager
// replicas, for tests that need one URL for many backends: round robin, health
// checks on the manager's readiness endpoint, and retries of requests whose
// connection to a backend failed. Started as `haproxy -db -f <cfg>` from a temp
// dir; anything that cannot start throws an Error that says why (never skips).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

const INSTALL_HINT = 'install HAProxy (`apt-get install -y haproxy`, or scripts/setup.sh)';

export interface BalancerOptions {
  /** Backend base URLs, `http://127.0.0.1:PORT` (a path is not allowed). */
  backends: string[];
  /** Path of the health check (GET, 200 = up); default `/api/ready/`. */
  healthPath?: string;
  /** Health check interval in ms; default 500. A backend is DOWN after 2 failed checks, UP after 1 good one. */
  checkIntervalMs?: number;
  /** Also retry POST/PATCH after an empty answer or a response timeout (default false: they are retried only after a failed connection). */
  retryNonIdempotent?: boolean;
  /** How long to wait for HAProxy to answer; default 10000 ms. */
  startTimeoutMs?: number;
}

export interface BackendStat {
  /** HAProxy's server name: `b0`, `b1`, ... in the order of `backends`. */
  name: string;
  /** The backend URL as given. */
  url: string;
  /** HAProxy's state: `UP`, `DOWN`, `UP 1/2` (going down), `DOWN 1/1` (going up), `no check`, `MAINT`. */
  status: string;
  /** Result of the last health check, e.g. `L7OK`, `L7STS` (bad status), `L4CON` (connection refused). */
  checkStatus: string;
  /** Requests (HTTP responses) this backend has sent through the balancer so far. */
  responses: number;
  /** Connection attempts that failed / retries / redispatches to another backend. */
  connectionErrors: number;
  retries: number;
  redispatches: number;
}

export interface Balancer {
  /** The balancer's URL: `http://127.0.0.1:PORT`. */
  url: string;
  port: number;
  /** Temp dir with `haproxy.cfg` and the admin socket (removed by stop). */
  dir: string;
  /** The backends with their server names, in the order given. */
  backends: { name: string; url: string }[];
  /** HAProxy's stdout+stderr so far: alerts, health changes, one log line per request. */
  output(): string;
  /** The backends' states from HAProxy's admin socket (`show stat`). */
  stats(): Promise<BackendStat[]>;
  /** Waits until HAProxy sees the backend (URL, server name or index) in that state (exactly `UP` or `DOWN`). */
  waitForBackend(backend: string | number, status: 'UP' | 'DOWN', timeoutMs?: number): Promise<void>;
  /** Stops HAProxy (SIGTERM, SIGKILL after 5 s) and removes the temp dir. */
  stop(): Promise<void>;
}

/** A port that nothing listens on right now (bound, then released). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

/** $HAPROXY_BINARY, else `haproxy` on PATH or in the sbin dirs (not always on a user's PATH). */
function findHaproxy(): string {
  if (process.env.HAPROXY_BINARY) return process.env.HAPROXY_BINARY;
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter), '/usr/sbin', '/usr/local/sbin', '/sbin'];
  for (const dir of dirs) {
    if (dir === '') continue;
    const candidate = path.join(dir, 'haproxy');
    if (existsSync(candidate)) return candidate;
  }
  throw new Error(`haproxy not found (PATH, /usr/sbin, /usr/local/sbin; or set HAPROXY_BINARY): ${INSTALL_HINT}`);
}

function parseBackend(url: string): { host: string; port: number } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error(`balancer backend ${JSON.stringify(url)} is not a URL (want http://HOST:PORT)`);
  }
  if (u.protocol !== 'http:' || (u.pathname !== '/' && u.pathname !== '') || u.search !== '' || u.port === '') {
    throw new Error(`balancer backend ${JSON.stringify(url)}: want http://HOST:PORT (plain HTTP, explicit port, no path)`);
  }
  return { host: u.hostname.replace(/^\[|\]$/g, ''), port: Number(u.port) };
}

/** The HAProxy configuration (exported for the docs and tests). */
export function balancerConfig(opts: {
  port: number;
  socket: string;
  backends: { name: string; host: string; port: number }[];
  healthPath: string;
  checkIntervalMs: number;
  retryNonIdempotent?: boolean;
}): string {
  if (!/^\/\S*$/.test(opts.healthPath)) throw new Error(`balancer healthPath must start with / and have no spaces: ${opts.healthPath}`);
  return [
    'global',
    '  nbthread 1',
    '  maxconn 4096',
    `  stats socket ${opts.socket} mode 600 level admin`,
    '  log stdout format raw local0 info',
    '',
    'defaults',
    '  mode http',
    '  log global',
    '  option httplog',
    '  option log-health-checks',
    '  timeout connect 2s',
    // Long polls: a request may wait up to a minute for its answer.
    '  timeout client 60s',
    '  timeout server 60s',
    '  timeout http-request 60s',
    '  timeout http-keep-alive 10s',
    '  timeout queue 10s',
    '  timeout check 2s',
    // A request whose connection to a backend failed (refused, closed without an answer,
    // no answer in time) is sent again, the last time to another backend. HAProxy retries
    // this way only requests it still has in its buffer; with keep-alive that covers a
    // backend that closed an idle connection just as the request went out.
    '  retries 2',
    '  option redispatch',
    '  retry-on conn-failure empty-response response-timeout',
    '',
    'frontend k8smgr',
    `  bind 127.0.0.1:${opts.port}`,
    // A POST or PATCH that may have reached a backend is not sent twice: only a failed
    // connection (the request never left HAProxy) is retried for them.
    ...(opts.retryNonIdempotent ? [] : ['  http-request disable-l7-retry unless { method GET HEAD OPTIONS PUT DELETE TRACE }']),
    '  default_backend managers',
    '',
    'backend managers',
    '  balance roundrobin',
    `  option httpchk GET ${opts.healthPath}`,
    '  http-check expect status 200',
    `  default-server check inter ${opts.checkIntervalMs}ms fall 2 rise 1`,
    ...opts.backends.map((b) => `  server ${b.name} ${b.host.includes(':') ? `[${b.host}]` : b.host}:${b.port}`),
    '',
  ].join('\n');
}

/** Sends one command to HAProxy's admin socket and returns the answer. */
function adminCommand(socket: string, command: string, timeoutMs = 3000): Promise<string> {
  return new Promise((resolve, reject) => {
    const conn = net.connect(socket);
    let out = '';
    const timer = setTimeout(() => {
      conn.destroy();
      reject(new Error(`HAProxy admin socket ${socket}: no answer to "${command}" within ${timeoutMs} ms`));
    }, timeoutMs);
    conn.setEncoding('utf8');
    conn.on('connect', () => conn.write(`${command}\n`));
    conn.on('data', (d: string) => (out += d));
    conn.on('end', () => {
      clearTimeout(timer);
      resolve(out);
    });
    conn.on('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`HAProxy admin socket ${socket}: ${err.message}`, { cause: err }));
    });
  });
}

/** Any HTTP answer from the balancer (even a 503 when no backend is up) means it runs. */
function answers(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get(url, { timeout: 1000, agent: false }, (res) => {
      res.resume();
      resolve(true);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export async function startBalancer(opts: BalancerOptions): Promise<Balancer> {
  if (opts.backends.length === 0) throw new Error('startBalancer: no backends');
  const parsed = opts.backends.map((url, i) => ({ name: `b${i}`, url, ...parseBackend(url) }));
  const healthPath = opts.healthPath ?? '/api/ready/';
  if (!/^\/\S*$/.test(healthPath)) throw new Error(`balancer healthPath must start with / and have no spaces: ${healthPath}`);
  const binary = findHaproxy();
  const dir = mkdtempSync(path.join(tmpdir(), 'k8smgr-haproxy-'));
  const socket = path.join(dir, 'admin.sock');
  const port = await freePort();
  const config = path.join(dir, 'haproxy.cfg');
  const cfgText = balancerConfig({
    port,
    socket,
    backends: parsed,
    healthPath,
    checkIntervalMs: opts.checkIntervalMs ?? 500,
    retryNonIdempotent: opts.retryNonIdempotent ?? false,
  });
  writeFileSync(config, cfgText);

  const MAX_OUTPUT = 1 << 20;
  let out = '';
  const append = (d: Buffer) => {
    out += d.toString();
    if (out.length > MAX_OUTPUT) out = out.slice(out.length - MAX_OUTPUT / 2);
  };
  const child = spawn(binary, ['-db', '-f', config], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  child.stdout.on('data', append);
  child.stderr.on('data', append);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  void exited.then(() => running.delete(child));
  let spawnError: Error | undefined;
  child.once('error', (err) => (spawnError = err));

  const url = `http://127.0.0.1:${port}`;
  const fail = (why: string): never => {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`HAProxy (${binary}) ${why}\n--- haproxy.cfg ---\n${cfgText}\n--- output ---\n${out}`);
  };
  const deadline = Date.now() + (opts.startTimeoutMs ?? 10_000);
  for (;;) {
    await new Promise((r) => setTimeout(r, 50));
    if (spawnError) fail(`could not be started (${spawnError.message}): ${INSTALL_HINT}`);
    if (child.exitCode !== null || child.signalCode !== null) {
      fail(`exited (${child.exitCode ?? child.signalCode}) before answering on ${url}`);
    }
    if (await answers(url)) break;
    if (Date.now() > deadline) fail(`did not answer on ${url} within ${opts.startTimeoutMs ?? 10_000} ms`);
  }

  const stats = async (): Promise<BackendStat[]> => {
    const text = await adminCommand(socket, 'show stat');
    const lines = text.split('\n').filter((l) => l.trim() !== '');
    const header = lines[0]?.replace(/^# /, '').split(',') ?? [];
    const col = (row: string[], name: string): string => row[header.indexOf(name)] ?? '';
    const result: BackendStat[] = [];
    for (const line of lines.slice(1)) {
      const row = line.split(',');
      if (col(row, 'pxname') !== 'managers') continue;
      const b = parsed.find((p) => p.name === col(row, 'svname'));
      if (!b) continue; // the BACKEND summary row
      result.push({
        name: b.name,
        url: b.url,
        status: col(row, 'status'),
        checkStatus: col(row, 'check_status'),
        responses: Number(col(row, 'hrsp_1xx') || 0) + Number(col(row, 'hrsp_2xx') || 0) + Number(col(row, 'hrsp_3xx') || 0) +
          Number(col(row, 'hrsp_4xx') || 0) + Number(col(row, 'hrsp_5xx') || 0) + Number(col(row, 'hrsp_other') || 0),
        connectionErrors: Number(col(row, 'econ') || 0),
        retries: Number(col(row, 'wretr') || 0),
        redispatches: Number(col(row, 'wredis') || 0),
      });
    }
    return result;
  };

  return {
    url,
    port,
    dir,
    backends: parsed.map((b) => ({ name: b.name, url: b.url })),
    output: () => out,
    stats,
    async waitForBackend(backend, status, timeoutMs = 10_000) {
      const b = typeof backend === 'number' ? parsed[backend] : parsed.find((p) => p.url === backend || p.name === backend);
      if (!b) throw new Error(`balancer has no backend ${String(backend)}`);
      const until = Date.now() + timeoutMs;
      let last = '';
      for (;;) {
        const s = (await stats()).find((x) => x.name === b.name);
        last = `${s?.status ?? '?'} (check ${s?.checkStatus ?? '?'})`;
        if (s?.status === status) return;
        if (Date.now() > until) {
          throw new Error(`balancer backend ${b.name} (${b.url}) not ${status} within ${timeoutMs} ms: ${last}\n${out.slice(-4000)}`);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(killer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
