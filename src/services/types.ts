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
}

// The poll answer is the status room's (a pure function of cached objects).
export type { PollAnswer, PollDetails, ServiceState } from '../status/answer.js';
