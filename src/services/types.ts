// The service record (what the original kept in its database, here the anchor
// object's annotations) and the poll answer.
export interface ServiceRecord {
  servername: string;
  start_id: string;
  user_options: Record<string, unknown>;
  jhub_user_id: number;
  jhub_credential: string;
  start_date: string;
  stop_pending: boolean;
  /** Kubernetes objects of this start, `kind/name`. */
  objects?: string[];
  namespace?: string;
  /** Set for starts made through the Outpost API (src/outpost/): the hub's own words for this start. */
  outpost?: OutpostOrigin;
}

/** What a start made through the Outpost API keeps of the request (the outpost room reads it back). */
export interface OutpostOrigin {
  /** The hub's server name (`name` of the body). */
  name: string;
  /** The hub's start_id, exactly as sent (the engine's start_id is a short form of it). */
  start_id: string;
  /** env JUPYTERHUB_USER. */
  user: string;
  /** Started with `execution-type: async`: the address goes to the hub's SetupTunnel API when ready. */
  async: boolean;
  /** `host:port` of the service: the answer to the hub. */
  service: string;
}

// The poll answer is the status room's (a pure function of cached objects).
export type { PollAnswer, PollDetails, ServiceState } from '../status/answer.js';
