// Who this process is. The replica's name (POD_NAME, else HOSTNAME, else the
// host name) is what operators see, but two processes can share it: two
// `k8smgr serve` on one host without POD_NAME, two units of one VM, a pod name
// that a StatefulSet reuses while the old process still runs. So each process
// draws a random id at start (`boot`), and wherever "which process" decides
// something (the Lease's holder, a start's creator, a userjob's forwarder, the
// presence records) the identity is both: `<replica>_<boot>`, as client-go's
// leader election uses `<hostname>_<uuid>`.
import { randomBytes } from 'node:crypto';

export interface ProcessIdentity {
  /** The replica's name: the pod name, or the host's. Shared by every process of that name. */
  replica: string;
  /** Random per process start (8 hex digits): tells two processes of one name apart. Not the OS pid. */
  boot: string;
}

/** A new process's identity: its name and 32 random bits. */
export function newIdentity(replica: string, random: (bytes: number) => Buffer = randomBytes): ProcessIdentity {
  return Object.freeze({ replica, boot: random(4).toString('hex') });
}

/** `<replica>_<boot>`: the Lease's holderIdentity, a start's creator, a userjob's forwarder. */
export function processId(identity: ProcessIdentity): string {
  return `${identity.replica}_${identity.boot}`;
}

/**
 * The identity a process id names, split at its last `_` (a pod name never has
 * one; a host name should not). Undefined for an id without one: a holder or
 * creator written before process ids (just the replica's name), which says
 * nothing about which process it was.
 */
export function parseProcessId(id: string): ProcessIdentity | undefined {
  const at = id.lastIndexOf('_');
  if (at <= 0 || at === id.length - 1) return undefined;
  return { replica: id.slice(0, at), boot: id.slice(at + 1) };
}

/** The replica's name in a process id (the whole text when it is not one: an older holder's name). */
export function replicaOf(id: string): string {
  return parseProcessId(id)?.replica ?? id;
}
