// Shared by the auth tests (unit and integration): the app with stub services
// and logs, a log capture, a cheap hasher.
import { buildApp, type App } from '../../../src/http/app.js';
import type { Authenticator } from '../../../src/auth/types.js';
import type { ServiceApi } from '../../../src/services/manager.js';
import type { LogAdminApi } from '../../../src/logging/admin.js';
import { LogHub, type LogHandler } from '../../../src/logging/hub.js';
import { createLogger, type AppLogger } from '../../../src/logging/logger.js';
import type { LogRecord } from '../../../src/logging/record.js';
import { Hasher } from '../../../src/auth/hash.js';

/** Fast parameters for tests that are not about hashing cost. */
export const cheapHasher = () => new Hasher({ N: 1024, r: 8, p: 1 });

export interface Capture {
  logger: AppLogger;
  lines: string[];
}

export function captureLogs(): Capture {
  const hub = new LogHub();
  const lines: string[] = [];
  const handler: LogHandler = {
    type: 'capture',
    level: 0,
    handle: (record: LogRecord) => void lines.push(JSON.stringify(record)),
    close: async () => {},
  };
  void hub.set(handler);
  return { logger: createLogger(hub), lines };
}

const stubServices: ServiceApi = {
  start: async () => {
    throw new Error('not in this test');
  },
  list: () => [],
  poll: async () => ({ running: true, details: { error: '', detailed_error: '' }, state: 'running' }),
  update: async () => {
    throw new Error('not in this test');
  },
  stop: async () => {},
};

const stubLogs: LogAdminApi = {
  list: () => ({}),
  get: () => ({}),
  create: async () => ({}),
  replace: async () => ({}),
  patch: async () => ({}),
  remove: async () => {},
  logtest: () => {},
};

export function authApp(authenticator: Authenticator, logger: AppLogger): App {
  return buildApp({
    logger,
    authenticator,
    services: stubServices,
    logs: stubLogs,
    readiness: { check: () => ({ ready: true, details: {} }) },
    bodyLimitBytes: 1024 * 1024,
  });
}


/** The random part of a token (`k8smgr_<id>_<secret>`; the secret may itself contain `_`). */
export function tokenSecret(token: string): string {
  return /^k8smgr_[0-9a-f]{16}_(.+)$/.exec(token)?.[1] ?? token;
}
