// The handlers against real receivers on loopback: an SMTP server, rsyslogd over
// UDP, TCP and a Unix socket, and stdout of a child process.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as net from 'node:net';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { handlerFactory } from '../../src/logging/factory.js';
import { HANDLER_DEFAULTS, SOCK_STREAM } from '../../src/logging/handler-config.js';
import { LogHub } from '../../src/logging/hub.js';
import { createLogger } from '../../src/logging/logger.js';
import { SmtpHandler } from '../../src/logging/smtp-handler.js';
import { freePort, startRsyslog, startSmtp, until, type SmtpReceiver, type SyslogReceiver } from './logging-receivers.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const build = handlerFactory({ timeoutMs: 3000 });

describe('smtp handler', () => {
  let smtp: SmtpReceiver;
  before(async () => {
    smtp = await startSmtp();
  });
  after(async () => smtp.close());

  test('one mail per record at or above its level, with the subject and the record', async () => {
    const hub = new LogHub();
    const config = { ...HANDLER_DEFAULTS.smtp, mailhost: ['127.0.0.1', smtp.port], fromaddr: 'k8smgr@example.org', toaddrs: ['ops@example.org', 'dev@example.org'], subject: 'K8s Manager alert', level: 40 };
    await hub.set(await build('smtp', config));
    const log = createLogger(hub);
    log.warning('below the level');
    log.error({ servername: 'abc-123' }, 'start failed');
    await hub.flush();
    await until(() => smtp.mails.length >= 1, 'the mail');
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(smtp.mails.length, 1);
    const mail = smtp.mails[0]!;
    assert.equal(mail.subject, 'K8s Manager alert');
    assert.equal(mail.from, 'k8smgr@example.org');
    assert.deepEqual(mail.to, ['ops@example.org', 'dev@example.org']);
    assert.match(mail.body, /ERROR start failed servername=abc-123/);
    await hub.closeAll();
  });

  test('an error storm is rate limited: N mails per window, the rest in one summary mail', async () => {
    smtp.mails.length = 0;
    const handler = await SmtpHandler.open({ level: 40, formatter: 'simple', mailhost: ['127.0.0.1', smtp.port], fromaddr: 'k8smgr@example.org', toaddrs: ['ops@example.org'], subject: 'storm', mailsPerMinute: 3, windowMs: 6000 });
    const hub = new LogHub();
    await hub.set(handler);
    const log = createLogger(hub);
    const started = Date.now();
    for (let i = 0; i < 50; i++) log.error({ i }, 'storm record');
    assert.ok(Date.now() - started < 200, 'logging must not wait for the mail host');
    await until(() => smtp.mails.length >= 3, 'the first three mails');
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(smtp.mails.length, 3, 'no more than mailsPerMinute mails in one window');
    await until(() => smtp.mails.length >= 4, 'the summary mail', 15000);
    const summary = smtp.mails[3]!;
    assert.equal(summary.subject, 'storm (47 records)');
    assert.match(summary.body, /^47 log records arrived while the limit of 3 mails per minute was reached/);
    assert.match(summary.body, /storm record i=49/);
    // The receiver holds the mail before the client has read the server's reply to it.
    await until(() => handler.stats.sent === 4, 'the handler to count the summary as sent');
    assert.equal(handler.stats.summaries, 1);
    await hub.closeAll();
  });

  test('an unreachable mail host is an error when the handler is built', async () => {
    const port = await freePort();
    await assert.rejects(
      build('smtp', { ...HANDLER_DEFAULTS.smtp, mailhost: ['127.0.0.1', port], toaddrs: ['ops@example.org'] }),
      new RegExp(`mail host 127.0.0.1:${port} not usable`),
    );
  });
});

describe('syslog handler (rsyslogd)', () => {
  let syslog: SyslogReceiver;
  before(async () => {
    syslog = await startRsyslog();
  });
  after(async () => syslog.close());

  const cases = [
    { name: 'UDP', input: 'imudp', config: () => ({ address: ['127.0.0.1', syslog.udpPort], socktype: 'ext://socket.SOCK_DGRAM' }) },
    { name: 'TCP (octet counting)', input: 'imtcp', config: () => ({ address: ['127.0.0.1', syslog.tcpPort], socktype: SOCK_STREAM }) },
    { name: 'a Unix socket', input: 'imptcp', config: () => ({ address: syslog.socketPath }) },
  ];
  for (const c of cases) {
    test(`RFC 5424 records over ${c.name}`, async () => {
      const hub = new LogHub();
      await hub.set(await build('syslog', { ...HANDLER_DEFAULTS.syslog, ...c.config(), facility: 'local3', formatter: 'json', level: 10 }));
      const log = createLogger(hub);
      const tag = `${c.input}-${Date.now()}`;
      log.trace({ tag }, 'below the level');
      log.info({ tag, filename: 'service.yaml' }, 'hello syslog');
      log.critical({ tag }, 'multi\nline');
      await hub.flush();
      const lines = await until(() => {
        const mine = syslog.lines().filter((l) => l.includes(tag));
        return mine.length >= 2 ? mine : false;
      }, `two records via ${c.input}`);
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(syslog.lines().filter((l) => l.includes(tag)).length, 2);
      const [info, critical] = lines;
      // v=1: rsyslog parsed it as RFC 5424; facility local3 = 19; INFO -> 6, CRITICAL -> 2.
      assert.match(info!, new RegExp(`^v=1 pri=158 sev=6 fac=19 host=\\S+ app=k8smgr procid=${process.pid} msgid=- input=${c.input} msg=\\{`));
      assert.match(critical!, /^v=1 pri=154 sev=2 fac=19 /);
      const record = JSON.parse(info!.slice(info!.indexOf('msg=') + 4)) as Record<string, unknown>;
      assert.equal(record.msg, 'hello syslog');
      assert.equal(record.levelname, 'INFO');
      assert.equal(record.filename, 'service.yaml');
      await hub.closeAll();
    });
  }

  test('a syslog server that does not listen (TCP) is an error when the handler is built', async () => {
    const port = await freePort();
    await assert.rejects(build('syslog', { ...HANDLER_DEFAULTS.syslog, address: ['127.0.0.1', port], socktype: SOCK_STREAM }), /not reachable/);
  });

  test('a TCP connection that the server drops is opened again on the next record', async () => {
    // A plain listener that drops each connection after its first frame.
    const received: string[] = [];
    const server = net.createServer((socket) => {
      socket.once('data', (chunk: Buffer) => {
        received.push(chunk.toString());
        socket.destroy();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    const hub = new LogHub();
    await hub.set(await build('syslog', { ...HANDLER_DEFAULTS.syslog, address: ['127.0.0.1', port], socktype: SOCK_STREAM }));
    const log = createLogger(hub);
    log.info('before the drop');
    await hub.flush();
    await until(() => received.length === 1, 'the first frame');
    await new Promise((r) => setTimeout(r, 100));
    log.info('after the drop');
    await hub.flush();
    await until(() => received.length === 2, 'the frame after the drop');
    assert.match(received[1]!, /^\d+ <14>1 \S+ \S+ k8smgr \d+ - - \S+ INFO after the drop$/);
    await hub.closeAll();
    await new Promise((r) => server.close(r));
  });
});

describe('stream handler', () => {
  test('writes to stdout of a child process (simple formatter)', async () => {
    const code = `
      import { LogHub } from ${JSON.stringify(path.join(repoRoot, 'src/logging/hub.ts'))};
      import { createLogger } from ${JSON.stringify(path.join(repoRoot, 'src/logging/logger.ts'))};
      import { handlerFactory } from ${JSON.stringify(path.join(repoRoot, 'src/logging/factory.ts'))};
      const hub = new LogHub();
      await hub.set(await handlerFactory()('stream', { formatter: 'simple', level: 20, stream: 'ext://sys.stdout' }));
      await hub.set(await handlerFactory()('file', { formatter: 'simple', level: 99, filename: '/dev/null', when: 'midnight', backupCount: 0 }));
      const log = createLogger(hub);
      log.debug('not shown');
      log.info({ servername: 'srv-1' }, 'to stdout');
      log.warning({ filename: 'x' }, 'clash');
    `;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const exitCode = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    assert.equal(exitCode, 0, stderr);
    const lines = stdout.trim().split('\n');
    assert.equal(lines.length, 2, stdout);
    assert.match(lines[0]!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z INFO to stdout servername=srv-1$/);
    assert.match(lines[1]!, /WARNING clash filename=x$/);
  });
});
