/**
 * The labels of a start and owner references: one label set, one pure way to
 * attach the owner. Pure. The object types are kube/objects.ts's.
 */
import { createHash } from 'node:crypto';
import type { KubeObject, OwnerRef } from '../kube/objects.js';
import { k8sName, labelValue } from './names.js';

export type { KubeObject, KubeMetadata, OwnerRef } from '../kube/objects.js';

/** The labels every object of the manager carries (selectors, the admin page and operators read them). */
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

/** The anchor's name: deterministic per (credential, servername), so two starts of one server meet at the apiserver. */
export function anchorName(credential: string, servername: string): string {
  const digest = createHash('sha256').update(`${credential}\0${servername}`).digest('hex').slice(0, 8);
  return k8sName('k8smgr', digest, servername);
}

/** What the labels of a start are made of (the service record's fields). */
export interface StartLabelsInput {
  servername: string;
  start_id: string;
  jhub_credential: string;
  jhub_user_id: string | number;
}

/** Labels on every object of one start (the anchor's name ties them together). */
export function startLabels(instance: string, start: StartLabelsInput): Record<string, string> {
  return {
    [LABELS.managedBy]: MANAGED_BY,
    [LABELS.instance]: labelValue(instance),
    [LABELS.anchor]: anchorName(start.jhub_credential, start.servername),
    [LABELS.servername]: labelValue(start.servername),
    [LABELS.startId]: labelValue(start.start_id),
    [LABELS.credential]: labelValue(start.jhub_credential),
    [LABELS.userId]: labelValue(String(start.jhub_user_id)),
  };
}

/** The owner every created object gets (the start's anchor). */
export interface OwnerInfo {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
}

/** A reference to the owner that never blocks its deletion (the garbage collector removes the rest). */
export function ownerReference(owner: OwnerInfo): OwnerRef {
  return { apiVersion: owner.apiVersion, kind: owner.kind, name: owner.name, uid: owner.uid, blockOwnerDeletion: false };
}

/**
 * The object with `owner` among its owner references, keeping every owner
 * reference the template declared (one to the same uid is replaced). Returns a
 * new object; the input is not changed.
 */
export function attachOwner<T extends KubeObject>(obj: T, owner: OwnerInfo): T {
  const ref = ownerReference(owner);
  const declared = (obj.metadata.ownerReferences ?? []).filter((r) => r.uid !== ref.uid);
  return { ...obj, metadata: { ...obj.metadata, ownerReferences: [...declared, ref] } };
}
