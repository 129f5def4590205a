// Usage pushes to the hub (the JupyterHub Outpost convention): after a start
// or stop whose env has JUPYTERHUB_FLAVORS_UPDATE_URL, POST the credential's
// flavors with their current usage there, with `Authorization: token
// <JUPYTERHUB_API_TOKEN>` of that start. In the background: a push never
// delays a start or stop. Per URL one push at a time; a push asked for while
// one is under way is sent once after it, with the usage of that moment, so
// the last body a hub receives is never older than the last change.
import { setTimeout as sleep } from 'node:timers/promises';
import type { AppLogger } from '../logging/logger.js';

export const FLAVORS_UPDATE_URL_ENV = 'JUPYTERHUB_FLAVORS_UPDATE_URL';
/** The hub token for pushes (with the scope custom:outpostflavors:set), as OutpostSpawner's custom_env sets it. */
export const FLAVORS_UPDATE_TOKEN_ENV = 'JUPYTERHUB_FLAVORS_UPDATE_TOKEN';
export const API_TOKEN_ENV = 'JUPYTERHUB_API_TOKEN';
/** The env values a push needs. */
export const PUSH_ENV_KEYS: readonly string[] = [FLAVORS_UPDATE_URL_ENV, FLAVORS_UPDATE_TOKEN_ENV, API_TOKEN_ENV];

export interface PushTarget {
  url: string;
  token: string;
}

export interface UsagePusherOptions {
  logger: AppLogger;
  timeoutMs?: number;
  /** Attempts per push (the first included). */
  attempts?: number;
  /** Base of the exponential backoff between attempts. */
  backoffMs?: number;
}

/**
 * The push target of a start's env, if it asks for pushes. The token: the env's
 * JUPYTERHUB_FLAVORS_UPDATE_TOKEN, else the site's (`configuredToken`), else the
 * server's own JUPYTERHUB_API_TOKEN.
 */
export function pushTarget(env: Readonly<Record<string, string>> | undefined, configuredToken?: string): PushTarget | undefined {
  const url = env?.[FLAVORS_UPDATE_URL_ENV];
  if (!url) return undefined;
  try {
    const parsed = new URL(url);
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return undefined;
  } catch {
    return undefined;
  }
  return { url, token: env?.[FLAVORS_UPDATE_TOKEN_ENV] || configuredToken || env?.[API_TOKEN_ENV] || '' };
}

/** The URL without query and credentials, for log lines. */
function shown(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '(invalid URL)';
  }
}

interface Slot {
  running: boolean;
  again: { token: string; body: () => unknown } | undefined;
}

export class UsagePusher {
  readonly #opts: Required<UsagePusherOptions>;
  readonly #slots = new Map<string, Slot>();
  readonly #abort = new AbortController();
  readonly #inFlight = new Set<Promise<void>>();

  constructor(opts: UsagePusherOptions) {
    this.#opts = { timeoutMs: 5000, attempts: 4, backoffMs: 500, ...opts };
  }

  /** Queues a push; `body` is computed when the push is sent. Never throws. */
  push(target: PushTarget, body: () => unknown): void {
    if (this.#abort.signal.aborted) return;
    let slot = this.#slots.get(target.url);
    if (!slot) this.#slots.set(target.url, (slot = { running: false, again: undefined }));
    slot.again = { token: target.token, body };
    if (slot.running) return;
    slot.running = true;
    const run = this.#drain(target.url, slot).finally(() => {
      this.#inFlight.delete(run);
    });
    this.#inFlight.add(run);
  }

  /** Resolves when no push is under way (for tests and shutdown). */
  async idle(): Promise<void> {
    while (this.#inFlight.size) await Promise.all([...this.#inFlight]);
  }

  close(): void {
    this.#abort.abort();
  }

  async #drain(url: string, slot: Slot): Promise<void> {
    try {
      while (slot.again && !this.#abort.signal.aborted) {
        const { token, body } = slot.again;
        slot.again = undefined;
        let payload: unknown;
        try {
          payload = body();
        } catch (err) {
          this.#opts.logger.warning({ url: shown(url), err: (err as Error).message }, 'flavor usage push skipped: usage not available');
          continue;
        }
        await this.#send(url, token, JSON.stringify(payload));
      }
    } finally {
      slot.running = false;
      if (!slot.again) this.#slots.delete(url);
    }
  }

  async #send(url: string, token: string, body: string): Promise<void> {
    const { attempts, timeoutMs, backoffMs, logger } = this.#opts;
    let why = '';
    for (let attempt = 1; attempt <= attempts; attempt++) {
      if (this.#abort.signal.aborted) return;
      try {
        const res = await fetch(url, {
          method: 'POST',
          headers: { authorization: `token ${token}`, 'content-type': 'application/json', accept: 'application/json' },
          body,
          signal: AbortSignal.any([AbortSignal.timeout(timeoutMs), this.#abort.signal]),
        });
        await res.arrayBuffer().catch(() => undefined);
        if (res.ok) {
          logger.debug({ url: shown(url), status: res.status }, 'flavor usage pushed');
          return;
        }
        why = `HTTP ${res.status}`;
        // A client error other than throttling will not get better by repeating it.
        if (res.status < 500 && res.status !== 429 && res.status !== 408) break;
      } catch (err) {
        why = (err as Error).name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : (err as Error).message;
      }
      if (attempt < attempts) await sleep(backoffMs * 2 ** (attempt - 1), undefined, { signal: this.#abort.signal }).catch(() => undefined);
    }
    logger.warning({ url: shown(url), err: why }, 'flavor usage push failed');
  }
}
