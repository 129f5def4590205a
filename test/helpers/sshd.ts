// A real OpenSSH server on loopback for the userjobs tests: its own host key,
// a generated user key in authorized_keys, started as `sshd -D` from a temp
// dir. Plus a TCP echo server that stands for the HPC job's node, and the SSH
// client config an operator would write (Host tunnel_<system>). Anything that
// cannot start throws an Error that says what is missing: these tests never skip.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { userInfo } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const SSHD = process.env.SSHD_BINARY ?? '/usr/sbin/sshd';
const KEYGEN = process.env.SSH_KEYGEN_BINARY ?? 'ssh-keygen';
const INSTALL_HINT = 'install OpenSSH (`apt-get install -y openssh-server openssh-client`, or scripts/setup.sh)';

export interface Sshd {
  port: number;
  dir: string;
  /** Private key whose public half is in authorized_keys. */
  userKey: string;
  /** known_hosts line(s) for this server. */
  knownHosts: string;
  user: string;
  child: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

/** A port that nothing listens on right now (bound, then released). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

/** True when something accepts TCP connections on 127.0.0.1:port. */
export function isListening(port: number, host = '127.0.0.1', timeoutMs = 2000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    const done = (v: boolean) => {
      socket.destroy();
      resolve(v);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

export async function startSshd(): Promise<Sshd> {
  if (!existsSync(SSHD)) throw new Error(`sshd not found at ${SSHD}: ${INSTALL_HINT}`);
  const dir = mkdtempSync('/tmp/uj-sshd-');
  const hostKey = path.join(dir, 'host_key');
  const userKey = path.join(dir, 'user_key');
  try {
    await run(KEYGEN, ['-q', '-t', 'ed25519', '-N', '', '-C', 'k8smgr-test-host', '-f', hostKey]);
    await run(KEYGEN, ['-q', '-t', 'ed25519', '-N', '', '-C', 'k8smgr-test-user', '-f', userKey]);
  } catch (err) {
    throw new Error(`ssh-keygen failed (${(err as Error).message}): ${INSTALL_HINT}`, { cause: err });
  }
  writeFileSync(path.join(dir, 'authorized_keys'), readFileSync(`${userKey}.pub`));
  // sshd refuses to start without its privilege separation directory.
  if (!existsSync('/run/sshd')) {
    try {
      mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
    } catch (err) {
      throw new Error(`sshd needs /run/sshd and it cannot be created: ${(err as Error).message}`, { cause: err });
    }
  }
  const user = userInfo().username;
  const port = await freePort();
  const config = path.join(dir, 'sshd_config');
  writeFileSync(config, [
    `ListenAddress 127.0.0.1`,
    `HostKey ${hostKey}`,
    `PidFile ${path.join(dir, 'sshd.pid')}`,
    `AuthorizedKeysFile ${path.join(dir, 'authorized_keys')}`,
    'StrictModes no',
    'PubkeyAuthentication yes',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'PermitRootLogin prohibit-password',
    'AllowTcpForwarding yes',
    'UsePAM no',
    'LogLevel VERBOSE',
    `AllowUsers ${user}`,
    '',
  ].join('\n'));

  let out = '';
  const child = spawn(SSHD, ['-D', '-e', '-f', config, '-p', String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`sshd exited with ${child.exitCode} before listening:\n${out}`);
    const failed = await Promise.race([spawnError, new Promise<undefined>((r) => setTimeout(() => r(undefined), 100))]);
    if (failed) throw new Error(`sshd could not be started (${failed.message}): ${INSTALL_HINT}`);
    if (await isListening(port)) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`sshd did not listen on 127.0.0.1:${port} within 10 s:\n${out}`);
    }
  }
  const hostPub = readFileSync(`${hostKey}.pub`, 'utf8').trim().split(/\s+/).slice(0, 2).join(' ');
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    port,
    dir,
    userKey,
    user,
    knownHosts: `[127.0.0.1]:${port} ${hostPub}\n`,
    child,
    output: () => out,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface TunnelHost {
  /** The HPC system's name: the alias is `tunnel_<system>`. */
  system: string;
  port: number;
}

/**
 * The SSH client config an operator writes: one `Host tunnel_<system>` per HPC
 * system (here all pointing at loopback with the test's key and known_hosts).
 * Returns the path of the written file.
 */
export function writeClientConfig(dir: string, sshd: Pick<Sshd, 'userKey' | 'knownHosts' | 'user'>, hosts: TunnelHost[]): string {
  const knownHosts = path.join(dir, 'known_hosts');
  writeFileSync(knownHosts, sshd.knownHosts);
  const file = path.join(dir, 'ssh_config');
  const blocks = hosts.map((h) => [
    `Host tunnel_${h.system}`,
    '  HostName 127.0.0.1',
    `  Port ${h.port}`,
    `  User ${sshd.user}`,
    `  IdentityFile ${sshd.userKey}`,
    '  IdentitiesOnly yes',
    `  UserKnownHostsFile ${knownHosts}`,
    '  StrictHostKeyChecking yes',
    '  LogLevel ERROR',
    '',
  ].join('\n'));
  writeFileSync(file, blocks.join('\n'), { mode: 0o600 });
  return file;
}

export interface EchoServer {
  port: number;
  /** Connections accepted so far. */
  connections(): number;
  close(): Promise<void>;
}

/** A TCP echo server on 127.0.0.1 standing for the service on the job's compute node. */
export async function startEchoServer(): Promise<EchoServer> {
  let count = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    count++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    socket.pipe(socket);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return {
    port: (server.address() as net.AddressInfo).port,
    connections: () => count,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Sends `text` to 127.0.0.1:port and returns what comes back (until it has as many bytes, or the timeout). */
export function echoThrough(port: number, text: string, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    let got = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no echo through 127.0.0.1:${port} within ${timeoutMs} ms (got "${got}")`));
    }, timeoutMs);
    socket.once('connect', () => socket.write(text));
    socket.on('data', (d: Buffer) => {
      got += d.toString();
      if (got.length >= text.length) {
        clearTimeout(timer);
        socket.destroy();
        resolve(got);
      }
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.once('close', () => {
      clearTimeout(timer);
      if (got.length < text.length) reject(new Error(`connection to 127.0.0.1:${port} closed after "${got}"`));
    });
  });
}
