// Server-sent events for the admin page: one `snapshot` when the page
// connects, then the feed's batches (`service`, `removed`, `activity`) as they
// happen. A comment line every `heartbeatMs` keeps proxies from closing the
// idle connection and re-checks the session (a session that ended gets a
// `logout` event and the stream closes). A client that cannot keep up (more
// than `maxBufferedBytes` unsent) is disconnected; EventSource reconnects and
// starts again from a snapshot.
import type { ServerResponse } from 'node:http';
import type { FeedEvent, LiveFeed } from './feed.js';

export interface StreamOptions {
  heartbeatMs?: number;
  maxBufferedBytes?: number;
}

export class EventStreams {
  readonly #feed: LiveFeed;
  readonly #open = new Set<() => void>();
  readonly #heartbeatMs: number;
  readonly #maxBuffered: number;

  constructor(feed: LiveFeed, opts: StreamOptions = {}) {
    this.#feed = feed;
    this.#heartbeatMs = opts.heartbeatMs ?? 20_000;
    this.#maxBuffered = opts.maxBufferedBytes ?? 4 * 1024 * 1024;
  }

  get size(): number {
    return this.#open.size;
  }

  /** Serves one stream on `res` (headers already chosen by the caller) until either side ends it. */
  serve(res: ServerResponse, headers: Record<string, string>, stillAllowed: () => boolean): void {
    res.writeHead(200, {
      ...headers,
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-accel-buffering': 'no',
    });
    res.socket?.setNoDelay(true);
    const send = (type: string, data: unknown): void => {
      if (res.writableEnded || res.destroyed) return;
      res.write(`event: ${type}\ndata: ${JSON.stringify(data)}\n\n`);
      if (res.writableLength > this.#maxBuffered) close();
    };
    const unlisten = this.#feed.listen((events: FeedEvent[]) => {
      for (const event of events) send(event.type, event);
    });
    const heartbeat = setInterval(() => {
      if (!stillAllowed()) {
        send('logout', {});
        close();
        return;
      }
      if (!res.writableEnded) res.write(': ping\n\n');
    }, this.#heartbeatMs);
    heartbeat.unref();
    let closed = false;
    const close = (): void => {
      if (closed) return;
      closed = true;
      unlisten();
      clearInterval(heartbeat);
      this.#open.delete(close);
      if (!res.writableEnded) res.end();
    };
    this.#open.add(close);
    res.on('close', close);
    res.write('retry: 3000\n\n');
    send('snapshot', { type: 'snapshot', ...this.#feed.snapshot() });
  }

  /** Ends every open stream (the server is closing). */
  closeAll(): void {
    for (const close of [...this.#open]) close();
  }
}
