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

export interface PollDetails {
  error: string;
  detailed_error: string;
}

export interface PollAnswer {
  running: boolean;
  details: PollDetails;
  /** starting | running | failed | stopping: finer than `running`, for humans and metrics. */
  state: ServiceState;
}

export type ServiceState = 'starting' | 'running' | 'failed' | 'stopping';
