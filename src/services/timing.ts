// Time from a start request to its service first being running, measured from
// watch events (no timer): for the k8smgr_service_time_to_running_seconds metric.
import type { KubeObject } from '../kube/gateway.js';
import type { ServiceCache } from './cache.js';
import type { ServiceRecord, ServiceState } from './types.js';

export function observeTimeToRunning(
  cache: ServiceCache,
  stateOf: (record: ServiceRecord, anchor: KubeObject) => ServiceState,
  observe: (seconds: number) => void,
): () => void {
  /** Anchor uids already counted (or first seen running after a restart, so not counted). */
  const done = new Set<string>();
  const startedAt = Date.now();
  return cache.subscribe((anchorName) => {
    const service = cache.byAnchor(anchorName);
    const uid = service?.anchor.metadata.uid;
    if (!service || !uid) {
      // The anchor is gone: forget it (uids are never reused).
      for (const known of done) if (!cache.anchors.get(anchorName)) done.delete(known);
      return;
    }
    if (done.has(uid) || stateOf(service.record, service.anchor) !== 'running') return;
    done.add(uid);
    const began = Date.parse(service.record.start_date);
    // Services started before this process: their start was not seen, so not measured.
    if (began >= startedAt - 1000) observe(Math.max(0, (Date.now() - began) / 1000));
  });
}
