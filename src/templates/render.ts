/**
 * Rendered template text → Kubernetes objects. Pure.
 * Namespace, labels and owner references are set on the PARSED objects, never in text.
 */
import { parseAllDocuments } from 'yaml';
import { TemplateError } from './errors.js';
import { labelValue } from './names.js';
import { attachOwner, type KubeObject, type OwnerInfo } from './objects.js';

export { anchorName, attachOwner, LABELS, MANAGED_BY, ownerReference, startLabels } from './objects.js';
export type { KubeObject, KubeMetadata, OwnerInfo, OwnerRef, StartLabelsInput } from './objects.js';

/** Kinds that are not namespaced (or that could reach outside the namespace): refused. */
export const FORBIDDEN_KINDS: ReadonlySet<string> = new Set([
  'Namespace', 'Node', 'PersistentVolume', 'StorageClass', 'CustomResourceDefinition',
  'ClusterRole', 'ClusterRoleBinding', 'PriorityClass', 'RuntimeClass', 'IngressClass',
  'MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration',
  'ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding', 'APIService',
  'CSIDriver', 'CSINode', 'VolumeAttachment', 'CertificateSigningRequest',
  'ComponentStatus', 'FlowSchema', 'PriorityLevelConfiguration', 'PodSecurityPolicy',
  'TokenReview', 'SubjectAccessReview', 'SelfSubjectAccessReview', 'SelfSubjectRulesReview',
  'ClusterIssuer', 'VolumeSnapshotClass', 'ClusterTrustBundle',
]);

export interface RenderContext {
  /** the service namespace (env DEPLOYMENT_NAMESPACE) */
  namespace: string;
  /** merged over the template's labels (these win); values made valid with labelValue */
  labels?: Readonly<Record<string, string>> | undefined;
  /** owner reference added to every object (blockOwnerDeletion false), as attachOwner does */
  owner?: OwnerInfo | undefined;
  /** also label pod templates of workloads (default true) */
  podTemplateLabels?: boolean | undefined;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function nonEmptyString(v: unknown): v is string {
  return typeof v === 'string' && v !== '';
}

function mergeLabels(target: Record<string, unknown>, labels: Readonly<Record<string, string>>, where: string): void {
  const existing = target.labels;
  if (existing !== undefined && existing !== null && !isPlainObject(existing)) {
    throw new TemplateError('bad_object', `${where}: labels must be a mapping`);
  }
  const merged: Record<string, string> = {};
  for (const [k, v] of Object.entries(existing ?? {})) merged[k] = typeof v === 'string' ? v : String(v);
  for (const [k, v] of Object.entries(labels)) merged[k] = labelValue(v);
  target.labels = merged;
}

/** `spec.template.metadata` of workloads, `spec.jobTemplate.spec.template.metadata` of CronJobs. */
function podTemplateMetadata(obj: KubeObject): Record<string, unknown> | undefined {
  const spec = obj.spec;
  if (!isPlainObject(spec)) return undefined;
  let template: unknown = spec.template;
  if (obj.kind === 'CronJob') {
    const jt = spec.jobTemplate;
    template = isPlainObject(jt) && isPlainObject(jt.spec) ? jt.spec.template : undefined;
  }
  if (!isPlainObject(template)) return undefined;
  if (template.metadata === undefined || template.metadata === null) template.metadata = {};
  return isPlainObject(template.metadata) ? template.metadata : undefined;
}

/** Checks one parsed document and applies namespace, labels and owner reference. */
export function finalizeObject(data: unknown, index: number, ctx: RenderContext): KubeObject {
  const where = `document ${index + 1}`;
  if (!isPlainObject(data)) throw new TemplateError('bad_object', `${where}: not a mapping`);
  if (!nonEmptyString(data.apiVersion)) throw new TemplateError('bad_object', `${where}: missing apiVersion`);
  if (!nonEmptyString(data.kind)) throw new TemplateError('bad_object', `${where}: missing kind`);
  const metadata = data.metadata;
  if (!isPlainObject(metadata) || !nonEmptyString(metadata.name)) {
    throw new TemplateError('bad_object', `${where}: missing metadata.name`);
  }
  const label = `${where} (${data.kind} ${metadata.name})`;
  if (FORBIDDEN_KINDS.has(data.kind) || data.kind.endsWith('List')) {
    throw new TemplateError('bad_object', `${label}: kind ${data.kind} is not allowed (cluster-scoped or a list)`);
  }
  const ns = metadata.namespace;
  if (ns !== undefined && ns !== null && ns !== ctx.namespace) {
    throw new TemplateError('bad_object', `${label}: namespace ${String(ns)} is not the service namespace`);
  }
  metadata.namespace = ctx.namespace;
  const obj = data as KubeObject;
  if (ctx.labels !== undefined) {
    mergeLabels(metadata, ctx.labels, label);
    if (ctx.podTemplateLabels !== false) {
      const podMeta = podTemplateMetadata(obj);
      if (podMeta !== undefined) mergeLabels(podMeta, ctx.labels, `${label} pod template`);
    }
  }
  if (ctx.owner !== undefined) {
    const refs = metadata.ownerReferences;
    if (refs !== undefined && refs !== null && !Array.isArray(refs)) {
      throw new TemplateError('bad_object', `${label}: ownerReferences must be a list`);
    }
    if (Array.isArray(refs) && !refs.every(isPlainObject)) throw new TemplateError('bad_object', `${label}: ownerReferences must be mappings`);
    return attachOwner(obj, ctx.owner);
  }
  return obj;
}

/**
 * Parses the rendered multi-document YAML and finalizes every object.
 * TemplateError('parse') with the line for YAML errors, ('bad_object') for objects that
 * are malformed or not allowed. Empty documents are skipped.
 */
export function renderManifests(text: string, ctx: RenderContext): KubeObject[] {
  const parsed = parseAllDocuments(text, { uniqueKeys: true, prettyErrors: true });
  const docs = Array.isArray(parsed) ? parsed : [];
  const out: KubeObject[] = [];
  docs.forEach((doc, i) => {
    const err = doc.errors[0];
    if (err !== undefined) {
      throw new TemplateError('parse', `YAML error in document ${i + 1}: ${err.message}`);
    }
    let data: unknown;
    try {
      data = doc.toJS({ maxAliasCount: 100 });
    } catch (e) {
      throw new TemplateError('parse', `YAML error in document ${i + 1}: ${(e as Error).message}`);
    }
    if (data === null || data === undefined) return;
    out.push(finalizeObject(data, i, ctx));
  });
  return out;
}

export { buildEnvSecret, buildCertsSecret, CERTS_KEYS, DEFAULT_ENV_SKIP } from './secrets.js';
export type { EnvSecretInput, CertsSecretInput, CertsInput } from './secrets.js';
