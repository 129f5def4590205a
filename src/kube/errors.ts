// Classifies errors of Kubernetes API calls.
import { KubeApiError } from './rest.js';

/** The HTTP status of a failed call; undefined when there was no answer. */
export function statusOf(err: unknown): number | undefined {
  if (err instanceof KubeApiError || err instanceof KubeError) return err.status;
  return undefined;
}

/** The apiserver's own message (Status.message) when there is one. */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Worth another try: throttled, a server-side hiccup, or no answer at all. */
export function isRetryable(err: unknown): boolean {
  const status = statusOf(err);
  if (status === undefined) return true;
  return status === 429 || status === 500 || status === 502 || status === 503 || status === 504;
}

export class KubeError extends Error {
  constructor(
    readonly action: string,
    readonly status: number | undefined,
    message: string,
  ) {
    super(message);
    this.name = 'KubeError';
  }
}
