import { test } from 'node:test';
import assert from 'node:assert/strict';
import { projectEvent, projectPod } from '../../../src/services/cache.js';
import { interpret } from '../../../src/status/interpret.js';

const fullPod = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: {
    name: 'depl-x-1', uid: 'u1', resourceVersion: '7', creationTimestamp: '2026-01-01T00:00:00Z', labels: { app: 'x' },
    annotations: { big: 'y'.repeat(5000) }, managedFields: [{ manager: 'kubelet' }], ownerReferences: [{ kind: 'ReplicaSet' }],
  },
  spec: { nodeName: 'n1', containers: [{ name: 'main', image: 'img:1', env: [{ name: 'A', value: 'b' }], resources: {} }], volumes: [{ name: 'v' }] },
  status: {
    phase: 'Running', podIP: '10.0.0.1', conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: 't' }],
    containerStatuses: [{ name: 'main', ready: true, restartCount: 0, state: { running: { startedAt: 't' } }, imageID: 'sha', containerID: 'c' }],
  },
};

test('the pod projection keeps what status reads and drops the rest', () => {
  const slim = projectPod(fullPod as never);
  assert.deepEqual(slim, {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'depl-x-1', uid: 'u1', labels: { app: 'x' }, creationTimestamp: '2026-01-01T00:00:00Z', deletionTimestamp: undefined, resourceVersion: '7' },
    spec: { nodeName: 'n1', containers: [{ name: 'main', image: 'img:1' }] },
    status: {
      phase: 'Running',
      conditions: [{ type: 'Ready', status: 'True' }],
      containerStatuses: [{ name: 'main', ready: true, restartCount: 0, state: { running: { startedAt: 't' } }, lastState: undefined }],
    },
  });
  const policy = { mainContainer: 'main', failingEventTypes: ['Warning'], eventsShown: 3 };
  assert.deepEqual(interpret({ stopPending: false, pods: [slim as never], events: [] }, policy), interpret({ stopPending: false, pods: [fullPod as never], events: [] }, policy));
  assert.ok(JSON.stringify(slim).length < JSON.stringify(fullPod).length / 10);
});

test('the event projection keeps type, reason, message, times and the pod name', () => {
  const event = {
    apiVersion: 'v1', kind: 'Event', metadata: { name: 'e1', creationTimestamp: 't0', resourceVersion: '3', managedFields: [{}] },
    involvedObject: { kind: 'Pod', name: 'depl-x-1', uid: 'u1', apiVersion: 'v1', fieldPath: 'spec.containers{main}' },
    type: 'Warning', reason: 'BackOff', message: 'restarting', count: 2, lastTimestamp: 't2', firstTimestamp: 't1', source: { component: 'kubelet' },
  };
  assert.deepEqual(projectEvent(event as never), {
    apiVersion: 'v1', kind: 'Event', metadata: { name: 'e1', creationTimestamp: 't0', resourceVersion: '3' },
    involvedObject: { name: 'depl-x-1', kind: 'Pod' },
    type: 'Warning', reason: 'BackOff', message: 'restarting', count: 2, lastTimestamp: 't2', eventTime: undefined, firstTimestamp: 't1',
  });
});
