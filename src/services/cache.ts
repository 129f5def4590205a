// Watch caches of what polls need: anchors (the records), the services' pods,
// and pod Events, with indexes so that a poll is a few map lookups.
import type { KubeGateway, KubeObject } from '../kube/gateway.js';
import { Reflector } from '../kube/reflector.js';
import type { EventView, PodView } from '../status/interpret.js';
import { LABELS, instanceSelector, isStopMarker, readRecord, recordKey } from './anchor.js';
import { labelValue } from '../templates/names.js';
import type { ServiceRecord } from './types.js';

type Pod = KubeObject & PodView;
type Event = KubeObject & EventView & { involvedObject?: { name?: string; kind?: string } };

/** Only what status and progress read of a pod: a few hundred bytes instead of several KiB. */
export function projectPod(obj: KubeObject): KubeObject {
  const pod = obj as Pod;
  return {
    apiVersion: pod.apiVersion,
    kind: pod.kind,
    metadata: {
      name: pod.metadata.name,
      uid: pod.metadata.uid,
      labels: pod.metadata.labels,
      creationTimestamp: pod.metadata.creationTimestamp,
      deletionTimestamp: pod.metadata.deletionTimestamp,
      resourceVersion: pod.metadata.resourceVersion,
    },
    spec: { nodeName: pod.spec?.nodeName, containers: (pod.spec?.containers ?? []).map((c) => ({ name: c.name, image: c.image })) },
    status: {
      phase: pod.status?.phase,
      conditions: pod.status?.conditions?.map((c) => ({ type: c.type, status: c.status })),
      containerStatuses: pod.status?.containerStatuses?.map((c) => ({
        name: c.name, ready: c.ready, restartCount: c.restartCount, state: c.state, lastState: c.lastState,
      })),
    },
  };
}

/** Only what the failure details show of an event. */
export function projectEvent(obj: KubeObject): KubeObject {
  const event = obj as Event;
  return {
    apiVersion: event.apiVersion,
    kind: event.kind,
    metadata: { name: event.metadata.name, creationTimestamp: event.metadata.creationTimestamp, resourceVersion: event.metadata.resourceVersion },
    involvedObject: { name: event.involvedObject?.name, kind: event.involvedObject?.kind },
    type: event.type,
    reason: event.reason,
    message: event.message,
    count: event.count,
    lastTimestamp: event.lastTimestamp,
    eventTime: event.eventTime,
    firstTimestamp: event.firstTimestamp,
  };
}

export interface CachedService {
  record: ServiceRecord;
  anchor: KubeObject;
}

/** Index helper: key -> set of object names. */
class Index {
  readonly #map = new Map<string, Set<string>>();
  add(key: string | undefined, name: string): void {
    if (!key) return;
    let set = this.#map.get(key);
    if (!set) this.#map.set(key, (set = new Set()));
    set.add(name);
  }
  remove(key: string | undefined, name: string): void {
    if (!key) return;
    const set = this.#map.get(key);
    set?.delete(name);
    if (set?.size === 0) this.#map.delete(key);
  }
  get(key: string): ReadonlySet<string> {
    return this.#map.get(key) ?? new Set();
  }
}

export class ServiceCache {
  readonly anchors: Reflector<KubeObject>;
  readonly pods: Reflector<Pod>;
  readonly events: Reflector<Event>;
  readonly #byKey = new Map<string, CachedService>();
  readonly #podsByAnchor = new Index();
  readonly #eventsByPod = new Index();
  readonly #listeners = new Set<(anchorName: string) => void>();

  constructor(gateway: KubeGateway, namespace: string, instance: string) {
    const selector = instanceSelector(instance);
    this.anchors = new Reflector<KubeObject>(gateway, {
      name: 'anchors',
      // Stop markers too (see buildStopMarker): the sweeper removes them when they expire.
      apiVersion: 'v1', kind: 'ConfigMap', plural: 'configmaps', namespace, labelSelector: `${selector},${LABELS.role} in (anchor,stop-marker)`,
    }, {
      onUpsert: (obj, previous) => {
        if (previous) this.#dropAnchor(previous);
        const record = readRecord(obj);
        if (record) this.#byKey.set(recordKey(record.jhub_credential, record.servername), { record, anchor: obj });
        this.#changed(obj.metadata.name);
      },
      onDelete: (obj) => {
        this.#dropAnchor(obj);
        this.#changed(obj.metadata.name);
      },
    });
    this.pods = new Reflector<Pod>(gateway, { name: 'pods', apiVersion: 'v1', kind: 'Pod', plural: 'pods', namespace, labelSelector: selector, project: projectPod }, {
      onUpsert: (pod, previous) => {
        if (previous) this.#podsByAnchor.remove(previous.metadata.labels?.[LABELS.anchor], previous.metadata.name);
        const anchor = pod.metadata.labels?.[LABELS.anchor];
        this.#podsByAnchor.add(anchor, pod.metadata.name);
        // Events of this pod that came before it were held: cache them now.
        if (!previous) this.events.release(pod.metadata.name);
        if (anchor) this.#changed(anchor);
      },
      onDelete: (pod) => {
        const anchor = pod.metadata.labels?.[LABELS.anchor];
        this.#podsByAnchor.remove(anchor, pod.metadata.name);
        if (anchor) this.#changed(anchor);
      },
    });
    // Events carry no labels: watch the namespace's pod events, keep those of the services' pods
    // (a namespace shared with other workloads costs nothing; an event that comes before its pod is
    // held, up to 1,000, until the pod comes), and index them by pod name.
    this.events = new Reflector<Event>(gateway, {
      name: 'pod events', apiVersion: 'v1', kind: 'Event', plural: 'events', namespace, fieldSelector: 'involvedObject.kind=Pod', project: projectEvent,
      keep: (event) => this.pods.get(event.involvedObject?.name ?? '') !== undefined,
      hold: { key: (event) => event.involvedObject?.name, max: 1000 },
      waitFor: () => this.pods.waitForSync(),
    }, {
      onUpsert: (event) => {
        const podName = event.involvedObject?.name;
        this.#eventsByPod.add(podName, event.metadata.name);
        const anchor = podName ? this.pods.get(podName)?.metadata.labels?.[LABELS.anchor] : undefined;
        if (anchor) this.#changed(anchor);
      },
      onDelete: (event) => this.#eventsByPod.remove(event.involvedObject?.name, event.metadata.name),
    });
  }

  /** `listener` hears the anchor name of every service whose anchor, pods or pod events changed. */
  subscribe(listener: (anchorName: string) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #changed(anchorName: string): void {
    for (const listener of this.#listeners) listener(anchorName);
  }

  /** The service whose anchor has this name (anchor names are unique per namespace). */
  byAnchor(anchorName: string): CachedService | undefined {
    const anchor = this.anchors.get(anchorName);
    const record = anchor ? readRecord(anchor) : undefined;
    return anchor && record ? { record, anchor } : undefined;
  }

  #dropAnchor(anchor: KubeObject): void {
    const record = readRecord(anchor);
    if (!record) return;
    const key = recordKey(record.jhub_credential, record.servername);
    if (this.#byKey.get(key)?.anchor.metadata.uid === anchor.metadata.uid) this.#byKey.delete(key);
  }

  start(): void {
    for (const r of this.reflectors) r.start();
  }

  stop(): void {
    for (const r of this.reflectors) r.stop();
  }

  get reflectors(): Array<Reflector<KubeObject>> {
    return [this.anchors, this.pods as Reflector<KubeObject>, this.events as Reflector<KubeObject>];
  }

  async waitForSync(): Promise<void> {
    await Promise.all(this.reflectors.map((r) => r.waitForSync()));
  }

  find(credential: string, servername: string): CachedService | undefined {
    return this.#byKey.get(recordKey(credential, servername));
  }

  byCredential(credential: string): CachedService[] {
    return [...this.#byKey.values()].filter((s) => s.record.jhub_credential === credential);
  }

  all(): IterableIterator<CachedService> {
    return this.#byKey.values();
  }

  /**
   * The pods of one start: the anchor's name is shared by every start of a
   * servername, so pods of an earlier start still terminating are left out by
   * their start id.
   */
  podsOf(anchorName: string, startId: string): Pod[] {
    const start = labelValue(startId);
    return [...this.#podsByAnchor.get(anchorName)].flatMap((name) => {
      const pod = this.pods.get(name);
      return pod && pod.metadata.labels?.[LABELS.startId] === start ? [pod] : [];
    });
  }

  /** Stop markers in the namespace (few, short-lived). */
  stopMarkers(): KubeObject[] {
    return [...this.anchors.values()].filter(isStopMarker);
  }

  eventsOf(podName: string): Event[] {
    return [...this.#eventsByPod.get(podName)].flatMap((name) => this.events.get(name) ?? []);
  }
}
