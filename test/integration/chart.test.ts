// The Helm chart deploy/chart/k8smgr: helm lint passes; helm template renders what the
// values say (asserted on the parsed objects); the apiserver of the test control plane
// accepts the rendered objects (kubectl apply --dry-run=server); deploy/k8smgr.yaml is
// the chart rendered with its defaults. helm and kubectl are built from their Go modules
// (testenv/build.sh) on first use.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { testNamespace } from '../helpers/cluster.js';
import { run, runOk, tools } from '../../testenv/tools.js';
import { parseConfig } from '../../src/config/parse.js';
import { userPassVariable } from '../../src/config/env.js';
import { MANIFESTS_PATH, renderManifests } from '../../scripts/deploy-manifests.js';

const CHART = 'deploy/chart/k8smgr';
tools(); // builds helm and kubectl if needed, before any test's clock runs

type Obj = Record<string, any>;
interface Rule { apiGroups: string[]; resources: string[]; verbs: string[] }

const tmp = mkdtempSync(path.join(tmpdir(), 'k8smgr-chart-'));
function valuesFile(name: string, values: unknown): string {
  const file = path.join(tmp, name);
  writeFileSync(file, stringify(values));
  return file;
}

function template(args: string[] = []): { text: string; objects: Obj[] } {
  const text = runOk('helm', ['template', 'k8smgr', CHART, ...args]);
  const objects = parseAllDocuments(text).map((d) => d.toJS() as Obj).filter((o) => o !== null);
  return { text, objects };
}
function one(objects: Obj[], kind: string, name?: string, namespace?: string): Obj {
  const found = objects.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name) && (namespace === undefined || o.metadata.namespace === namespace));
  assert.equal(found.length, 1, `one ${kind} ${name ?? ''} ${namespace ?? ''} in ${objects.map((o) => `${o.kind}/${o.metadata.namespace}/${o.metadata.name}`).join(', ')}`);
  return found[0]!;
}
function container(objects: Obj[]): Obj {
  return one(objects, 'Deployment').spec.template.spec.containers[0];
}
function envOf(objects: Obj[]): Map<string, Obj> {
  return new Map((container(objects).env as Obj[]).map((e) => [e.name as string, e]));
}
/** Whether the rules grant verb on group/resource. */
function allows(rules: Rule[], group: string, resource: string, verb: string): boolean {
  return rules.some((r) => r.apiGroups.includes(group) && r.resources.includes(resource) && r.verbs.includes(verb));
}
function configOf(objects: Obj[], fullname = 'k8smgr'): Obj {
  const text = one(objects, 'ConfigMap', `${fullname}-config`).data['config.json'] as string;
  // The manager itself accepts it.
  parseConfig(text, 'config.json', '/');
  return JSON.parse(text) as Obj;
}

test('helm lint passes (strict) with the default values and with a full values file', () => {
  const lint = run('helm', ['lint', CHART, '--strict']);
  assert.equal(lint.status, 0, lint.stdout + lint.stderr);
  assert.match(lint.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
  const full = run('helm', ['lint', CHART, '--strict', '-f', valuesFile('lint.yaml', fullValues('user-services'))]);
  assert.equal(full.status, 0, full.stdout + full.stderr);
});

test('default values: 2 replicas, a PDB, the RBAC the manager needs incl. the leader Lease, probes, non-root, spread over nodes', () => {
  const { objects } = template(['--namespace', 'k8smgr']);
  assert.deepEqual(objects.map((o) => o.kind).sort(), ['ConfigMap', 'ConfigMap', 'Deployment', 'PodDisruptionBudget', 'Role', 'RoleBinding', 'Service', 'ServiceAccount']);
  for (const o of objects) assert.equal(o.metadata.namespace, 'k8smgr', `${o.kind} ${o.metadata.name} in the release namespace`);

  const deployment = one(objects, 'Deployment', 'k8smgr');
  assert.equal(deployment.spec.replicas, 2);
  const selector = deployment.spec.selector.matchLabels as Record<string, string>;
  const pod = deployment.spec.template;
  for (const [k, v] of Object.entries(selector)) assert.equal(pod.metadata.labels[k], v);
  assert.equal(pod.metadata.labels.name, 'k8smgr', 'userjob Services select name=<DEPLOYMENT_NAME>');
  assert.deepEqual(deployment.spec.strategy, { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } });

  const pdb = one(objects, 'PodDisruptionBudget', 'k8smgr');
  assert.equal(pdb.spec.minAvailable, 1);
  assert.deepEqual(pdb.spec.selector.matchLabels, selector);
  const service = one(objects, 'Service', 'k8smgr');
  assert.deepEqual(service.spec.selector, selector);
  assert.deepEqual(service.spec.ports, [{ name: 'http', port: 8080, targetPort: 'http' }]);

  // RBAC: what the hand-written Role granted, plus the Lease and labelling its own pod.
  const role = one(objects, 'Role', 'k8smgr');
  const rules = role.rules as Rule[];
  for (const resource of ['configmaps', 'secrets', 'services']) {
    for (const verb of ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete']) assert.ok(allows(rules, '', resource, verb), `${verb} ${resource}`);
  }
  for (const verb of ['get', 'list', 'watch']) for (const resource of ['pods', 'events']) assert.ok(allows(rules, '', resource, verb), `${verb} ${resource}`);
  assert.ok(allows(rules, '', 'pods', 'patch'), 'the leader labels its own pod');
  assert.ok(!allows(rules, '', 'pods', 'delete') && !allows(rules, '', 'pods', 'create'));
  assert.ok(allows(rules, '', 'pods/log', 'get'));
  for (const verb of ['get', 'create', 'patch', 'delete']) assert.ok(allows(rules, 'apps', 'deployments', verb), `${verb} deployments`);
  // The leader Lease, and a presence Lease per process: deleted on a graceful stop, or by the leader once long expired.
  for (const verb of ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete']) assert.ok(allows(rules, 'coordination.k8s.io', 'leases', verb), `${verb} leases`);
  const binding = one(objects, 'RoleBinding', 'k8smgr');
  assert.deepEqual(binding.roleRef, { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'k8smgr' });
  assert.deepEqual(binding.subjects, [{ kind: 'ServiceAccount', name: 'k8smgr', namespace: 'k8smgr' }]);
  assert.equal(pod.spec.serviceAccountName, 'k8smgr');
  one(objects, 'ServiceAccount', 'k8smgr');

  // Environment and config: CONFIG_PATH is where the config ConfigMap is mounted.
  const env = envOf(objects);
  assert.equal(env.get('DEPLOYMENT_NAME')?.value, 'k8smgr');
  assert.equal(env.get('DEPLOYMENT_NAMESPACE')?.value, 'k8smgr');
  assert.equal(env.get('STAGE')?.value, 'production');
  assert.deepEqual(env.get('POD_NAME')?.valueFrom, { fieldRef: { fieldPath: 'metadata.name' } });
  assert.deepEqual(env.get('MANAGER_NAMESPACE')?.valueFrom, { fieldRef: { fieldPath: 'metadata.namespace' } });
  assert.equal(env.has('METRICS_PORT'), false);
  assert.deepEqual([...env.keys()].filter((k) => k.endsWith('_USER_PASS')), []);
  const c = container(objects);
  const configPath = env.get('CONFIG_PATH')?.value as string;
  const configMount = (c.volumeMounts as Obj[]).find((m) => m.name === 'config')!;
  assert.equal(path.posix.join(configMount.mountPath, 'config.json'), configPath);
  const volumes = new Map((pod.spec.volumes as Obj[]).map((v) => [v.name as string, v]));
  assert.equal(volumes.get('config')?.configMap.name, 'k8smgr-config');
  assert.equal(volumes.get('descriptions')?.configMap.name, 'k8smgr-descriptions');
  assert.deepEqual(configOf(objects), { services: { base: '/tmp/services', descriptions: '/etc/k8smgr/descriptions' }, userhomes: { enabled: false } });
  assert.equal((c.volumeMounts as Obj[]).find((m) => m.name === 'descriptions')?.mountPath, '/etc/k8smgr/descriptions');

  // Probes, security, scheduling.
  assert.equal(c.readinessProbe.httpGet.path, '/api/ready/');
  assert.equal(c.livenessProbe.httpGet.path, '/api/health/');
  assert.equal(c.startupProbe.httpGet.path, '/api/health/');
  assert.equal(pod.spec.securityContext.runAsNonRoot, true);
  assert.ok(pod.spec.securityContext.runAsUser > 0);
  assert.equal(c.securityContext.allowPrivilegeEscalation, false);
  assert.equal(c.securityContext.readOnlyRootFilesystem, true);
  assert.deepEqual(c.securityContext.capabilities.drop, ['ALL']);
  assert.deepEqual(c.resources, { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '512Mi' } });
  const preferred = pod.spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution as Obj[];
  assert.equal(preferred[0]!.podAffinityTerm.topologyKey, 'kubernetes.io/hostname');
  assert.deepEqual(preferred[0]!.podAffinityTerm.labelSelector.matchLabels, selector);
  const spread = pod.spec.topologySpreadConstraints as Obj[];
  assert.equal(spread.length, 1);
  assert.equal(spread[0]!.topologyKey, 'kubernetes.io/hostname');
  assert.deepEqual(spread[0]!.labelSelector.matchLabels, selector);
});

function fullValues(servicesNamespace: string): Obj {
  return {
    fullnameOverride: 'mgr',
    replicas: 3,
    stage: 'staging',
    servicesNamespace,
    image: { repository: 'registry.example.org/k8smgr', tag: '1.2.3' },
    podDisruptionBudget: { minAvailable: 2 },
    scheduling: { podAntiAffinity: 'hard' },
    metrics: { port: 9090 },
    credentials: {
      jupyterhub: { groups: ['access_to_webservice', 'access_to_logging'], secret: { name: 'hub-passwords', key: 'jupyterhub' } },
      'hub-2.example': { secret: { name: 'hub2', key: 'pw' } },
    },
    config: {
      services: { base: '/tmp/rendered', replace: { stage: { staging: { image: 'registry.example.org/lab:4' } } } },
      userhomes: { enabled: false },
      startup: { create_user: { legacy: ['access_to_logging'] } },
    },
    descriptions: {
      files: {
        'jupyterhub/jupyterlab/default/service.yaml': 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: depl-<id>\n',
        'jupyterhub/jupyterlab/default/input/start.sh': '#!/bin/sh\n  echo "start <id>"\n\n',
        'hub-2.example/rstudio/default/service.yaml': 'kind: Service\n',
      },
    },
    rbac: { extraRules: [{ apiGroups: ['networking.k8s.io'], resources: ['ingresses'], verbs: ['get', 'create', 'patch', 'delete'] }] },
    extraEnv: [{ name: 'TUNNEL_BASIC', valueFrom: { secretKeyRef: { name: 'hub-tunnel', key: 'authorization' } } }],
  };
}

test('a values file with credentials, templates, 3 replicas and a services namespace renders them', () => {
  const values = fullValues('user-services');
  const { objects } = template(['--namespace', 'hub', '-f', valuesFile('full.yaml', values)]);
  const deployment = one(objects, 'Deployment', 'mgr', 'hub');
  assert.equal(deployment.spec.replicas, 3);
  assert.equal(one(objects, 'PodDisruptionBudget', 'mgr').spec.minAvailable, 2);
  const pod = deployment.spec.template;
  assert.equal(pod.metadata.labels.name, 'mgr');
  assert.equal(container(objects).image, 'registry.example.org/k8smgr:1.2.3');
  assert.equal(pod.spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey, 'kubernetes.io/hostname');

  // Each credential's password from its Secret key, under the name the manager reads.
  const env = envOf(objects);
  for (const [name, cred] of Object.entries(values.credentials as Record<string, Obj>)) {
    assert.deepEqual(env.get(userPassVariable(name))?.valueFrom, { secretKeyRef: { name: cred.secret.name, key: cred.secret.key } }, name);
  }
  assert.ok(env.has('HUB_2_EXAMPLE_USER_PASS'));
  assert.equal(env.get('DEPLOYMENT_NAME')?.value, 'mgr');
  assert.equal(env.get('DEPLOYMENT_NAMESPACE')?.value, 'user-services');
  assert.equal(env.get('STAGE')?.value, 'staging');
  assert.equal(env.get('METRICS_PORT')?.value, '9090');
  assert.deepEqual(env.get('TUNNEL_BASIC')?.valueFrom, { secretKeyRef: { name: 'hub-tunnel', key: 'authorization' } });
  assert.deepEqual(container(objects).ports, [{ name: 'http', containerPort: 8080 }, { name: 'metrics', containerPort: 9090 }]);
  assert.deepEqual(one(objects, 'Service', 'mgr').spec.ports.map((p: Obj) => p.name), ['http', 'metrics']);

  // config.json: the values' config, the descriptions mount, every credential in create_user.
  assert.deepEqual(configOf(objects, 'mgr'), {
    services: { base: '/tmp/rendered', descriptions: '/etc/k8smgr/descriptions', replace: { stage: { staging: { image: 'registry.example.org/lab:4' } } } },
    userhomes: { enabled: false },
    startup: { create_user: { legacy: ['access_to_logging'], jupyterhub: ['access_to_webservice', 'access_to_logging'], 'hub-2.example': ['access_to_webservice'] } },
  });

  // Templates: each file in the descriptions ConfigMap, mounted at its path, byte for byte.
  const descriptions = one(objects, 'ConfigMap', 'mgr-descriptions').data as Record<string, string>;
  const volume = (pod.spec.volumes as Obj[]).find((v) => v.name === 'descriptions')!;
  assert.equal(volume.configMap.name, 'mgr-descriptions');
  const mounted = Object.fromEntries((volume.configMap.items as Obj[]).map((i) => [i.path as string, descriptions[i.key as string]]));
  assert.deepEqual(mounted, values.descriptions.files);

  // RBAC split: services' rules in their namespace, credentials/logging/Lease/own pod at home.
  const home = one(objects, 'Role', 'mgr', 'hub').rules as Rule[];
  const away = one(objects, 'Role', 'mgr', 'user-services').rules as Rule[];
  assert.ok(allows(home, 'coordination.k8s.io', 'leases', 'update') && allows(home, '', 'pods', 'patch') && allows(home, '', 'secrets', 'create'));
  assert.ok(!allows(home, 'apps', 'deployments', 'create'));
  assert.ok(allows(away, 'apps', 'deployments', 'create') && allows(away, '', 'pods/log', 'get') && allows(away, 'networking.k8s.io', 'ingresses', 'create'));
  assert.ok(!allows(away, 'coordination.k8s.io', 'leases', 'get'));
  for (const ns of ['hub', 'user-services']) {
    assert.deepEqual(one(objects, 'RoleBinding', 'mgr', ns).subjects, [{ kind: 'ServiceAccount', name: 'mgr', namespace: 'hub' }]);
  }
});

test('existing ConfigMap or volume for templates, PDB off, anti-affinity off', () => {
  const existing = template(['--set', 'descriptions.existingConfigMap=my-templates', '--set-json', 'descriptions.items=[{"key":"a.yaml","path":"hub/lab/a/service.yaml"}]']).objects;
  const volume = (one(existing, 'Deployment').spec.template.spec.volumes as Obj[]).find((v) => v.name === 'descriptions')!;
  assert.deepEqual(volume.configMap, { name: 'my-templates', items: [{ key: 'a.yaml', path: 'hub/lab/a/service.yaml' }] });
  assert.equal(existing.filter((o) => o.kind === 'ConfigMap').length, 1, 'no descriptions ConfigMap of the chart');

  const pvc = template(['--set-json', 'descriptions.volume={"persistentVolumeClaim":{"claimName":"templates"}}', '--set', 'podDisruptionBudget.enabled=false', '--set', 'scheduling.podAntiAffinity=']).objects;
  const spec = one(pvc, 'Deployment').spec.template.spec;
  assert.deepEqual(spec.volumes.find((v: Obj) => v.name === 'descriptions'), { name: 'descriptions', persistentVolumeClaim: { claimName: 'templates' } });
  assert.equal(pvc.some((o) => o.kind === 'PodDisruptionBudget'), false);
  assert.equal(spec.affinity, undefined);
});

test('values the manager could not use are refused with a message', () => {
  const refuse = (args: string[], message: RegExp) => {
    const res = run('helm', ['template', 'k8smgr', CHART, ...args]);
    assert.notEqual(res.status, 0, `helm template ${args.join(' ')} should fail`);
    assert.match(res.stderr, message);
  };
  refuse(['--set', 'credentials.hub.groups={access_to_webservice}'], /credentials\.hub\.secret: name and key/);
  refuse(['--set-json', 'credentials={"bad name":{"secret":{"name":"s","key":"k"}}}'], /credentials\.bad name: a credential name/);
  refuse(['--set-json', 'descriptions.files={"../etc/passwd":"x"}'], /descriptions\.files: "\.\.\/etc\/passwd"/);
  refuse(['--set', 'scheduling.podAntiAffinity=sometimes'], /scheduling\.podAntiAffinity: "sometimes"/);
  refuse(['--set', 'podDisruptionBudget.maxUnavailable=1'], /not both/);
});

test('NOTES tell the hubs\' URL, the credentials and what is missing', () => {
  const notes = (args: string[]) => {
    const out = runOk('helm', ['install', 'site', CHART, '--namespace', 'hub', '--dry-run=client', ...args]);
    const at = out.indexOf('NOTES:');
    assert.ok(at >= 0, out);
    return out.slice(at);
  };
  const bare = notes([]);
  assert.match(bare, /http:\/\/site-k8smgr\.hub\.svc:8080\/api\/services\//);
  assert.match(bare, /No hub credential is configured/);
  assert.match(bare, /No service descriptions/);
  assert.doesNotMatch(bare, /One replica/);
  const full = notes(['-f', valuesFile('notes.yaml', fullValues('user-services')), '--set', 'replicas=1']);
  assert.match(full, /jupyterhub: JUPYTERHUB_USER_PASS from Secret hub-passwords, key jupyterhub/);
  assert.match(full, /hub-2\.example: HUB_2_EXAMPLE_USER_PASS from Secret hub2, key pw/);
  assert.match(full, /users' services go to namespace user-services/);
  assert.match(full, /One replica/);
  assert.doesNotMatch(full, /No hub credential|No service descriptions/);
});

test(`${MANIFESTS_PATH} is the chart rendered with its defaults (npm run deploy:manifests)`, () => {
  const expected = renderManifests();
  const actual = readFileSync(MANIFESTS_PATH, 'utf8');
  if (actual !== expected) {
    const [a, e] = [actual.split('\n'), expected.split('\n')];
    const line = a.findIndex((l, i) => l !== e[i]);
    const at = line === -1 ? a.length : line;
    assert.fail(`${MANIFESTS_PATH} is out of date: run \`npm run deploy:manifests\`. First difference at line ${at + 1}:\n` +
      `  file:   ${JSON.stringify(a[at] ?? '(end of file)')}\n  chart:  ${JSON.stringify(e[at] ?? '(end of output)')}`);
  }
  assert.match(expected, /^# .*\n(#.*\n)*# GENERATED from the Helm chart/);
});

test('the apiserver accepts what the chart renders (kubectl apply --dry-run=server), and creates nothing', async (t) => {
  const { namespace, kubeconfigPath } = await testNamespace({ after: (fn) => t.after(fn), name: 'chart' });
  const services = await testNamespace({ after: (fn) => t.after(fn), name: 'chart-services' });
  const apply = (args: string[]) => {
    const { text, objects } = template(['--namespace', namespace, ...args]);
    const res = run('kubectl', ['--kubeconfig', kubeconfigPath, 'apply', '--dry-run=server', '-f', '-'], { input: text });
    return { ...res, objects };
  };
  for (const args of [[], ['-f', valuesFile('dry.yaml', fullValues(services.namespace))]]) {
    const res = apply(args);
    assert.equal(res.status, 0, res.stderr);
    const lines = res.stdout.trim().split('\n');
    assert.equal(lines.length, res.objects.length, res.stdout);
    for (const line of lines) assert.match(line, /\(server dry run\)$/);
  }
  // The dry run validates: a value the apiserver refuses fails it.
  const bad = apply(['--set', 'service.type=Sideways']);
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /Unsupported value: "Sideways"/);
  // Nothing was created.
  const left = runOk('kubectl', ['--kubeconfig', kubeconfigPath, '-n', namespace, 'get', 'deployments,configmaps,roles,poddisruptionbudgets', '-o', 'name']);
  assert.deepEqual(left.trim().split('\n').filter((l) => l && l !== 'configmap/kube-root-ca.crt'), []);
});
