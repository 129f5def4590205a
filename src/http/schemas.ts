// Request and response schemas of the API (TypeBox = JSON Schema). Fastify
// validates and serializes with them, and @fastify/swagger turns them into the
// OpenAPI document at /api/openapi.json (docs/api.md is generated from it).
// Start bodies are checked further by services/request.ts, which answers with
// the original's messages in the original's order; the schema here is kept
// loose enough not to pre-empt those answers.
import { Type } from 'typebox';

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
    start_id: Type.Optional(Type.Union([Type.String(), Type.Number()], { description: 'new for each start attempt (8 characters from the hub)' })),
    user_options: Type.Optional(Type.Object({ service: Type.Optional(Type.String({ description: '"<type>/<option>"' })) }, { additionalProperties: true })),
    env: Type.Optional(Type.Object({
      JUPYTERHUB_STATUS_URL: Type.Optional(Type.Unknown()),
      JUPYTERHUB_API_TOKEN: Type.Optional(Type.Unknown()),
      JUPYTERHUB_USER_ID: Type.Optional(Type.Unknown()),
    }, { additionalProperties: true, description: 'every value goes into the env Secret' })),
    certs: Type.Optional(Type.Object({ keyfile: Type.String(), certfile: Type.String(), cafile: Type.String() }, { description: "the hub's internal_ssl key, certificate and CA (PEM)" })),
  },
  { additionalProperties: true },
);

export const StartHeaders = Type.Object(
  { uuidcode: Type.Optional(Type.String({ description: 'the servername (required)' })) },
  { additionalProperties: true },
);

export const UpdateBody = Type.Object(
  { user_options: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: 'merged over the start\'s user options for update.yaml' })) },
  { additionalProperties: true },
);

export const Servername = Type.Object({ servername: Type.String() });

export const serviceSchemas = {
  start: { tags: ['services'], summary: 'Start a service', headers: StartHeaders, body: StartBody, response: { 201: ServiceRecord, ...errors } },
  list: { tags: ['services'], summary: "The caller's services", response: { 200: Type.Array(ServiceRecord), ...errors } },
  poll: { tags: ['services'], summary: 'Poll a service', params: Servername, response: { 200: PollAnswer, ...errors } },
  update: { tags: ['services'], summary: 'Apply update.yaml', params: Servername, body: Type.Optional(UpdateBody), response: { 200: ServiceRecord, ...errors } },
  stop: { tags: ['services'], summary: 'Stop a service and remove every object of it', params: Servername, response: { 204: Type.Null({ description: 'stopped' }), ...errors } },
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
