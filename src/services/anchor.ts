// The anchor: one ConfigMap per started service whose data is the service
// record and which owns every other object of that start (ownerReferences), so
// deleting it lets the garbage collector remove the rest even if the manager
// dies in between. Pure builders and readers; no I/O.
import { labelValue } from '../templates/names.js';
import { anchorName, LABELS, MANAGED_BY, ownerReference, startLabels, type KubeObject, type OwnerRef } from '../templates/objects.js';
import type { ServiceRecord } from './types.js';

// The one label set and the anchor's name are the templates room's (pure); re-exported for the services' callers.
export { anchorName, LABELS, MANAGED_BY, startLabels } from '../templates/objects.js';

export function recordKey(credential: string, servername: string): string {
  return `${credential}\0${servername}`;
}

export function instanceSelector(instance: string): string {
  return `${LABELS.managedBy}=${MANAGED_BY},${LABELS.instance}=${labelValue(instance)}`;
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

/** The owner reference to an anchor that exists (has a uid); attach it with templates' attachOwner. */
export function ownerRefTo(anchor: KubeObject): OwnerRef {
  if (!anchor.metadata.uid) throw new Error('anchor has no uid yet');
  return ownerReference({ apiVersion: 'v1', kind: 'ConfigMap', name: anchor.metadata.name, uid: anchor.metadata.uid });
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
