// The lifecycle of starts across manager processes on the real control plane:
// a manager killed in the middle of concurrent starts leaves starts that every
// replica answers "interrupted" within seconds (after the creation deadline, or
// once the killed process's presence record expired), never "starting"
// forever; a start whose creator left no presence record is interrupted at once
// by any replica, while the name of a creator proves nothing; and a manager
// without any cluster configuration says so once and exits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { testNamespace, waitFor } from '../helpers/cluster.js';
import { basic, startManager, type ManagerProcess } from '../helpers/manager.js';

const fixtures = path.resolve('test/fixtures/services');
const { kc, namespace, kubeconfigPath } = await testNamespace();
const tmp = mkdtempSync(path.join(tmpdir(), 'k8smgr-lifecycle-'));
const configPath = path.join(tmp, 'config.json');
mkdirSync(path.join(tmp, 'skel', 'testhub'), { recursive: true });
writeFileSync(configPath, JSON.stringify({
  services: { descriptions: path.join(fixtures, 'descriptions'), base: path.join(tmp, 'rendered'), creation_timeout_seconds: 6 },
  userhomes: { base: path.join(tmp, 'homes'), skel: path.join(tmp, 'skel') },
  startup: { create_user: { testhub: ['access_to_webservice'] } },
}));
const PASSWORD = 'pw-lifecycle-1';
const auth = { authorization: basic('testhub', PASSWORD) };
const env = (replica: string) => ({ TESTHUB_USER_PASS: PASSWORD, POD_NAME: replica });
const objects = k8s.KubernetesObjectApi.makeApiClient(kc);

async function poll(m: ManagerProcess, servername: string): Promise<{ status: number; body: { running?: boolean; state?: string; details?: { error: string } } }> {
  const res = await fetch(`${m.url}/api/services/${servername}/`, { headers: auth });
  return { status: res.status, body: (await res.json()) as { running?: boolean; state?: string; details?: { error: string } } };
}

async function deploymentsOf(servername: string): Promise<number> {
  const list = await objects.list('apps/v1', 'Deployment', namespace, undefined, undefined, undefined, undefined, `k8smgr.io/servername=${servername}`);
  return list.items.length;
}

test('SIGKILL in the middle of 20 concurrent starts: every half-made start answers "interrupted" within seconds, on every replica', async () => {
  const observer = await startManager({ kubeconfigPath, namespace, configPath, env: env('replica-b') });
  let victim = await startManager({ kubeconfigPath, namespace, configPath, env: env('replica-a') });
  try {
    const names = Array.from({ length: 20 }, (_, i) => `cut-${i}`);
    const body = (i: number) => JSON.stringify({
      start_id: `cut0000${String(i).padStart(2, '0')}`.slice(-8),
      user_options: { service: 'lab/ok' },
      env: { JUPYTERHUB_STATUS_URL: 'http://127.0.0.1:1/x', JUPYTERHUB_API_TOKEN: 't', JUPYTERHUB_USER_ID: i },
    });
    const victimUrl = victim.url;
    const requests = names.map((name, i) => fetch(`${victimUrl}/api/services/`, {
      method: 'POST', headers: { ...auth, uuidcode: name, 'content-type': 'application/json' }, body: body(i),
    }).then((r) => r.status, () => 'killed'));
    // Kill once some anchors exist, while most starts are still creating their objects.
    await waitFor(async () => {
      const anchors = await objects.list('v1', 'ConfigMap', namespace, undefined, undefined, undefined, undefined, 'k8smgr.io/role=anchor');
      return anchors.items.length >= 3;
    }, { what: 'the first anchors', timeoutMs: 20_000, intervalMs: 20 });
    await victim.kill('SIGKILL');
    const answers = await Promise.all(requests);
    const completed = names.filter((_, i) => answers[i] === 201);
    console.log(`answered before the kill: ${completed.length} of 20`);

    // Replica B answers from the cluster: each start either complete (has its Deployment) or, past the
    // creation deadline (6 s), interrupted. None stays "starting" without its objects.
    const t0 = Date.now();
    await waitFor(async () => {
      for (const name of names) {
        const r = await poll(observer, name);
        if (r.status === 404) continue; // the kill came before its anchor
        if (r.body.state === 'failed' && r.body.details?.error === 'Start interrupted, please start again') continue;
        if (r.body.running && (await deploymentsOf(name)) === 1) continue;
        return false;
      }
      return true;
    }, { what: 'every start complete or interrupted on the other replica', timeoutMs: 20_000, intervalMs: 250 });
    console.log(`other replica: every half-made start answered within ${((Date.now() - t0) / 1000).toFixed(1)} s of the kill`);

    // The restarted replica answers exactly the same.
    victim = await startManager({ kubeconfigPath, namespace, configPath, env: env('replica-a') });
    for (const name of names) {
      const [a, b] = await Promise.all([poll(victim, name), poll(observer, name)]);
      assert.deepEqual({ status: a.status, running: a.body.running, state: a.body.state }, { status: b.status, running: b.body.running, state: b.body.state }, name);
    }
    // Every start, whole or half-made, stops cleanly: nothing left.
    for (const name of names) {
      const r = await fetch(`${victim.url}/api/services/${name}/`, { method: 'DELETE', headers: auth });
      assert.ok(r.status === 204 || r.status === 404, `${name}: ${r.status}`);
    }
    await waitFor(async () => {
      const left = await objects.list('apps/v1', 'Deployment', namespace, undefined, undefined, undefined, undefined, 'app.kubernetes.io/managed-by=k8smgr');
      const secrets = await objects.list('v1', 'Secret', namespace, undefined, undefined, undefined, undefined, 'app.kubernetes.io/managed-by=k8smgr,k8smgr.io/servername');
      return left.items.length === 0 && secrets.items.length === 0;
    }, { what: 'no Deployment or Secret of the starts left', timeoutMs: 60_000 });
  } finally {
    await victim.kill('SIGTERM');
    await observer.kill('SIGTERM');
  }
});

test('a start whose creator has no presence record is interrupted at once by any replica; a creator named the old way waits for the deadline', async () => {
  writeFileSync(configPath, JSON.stringify({
    services: { descriptions: path.join(fixtures, 'descriptions'), base: path.join(tmp, 'rendered'), creation_timeout_seconds: 600 },
    userhomes: { base: path.join(tmp, 'homes'), skel: path.join(tmp, 'skel') },
    startup: { create_user: { testhub: ['access_to_webservice'] } },
  }));
  // Half-made starts as a killed manager leaves them: anchors "creating". half-1 by the process replica-c_deadbeef,
  // which has no presence record (it stopped); half-2 by replica-c/deadbeef, as versions before process ids wrote it.
  const anchors = k8s.KubernetesObjectApi.makeApiClient(kc);
  const { anchorName } = await import('../../src/services/anchor.js');
  const halfMade = (servername: string, createdBy: string) => anchors.create({
    apiVersion: 'v1', kind: 'ConfigMap',
    metadata: {
      name: anchorName('testhub', servername), namespace,
      labels: { 'app.kubernetes.io/managed-by': 'k8smgr', 'k8smgr.io/instance': 'k8smgr', 'k8smgr.io/role': 'anchor', 'k8smgr.io/servername': servername, 'k8smgr.io/credential': 'testhub' },
      annotations: { 'k8smgr.io/phase': 'creating', 'k8smgr.io/created-by': createdBy, 'k8smgr.io/creating-until': new Date(Date.now() + 600_000).toISOString() },
    },
    data: { record: JSON.stringify({ servername, start_id: `${servername.replace('-', '')}001`.slice(0, 8), user_options: { service: 'lab/ok' }, jhub_user_id: 1, jhub_credential: 'testhub', start_date: new Date().toISOString(), stop_pending: false, objects: [] }) },
  } as k8s.KubernetesObject);
  await halfMade('half-1', 'replica-c_deadbeef');
  await halfMade('half-2', 'replica-c/deadbeef');
  const t0 = Date.now();
  const other = await startManager({ kubeconfigPath, namespace, configPath, env: env('replica-d') });
  try {
    // Any replica can tell: a process is present before it takes a start, and a read finds no record of it.
    await waitFor(async () => (await poll(other, 'half-1')).body.state === 'failed', { what: 'half-1 interrupted', timeoutMs: 10_000, intervalMs: 100 });
    console.log(`a creator without a presence record -> interrupted ${((Date.now() - t0) / 1000).toFixed(1)} s after the replica started`);
    assert.equal((await poll(other, 'half-1')).body.details?.error, 'Start interrupted, please start again');
    // A process of the old creator's name proves nothing about it (two processes may share a name): the deadline decides.
    const named = await startManager({ kubeconfigPath, namespace, configPath, env: env('replica-c') });
    try {
      await new Promise((r) => setTimeout(r, 3000));
      for (const m of [other, named]) assert.equal((await poll(m, 'half-2')).body.state, 'starting');
      for (const name of ['half-1', 'half-2']) assert.equal((await fetch(`${named.url}/api/services/${name}/`, { method: 'DELETE', headers: auth })).status, 204);
    } finally {
      await named.kill('SIGTERM');
    }
  } finally {
    await other.kill('SIGTERM');
  }
});

test('without any Kubernetes configuration, serve says once what is missing and exits non-zero', async () => {
  const home = mkdtempSync(path.join(tmpdir(), 'k8smgr-nohome-'));
  const child = spawn(process.execPath, ['--import', 'tsx', path.resolve('src/cli/main.ts'), 'serve'], {
    env: { PATH: process.env.PATH ?? '', HOME: home, CONFIG_PATH: configPath, PORT: '0', HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve(null);
    }, 20_000);
    child.once('exit', (c) => {
      clearTimeout(timer);
      resolve(c);
    });
  });
  assert.equal(code, 1, `exit code (null: still running after 20 s):\n${out}`);
  assert.equal(out.match(/no Kubernetes cluster configured/g)?.length, 1, out);
  assert.match(out, /KUBECONFIG/);
  assert.doesNotMatch(out, /watch restarted|skipTLSVerify/);
});

test('a start that failed and that nobody stops: workload removed after the grace period, the anchor answers the same failure, then goes', async () => {
  writeFileSync(configPath, JSON.stringify({
    services: {
      descriptions: path.join(fixtures, 'descriptions'), base: path.join(tmp, 'rendered'),
      failed_cleanup_seconds: 2, failed_retention_seconds: 12,
    },
    userhomes: { base: path.join(tmp, 'homes'), skel: path.join(tmp, 'skel') },
    startup: { create_user: { testhub: ['access_to_webservice'] } },
  }));
  const m = await startManager({ kubeconfigPath, namespace, configPath, env: env('replica-e') });
  try {
    const started = await fetch(`${m.url}/api/services/`, {
      method: 'POST', headers: { ...auth, uuidcode: 'given-up', 'content-type': 'application/json' },
      body: JSON.stringify({ start_id: 'gone0001', user_options: { service: 'lab/fail' }, env: { JUPYTERHUB_STATUS_URL: 'http://127.0.0.1:1/x', JUPYTERHUB_API_TOKEN: 't', JUPYTERHUB_USER_ID: 7 } }),
    });
    assert.equal(started.status, 201, await started.text());
    const failed = await waitFor(async () => {
      const r = await poll(m, 'given-up');
      return r.body.state === 'failed' ? r.body : false;
    }, { what: 'the failure answered', timeoutMs: 30_000 });
    // Nobody sends a DELETE (the hub gave up). The manager removes the workload itself ...
    await waitFor(async () => (await deploymentsOf('given-up')) === 0, { what: 'the workload of the failed start removed', timeoutMs: 20_000 });
    const secrets = await objects.list('v1', 'Secret', namespace, undefined, undefined, undefined, undefined, 'k8smgr.io/servername=given-up');
    assert.equal(secrets.items.length, 0, 'the env Secret (with the hub token) is removed too');
    // ... and the anchor answers exactly the failure the user saw.
    const later = await poll(m, 'given-up');
    assert.deepEqual(later.body, failed);
    const metrics = await (await fetch(`${m.url}/metrics`)).text();
    assert.match(metrics, /k8smgr_services\{state="failed_cleaned_up"\} 1/);
    assert.match(metrics, /k8smgr_service_seconds_since_last_poll_count \d+/);
    // After the retention the anchor goes, too: nothing of the start is left.
    await waitFor(async () => (await poll(m, 'given-up')).status === 404, { what: 'the anchor removed after its retention', timeoutMs: 30_000 });
  } finally {
    await m.kill('SIGTERM');
  }
});
