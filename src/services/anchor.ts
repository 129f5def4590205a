// The anchor: one ConfigMap per started service whose data is the service
// record and which owns every other object of that start (ownerReferences), so
// deleting it lets the garbage collector remove the rest even if the manager
// dies in between. Pure builders and readers; no I/O.
import { createHash } from 'node:crypto';
import { k8sName, labelValue } from '../templates/names.js';
import type { KubeObject } from '../kube/gateway.js';
import type { ServiceRecord } from './types.js';

export const LABELS = {
  managedBy: 'app.kubernetes.io/managed-by',
  instance: 'k8smgr.io/instance',
  role: 'k8smgr.io/role',
  anchor: 'k8smgr.io/anchor',
  servername: 'k8smgr.io/servername',
  startId: 'k8smgr.io/start-id',
  credential: 'k8smgr.io/credential',
  userId: 'k8smgr.io/user-id',
} as const;
export const MANAGED_BY = 'k8smgr';

/** Deterministic per (credential, servername): two starts of one server meet at the apiserver. */
export function anchorName(credential: string, servername: string): string {
  const digest = createHash('sha256').update(`${credential}\0${servername}`).digest('hex').slice(0, 8);
  return k8sName('k8smgr', digest, servername);
}

export function recordKey(credential: string, servername: string): string {
  return `${credential}\0${servername}`;
}

export function instanceSelector(instance: string): string {
  return `${LABELS.managedBy}=${MANAGED_BY},${LABELS.instance}=${labelValue(instance)}`;
}

/** Labels on every object of one start (the anchor's name ties them together). */
export function startLabels(instance: string, record: Pick<ServiceRecord, 'servername' | 'start_id' | 'jhub_credential' | 'jhub_user_id'>): Record<string, string> {
  return {
    [LABELS.managedBy]: MANAGED_BY,
    [LABELS.instance]: labelValue(instance),
    [LABELS.anchor]: anchorName(record.jhub_credential, record.servername),
    [LABELS.servername]: labelValue(record.servername),
    [LABELS.startId]: labelValue(record.start_id),
    [LABELS.credential]: labelValue(record.jhub_credential),
    [LABELS.userId]: labelValue(String(record.jhub_user_id)),
  };
}

export function buildAnchor(instance: string, namespace: string, record: ServiceRecord, annotations: Record<string, string> = {}): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: anchorName(record.jhub_credential, record.servername),
      namespace,
      labels: { ...startLabels(instance, record), [LABELS.role]: 'anchor' },
      ...(Object.keys(annotations).length ? { annotations } : {}),
    },
    data: { record: JSON.stringify(record) },
  };
}

/**
 * A stop that found no start leaves this in the anchor's place for a minute: a
 * start of the same servername that was already in flight when the stop came
 * meets it at the apiserver (same name) and gives up instead of starting a
 * server that the hub believes stopped.
 */
export function buildStopMarker(instance: string, namespace: string, credential: string, servername: string, stopRequestedAt: string): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: anchorName(credential, servername),
      namespace,
      labels: {
        [LABELS.managedBy]: MANAGED_BY,
        [LABELS.instance]: labelValue(instance),
        [LABELS.role]: 'stop-marker',
        [LABELS.servername]: labelValue(servername),
        [LABELS.credential]: labelValue(credential),
      },
      annotations: { 'k8smgr.io/stop-requested': stopRequestedAt },
    },
  };
}

export function isStopMarker(obj: KubeObject): boolean {
  return obj.metadata.labels?.[LABELS.role] === 'stop-marker';
}

export function ownerRefTo(anchor: KubeObject): NonNullable<KubeObject['metadata']['ownerReferences']>[number] {
  if (!anchor.metadata.uid) throw new Error('anchor has no uid yet');
  return { apiVersion: 'v1', kind: 'ConfigMap', name: anchor.metadata.name, uid: anchor.metadata.uid, blockOwnerDeletion: false };
}

/** The record an anchor holds, or undefined when it is not one of ours (or damaged). */
export function readRecord(anchor: KubeObject): ServiceRecord | undefined {
  const text = (anchor as { data?: Record<string, string> }).data?.record;
  if (!text) return undefined;
  try {
    const record = JSON.parse(text) as ServiceRecord;
    if (typeof record.servername !== 'string' || typeof record.jhub_credential !== 'string') return undefined;
    // Being deleted: the stop is under way (another replica's, or the GC's).
    return { ...record, stop_pending: Boolean(anchor.metadata.deletionTimestamp) };
  } catch {
    return undefined;
  }
}

/** Objects to delete on stop, from the record (the GC catches anything else). */
export function objectRefs(record: ServiceRecord, namespace: string): Array<{ apiVersion: string; kind: string; metadata: { name: string; namespace: string } }> {
  return (record.objects ?? []).flatMap((ref) => {
    const match = /^(.+)\|(.+)\/(.+)$/.exec(ref);
    if (!match) return [];
    return [{ apiVersion: match[1] as string, kind: match[2] as string, metadata: { name: match[3] as string, namespace } }];
  });
}

export function objectRef(obj: Pick<KubeObject, 'apiVersion' | 'kind' | 'metadata'>): string {
  return `${obj.apiVersion}|${obj.kind}/${obj.metadata.name}`;
}
