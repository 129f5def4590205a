// Who an Outpost start is to the engine. An Outpost keys a service by (hub
// credential, `name`, `start_id`): `name` is the hub's server name, so two
// users may both have a `lab`, and `start_id` (a uuid4 hex from the spawner)
// tells them apart. The engine keys a start by (credential, servername) and
// gives it a short start id; both become parts of Kubernetes names (`<id>` =
// `<servername>-<start id>`). So an Outpost start gets
//   servername = <name, Kubernetes-safe>-<first 8 hex of the start_id>
//   start id   = <next 8 hex>
// which is unique per start (64 random bits), readable (`lab-26b9ccf4-ad224d15`
// for start_id 26b9ccf4ad224d15...), and computable from a poll's or a stop's
// URL alone: poll and stop find the start with one cache lookup, and a stop
// that comes before its start meets it at the apiserver (same anchor name), as
// on the seed API. The full start_id is kept on the record and compared. Pure.
import { createHash } from 'node:crypto';
import { K8S_NAME_MAX, SERVERNAME_RE } from '../templates/index.js';

/** Characters of the start key in the servername, and in the engine's start id. */
const KEY_PART = 8;

export interface EngineIdentity {
  servername: string;
  startId: string;
}

function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** 32+ hex characters (the spawner's uuid4().hex): used as they are; anything else by its hash. */
function startKey(startId: string): string {
  return /^[0-9a-f]{16,}$/.test(startId) ? startId : sha256Hex(startId);
}

/**
 * The hub's server name as a Kubernetes-safe part of at most `max` characters:
 * itself when it already is one (JupyterHub 6 server names are), else a
 * sanitized prefix with a hash of the whole name, so that different names stay
 * different.
 */
export function safeNamePart(name: string, max: number): string {
  if (name.length <= max && SERVERNAME_RE.test(name)) return name;
  const hash = sha256Hex(name).slice(0, 8);
  const room = Math.max(0, max - hash.length - 1);
  const prefix = name.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+/, '').slice(0, room).replace(/-+$/, '');
  return prefix ? `${prefix}-${hash}` : hash;
}

/**
 * The engine's servername and start id of an Outpost start, short enough that
 * `<prefix><servername>-<start id>` is a valid Kubernetes name.
 */
export function engineIdentity(name: string, startId: string, deploymentPrefix: string): EngineIdentity {
  const key = startKey(startId);
  const nameMax = K8S_NAME_MAX - deploymentPrefix.length - 1 - KEY_PART - 1 - KEY_PART;
  return {
    servername: `${safeNamePart(name, nameMax)}-${key.slice(0, KEY_PART)}`,
    startId: key.slice(KEY_PART, 2 * KEY_PART),
  };
}
