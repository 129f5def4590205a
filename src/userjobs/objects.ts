// The userjob's Kubernetes Service (pure builders and readers). The Service is
// the userjob's record: its annotation holds what was asked for and which local
// ports carry the forwards, so a restarted manager (or another replica) can
// forward again from the cluster alone.
import { k8sName } from '../templates/names.js';
import type { KubeObject } from '../kube/gateway.js';
import { LABELS, ownerRefTo, startLabels } from '../services/anchor.js';
import type { ServiceRecord } from '../services/types.js';

export const USERJOB_ROLE = 'userjob';
export const RECORD_ANNOTATION = 'k8smgr.io/userjob';
/** Set by the replica that holds the forwards of this record ('' until one does): how other replicas know it runs. */
export const FORWARDED_ANNOTATION = 'k8smgr.io/userjob-forwarded-by';
/** ssh's words when the forwarding replica could not forward this record ('' when fine). */
export const ERROR_ANNOTATION = 'k8smgr.io/userjob-error';

export interface Forward {
  servicePort: number;
  nodePort: number;
  localPort: number;
}

export interface UserjobRecord {
  service: string;
  hostname: string;
  target_node: string;
  jobid: string | null;
  jhub_credential: string;
  forwards: Forward[];
  created: string;
}

const DNS1035_RE = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

/**
 * The Service's name: the servername itself when it is a valid Service name
 * (DNS-1035: starts with a letter, at most 63), else `userjob-<servername>`
 * shortened with a hash. The user's pods reach it as `<name>` in their namespace.
 */
export function userjobServiceName(servername: string): string {
  if (servername.length <= 63 && DNS1035_RE.test(servername)) return servername;
  return k8sName('userjob', servername);
}

export function userjobKey(credential: string, service: string): string {
  return `${credential}\0${service}`;
}

export function buildUserjobService(opts: {
  instance: string;
  namespace: string;
  deploymentName: string;
  owner: { record: ServiceRecord; anchor: KubeObject };
  userjob: UserjobRecord;
  /** Pods the Service routes to; default `{name: deploymentName}` (every replica forwards). */
  selector?: Record<string, string>;
  /** With a leader: the replica whose forwards these are ('' when not yet forwarded). */
  forwardedBy?: string;
}): KubeObject {
  const { owner, userjob } = opts;
  if (!owner.anchor.metadata.uid) throw new Error('anchor has no uid yet');
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: userjobServiceName(userjob.service),
      namespace: opts.namespace,
      labels: { ...startLabels(opts.instance, owner.record), [LABELS.role]: USERJOB_ROLE },
      annotations: {
        [RECORD_ANNOTATION]: JSON.stringify(userjob),
        ...(opts.forwardedBy !== undefined ? { [FORWARDED_ANNOTATION]: opts.forwardedBy, [ERROR_ANNOTATION]: '' } : {}),
      },
      ownerReferences: [ownerRefTo(owner.anchor)],
    },
    spec: {
      type: 'ClusterIP',
      selector: opts.selector ?? { name: opts.deploymentName },
      ports: userjob.forwards.map((f) => ({ name: `port-${f.servicePort}`, protocol: 'TCP', port: f.servicePort, targetPort: f.localPort })),
    },
  };
}

/** The record a userjob Service holds, or undefined when it is damaged or not one. */
export function readUserjob(svc: KubeObject): UserjobRecord | undefined {
  const text = svc.metadata.annotations?.[RECORD_ANNOTATION];
  if (!text || svc.metadata.labels?.[LABELS.role] !== USERJOB_ROLE) return undefined;
  try {
    const r = JSON.parse(text) as UserjobRecord;
    const portOk = (n: unknown) => Number.isInteger(n) && (n as number) >= 1 && (n as number) <= 65535;
    if (typeof r.service !== 'string' || typeof r.hostname !== 'string' || typeof r.target_node !== 'string' || typeof r.jhub_credential !== 'string') return undefined;
    if (!Array.isArray(r.forwards) || !r.forwards.every((f) => portOk(f.servicePort) && portOk(f.nodePort) && portOk(f.localPort))) return undefined;
    return r;
  } catch {
    return undefined;
  }
}

/** uid of the anchor that owns a Service (undefined when none). */
export function ownerUid(svc: KubeObject): string | undefined {
  return svc.metadata.ownerReferences?.find((o) => o.kind === 'ConfigMap')?.uid;
}

export type UserjobState = 'running' | 'connecting' | 'error';

/** What the API answers for a userjob. */
export interface UserjobView {
  service: string;
  hostname: string;
  target_node: string;
  ports: Record<string, string>;
  jobid: string | null;
  /** The Kubernetes Service the user's pods connect to (`<kubernetes_service>:<port in service>`). */
  kubernetes_service: string;
  namespace: string;
  local_ports: Record<string, number>;
  created: string;
  running: boolean;
  state: UserjobState;
  details: { error: string; detailed_error: string };
}

export function viewOf(record: UserjobRecord, namespace: string, state: UserjobState, detailedError = ''): UserjobView {
  return {
    service: record.service,
    hostname: record.hostname,
    target_node: record.target_node,
    ports: Object.fromEntries(record.forwards.map((f) => [String(f.servicePort), String(f.nodePort)])),
    jobid: record.jobid,
    kubernetes_service: userjobServiceName(record.service),
    namespace,
    local_ports: Object.fromEntries(record.forwards.map((f) => [String(f.servicePort), f.localPort])),
    created: record.created,
    running: state === 'running',
    state,
    details: state === 'error'
      ? { error: `Could not create connection to tunnel_${record.hostname}`, detailed_error: detailedError }
      : { error: '', detailed_error: '' },
  };
}
