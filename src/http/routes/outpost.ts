// The JupyterHub Outpost API under `outpost.base_path` (default /outpost):
// the paths, status codes and bodies an unmodified OutpostSpawner sends and
// reads (docs/outpost.md). Thin: the Outpost face (src/outpost/) does the work;
// this file maps its answers and errors to the Outpost's wire shapes:
//   404 {"detail":"Item not found"}, 422 FastAPI's {"detail":[...]}, 419 with
//   {"module","class","traceback","args","kwargs"} for what the hub shows the user,
//   401 {"detail":"Not authenticated" | "Incorrect username or password"}.
import { Type } from 'typebox';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { App } from '../app.js';
import { principalOf } from '../auth-plugin.js';
import { HttpError } from '../errors.js';
import { documentedOnly } from '../schemas.js';
import { isDomainError, malformed, type DomainError } from '../../errors.js';
import type { OutpostApi } from '../../outpost/face.js';
import type { FlavorsApi } from '../../flavors/admission.js';
import { escapeHtml } from '../../status/interpret.js';

const group = 'access_to_webservice' as const;

const Detail = Type.Object({ detail: Type.String() });
const Validation = Type.Object({ detail: Type.Array(Type.Object({ type: Type.String(), loc: Type.Array(Type.Union([Type.String(), Type.Integer()])), msg: Type.String(), input: Type.Optional(Type.Unknown()) })) }, { description: 'FastAPI\'s validation error' });
const OutpostError = Type.Object(
  { module: Type.String(), class: Type.String(), traceback: Type.String(), args: Type.Array(Type.Unknown()), kwargs: Type.Record(Type.String(), Type.Unknown()) },
  { description: 'What the hub shows the user: "{module}{class}: {args joined by \' - \'}"' },
);
const errors = { 401: Detail, 403: Detail, 404: Detail, 405: Detail, 419: OutpostError, 422: Validation, 429: Detail };

const StartBody = Type.Object(
  {
    name: Type.String({ description: 'the hub\'s server name' }),
    env: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: 'into the env Secret; JUPYTERHUB_USER_ID, _USER, _API_TOKEN, _EVENTS_URL, _SETUPTUNNEL_URL are read' })),
    user_options: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: 'start_id (taken out), flavor, service or the credential\'s option key' })),
    misc: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: 'port → <port>; the spawner\'s other defaults accepted; other keys only when the credential allows them (outpost.credentials.<c>.misc_keywords)' })),
    certs: Type.Optional(Type.Record(Type.String(), Type.String(), { description: 'internal_ssl: keyfile, certfile, cafile (PEM)' })),
    internal_trust_bundles: Type.Optional(Type.Record(Type.String(), Type.String())),
    authentication: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: 'the user\'s identity for user flavor rules' })),
    flavor: Type.Optional(Type.String()),
  },
  { additionalProperties: true },
);
const FlavorsDocument = Type.Record(Type.String(), Type.Object({
  max: Type.Integer({ description: '-1 unlimited' }),
  maxPerUser: Type.Optional(Type.Integer()),
  weight: Type.Number(),
  display_name: Type.String(),
  description: Type.String(),
  runtime: Type.Optional(Type.Record(Type.String(), Type.Number(), { description: 'timedelta keywords, e.g. {"hours": 2}' })),
  resources: Type.Optional(Type.Unknown()),
  current: Type.Integer({ minimum: 0 }),
}), { description: 'flavor name → settings and current usage (a JupyterHub Outpost\'s shape)' });
const Names = Type.Object({ name: Type.String({ description: 'the hub\'s server name' }), start_id: Type.String({ description: 'the spawner\'s start_id' }) });
/** The one-segment form: start_id "0", as on an Outpost. */
const NameOnly = Type.Object({ name: Type.String({ description: 'the hub\'s server name (start_id "0")' }) });
const CollectLogs = Type.Object({ collect_logs: Type.Optional(Type.String({ description: '"true": the log tail as a list of lines' })) });

export const outpostSchemas = {
  ping: { tags: ['outpost'], summary: 'Liveness (no credentials)', response: { 200: Type.Object({ ping: Type.Literal('pong!') }) } },
  start: {
    tags: ['outpost'], summary: 'Start a service; sync: 200 when ready, async (header execution-type: async): 202 at once', body: StartBody,
    response: { 200: Type.Object({ service: Type.String({ description: 'host:port' }) }), 202: Type.Object({ service: Type.Literal('') }), ...errors },
  },
  list: {
    tags: ['outpost'], summary: 'The caller\'s services of the Outpost API',
    response: { 200: Type.Array(Type.Object({ name: Type.String(), start_id: Type.String() }, { additionalProperties: true })), ...errors },
  },
  poll: {
    tags: ['outpost'], summary: 'Poll: status null while starting or running, the exit code once it ended; 404 once gone', params: Names, querystring: CollectLogs,
    response: { 200: Type.Object({ status: Type.Union([Type.Integer(), Type.Null()]), logs: Type.Array(Type.String()) }), ...errors },
  },
  stop: {
    tags: ['outpost'], summary: 'Stop and remove everything; async: 202', params: Names, querystring: CollectLogs,
    response: { 200: Type.Object({ logs: Type.Array(Type.String()) }), 202: Type.Object({}), ...errors },
  },
  flavors: {
    tags: ['outpost'], summary: 'The flavors this hub offers, with `current` (running services of each, all users)',
    response: { 200: FlavorsDocument, ...errors },
  },
  userflavors: {
    tags: ['outpost'], summary: 'The flavors one user may use (the credential\'s rules over the identity in the body; {} when forbidden)',
    body: Type.Record(Type.String(), Type.Unknown(), { description: 'the user\'s identity: name, groups, ... (empty: the hub\'s view)' }),
    response: { 200: FlavorsDocument, ...errors },
  },
};

/** What the hub shows the user of a refused or failed start: `<name> - <words>`, then the detail. */
function outpostErrorBody(err: DomainError, name: string | undefined): Record<string, unknown> {
  const words = name ? `${name} - ${err.userMessage}` : err.userMessage;
  // The hub puts the args into its page as HTML: the detail (events, log tail, the cluster's words) escaped, in a <pre>.
  const args: string[] = err.code === 'failed' && err.detail ? [words, `<pre>${escapeHtml(err.detail)}</pre>`] : [words];
  return { module: '', class: 'Exception', traceback: '', args, kwargs: {} };
}

function nameOf(request: FastifyRequest): string | undefined {
  const fromParams = (request.params as { name?: unknown } | undefined)?.name;
  const fromBody = (request.body as { name?: unknown } | undefined)?.name;
  const name = typeof fromParams === 'string' ? fromParams : fromBody;
  return typeof name === 'string' && name !== '' ? name : undefined;
}

/** 419 has no reason phrase on an Outpost's status line (`HTTP/1.1 419 `). */
function send419(reply: FastifyReply, body: Record<string, unknown>): void {
  reply.raw.statusMessage = '';
  void reply.status(419).send(body);
}

function outpostErrorHandler(thrown: FastifyError | Error, request: FastifyRequest, reply: FastifyReply): void {
  if (isDomainError(thrown)) {
    if (thrown.code === 'not_found') {
      void reply.status(404).send({ detail: 'Item not found' });
      return;
    }
    if (thrown.code === 'malformed') {
      void reply.status(422).send({ detail: thrown.problems.map((p) => ({ type: p.type, loc: p.loc, msg: p.msg, ...(p.input !== undefined ? { input: p.input } : {}) })) });
      return;
    }
    send419(reply, outpostErrorBody(thrown, nameOf(request)));
    return;
  }
  if (thrown instanceof HttpError) {
    if (thrown.status === 401) {
      void reply.status(401).header('www-authenticate', 'Basic').send({ detail: thrown.reason === 'missing' ? 'Not authenticated' : 'Incorrect username or password' });
      return;
    }
    const body = thrown.body;
    void reply.status(thrown.status).headers(thrown.headers).send(!Array.isArray(body) && 'detail' in body ? body : { detail: thrown.message });
    return;
  }
  const fastifyErr = thrown as FastifyError;
  if (fastifyErr.statusCode === 413) {
    void reply.status(413).send({ detail: 'Request Entity Too Large' });
    return;
  }
  if (fastifyErr.statusCode && fastifyErr.statusCode < 500) {
    // A body that is not JSON: FastAPI's words.
    void reply.status(422).send({ detail: [{ type: 'json_invalid', loc: ['body'], msg: fastifyErr.message }] });
    return;
  }
  request.log.error({ err: thrown }, 'unhandled error');
  send419(reply, { module: '', class: 'Exception', traceback: '', args: [`${nameOf(request) ? `${nameOf(request)} - ` : ''}Internal error of K8s Manager, see its log`], kwargs: {} });
}

/** Methods of each Outpost path; the others answer 405 as FastAPI does. */
const METHODS = ['GET', 'POST', 'DELETE', 'PUT', 'PATCH'] as const;

export interface OutpostRouteOptions {
  outpost: OutpostApi;
  /** GET /flavors/ and POST /userflavors: the same book as /api/flavors/. */
  flavors: FlavorsApi;
  /** Read per request: `outpost.enabled` (off: every path answers 404). */
  enabled: () => boolean;
}

/** Registered under the base path as prefix. */
export async function outpostRoutes(app: App, opts: OutpostRouteOptions): Promise<void> {
  const { outpost } = opts;
  app.setErrorHandler(outpostErrorHandler);
  app.setNotFoundHandler((_request, reply) => {
    void reply.status(404).send({ detail: 'Not Found' });
  });
  app.addHook('onRequest', async (_request, reply) => {
    if (!opts.enabled()) await reply.status(404).send({ detail: 'Not Found' });
  });

  const exact = (twin: boolean) => ({ exactSlash: { twin } });
  app.get('/ping', { config: { ...exact(false), action: 'ping' }, schema: outpostSchemas.ping }, async () => ({ ping: 'pong!' as const }));

  app.post('/services', { config: { group, action: 'start', ...exact(true) }, schema: outpostSchemas.start, validatorCompiler: documentedOnly }, async (request, reply) => {
    const gone = new AbortController();
    // The hub gave up (its request timeout): stop waiting for the service.
    reply.raw.once('close', () => {
      if (!reply.raw.writableFinished) gone.abort();
    });
    const answer = await outpost.start(principalOf(request), request.headers, request.body as unknown, gone.signal);
    return reply.status(answer.async ? 202 : 200).send({ service: answer.service });
  });
  app.get('/services/', { config: { group, action: 'list', ...exact(true) }, schema: outpostSchemas.list }, async (request) => outpost.list(principalOf(request)));

  // An empty segment (`/services//<start_id>`, a default server's URL) matches no route on an Outpost.
  const noEmptyName = async (request: FastifyRequest, reply: FastifyReply) => {
    if ((request.params as { name?: string }).name === '') await reply.status(404).send({ detail: 'Not Found' });
  };
  app.addHook('preValidation', noEmptyName);
  const poll = async (request: FastifyRequest<{ Params: { name: string; start_id?: string }; Querystring: { collect_logs?: string } }>) =>
    outpost.poll(principalOf(request), request.params.name, request.params.start_id ?? '0', { collectLogs: request.query.collect_logs === 'true' });
  const stop = async (request: FastifyRequest<{ Params: { name: string; start_id?: string }; Querystring: { collect_logs?: string } }>, reply: FastifyReply) => {
    const executionType = request.headers['execution-type'];
    const async = (Array.isArray(executionType) ? executionType[0] : executionType)?.toLowerCase() === 'async';
    const answer = await outpost.stop(principalOf(request), request.params.name, request.params.start_id ?? '0', { collectLogs: request.query.collect_logs === 'true', async });
    return answer.async ? reply.status(202).send({}) : reply.status(200).send({ logs: answer.logs });
  };
  for (const [url, params] of [['/services/:name', NameOnly], ['/services/:name/:start_id', Names]] as const) {
    app.get(url, { config: { group, action: 'poll', ...exact(false) }, schema: { ...outpostSchemas.poll, params } }, poll);
    app.delete(url, { config: { group, action: 'stop', ...exact(false) }, schema: { ...outpostSchemas.stop, params } }, stop);
  }

  // Flavors as a JupyterHub Outpost shows them: the hub's view, and a user's (the identity in the body).
  app.get('/flavors/', { config: { group, action: 'flavors', ...exact(false) }, schema: outpostSchemas.flavors }, async (request) =>
    opts.flavors.outpostDocument(principalOf(request).credential));
  app.post('/userflavors', { config: { group, action: 'userflavors', ...exact(false) }, schema: outpostSchemas.userflavors, validatorCompiler: documentedOnly }, async (request) => {
    const body = request.body as unknown;
    if (body !== undefined && body !== null && (typeof body !== 'object' || Array.isArray(body))) {
      throw malformed([{ loc: ['body'], type: 'dict_type', msg: 'Input should be a valid dictionary', input: body }]);
    }
    const authentication = (body ?? {}) as Record<string, unknown>;
    return opts.flavors.outpostDocument(principalOf(request).credential, Object.keys(authentication).length ? authentication : undefined);
  });

  // FastAPI answers a known path with another method 405 (no credentials needed). Per path as the
  // router sees it (final slash aside): the methods routed there, and those of this exact form
  // (POST /services and GET /services/ share a path here; POST /services/ answers 405 by exactSlash).
  const known: Array<{ url: string; routed: readonly string[]; allow: readonly string[] }> = [
    { url: '/flavors/', routed: ['GET'], allow: ['GET'] },
    { url: '/userflavors', routed: ['POST'], allow: ['POST'] },
    { url: '/ping', routed: ['GET'], allow: ['GET'] },
    { url: '/services/', routed: ['GET', 'POST'], allow: ['GET'] },
    { url: '/services/:name', routed: ['GET', 'DELETE'], allow: ['GET', 'DELETE'] },
    { url: '/services/:name/:start_id', routed: ['GET', 'DELETE'], allow: ['GET', 'DELETE'] },
  ];
  for (const { url, routed, allow } of known) {
    app.route({
      method: METHODS.filter((m) => !routed.includes(m)),
      url,
      schema: { hide: true },
      config: exact(url === '/services/'),
      handler: async (_request, reply) => reply.status(405).header('allow', allow.join(', ')).send({ detail: 'Method Not Allowed' }),
    });
  }
}
