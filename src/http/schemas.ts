// Request and response schemas of the API (TypeBox = JSON Schema). Fastify
// validates and serializes with them, and @fastify/swagger turns them into the
// OpenAPI document at /api/openapi.json (docs/api.md is generated from it).
//
// One schema per route. Fastify validates with it, except where the contract
// fixes the words and the order of the 400 answers (a start, a userjob): there
// the route's schema describes the request exactly for the document, and the
// domain's parser (services/request.ts, userjobs/request.ts) is the one check,
// because a JSON Schema validator reports the header after the body and a
// missing top-level key before a missing nested one, not in the original's
// order ("Missing header: uuidcode", then env, env.*, user_options, ...). The
// parsers also check what a schema cannot say (names that must fit with the
// start id and the configured prefix, known HPC systems, ports per userjob).
import { Type } from 'typebox';
import type { FastifySchemaCompiler } from 'fastify';

/**
 * For a route whose schema documents but does not validate (the domain's parser
 * answers with the contract's messages): pass as the route's `validatorCompiler`.
 */
export const documentedOnly: FastifySchemaCompiler<unknown> = () => (value) => ({ value });

export const ErrorList = Type.Array(Type.String(), { description: 'What is wrong with the request, e.g. ["Missing key in input data: env"]' });
export const Detail = Type.Object({ detail: Type.String() }, { description: 'Not found, not authenticated, not allowed, throttled, too large' });
export const Failure = Type.Object(
  { error: Type.String({ description: 'shown to the user' }), detailed_error: Type.String({ description: 'for the admin' }) },
  { description: 'A failed start, update or stop (the start was rolled back)' },
);

/** Error bodies: the original used all three shapes, depending on the case. */
export const AnyError = Type.Union([ErrorList, Detail, Failure]);
const errors = { 400: AnyError, 401: AnyError, 403: AnyError, 404: AnyError, 409: AnyError, 413: AnyError, 422: AnyError, 429: AnyError, 500: AnyError, 503: AnyError };

export const ServiceRecord = Type.Object({
  servername: Type.String(),
  start_id: Type.String(),
  user_options: Type.Record(Type.String(), Type.Unknown()),
  jhub_user_id: Type.Integer(),
  jhub_credential: Type.String(),
  start_date: Type.String({ format: 'date-time' }),
  stop_pending: Type.Boolean(),
  objects: Type.Optional(Type.Array(Type.String(), { description: '`apiVersion|Kind/name` of every object of this start' })),
  namespace: Type.Optional(Type.String()),
});

export const PollAnswer = Type.Object({
  running: Type.Boolean({ description: 'false: the hub treats the server as stopped' }),
  state: Type.Union([Type.Literal('starting'), Type.Literal('running'), Type.Literal('failed'), Type.Literal('stopping')]),
  details: Type.Object({
    error: Type.String({ description: 'e.g. "Service status is in state terminated"' }),
    detailed_error: Type.String({ description: 'last pod events and container log lines, HTML-escaped' }),
  }),
});

export const StartBody = Type.Object(
  {
    env: Type.Object({
      JUPYTERHUB_STATUS_URL: Type.String({ description: "the hub's progress URL of this server" }),
      JUPYTERHUB_API_TOKEN: Type.String(),
      JUPYTERHUB_USER_ID: Type.Union([Type.Integer({ minimum: 0 }), Type.String({ pattern: '^[0-9]+$' })], { description: 'an integer (or its decimal string)' }),
    }, { additionalProperties: true, description: 'every value goes into the env Secret' }),
    user_options: Type.Object({ service: Type.String({ minLength: 1, description: '"<type>/<option>"' }) }, { additionalProperties: true }),
    start_id: Type.Union([Type.String({ pattern: '^[a-z0-9]{1,16}$' }), Type.Integer({ minimum: 0 })], { description: 'new for each start attempt (8 characters from the hub): 1 to 16 lowercase letters or digits' }),
    certs: Type.Optional(Type.Object({ keyfile: Type.String(), certfile: Type.String(), cafile: Type.String() }, { description: "the hub's internal_ssl key, certificate and CA (PEM)" })),
  },
  { additionalProperties: true, description: 'Checked in this order, answering 400 with one message: the uuidcode header, env, env.JUPYTERHUB_STATUS_URL, env.JUPYTERHUB_API_TOKEN, env.JUPYTERHUB_USER_ID, user_options, user_options.service, start_id (e.g. ["Missing key in input data: env"])' },
);

export const StartHeaders = Type.Object(
  { uuidcode: Type.String({ pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$', maxLength: 200, description: 'the servername' }) },
  { additionalProperties: true },
);

export const UpdateBody = Type.Object(
  { user_options: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: 'merged over the start\'s user options for update.yaml' })) },
  { additionalProperties: true },
);

export const Servername = Type.Object({ servername: Type.String() });

export const serviceSchemas = {
  /** Documents only (route option `validatorCompiler: documentedOnly`): services/request.ts answers in the contract's order. */
  start: { tags: ['services'], summary: 'Start a service', headers: StartHeaders, body: StartBody, response: { 201: ServiceRecord, ...errors } },
  list: { tags: ['services'], summary: "The caller's services", response: { 200: Type.Array(ServiceRecord), ...errors } },
  poll: { tags: ['services'], summary: 'Poll a service', params: Servername, response: { 200: PollAnswer, ...errors } },
  update: { tags: ['services'], summary: 'Apply update.yaml', params: Servername, body: Type.Optional(UpdateBody), response: { 200: ServiceRecord, ...errors } },
  stop: { tags: ['services'], summary: 'Stop a service and remove every object of it', params: Servername, response: { 204: Type.Null({ description: 'stopped' }), ...errors } },
};

const Port = Type.Union([Type.Integer({ minimum: 1, maximum: 65535 }), Type.String({ pattern: '^[0-9]{1,5}$' })]);
export const UserjobBody = Type.Object(
  {
    service: Type.String({ description: "the servername of one of the caller's running services" }),
    hostname: Type.String({ description: 'the HPC system (userjobs.systems, or a Host tunnel_<system> of the SSH config)' }),
    target_node: Type.String({ description: 'the job\'s node: a host name or IPv4 address' }),
    ports: Type.Record(Type.String({ pattern: '^[0-9]{1,5}$' }), Port, { description: '"<port in the service>": "<port on the node>", at most userjobs.max_ports' }),
    jobid: Type.Optional(Type.Union([Type.String({ pattern: '^[A-Za-z0-9_.+-]{1,64}$' }), Type.Integer(), Type.Null()], { description: 'the Slurm job id' })),
  },
  { additionalProperties: true, description: 'Missing keys answer 400 ["Missing key: service", ...] in the order service, hostname, target_node, ports' },
);
export const UserjobView = Type.Object(
  {
    service: Type.String(),
    hostname: Type.String(),
    target_node: Type.String(),
    ports: Type.Record(Type.String(), Type.String()),
    jobid: Type.Union([Type.String(), Type.Null()]),
    kubernetes_service: Type.String({ description: 'the Service the user\'s pods connect to (<kubernetes_service>:<port in service>)' }),
    namespace: Type.String(),
    local_ports: Type.Record(Type.String(), Type.Integer()),
    created: Type.String({ format: 'date-time' }),
    running: Type.Boolean(),
    state: Type.String({ description: 'connecting, running or error' }),
    details: Type.Object({ error: Type.String(), detailed_error: Type.String() }),
  },
  { additionalProperties: true, description: 'A userjob: its forwards and whether they run' },
);
const UserjobService = Type.Object({ service: Type.String() });
export const userjobSchemas = {
  /** Documents only (route option `validatorCompiler: documentedOnly`): userjobs/request.ts answers in the contract's order. */
  create: { tags: ['userjobs'], summary: 'Forward ports of an HPC job\'s node into a service (a Kubernetes Service in front)', body: UserjobBody, response: { 201: UserjobView, ...errors } },
  list: { tags: ['userjobs'], summary: "The caller's userjobs", response: { 200: Type.Array(UserjobView), ...errors } },
  get: { tags: ['userjobs'], summary: 'One userjob', params: UserjobService, response: { 200: UserjobView, ...errors } },
  remove: { tags: ['userjobs'], summary: 'End a userjob and remove its Service', params: UserjobService, response: { 204: Type.Null({ description: 'removed' }), ...errors } },
};

const HandlerType = Type.Object({ type: Type.String({ description: 'stream, file, smtp or syslog' }) });
const FreeObject = Type.Record(Type.String(), Type.Unknown());
export const logSchemas = {
  list: { tags: ['logs'], summary: 'Configured log handlers by type', response: { 200: FreeObject, ...errors } },
  create: { tags: ['logs'], summary: 'Add a log handler: {"handler": "<type>", "configuration": {...}}', body: FreeObject, response: { 201: FreeObject, ...errors } },
  get: { tags: ['logs'], summary: 'One log handler', params: HandlerType, response: { 200: FreeObject, ...errors } },
  replace: { tags: ['logs'], summary: 'Replace a log handler', params: HandlerType, body: FreeObject, response: { 200: FreeObject, ...errors } },
  patch: { tags: ['logs'], summary: 'Change fields of a log handler', params: HandlerType, body: FreeObject, response: { 200: FreeObject, ...errors } },
  remove: { tags: ['logs'], summary: 'Remove a log handler', params: HandlerType, response: { 204: Type.Null(), ...errors } },
  logtest: { tags: ['logs'], summary: 'Write one message at each level', response: { ...errors } },
};

export const healthSchemas = {
  health: { tags: ['health'], summary: 'Liveness: the process answers', response: { 200: Type.Object({ status: Type.Literal('ok') }) } },
  ready: { tags: ['health'], summary: 'Readiness: config loaded, watch caches synced and fresh', response: { 200: Type.Object({ ready: Type.Boolean() }, { additionalProperties: true }), 503: Type.Object({ ready: Type.Boolean() }, { additionalProperties: true }) } },
};
