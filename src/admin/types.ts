// What the admin page needs from the rest of the manager: narrow interfaces,
// each met by the existing object (ServiceCache, ServiceManager,
// CredentialStore, LogAdmin, UserjobManager) or by a stand-in in tests.
import type { Authenticator, Principal } from '../auth/types.js';
import type { CredentialSummary } from '../auth/store.js';
import type { StoredDoc } from '../auth/backend.js';
import type { Config } from '../config/schema.js';
import type { KubeObject } from '../kube/gateway.js';
import type { AppLogger } from '../logging/logger.js';
import type { ServiceRecord } from '../services/types.js';
import type { UserjobView } from '../userjobs/objects.js';
import type { AdminCache } from './feed.js';
import type { SessionBook } from './session-book.js';
import type { SessionOptions } from './sessions.js';
import type { VerdictView } from './views.js';

export interface AdminServices {
  /** The state from the caches alone (ServiceManager.verdictOf). */
  verdictOf(record: ServiceRecord, anchor: KubeObject): VerdictView;
  /** Stops a service as its hub would (the owner's principal). */
  stop(principal: Principal, servername: string): Promise<void>;
  /** The poll answer the hub gets, with the failed container's log tail (optional: without it, the cache's verdict). */
  poll?(principal: Principal, servername: string): Promise<VerdictView>;
}

export interface AdminCredentials {
  list(): Promise<CredentialSummary[]>;
  createToken(name: string): Promise<string>;
  revokeToken(name: string, tokenId: string): Promise<boolean>;
  /** The watched document: checks that a session is still backed by its credential. */
  snapshot(): StoredDoc;
}

export interface AdminHandlerStatus {
  active: boolean;
  error?: string;
  stats?: Readonly<Record<string, unknown>>;
}

export interface AdminLogs {
  list(): Record<string, unknown>;
  status(): { handlers: Partial<Record<string, AdminHandlerStatus>> };
  patch(type: string, configuration: unknown): Promise<unknown>;
  logtest(): void;
}

export interface AdminUserjobs {
  readonly enabled: boolean;
  list(principal: Principal): UserjobView[];
  status(): {
    systems: Record<string, { up: boolean; pid: number | undefined; restarts: number; last_error: string | null; last_restart?: string | null }>;
    forwards: number;
  };
}

/** One process of the manager, as a `replicas` source reports it. */
export interface ReplicaInfo {
  /** The replica's name (POD_NAME, else the host's): two processes may share it. */
  name: string;
  /** The process's random id, drawn at its start (not the OS pid): tells processes of one name apart. */
  process?: string;
  /** This process. */
  self?: boolean;
  ready?: boolean;
  /** False once its presence record expired (gone; listed until the record is removed). */
  live?: boolean;
  /** ISO time the process was last heard of. */
  lastSeen?: string;
  holdsLease?: boolean;
  address?: string;
  pid?: number;
  started?: string;
}

/**
 * Which processes serve and which holds the Lease: optional. Without one the page
 * shows "single replica" and this process's identity.
 */
export interface ReplicaSource {
  replicas(): ReplicaInfo[] | Promise<ReplicaInfo[]>;
  /** The Lease's holderIdentity, `<replica>_<process>`. */
  leaseHolder?(): string | undefined;
}

export interface ReplicaIdentity {
  name: string;
  /** This process's random id (see ReplicaInfo.process). */
  process?: string;
  pid: number;
  started: string;
  version: string;
  deployment: string;
  namespace: string;
}

export interface AdminDeps {
  logger: AppLogger;
  /** The API's authenticator: same credentials, same failed-login throttling. */
  authenticator: Authenticator;
  credentials: AdminCredentials;
  /** When each credential (`name`) and token (`token:<id>`) last made a request here. */
  lastRequests?: () => ReadonlyMap<string, number>;
  cache: AdminCache;
  services: AdminServices;
  config: () => Config;
  logs?: AdminLogs;
  userjobs?: AdminUserjobs;
  replicas?: ReplicaSource;
  identity: ReplicaIdentity;
  sessions?: SessionOptions;
  /** Where sessions live (serve: a Secret every replica watches); without one, in this process's memory. */
  sessionBook?: SessionBook;
  /** Coalescing window of the live feed (ms). */
  batchMs?: number;
}
