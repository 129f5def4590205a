// A start taken over by another replica (or by this one after a restart)
// sends progress events with what the start's Secrets hold: the status URL and
// token from the env Secret, the hub's internal_ssl client certificate from
// the certs Secret. The Secrets are made by the same builders a start uses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { progressTargetOf } from '../../../src/services/progress.js';
import { objectRef } from '../../../src/services/anchor.js';
import { buildCertsSecret, buildEnvSecret, serviceId, startNames } from '../../../src/templates/index.js';
import type { KubeObject } from '../../../src/kube/objects.js';
import type { ServiceRecord } from '../../../src/services/types.js';

const namespace = 'ns';
const deploymentName = 'k8smgr';

/** What the apiserver would answer for the Secrets: stringData as base64 data. */
function stored(secret: KubeObject): KubeObject {
  const stringData = (secret as { stringData?: Record<string, string> }).stringData ?? {};
  const data = Object.fromEntries(Object.entries(stringData).map(([k, v]) => [k, Buffer.from(v).toString('base64')]));
  return { apiVersion: 'v1', kind: 'Secret', metadata: secret.metadata, data };
}

function startWith(env: Record<string, string>, certs?: { keyfile: string; certfile: string; cafile: string }) {
  const record: ServiceRecord = {
    servername: 'lab', start_id: 'abcd0001', user_options: {}, jhub_user_id: 1, jhub_credential: 'hub',
    start_date: new Date().toISOString(), stop_pending: false, namespace, objects: [],
  };
  const names = startNames({ id: serviceId(record.servername, record.start_id), deploymentName });
  const secrets = [
    buildEnvSecret({ name: names.envSecret, namespace, labels: {}, env, servername: record.servername, id: names.id }),
    ...(certs ? [buildCertsSecret({ name: names.certsSecret, namespace, labels: {}, certs })] : []),
  ];
  record.objects = [...secrets.map(objectRef), 'apps/v1|Deployment/depl-x'];
  const byName = new Map(secrets.map((s) => [s.metadata.name, stored(s)]));
  const reads: string[] = [];
  const gateway = {
    read: async <T extends KubeObject>(ref: KubeObject): Promise<T | undefined> => {
      reads.push(ref.metadata.name);
      return byName.get(ref.metadata.name) as T | undefined;
    },
  };
  return { record, gateway, reads, byName };
}

const hubEnv = { JUPYTERHUB_STATUS_URL: 'users/progress/status/u/lab', JUPYTERHUB_API_URL: 'https://hub.internal:8081/hub/api', JUPYTERHUB_API_TOKEN: 'tok' };

test('a start with internal_ssl certs: the target carries the client certificate', async () => {
  const certs = { keyfile: 'KEY PEM', certfile: 'CERT PEM', cafile: 'CA PEM' };
  const { record, gateway } = startWith(hubEnv, certs);
  const target = await progressTargetOf(gateway, namespace, deploymentName, record);
  assert.equal(target?.url.href, 'https://hub.internal:8081/hub/api/users/progress/status/u/lab');
  assert.equal(target?.token, 'tok');
  assert.deepEqual(target?.tls, { ca: 'CA PEM', cert: 'CERT PEM', key: 'KEY PEM' });
});

test('a start without certs: no TLS client certificate, and no read of a certs Secret it never made', async () => {
  const { record, gateway, reads } = startWith(hubEnv);
  const target = await progressTargetOf(gateway, namespace, deploymentName, record);
  assert.equal(target?.token, 'tok');
  assert.equal(target?.tls, undefined);
  assert.equal(reads.length, 1, `reads: ${reads.join(', ')}`);
});

test('no token or no status URL: no target; a Secret gone: no target', async () => {
  assert.equal(await progressTargetOf(startWith({ JUPYTERHUB_STATUS_URL: 'http://hub/progress' }).gateway, namespace, deploymentName, startWith({ JUPYTERHUB_STATUS_URL: 'http://hub/progress' }).record), undefined);
  const noUrl = startWith({ JUPYTERHUB_API_TOKEN: 'tok' });
  assert.equal(await progressTargetOf(noUrl.gateway, namespace, deploymentName, noUrl.record), undefined);
  const gone = startWith(hubEnv);
  gone.byName.clear();
  assert.equal(await progressTargetOf(gone.gateway, namespace, deploymentName, gone.record), undefined);
});
