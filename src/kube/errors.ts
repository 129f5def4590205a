// Classifies errors of Kubernetes API calls.
import { ApiException } from '@kubernetes/client-node';

export function statusOf(err: unknown): number | undefined {
  if (err instanceof ApiException) return err.code;
  const code = (err as { code?: unknown; statusCode?: unknown })?.statusCode ?? (err as { code?: unknown })?.code;
  return typeof code === 'number' ? code : undefined;
}

/** The apiserver's own message (Status.message) when there is one. */
export function messageOf(err: unknown): string {
  if (err instanceof ApiException) {
    const body = err.body as unknown;
    const parsed = typeof body === 'string' ? safeJson(body) : body;
    const message = (parsed as { message?: unknown } | undefined)?.message;
    if (typeof message === 'string') return message;
    return `HTTP ${err.code}`;
  }
  return err instanceof Error ? err.message : String(err);
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return { message: text.slice(0, 500) };
  }
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
