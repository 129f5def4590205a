// One client for the manager's REST API in tests: JSON in, status and JSON out.
// The answer's body is typed by the caller (`api<ServiceRecord>(...)`); without
// a type it is `Json`, a loose view for assertions on fields.

/** A JSON answer read by assertions: any field may be looked at (and is checked by the assertion). */
export type Json = any;

export interface ApiAnswer<T = Json> {
  status: number;
  /** The parsed JSON body; undefined when empty or not JSON. */
  body: T;
  text: string;
  headers: Headers;
  /** Time from sending to the end of the body. */
  ms: number;
}

export interface ApiRequest {
  /** The Authorization header (e.g. `Basic …`). */
  authorization?: string;
  /** Sent as JSON; a string is sent as it is (for malformed bodies). */
  body?: unknown;
  headers?: Record<string, string>;
}

export async function callApi<T = Json>(baseUrl: string, method: string, url: string, req: ApiRequest = {}): Promise<ApiAnswer<T>> {
  const t0 = Date.now();
  const res = await fetch(`${baseUrl}${url}`, {
    method,
    headers: {
      ...(req.authorization !== undefined ? { authorization: req.authorization } : {}),
      ...(req.body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...req.headers,
    },
    ...(req.body !== undefined ? { body: typeof req.body === 'string' ? req.body : JSON.stringify(req.body) } : {}),
  });
  const text = await res.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  return { status: res.status, body: body as T, text, headers: res.headers, ms: Date.now() - t0 };
}
