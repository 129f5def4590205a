// The HTTP transport to the apiserver. client-node's KubeConfig supplies, per
// request, the server, TLS material and credentials (kubeconfig files, exec
// plugins, in-cluster token files that rotate); the requests themselves are
// plain node:http(s) with JSON in and out, and watches are read line by line.
// Why not client-node's generated API classes: docs/architecture.md
// ("Kubernetes access").
import http from 'node:http';
import https from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';

/** A failed API call: the HTTP status (undefined: no answer) and the apiserver's Status reason and message. */
export class KubeApiError extends Error {
  constructor(
    readonly status: number | undefined,
    readonly reason: string,
    message: string,
  ) {
    super(message);
    this.name = 'KubeApiError';
  }
}

export type Query = Record<string, string | number | boolean | undefined>;

export interface RequestOptions {
  query?: Query;
  body?: unknown;
  contentType?: string;
  /** Expect text (a pod log) rather than JSON. */
  text?: boolean;
  signal?: AbortSignal;
}

export interface WatchEvent {
  type: string;
  object: Record<string, unknown>;
}

export interface WatchOptions {
  signal: AbortSignal;
  /** Called once the apiserver has answered 200 (the watch is established). */
  onOpen?: () => void;
  onEvent: (event: WatchEvent) => void;
}

type TlsKey = Pick<https.RequestOptions, 'ca' | 'cert' | 'key' | 'pfx' | 'passphrase' | 'rejectUnauthorized' | 'servername'>;

export class KubeRest {
  readonly #kc: KubeConfig;
  /** Keep-alive agent, reused while the TLS material stays the same (see #agent). */
  #agent: { key: string; agent: http.Agent } | undefined;

  constructor(kc: KubeConfig) {
    this.#kc = kc;
  }

  /** One request; resolves with the parsed JSON (or text), rejects with a KubeApiError. */
  async request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const res = await this.#send(method, path, opts);
    const text = await readBody(res).catch((err: unknown) => {
      throw opts.signal?.aborted ? abortError(opts.signal, method, path) : err;
    });
    const status = res.statusCode ?? 0;
    if (status < 200 || status > 299) throw errorOf(status, text);
    if (opts.text) return text as T;
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new KubeApiError(status, 'BadResponse', `${method} ${path}: the apiserver's answer is not JSON`);
    }
  }

  /**
   * A watch: resolves when the apiserver ends the stream (its timeout), rejects
   * on a non-200 answer, a broken stream or an abort by `signal`.
   */
  async watch(path: string, query: Query, opts: WatchOptions): Promise<void> {
    const res = await this.#send('GET', path, { query: { ...query, watch: true }, signal: opts.signal });
    const status = res.statusCode ?? 0;
    if (status !== 200) throw errorOf(status, await readBody(res));
    opts.onOpen?.();
    await new Promise<void>((resolve, reject) => {
      let rest = '';
      let failed = false;
      const fail = (err: unknown) => {
        if (failed) return;
        failed = true;
        res.destroy();
        reject(err instanceof Error ? err : new Error(String(err)));
      };
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        rest += chunk;
        let nl: number;
        while ((nl = rest.indexOf('\n')) >= 0) {
          const line = rest.slice(0, nl).trim();
          rest = rest.slice(nl + 1);
          if (!line) continue;
          let event: WatchEvent;
          try {
            event = JSON.parse(line) as WatchEvent;
          } catch {
            fail(new KubeApiError(200, 'BadResponse', `watch ${path}: a line of the stream is not JSON`));
            return;
          }
          try {
            opts.onEvent(event);
          } catch (err) {
            fail(err);
            return;
          }
        }
      });
      let ended = false;
      res.on('end', () => {
        ended = true;
        if (!failed) resolve();
      });
      res.on('error', fail);
      res.on('aborted', () => fail(new Error(`watch ${path}: connection aborted`)));
      // Closed without an end (a reset connection): a broken stream, not a routine end.
      res.on('close', () => {
        if (!ended) fail(new Error(`watch ${path}: connection closed before the stream ended`));
      });
    });
  }

  async #send(method: string, path: string, opts: RequestOptions): Promise<http.IncomingMessage> {
    const cluster = this.#kc.getCurrentCluster();
    if (!cluster) throw new KubeApiError(undefined, 'NoCluster', 'no Kubernetes cluster configured');
    const url = new URL(cluster.server.replace(/\/+$/, '') + path);
    for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const options: https.RequestOptions = {};
    // Credentials and TLS per request: a token file or exec plugin may have rotated them.
    await this.#kc.applyToHTTPSOptions(options);
    const headers: http.OutgoingHttpHeaders = { ...(options.headers as http.OutgoingHttpHeaders | undefined), accept: opts.text ? '*/*' : 'application/json' };
    let payload: string | undefined;
    if (opts.body !== undefined) {
      payload = typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
      headers['content-type'] = opts.contentType ?? 'application/json';
      headers['content-length'] = Buffer.byteLength(payload);
    }
    const agent = cluster.proxyUrl ? options.agent : this.#agentFor(url.protocol, options);
    const lib = url.protocol === 'http:' ? http : https;
    return new Promise<http.IncomingMessage>((resolve, reject) => {
      const req = lib.request(url, { ...options, agent, method, headers, ...(opts.signal ? { signal: opts.signal } : {}) }, resolve);
      req.on('error', (err) => reject(opts.signal?.aborted ? abortError(opts.signal, method, path) : new KubeApiError(undefined, 'NoAnswer', `${method} ${path}: ${err.message}`)));
      req.end(payload);
    });
  }

  /**
   * client-node makes a new agent (a new TLS connection) for every request;
   * one keep-alive agent serves as long as the CA and client certificate are
   * the same (an exec plugin's new certificate gets a new agent).
   */
  #agentFor(protocol: string, options: https.RequestOptions): http.Agent {
    const tls: TlsKey = { ca: options.ca, cert: options.cert, key: options.key, pfx: options.pfx, passphrase: options.passphrase, rejectUnauthorized: options.rejectUnauthorized, servername: options.servername };
    const key = `${protocol}|${JSON.stringify(tls, (_k, v: unknown) => (Buffer.isBuffer(v) ? v.toString('base64') : v))}`;
    if (this.#agent?.key !== key) {
      const agentOptions = { keepAlive: true, maxFreeSockets: 8, scheduling: 'lifo' as const };
      this.#agent = { key, agent: protocol === 'http:' ? new http.Agent(agentOptions) : new https.Agent({ ...agentOptions, ...tls }) };
    }
    return this.#agent.agent;
  }
}

function abortError(signal: AbortSignal, method: string, path: string): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error && reason.name === 'TimeoutError') return new KubeApiError(undefined, 'Timeout', `${method} ${path}: no answer from the Kubernetes API in time`);
  return reason instanceof Error ? reason : new Error(`${method} ${path}: aborted`);
}

/**
 * The body as a string, decoded chunk by chunk into V8's heap (which the GC
 * compacts) rather than collected as Buffers (malloc'd outside it): a list
 * page of 500 pods is ~2 MB, and malloc'd memory of that size stays in the
 * process (RSS) long after it was freed.
 */
function readBody(res: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = '';
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => (body += chunk));
    res.on('end', () => resolve(body));
    res.on('error', reject);
    res.on('aborted', () => reject(new KubeApiError(res.statusCode, 'NoAnswer', 'connection aborted while reading the answer')));
  });
}

/** The apiserver's Status (reason, message) when the body is one. */
function errorOf(status: number, text: string): KubeApiError {
  let reason = `HTTP${status}`;
  let message = text.slice(0, 500) || `HTTP ${status}`;
  try {
    const body = JSON.parse(text) as { reason?: unknown; message?: unknown };
    if (typeof body.reason === 'string') reason = body.reason;
    if (typeof body.message === 'string') message = body.message;
  } catch {
    // not a Status: keep the text
  }
  return new KubeApiError(status, reason, message);
}
