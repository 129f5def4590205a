// The hub records its own "Backend communication successful" event when the
// start's answer (201) reaches it; the manager's first event must come after
// that, even when the start took longer than the first delay (a clean-clone CI
// run saw "Kubernetes objects created" and "Service is ready" reach the hub
// before its own event). Stand-ins for the cache and the gateway; the clock is
// the real one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { ProgressReporter } from '../../../src/services/progress.js';
import { ANNOTATIONS } from '../../../src/services/lifecycle.js';
import type { KubeObject } from '../../../src/kube/objects.js';
import type { ServiceRecord } from '../../../src/services/types.js';
import type { AppLogger } from '../../../src/logging/logger.js';
import type { HubProgressEvent } from '../../../src/status/progress.js';

const silent = new Proxy({}, { get: (_t, name) => (name === 'child' ? () => silent : () => undefined) }) as unknown as AppLogger;

test('a start that took longer than the first delay: the first event still waits for the delay after the answer', async () => {
  const identity = { replica: 'r1', boot: 'b1' };
  const record: ServiceRecord = {
    servername: 'lab', start_id: 'abcd0001', user_options: {}, jhub_user_id: 1, jhub_credential: 'hub',
    // The start was received 2 s ago: creating its objects took that long.
    start_date: new Date(Date.now() - 2000).toISOString(), stop_pending: false, namespace: 'ns',
    objects: ['v1|Secret/secret-lab', 'apps/v1|Deployment/depl-lab'],
  };
  let anchor: KubeObject = {
    apiVersion: 'v1', kind: 'ConfigMap',
    metadata: { name: 'k8smgr-1-lab', uid: 'u1', resourceVersion: '1', annotations: { [ANNOTATIONS.phase]: 'created', [ANNOTATIONS.createdBy]: 'r1_b1' } },
  };
  const listeners: Array<(name: string) => void> = [];
  const sent: Array<{ at: number; event: HubProgressEvent }> = [];
  const reporter = new ProgressReporter({
    cache: {
      subscribe: (listener) => {
        listeners.push(listener);
        return () => undefined;
      },
      byAnchor: () => ({ record, anchor }),
      podsOf: () => [],
      eventsOf: () => [],
      all: () => [{ anchor }],
    },
    gateway: {
      annotate: (async (_ref: KubeObject, annotations: Record<string, string>) => {
        anchor = { ...anchor, metadata: { ...anchor.metadata, resourceVersion: String(Number(anchor.metadata.resourceVersion) + 1), annotations: { ...anchor.metadata.annotations, ...annotations } } };
        return anchor;
      }) as never,
      read: async () => undefined,
    },
    namespace: 'ns',
    deploymentName: 'k8smgr',
    identity,
    liveVerdict: () => ({ running: true, state: 'starting', details: { error: '', detailed_error: '' } }),
    config: () => ({ services: { container_main_name: 'main' } }) as never,
    logger: silent,
    send: async (_target, event) => {
      sent.push({ at: Date.now(), event });
      return 200;
    },
    firstDelayMs: 300,
  });
  reporter.start();
  // The watch shows the anchor "created" before the start has answered the hub: nothing goes out yet.
  for (const l of listeners) l(anchor.metadata.name);
  await sleep(400);
  assert.equal(sent.length, 0, `an event went out before the start answered: ${JSON.stringify(sent)}`);
  const answeredAt = Date.now();
  reporter.started(record, { servername: 'lab', startId: 'abcd0001', service: 'lab/ok', userOptions: {}, userId: 1, env: {}, statusUrl: 'http://hub.example/hub/api/users/progress/status/u/lab', apiToken: 'tok', certs: undefined }, anchor);
  for (let i = 0; i < 50 && sent.length === 0; i++) await sleep(20);
  assert.equal(sent.length, 1, 'the first event after the answer');
  assert.ok(sent[0]!.at - answeredAt >= 290, `the first event came ${sent[0]!.at - answeredAt} ms after the answer`);
  assert.match(JSON.stringify(sent[0]!.event), /Kubernetes objects created/);

  // Later steps of the same start go out at once (the queue was empty in between: the start is still known as answered).
  await sleep(50);
  anchor = { ...anchor, metadata: { ...anchor.metadata, resourceVersion: String(Number(anchor.metadata.resourceVersion) + 1), annotations: {
    ...anchor.metadata.annotations,
    [ANNOTATIONS.failedAt]: new Date().toISOString(),
    [ANNOTATIONS.failure]: JSON.stringify({ error: 'Service status is in state terminated', detailed_error: 'Events: BackOff' }),
  } } };
  const changedAt = Date.now();
  for (const l of listeners) l(anchor.metadata.name);
  for (let i = 0; i < 100 && sent.length < 2; i++) await sleep(10);
  reporter.close();
  assert.equal(sent.length, 2, `the failure after the first event: ${JSON.stringify(sent)}`);
  assert.equal(sent[1]!.event.failed, true);
  assert.ok(sent[1]!.at - changedAt < 300, `the failure went out ${sent[1]!.at - changedAt} ms after it was recorded`);
});
