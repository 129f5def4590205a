// Real receivers on loopback for the logging tests: an SMTP server (npm
// `smtp-server`, a full SMTP implementation) and rsyslogd (Debian package
// `rsyslog`) with its own config in a temp dir, listening on UDP, TCP and a
// Unix socket and writing what it parsed to a file. They never skip: a
// receiver that cannot start throws an error saying what to install.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { SMTPServer } from 'smtp-server';
import { waitFor } from '../helpers/cluster.js';

/** waitFor of the shared helpers, with the logging tests' argument order. */
export function until<T>(check: () => T | undefined | false | Promise<T | undefined | false>, what: string, timeoutMs = 10_000): Promise<T> {
  return waitFor(async () => check(), { what, timeoutMs, intervalMs: 50 });
}

// ------------------------------------------------------------------ SMTP

export interface Mail {
  from: string;
  to: string[];
  subject: string;
  body: string;
  raw: string;
}

export interface SmtpReceiver {
  port: number;
  mails: Mail[];
  close(): Promise<void>;
}

function decodeQuotedPrintable(text: string): string {
  return Buffer.from(
    text.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16))),
    'latin1',
  ).toString('utf8');
}

function parseMail(raw: string, from: string, to: string[]): Mail {
  const split = raw.indexOf('\r\n\r\n');
  const head = raw.slice(0, split).replace(/\r\n[ \t]+/g, ' ');
  let body = raw.slice(split + 4);
  const header = (name: string) => new RegExp(`^${name}:\\s*(.*)$`, 'im').exec(head)?.[1] ?? '';
  if (/quoted-printable/i.test(header('Content-Transfer-Encoding'))) body = decodeQuotedPrintable(body);
  if (/base64/i.test(header('Content-Transfer-Encoding'))) body = Buffer.from(body, 'base64').toString('utf8');
  return { from, to, subject: header('Subject'), body: body.replace(/\r\n/g, '\n'), raw };
}

export async function startSmtp(): Promise<SmtpReceiver> {
  const mails: Mail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const from = session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
        mails.push(parseMail(Buffer.concat(chunks).toString('utf8'), from, session.envelope.rcptTo.map((r) => r.address)));
        callback();
      });
    },
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.server.address() as net.AddressInfo).port));
  }).catch((err: unknown) => {
    throw new Error(`could not start the SMTP receiver (npm package smtp-server): ${(err as Error).message}`);
  });
  return { port, mails, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

// ------------------------------------------------------------------ syslog

export interface SyslogReceiver {
  udpPort: number;
  tcpPort: number;
  socketPath: string;
  /** Lines of what rsyslogd received: `v=<version> pri=… sev=… fac=… host=… app=… procid=… msgid=… input=<imudp|imtcp|imptcp> msg=<MSG>`. */
  lines(): string[];
  close(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function findRsyslogd(): string {
  for (const candidate of ['/usr/sbin/rsyslogd', '/sbin/rsyslogd']) if (fs.existsSync(candidate)) return candidate;
  const which = spawnSync('sh', ['-c', 'command -v rsyslogd'], { encoding: 'utf8' });
  const found = which.stdout.trim();
  if (found) return found;
  throw new Error('rsyslogd not found: the syslog tests need a real rsyslogd (Debian: apt-get install -y rsyslog)');
}

export async function startRsyslog(): Promise<SyslogReceiver> {
  const binary = findRsyslogd();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'k8smgr-rsyslog-'));
  const [udpPort, tcpPort] = [await freePort(), await freePort()];
  const socketPath = path.join(dir, 'syslog.sock');
  const out = path.join(dir, 'received.log');
  fs.writeFileSync(
    path.join(dir, 'rsyslog.conf'),
    [
      `global(workDirectory="${dir}" maxMessageSize="64k")`,
      'module(load="imudp")',
      'module(load="imtcp")',
      'module(load="imptcp")',
      `input(type="imudp" address="127.0.0.1" port="${udpPort}")`,
      `input(type="imtcp" address="127.0.0.1" port="${tcpPort}")`,
      `input(type="imptcp" path="${socketPath}" unlink="on")`,
      'template(name="fields" type="string" string="v=%protocol-version% pri=%pri% sev=%syslogseverity% fac=%syslogfacility% host=%hostname% app=%app-name% procid=%procid% msgid=%msgid% input=%inputname% msg=%msg%\\n")',
      `*.* action(type="omfile" file="${out}" template="fields")`,
      '',
    ].join('\n'),
  );
  const child: ChildProcess = spawn(binary, ['-n', '-f', path.join(dir, 'rsyslog.conf'), '-i', path.join(dir, 'rsyslogd.pid')], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
  let exited = false;
  child.on('exit', () => (exited = true));
  const close = async () => {
    if (!exited) {
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await gone;
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    await until(
      async () => {
        if (exited) throw new Error(`rsyslogd exited: ${output.trim()}`);
        if (!fs.existsSync(socketPath)) return false;
        return new Promise<boolean>((resolve) => {
          const socket = net.connect({ host: '127.0.0.1', port: tcpPort }, () => {
            socket.destroy();
            resolve(true);
          });
          socket.on('error', () => resolve(false));
        });
      },
      'rsyslogd to listen',
      15_000,
    );
  } catch (err) {
    await close();
    throw new Error(`could not start rsyslogd (${binary}): ${(err as Error).message}`);
  }
  const lines = () => (fs.existsSync(out) ? fs.readFileSync(out, 'utf8').split('\n').filter(Boolean) : []);
  return { udpPort, tcpPort, socketPath, lines, close };
}
