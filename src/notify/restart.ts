// Restart notifications: after a start-up, each hub of `tunnel[]` is told that
// this manager restarted (POST {"hostname"} to its restart_url), so it re-creates
// what it had forwarded here. Retried with backoff until it succeeds or the
// entry's deadline passes; runs in the background and never blocks serving.
import http from 'node:http';
import https from 'node:https';
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Config } from '../config/schema.js';
import type { AppLogger } from '../logging/logger.js';

export type TunnelEntry = Config['tunnel'][number];

export interface NotifyOptions {
  stage: string;
  lookup: (name: string) => string | undefined;
  logger: AppLogger;
  /** Stops retries (shutdown). */
  signal?: AbortSignal;
  /** First backoff; doubles up to maxBackoffMs. */
  backoffMs?: number;
  maxBackoffMs?: number;
}

export interface NotifyOutcome {
  hostname: string;
  url: string;
  ok: boolean;
  attempts: number;
  status?: number;
  error?: string;
}

export function restartUrl(entry: TunnelEntry, stage: string): string {
  return entry.restart_url_stage[stage] || entry.restart_url;
}

/** One POST; resolves with the HTTP status, rejects on network errors and timeouts. */
export async function postOnce(url: string, body: string, headers: Record<string, string>, timeoutMs: number, ca: Buffer | undefined): Promise<number> {
  const target = new URL(url);
  const transport = target.protocol === 'https:' ? https : http;
  return new Promise<number>((resolve, reject) => {
    const req = transport.request(
      target,
      {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) },
        timeout: timeoutMs,
        ...(ca && target.protocol === 'https:' ? { ca } : {}),
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

export async function notifyHub(entry: TunnelEntry, opts: NotifyOptions): Promise<NotifyOutcome> {
  const url = restartUrl(entry, opts.stage);
  const outcome: NotifyOutcome = { hostname: entry.hostname, url, ok: false, attempts: 0 };
  if (!url) return { ...outcome, error: 'no restart_url' };
  const log = opts.logger.child({ action: 'restart-notification', hub: entry.hostname, url });
  let ca: Buffer | undefined;
  if (entry.certificate_path !== false) {
    try {
      ca = await readFile(entry.certificate_path);
    } catch (err) {
      log.error({ err: (err as Error).message }, 'cannot read certificate_path; not notifying this hub');
      return { ...outcome, error: `cannot read certificate_path: ${(err as Error).message}` };
    }
  }
  const headers: Record<string, string> = { uuidcode: 'StartUp' };
  const authorization = opts.lookup(entry.cred_env_name);
  if (authorization) headers.authorization = authorization;
  else log.warning({ variable: entry.cred_env_name }, 'no Authorization for this hub: the variable is not set');

  const body = JSON.stringify({ hostname: entry.hostname });
  const deadline = Date.now() + entry.retry_deadline * 1000;
  let backoff = opts.backoffMs ?? 1000;
  for (;;) {
    outcome.attempts++;
    try {
      const status = await postOnce(url, body, headers, entry.timeout * 1000, ca);
      outcome.status = status;
      if (status >= 200 && status < 300) {
        outcome.ok = true;
        log.info({ status, attempts: outcome.attempts }, 'hub notified of the restart');
        return outcome;
      }
      outcome.error = `HTTP ${status}`;
    } catch (err) {
      outcome.error = (err as Error).message;
    }
    if (Date.now() + backoff > deadline || opts.signal?.aborted) {
      log.error({ attempts: outcome.attempts, err: outcome.error }, 'hub not notified of the restart: giving up');
      return outcome;
    }
    log.warning({ attempts: outcome.attempts, err: outcome.error, retry_in_ms: backoff }, 'restart notification failed, retrying');
    try {
      await sleep(backoff, undefined, { signal: opts.signal });
    } catch {
      return outcome;
    }
    backoff = Math.min(backoff * 2, opts.maxBackoffMs ?? 60_000);
  }
}

/** Notifies every hub in parallel; resolves when all are done (or gave up). */
export function notifyHubs(entries: readonly TunnelEntry[], opts: NotifyOptions): Promise<NotifyOutcome[]> {
  return Promise.all(entries.map((entry) => notifyHub(entry, opts)));
}
