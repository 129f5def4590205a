// The one vocabulary of Kubernetes objects: every room (templates, services,
// userjobs, flavors, the gateway) speaks of objects in these types. Types only.

/** A reference from an object to its owner (metadata.ownerReferences[]). */
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
  uid?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerRef[];
  resourceVersion?: string;
  deletionTimestamp?: string | Date;
  creationTimestamp?: string | Date;
  [key: string]: unknown;
}

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: KubeMetadata;
  [key: string]: unknown;
}
