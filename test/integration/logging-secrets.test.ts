// Secrets never reach any handler's output: the same records go to a stream, a
// file, rsyslogd (TCP) and an SMTP server, and none of them shows a token, a
// password, an Authorization/Authentication header, certificate data or any
// env value of a start body.
import assert from 'node:assert/strict';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, test } from 'node:test';
import { handlerFactory } from '../../src/logging/factory.js';
import { HANDLER_DEFAULTS, SOCK_STREAM } from '../../src/logging/handler-config.js';
import { LogHub } from '../../src/logging/hub.js';
import { createLogger } from '../../src/logging/logger.js';
import { startRsyslog, startSmtp, until, type SmtpReceiver, type SyslogReceiver } from './logging-receivers.js';

const SECRETS = {
  apiToken: 'hub-api-token-7f3a9c1e',
  envValue: 'plain-env-value-4b8d2e',
  envUrl: 'https://hub.example.org/hub/api/users/alice/status?x=q8w7e6',
  basic: Buffer.from('hubcred:basic-pass-99z').toString('base64'),
  bearer: 'bearer-token-5k2m9p',
  authentication: 'authn-value-3c6v1b',
  password: 'hunter2-very-secret',
  keyPem: '-----BEGIN PRIVATE KEY-----MIIEvQIBADANBgkq',
  certPem: '-----BEGIN CERTIFICATE-----MIIDdzCCAl+gAwIB',
};

let smtp: SmtpReceiver;
let syslog: SyslogReceiver;
before(async () => {
  smtp = await startSmtp();
  syslog = await startRsyslog();
});
after(async () => {
  await smtp?.close();
  await syslog?.close();
});

test('no handler writes a secret', async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'k8smgr-secrets-'));
  const stdout = new PassThrough();
  let streamed = '';
  stdout.on('data', (c: Buffer) => (streamed += c.toString()));
  const build = handlerFactory({ streams: { stdout }, timeoutMs: 3000 });
  const hub = new LogHub();
  const common = { level: 5, formatter: 'json' };
  await hub.set(await build('stream', { ...HANDLER_DEFAULTS.stream, ...common, formatter: 'simple' }));
  await hub.set(await build('file', { ...HANDLER_DEFAULTS.file, ...common, filename: path.join(dir, 'out.log') }));
  await hub.set(await build('syslog', { ...HANDLER_DEFAULTS.syslog, ...common, address: ['127.0.0.1', syslog.tcpPort], socktype: SOCK_STREAM }));
  await hub.set(await build('smtp', { ...HANDLER_DEFAULTS.smtp, ...common, mailhost: ['127.0.0.1', smtp.port], toaddrs: ['ops@example.org'], mailsPerMinute: 100 }));
  const log = createLogger(hub);

  const body = {
    env: { JUPYTERHUB_API_TOKEN: SECRETS.apiToken, JUPYTERHUB_STATUS_URL: SECRETS.envUrl, SOME_SETTING: SECRETS.envValue, JUPYTERHUB_USER_ID: '17' },
    certs: { keyfile: SECRETS.keyPem, certfile: SECRETS.certPem },
    user_options: { service: 'JupyterLab/default' },
    start_id: 'a1b2c3d4',
  };
  // What the services code does with a start body: register its env values.
  hub.secrets.add(Object.values(body.env));

  log.info({ servername: 'srv-1', body }, 'start requested');
  log.info({ headers: { authorization: `Basic ${SECRETS.basic}`, Authentication: SECRETS.authentication, uuidcode: 'srv-1' } }, 'request headers');
  log.warning({ user: 'admin', password: SECRETS.password }, 'login failed');
  log.debug({ JUPYTERHUB_SSL_KEYFILE_DATA: SECRETS.keyPem, JUPYTERHUB_SSL_CERTFILE_DATA: SECRETS.certPem }, 'certs secret prepared');
  log.info({ object: { kind: 'Secret', metadata: { name: 'secret-srv-1' }, data: { JUPYTERHUB_API_TOKEN: Buffer.from(SECRETS.apiToken).toString('base64') } } }, 'applied');
  log.error(`hub answered 401 for Authorization: Bearer ${SECRETS.bearer}`);
  log.error({ err: new Error(`status POST to ${SECRETS.envUrl} failed with token ${SECRETS.apiToken}`) }, 'progress event failed');
  log.critical(`the pod printed ${SECRETS.envValue} and ${SECRETS.apiToken}`);
  log.info({ filename: 'service.yaml', detail: { nested: [{ token: SECRETS.apiToken }] } }, 'done');

  await hub.flush();
  await until(() => smtp.mails.length >= 9, 'nine mails');
  await until(() => syslog.lines().length >= 9, 'nine syslog records');
  await hub.closeAll();

  const outputs: Record<string, string> = {
    stream: streamed,
    file: await fs.readFile(path.join(dir, 'out.log'), 'utf8'),
    syslog: syslog.lines().join('\n'),
    smtp: smtp.mails.map((m) => `${m.subject}\n${m.body}`).join('\n'),
  };
  const forbidden = [...Object.values(SECRETS), Buffer.from(SECRETS.apiToken).toString('base64'), 'basic-pass-99z'];
  for (const [handler, text] of Object.entries(outputs)) {
    for (const message of ['start requested', 'request headers', 'login failed', 'certs secret prepared', 'applied', 'progress event failed', 'done']) {
      assert.ok(text.includes(message), `${handler} got "${message}"`);
    }
    assert.ok(text.includes('srv-1') && text.includes('JupyterLab/default'), `${handler} keeps what is not secret`);
    for (const secret of forbidden) assert.ok(!text.includes(secret), `${handler} output shows a secret (${secret.slice(0, 12)}…):\n${text}`);
  }
});
