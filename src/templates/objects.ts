/**
 * Kubernetes object types, owner references and the labels of a start. Pure.
 */
import { labelValue } from './names.js';

export interface OwnerRef {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface KubeMetadata {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerRef[];
  [k: string]: unknown;
}

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: KubeMetadata;
  [k: string]: unknown;
}

/** The anchor object every created object is owned by. */
export interface OwnerInfo {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
}

export function ownerReference(owner: OwnerInfo): OwnerRef {
  return {
    apiVersion: owner.apiVersion,
    kind: owner.kind,
    name: owner.name,
    uid: owner.uid,
    controller: false,
    blockOwnerDeletion: false,
  };
}

export const LABEL_KEYS = {
  managedBy: 'app.kubernetes.io/managed-by',
  servername: 'k8smgr/servername',
  startId: 'k8smgr/start-id',
  credential: 'k8smgr/credential',
  userId: 'k8smgr/user-id',
} as const;

export interface ServiceLabelsInput {
  /** env DEPLOYMENT_NAME or 'k8smgr' */
  managedBy: string;
  servername: string;
  startId: string;
  credential: string;
  userId: string | number;
}

/** The labels every object of a start carries (values made valid with labelValue). */
export function serviceLabels(input: ServiceLabelsInput): Record<string, string> {
  return {
    [LABEL_KEYS.managedBy]: labelValue(input.managedBy),
    [LABEL_KEYS.servername]: labelValue(input.servername),
    [LABEL_KEYS.startId]: labelValue(input.startId),
    [LABEL_KEYS.credential]: labelValue(input.credential),
    [LABEL_KEYS.userId]: labelValue(String(input.userId)),
  };
}
