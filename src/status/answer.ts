// The poll answer: what a hub is told about one service (status/interpret.ts makes it).
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
