import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig, ConfigError } from '../../../src/config/parse.js';
import { userPassVariable, readEnv } from '../../../src/config/env.js';

test('an empty config gets every default of the seed', () => {
  const { config } = parseConfig('{}');
  assert.equal(config.services.base, '/tmp/services/services');
  assert.equal(config.services.descriptions, '/tmp/services/descriptions');
  assert.equal(config.services.yaml_filename, 'service.yaml');
  assert.equal(config.services.deployment_main_name_prefix, 'depl-');
  assert.equal(config.services.container_main_name, 'main');
  assert.deepEqual(config.services.replace.indicators, ['<', '>']);
  assert.equal(config.services.replace.drfid_keyword, 'id');
  assert.equal(config.services.status_information.pod_events_no, 3);
  assert.equal(config.services.status_information.container_logs_lines, 5);
  assert.deepEqual(config.services.pod_events_to_fail, ['Warning']);
  assert.equal(config.services.ssl.enabled, false);
  assert.equal(config.userhomes.base, '/mnt/userhomes');
  assert.deepEqual(config.tunnel, []);
  assert.ok(Object.isFrozen(config.services.replace));
});

test('a wrong type names the key', () => {
  assert.throws(
    () => parseConfig('{"services": {"status_information": {"pod_events_no": "three"}}}'),
    (err: unknown) => err instanceof ConfigError && err.problems.some((p) => p.startsWith('services.status_information.pod_events_no:')),
  );
});

test('broken JSON and a non-object are clear errors', () => {
  assert.throws(() => parseConfig('{"services": '), /not valid JSON/);
  assert.throws(() => parseConfig('[1]'), /must hold a JSON object/);
});

test('an unknown group in startup.create_user is refused, unknown keys are reported', () => {
  assert.throws(() => parseConfig('{"startup": {"create_user": {"hub": ["root"]}}}'), /unknown group "root"/);
  const { unknownKeys } = parseConfig('{"services": {"frobnicate": 1}, "other": {}}');
  assert.deepEqual(unknownKeys.sort(), ['other', 'services.frobnicate']);
});

test('relative folders are taken relative to the config file', () => {
  const { config } = parseConfig('{"services": {"descriptions": "desc", "base": "/abs"}}', 'c.json', '/etc/k8smgr');
  assert.equal(config.services.descriptions, '/etc/k8smgr/desc');
  assert.equal(config.services.base, '/abs');
});

test('<CRED>_USER_PASS variable names', () => {
  assert.equal(userPassVariable('jupyterhub'), 'JUPYTERHUB_USER_PASS');
  assert.equal(userPassVariable('jupyter-jsc.dev'), 'JUPYTER_JSC_DEV_USER_PASS');
});

test('environment: defaults and names of the seed', () => {
  const env = readEnv({ DEPLOYMENT_NAMESPACE: 'svc', STAGE: 'production', CONFIG_PATH: '/c.json', X_USER_PASS: 'p' });
  assert.equal(env.serviceNamespace, 'svc');
  assert.equal(env.managerNamespace, 'svc');
  assert.equal(env.deploymentName, 'k8smgr');
  assert.equal(env.stage, 'production');
  assert.equal(env.configPath, '/c.json');
  assert.equal(env.lookup('X_USER_PASS'), 'p');
  assert.throws(() => readEnv({ PORT: 'http' }), /PORT must be a port number/);
});

test('environment: the replica\'s name and the Lease timings (client-go\'s defaults, checked as client-go checks them)', () => {
  assert.equal(readEnv({ POD_NAME: 'k8smgr-7d9f-abcde', HOSTNAME: 'h' }).replica, 'k8smgr-7d9f-abcde');
  assert.equal(readEnv({ HOSTNAME: 'vm' }).replica, 'vm');
  assert.deepEqual(readEnv({}).lease, { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2000 });
  assert.deepEqual(readEnv({ LEASE_DURATION_SECONDS: '4', LEASE_RENEW_DEADLINE_SECONDS: '3', LEASE_RETRY_PERIOD_SECONDS: '0.5' }).lease,
    { leaseDurationMs: 4000, renewDeadlineMs: 3000, retryPeriodMs: 500 });
  assert.throws(() => readEnv({ LEASE_DURATION_SECONDS: '2.5' }), /LEASE_DURATION_SECONDS must be a positive whole number of seconds/);
  assert.throws(() => readEnv({ LEASE_DURATION_SECONDS: '10' }), /must be longer than LEASE_RENEW_DEADLINE_SECONDS/);
  assert.throws(() => readEnv({ LEASE_RETRY_PERIOD_SECONDS: '9' }), /must be longer than 1.2 x LEASE_RETRY_PERIOD_SECONDS/);
  assert.throws(() => readEnv({ LEASE_RETRY_PERIOD_SECONDS: '-1' }), /positive number/);
});
