// Kubernetes objects of flavors, built and changed by pure functions: the
// reservation book (one ConfigMap per credential), the resources a flavor puts
// on the main container, the template keywords and the anchor annotations.
import { k8sName, labelValue } from '../templates/names.js';
import { LABELS, MANAGED_BY } from '../templates/objects.js';
import type { EffectiveFlavor } from './resolve.js';
import type { Resources } from './settings.js';

/** The book's labels: the one label set's (templates/objects.ts). */
export const BOOK_LABELS = {
  managedBy: LABELS.managedBy,
  instance: LABELS.instance,
  role: LABELS.role,
  credential: LABELS.credential,
} as const;
export const BOOK_ROLE = 'flavors';

export const ANNOTATIONS = {
  flavor: 'k8smgr.io/flavor',
  stopAt: 'k8smgr.io/stop-at',
  stopReason: 'k8smgr.io/stop-reason',
} as const;

export interface BookObject {
  apiVersion: 'v1';
  kind: 'ConfigMap';
  metadata: {
    name: string;
    namespace: string;
    labels: Record<string, string>;
    annotations: Record<string, string>;
    resourceVersion?: string;
    [key: string]: unknown;
  };
  data?: Record<string, string>;
}

/** Deterministic per manager instance and credential, so every replica meets at the same object. */
export function bookName(instance: string, credential: string): string {
  return k8sName(instance, 'flavors', credential);
}

export function bookSelector(instance: string): string {
  return `${BOOK_LABELS.managedBy}=${MANAGED_BY},${BOOK_LABELS.instance}=${labelValue(instance)},${BOOK_LABELS.role}=${BOOK_ROLE}`;
}

export function buildBook(instance: string, namespace: string, credential: string, data: Record<string, string>): BookObject {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: bookName(instance, credential),
      namespace,
      labels: {
        [BOOK_LABELS.managedBy]: MANAGED_BY,
        [BOOK_LABELS.instance]: labelValue(instance),
        [BOOK_LABELS.role]: BOOK_ROLE,
        [BOOK_LABELS.credential]: labelValue(credential),
      },
      // The label value may be shortened; the annotation keeps the credential as it is.
      annotations: { 'k8smgr.io/credential': credential },
    },
    data,
  };
}

/** The credential a book belongs to. */
export function bookCredential(obj: { metadata: { annotations?: Record<string, string> } }): string | undefined {
  return obj.metadata.annotations?.['k8smgr.io/credential'];
}

interface Container {
  name?: string;
  resources?: { requests?: Record<string, unknown>; limits?: Record<string, unknown> };
  [key: string]: unknown;
}

const POD_TEMPLATE_KINDS = new Set(['Deployment', 'StatefulSet', 'ReplicaSet', 'DaemonSet', 'Job']);

function containersOf(obj: Record<string, unknown>): Container[] | undefined {
  const kind = obj.kind;
  const spec = obj.spec as Record<string, unknown> | undefined;
  if (kind === 'Pod') return (spec?.containers as Container[] | undefined) ?? undefined;
  if (typeof kind === 'string' && POD_TEMPLATE_KINDS.has(kind)) {
    const podSpec = (spec?.template as { spec?: { containers?: Container[] } } | undefined)?.spec;
    return podSpec?.containers;
  }
  return undefined;
}

const quantity = (v: string | number): string => (typeof v === 'number' ? String(v) : v);

/**
 * Sets the flavor's requests and limits on container `container` of the main
 * Deployment `deployment` (flavor values win per resource; others are kept).
 * Returns how many containers it changed: 0 when the objects have no such
 * container (the caller decides whether that is an error).
 */
export function applyResources(objects: Array<Record<string, unknown>>, target: { deployment: string; container: string }, resources: Resources | undefined): number {
  if (!resources || (!resources.requests && !resources.limits)) return 0;
  let changed = 0;
  for (const obj of objects) {
    if (obj.kind !== 'Deployment' || (obj.metadata as { name?: string } | undefined)?.name !== target.deployment) continue;
    for (const c of containersOf(obj) ?? []) {
      if (c.name !== target.container) continue;
      const current = c.resources ?? {};
      const next: NonNullable<Container['resources']> = { ...current };
      for (const list of ['requests', 'limits'] as const) {
        const values = resources[list];
        if (!values) continue;
        next[list] = { ...current[list], ...Object.fromEntries(Object.entries(values).map(([k, v]) => [k, quantity(v)])) };
      }
      c.resources = next;
      changed++;
    }
  }
  return changed;
}

/**
 * Template keywords of a flavor: `flavor` always; `flavor_cpu_limit`,
 * `flavor_memory_limit`, `flavor_cpu_request`, `flavor_memory_request` when the
 * flavor sets them (a template that uses one the flavor lacks keeps the text,
 * which Kubernetes then refuses: better than an empty value).
 */
export function flavorKeywords(flavor: Pick<EffectiveFlavor, 'name' | 'resources' | 'runtimeSeconds'>): Record<string, string> {
  const out: Record<string, string> = { flavor: flavor.name };
  const pairs = [
    ['flavor_cpu_limit', flavor.resources?.limits?.cpu],
    ['flavor_memory_limit', flavor.resources?.limits?.memory],
    ['flavor_cpu_request', flavor.resources?.requests?.cpu],
    ['flavor_memory_request', flavor.resources?.requests?.memory],
  ] as const;
  for (const [key, value] of pairs) if (value !== undefined) out[key] = quantity(value);
  out.flavor_runtime_seconds = String(flavor.runtimeSeconds);
  return out;
}

/** Annotations for the anchor: the flavor, and the runtime deadline with the reason shown when it is reached. */
export function anchorAnnotations(flavor: Pick<EffectiveFlavor, 'name'>, deadline: { stopAt: string; reason: string } | undefined): Record<string, string> {
  return {
    [ANNOTATIONS.flavor]: flavor.name,
    ...(deadline ? { [ANNOTATIONS.stopAt]: deadline.stopAt, [ANNOTATIONS.stopReason]: deadline.reason } : {}),
  };
}
