// The Outpost face's pure parts: who a start is to the engine, what a start
// body asks for, where the hub reaches the service, the trailing-slash
// answers, and the config checks. No cluster.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { engineIdentity, safeNamePart } from '../../../src/outpost/identity.js';
import { chooseService, miscKeywords, parseOutpostStart } from '../../../src/outpost/request.js';
import { ADDRESS_ANNOTATION, serviceAddress } from '../../../src/outpost/address.js';
import { credentialSettings, outpostProblems } from '../../../src/outpost/settings.js';
import { slashVerdict } from '../../../src/http/exact-paths.js';
import { isDomainError, type DomainError } from '../../../src/errors.js';
import { parseConfig } from '../../../src/config/parse.js';
import { startNames, serviceId, validateServername, validateStartId } from '../../../src/templates/index.js';
import type { KubeObject } from '../../../src/kube/objects.js';

const settings = credentialSettings(parseConfig(JSON.stringify({
  outpost: {
    defaults: { default_service: 'jupyterlab/default' },
    credentials: { hub1: { options: { small: 'jupyterlab/small', gpu: 'jupyterlab/gpu' }, misc_keywords: { image: 'jupyter/base:1' } } },
  },
})).config.outpost, 'hub1');

function refused(fn: () => unknown): DomainError {
  try {
    fn();
  } catch (err) {
    if (isDomainError(err)) return err;
    throw err;
  }
  assert.fail('expected a DomainError');
}

test('identity: the spawner\'s start_id splits into servername and start id; names stay within Kubernetes\' 63', () => {
  const ids = engineIdentity('lab', '26b9ccf4ad224d158c6f300ab6c7e654', 'depl-');
  assert.deepEqual(ids, { servername: 'lab-26b9ccf4', startId: 'ad224d15' });
  // Two users' "lab" differ by their start ids; the same start always maps the same.
  assert.notDeepEqual(engineIdentity('lab', 'aaaaaaaa11111111bbbbbbbbcccccccc', 'depl-'), ids);
  assert.deepEqual(engineIdentity('lab', '26b9ccf4ad224d158c6f300ab6c7e654', 'depl-'), ids);
  // Anything else (curl's "0", a name with capitals) is hashed, and still valid.
  for (const [name, startId] of [['lab', '0'], ['My Lab!', 'x'], ['a'.repeat(200), 'start-1'], ['', '']]) {
    const { servername, startId: short } = engineIdentity(name as string, startId as string, 'depl-');
    assert.equal(validateServername(servername), null, servername);
    assert.equal(validateStartId(short), null, short);
    const deployment = startNames({ id: serviceId(servername, short), prefix: 'depl-' }).mainDeployment;
    assert.ok(deployment.length <= 63 && deployment === `depl-${servername}-${short}`, deployment);
  }
  assert.notEqual(safeNamePart('MyLab', 40), safeNamePart('mylab', 40));
  assert.equal(safeNamePart('lab', 40), 'lab');
});

const body = (extra: Record<string, unknown> = {}) => ({
  name: 'lab',
  env: { JUPYTERHUB_USER: 'alice', JUPYTERHUB_USER_ID: '7', JUPYTERHUB_API_TOKEN: 'tok', JUPYTERHUB_EVENTS_URL: 'http://hub/ev', JUPYTERHUB_SERVICE_URL: 'http://0.0.0.0:47020/user/alice/lab/' },
  user_options: { start_id: '26b9ccf4ad224d158c6f300ab6c7e654', profile: 'small' },
  misc: { dns_name_template: '{name}.{namespace}.svc.cluster.local', pod_name_template: 'jupyter-{username}--{servername}', internal_ssl: false, port: 47020, ip: '0.0.0.0', services_enabled: true, extra_labels: {} },
  certs: {},
  internal_trust_bundles: {},
  ...extra,
});

test('request: what OutpostSpawner sends parses into the start', () => {
  const start = parseOutpostStart(body(), { 'execution-type': 'async' }, settings);
  assert.equal(start.name, 'lab');
  assert.equal(start.startId, '26b9ccf4ad224d158c6f300ab6c7e654');
  assert.equal(start.async, true);
  assert.equal(start.userId, 7);
  assert.equal(start.user, 'alice');
  assert.equal(start.service, 'jupyterlab/small');
  assert.deepEqual(start.userOptions, { profile: 'small' });
  assert.deepEqual(start.keywords, { image: 'jupyter/base:1', port: '47020' });
  assert.equal(start.port, 47020);
  assert.equal(start.certs, undefined);
  assert.equal(parseOutpostStart(body(), {}, settings).async, false);
  // The top-level flavor (an Outpost accepts it) becomes user_options.flavor.
  assert.equal(parseOutpostStart(body({ flavor: 'big' }), {}, settings).userOptions.flavor, 'big');
  // internal_ssl: certs and trust bundles.
  const ssl = parseOutpostStart(body({ certs: { keyfile: 'K', certfile: 'C', cafile: 'A' }, internal_trust_bundles: { 'hub-ca': 'H' } }), {}, settings);
  assert.deepEqual(ssl.certs, { keyfile: 'K', certfile: 'C', cafile: 'A' });
  assert.deepEqual(ssl.trustBundles, { 'hub-ca': 'H' });
});

test('request: a body of the wrong shape is malformed, field by field, in FastAPI\'s words', () => {
  const missing = refused(() => parseOutpostStart({ env: {} }, {}, settings));
  assert.equal(missing.code, 'malformed');
  assert.deepEqual(missing.problems[0], { loc: ['body', 'name'], type: 'missing', msg: 'Field required', input: { env: {} } });
  assert.equal(refused(() => parseOutpostStart([1], {}, settings)).code, 'malformed');
  assert.deepEqual(refused(() => parseOutpostStart(body({ env: 'x' }), {}, settings)).problems.map((p) => p.loc.join('.')), ['body.env']);
  assert.deepEqual(refused(() => parseOutpostStart(body({ env: { JUPYTERHUB_USER_ID: 'seven' } }), {}, settings)).problems.map((p) => p.loc.join('.')), ['body.env.JUPYTERHUB_USER_ID']);
  assert.deepEqual(refused(() => parseOutpostStart(body({ certs: { keyfile: 'K' } }), {}, settings)).problems.map((p) => p.loc.join('.')), ['body.certs.certfile', 'body.certs.cafile']);
});

test('request: what the site refuses names the key (answered 419), and the default server is refused', () => {
  assert.match(refused(() => parseOutpostStart(body({ misc: { port: 1, cmd: ['/bin/sh'] } }), {}, settings)).userMessage, /misc\.cmd may not be overridden by this hub \(allowed: image\)/);
  assert.match(refused(() => parseOutpostStart(body({ misc: { image: 'x\ny' } }), {}, settings)).userMessage, /misc\.image is not allowed: contains a line break/);
  assert.match(refused(() => parseOutpostStart(body({ misc: { port: 70000 } }), {}, settings)).userMessage, /misc\.port must be a port number/);
  assert.match(refused(() => parseOutpostStart(body({ name: '' }), {}, settings)).userMessage, /named server/);
  assert.equal(refused(() => parseOutpostStart(body({ name: '' }), {}, settings)).code, 'invalid_input');
  const other = credentialSettings(parseConfig('{}').config.outpost, 'hub2');
  assert.match(refused(() => miscKeywords({ image: 'x' }, other)).userMessage, /no misc overrides are allowed/);
});

test('request: the template comes from service, else the option key (mapped), else the default', () => {
  assert.equal(chooseService({ service: 'jupyterlab/gpu', profile: 'small' }, settings), 'jupyterlab/gpu');
  assert.equal(chooseService({ profile: 'gpu' }, settings), 'jupyterlab/gpu');
  assert.equal(chooseService({}, settings), 'jupyterlab/default');
  assert.match(refused(() => chooseService({ profile: 'huge' }, settings)).userMessage, /profile "huge" is not offered here \(offered: gpu, small\)/);
  const bare = credentialSettings(parseConfig(JSON.stringify({ outpost: { credentials: { h: { option_key: 'option' } } } })).config.outpost, 'h');
  assert.equal(chooseService({ option: 'jupyterlab/x' }, bare), 'jupyterlab/x');
  assert.match(refused(() => chooseService({}, bare)).userMessage, /neither "service" nor "option"/);
});

const svc = (name: string, ports: Array<{ name?: string; port: number }>, annotations?: Record<string, string>): KubeObject =>
  ({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'ns', ...(annotations ? { annotations } : {}) }, spec: { ports } }) as KubeObject;
const deployment: KubeObject = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'depl-x' } };

test('address: the marked or first Service, the hub\'s port, the hub\'s DNS template; host:port only', () => {
  assert.equal(serviceAddress([deployment, svc('svc-a', [{ port: 8888 }])], { namespace: 'ns' }), 'svc-a.ns.svc:8888');
  assert.equal(serviceAddress([svc('svc-a', [{ name: 'metrics', port: 9100 }, { name: 'http', port: 47020 }])], { namespace: 'ns', port: 47020, dnsNameTemplate: '{name}.{namespace}.svc.cluster.local' }), 'svc-a.ns.svc.cluster.local:47020');
  assert.equal(serviceAddress([svc('svc-a', [{ port: 1 }]), svc('svc-b', [{ name: 'web', port: 80 }, { name: 'http', port: 8080 }], { [ADDRESS_ANNOTATION]: 'http' })], { namespace: 'ns' }), 'svc-b.ns.svc:8080');
  // A template the hub's DNS template would turn into a URL, a path or a colon: the default host.
  assert.equal(serviceAddress([svc('svc-a', [{ port: 1 }])], { namespace: 'ns', dnsNameTemplate: 'http://{name}:80/x' }), 'svc-a.ns.svc:1');
  assert.match(refused(() => serviceAddress([deployment], { namespace: 'ns' })).userMessage, /creates no Service/);
  assert.match(refused(() => serviceAddress([svc('svc-a', [])], { namespace: 'ns' })).userMessage, /has no port/);
});

test('trailing slashes as FastAPI answers them: 405 where another method has the other form, else 307', () => {
  assert.equal(slashVerdict('/outpost/services', '/outpost/services', true), undefined);
  assert.deepEqual(slashVerdict('/outpost/services', '/outpost/services/', true), { status: 405 });
  assert.deepEqual(slashVerdict('/outpost/services/', '/outpost/services', true), { status: 405 });
  assert.deepEqual(slashVerdict('/outpost/flavors/', '/outpost/flavors?x=1', false), { status: 307, location: '/outpost/flavors/?x=1' });
  assert.deepEqual(slashVerdict('/outpost/userflavors', '/outpost/userflavors/', false), { status: 307, location: '/outpost/userflavors' });
  assert.deepEqual(slashVerdict('/outpost/services/:name/:start_id', '/outpost/services/lab/abc/?collect_logs=true', false), { status: 307, location: '/outpost/services/lab/abc?collect_logs=true' });
});

test('config: misc keywords may not shadow the templates\' keywords or the spawner\'s keys; options name templates', () => {
  const cfg = parseConfig(JSON.stringify({
    outpost: {
      defaults: { misc_keywords: { port: 1 } },
      credentials: { hub1: { misc_keywords: { id: 'x', image: 'y', extra_labels: 'z' }, options: { a: 'nope' }, default_service: 'a/b' } },
    },
  })).config.outpost;
  assert.deepEqual(outpostProblems(cfg), [
    'outpost.defaults.misc_keywords.port: "port" is a keyword of every template and cannot be overridden by a hub',
    'outpost.credentials.hub1.misc_keywords.id: "id" is a keyword of every template and cannot be overridden by a hub',
    'outpost.credentials.hub1.misc_keywords.extra_labels: "extra_labels" is one of the spawner\'s own misc keys',
    'outpost.credentials.hub1.options.a: "nope" is not "<type>/<option>"',
  ]);
  assert.deepEqual(outpostProblems(parseConfig('{}').config.outpost), []);
  assert.throws(() => parseConfig(JSON.stringify({ outpost: { base_path: 'outpost' } })), /outpost\.base_path/);
});
