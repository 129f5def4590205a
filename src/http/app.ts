// buildApp(deps): the Fastify application, apart from listen(), so tests use
// inject() or a real port alike. Routes are thin: parse, authorize, one call
// into a domain module, map the result.
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { AppLogger } from '../logging/logger.js';
import type { Authenticator } from '../auth/types.js';
import swagger from '@fastify/swagger';
import { HttpError, toHttpError } from './errors.js';
import { isDomainError } from '../errors.js';
import { authPlugin } from './auth-plugin.js';
import { healthRoutes, type Readiness } from './routes/health.js';
import { serviceRoutes } from './routes/services.js';
import { flavorRoutes, NO_FLAVORS } from './routes/flavors.js';
import type { FlavorsApi } from '../flavors/admission.js';
import type { ServiceApi } from '../services/manager.js';
import { logRoutes } from './routes/logs.js';
import type { LogAdminApi } from '../logging/admin.js';
import { userjobRoutes } from './routes/userjobs.js';
import type { UserjobApi } from '../userjobs/manager.js';
import { outpostRoutes } from './routes/outpost.js';
import type { OutpostApi } from '../outpost/face.js';
import { exactSlashHook } from './exact-paths.js';

export interface AppDeps {
  logger: AppLogger;
  authenticator: Authenticator;
  services: ServiceApi;
  /** GET /api/flavors/ (without: every credential has no flavors). */
  flavors?: FlavorsApi;
  logs?: LogAdminApi;
  /** /api/userjobs/ (without: those paths answer 404). */
  userjobs?: UserjobApi;
  /** The JupyterHub Outpost API under `basePath` (without: those paths answer 404). */
  outpost?: { api: OutpostApi; basePath: string; enabled: () => boolean };
  readiness: Readiness;
  bodyLimitBytes: number;
  /** Extra route plugins (the admin page, metrics) registered by the caller. */
  plugins?: Array<(app: App) => Promise<void>>;
  /** Hooks that must see every route (metrics), added to the root instance. */
  rootHooks?: Array<(app: App) => void>;
}

export const API_VERSION = '1.0.0';

export type App = FastifyInstance<Server, IncomingMessage, ServerResponse, FastifyBaseLogger, TypeBoxTypeProvider>;

export function buildApp(deps: AppDeps): App {
  const app = Fastify({
    loggerInstance: deps.logger,
    bodyLimit: deps.bodyLimitBytes,
    // One line per request comes from our onResponse hook, with the servername and credential.
    logController: new LogController({ disableRequestLogging: true }),
    // The hubs' paths end in '/'; accept them without it, too.
    routerOptions: { ignoreTrailingSlash: true },
    trustProxy: false,
    return503OnClosing: true,
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false } },
  }).withTypeProvider<TypeBoxTypeProvider>() as unknown as App;

  // Hubs may send DELETE or GET with a JSON content type and no body: an empty
  // body is no body, not a 400 (prototype poisoning is still refused).
  const defaultJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = body.toString();
    if (text.trim() === '') done(null, undefined);
    else void defaultJson(request, text, done);
  });

  app.setErrorHandler((thrown, request, reply) => {
    const err = isDomainError(thrown) ? toHttpError(thrown) : thrown;
    if (err instanceof HttpError) {
      void reply.status(err.status).headers(err.headers).send(err.body);
      return;
    }
    const fastifyErr = err as { statusCode?: number; validation?: unknown; code?: string; message: string };
    if (fastifyErr.statusCode === 413) {
      void reply.status(413).send({ detail: `Request body is larger than ${deps.bodyLimitBytes} bytes.` });
      return;
    }
    if (fastifyErr.validation || (fastifyErr.statusCode && fastifyErr.statusCode < 500)) {
      void reply.status(fastifyErr.statusCode ?? 400).send([fastifyErr.message]);
      return;
    }
    request.log.error({ err }, 'unhandled error');
    void reply.status(500).send({ error: 'Internal error.', detailed_error: 'see the manager log' });
  });
  app.setNotFoundHandler((_request, reply) => {
    void reply.status(404).send({ detail: 'Not found.' });
  });

  // While shutting down, answers close their connection, so keep-alive clients
  // don't hold the process until the shutdown bound.
  app.addHook('onSend', async (_request, reply) => {
    if (!app.server.listening) void reply.header('connection', 'close');
  });

  // One log line per request with what is needed to follow one service's story.
  app.addHook('onResponse', async (request, reply) => {
    // Polls too, at info: an operator follows a service's story (is the hub still polling?)
    // with one grep. Raise the handler level to 30 to keep only problems (docs/logging.md).
    const level = reply.statusCode >= 500 ? 'error' : reply.statusCode >= 400 ? 'warning' : 'info';
    (request.log as unknown as AppLogger)[level](
      {
        method: request.method,
        url: request.url,
        status: reply.statusCode,
        duration_ms: Math.round(reply.elapsedTime),
        // The servername: from the path when there is one (polls), else the header (starts);
        // the Outpost API's server name and start_id.
        uuidcode: (request.params as { servername?: string } | undefined)?.servername ?? request.headers.uuidcode,
        ...outpostNames(request.params, request.body),
        credential: request.principal?.credential,
        action: request.routeOptions.config?.action,
      },
      'request',
    );
  });

  for (const addHooks of deps.rootHooks ?? []) addHooks(app);
  // Collects every route's schema into the OpenAPI document (served below).
  void app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'K8s Manager', version: API_VERSION, description: 'Start, poll and stop users\' services on Kubernetes for JupyterHub: the seed API (BackendSpawner) and the JupyterHub Outpost API (OutpostSpawner).' },
      components: {
        securitySchemes: {
          basic: { type: 'http', scheme: 'basic', description: 'base64(credential:password), in Authorization or Authentication' },
          token: { type: 'apiKey', in: 'header', name: 'Authorization', description: '"token <t>" or "Bearer <t>"' },
        },
      },
      security: [{ basic: [] }, { token: [] }],
    },
  });
  app.get('/api/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  // Before authentication: a path that is wrong about its final slash is answered as such first.
  app.addHook('onRequest', exactSlashHook);
  void app.register(authPlugin, { authenticator: deps.authenticator });
  void app.register(async (scope) => healthRoutes(scope as unknown as App, deps.readiness));
  void app.register(async (scope) => serviceRoutes(scope as unknown as App, deps.services));
  void app.register(async (scope) => flavorRoutes(scope as unknown as App, deps.flavors ?? NO_FLAVORS));
  if (deps.logs) {
    const logs = deps.logs;
    void app.register(async (scope) => logRoutes(scope as unknown as App, logs));
  }
  if (deps.userjobs) {
    const userjobs = deps.userjobs;
    void app.register(async (scope) => userjobRoutes(scope as unknown as App, userjobs));
  }
  if (deps.outpost) {
    const { api, basePath, enabled } = deps.outpost;
    void app.register(async (scope) => outpostRoutes(scope as unknown as App, { outpost: api, flavors: deps.flavors ?? NO_FLAVORS, enabled }), { prefix: basePath });
  }
  for (const plugin of deps.plugins ?? []) void app.register(async (scope) => plugin(scope as unknown as App));
  return app;
}

/** The Outpost API's identity of a request, for its log line: the server name and start_id. */
function outpostNames(params: unknown, body: unknown): { name?: string; start_id?: string } {
  const p = (params ?? {}) as { name?: unknown; start_id?: unknown };
  const b = (body ?? {}) as { name?: unknown; user_options?: { start_id?: unknown } };
  const name = typeof p.name === 'string' ? p.name : typeof b.name === 'string' ? b.name : undefined;
  const startId = typeof p.start_id === 'string' ? p.start_id : typeof b.user_options?.start_id === 'string' ? b.user_options.start_id : undefined;
  return { ...(name !== undefined ? { name } : {}), ...(startId !== undefined ? { start_id: startId } : {}) };
}

/** A second, minimal server for /metrics alone (METRICS_PORT), e.g. reachable only by Prometheus. */
export function buildMetricsApp(metrics: { route: (app: App) => Promise<void> }, logger: AppLogger): App {
  const app = Fastify({ loggerInstance: logger, logController: new LogController({ disableRequestLogging: true }) }) as unknown as App;
  void app.register(async (scope) => metrics.route(scope as unknown as App));
  return app;
}
