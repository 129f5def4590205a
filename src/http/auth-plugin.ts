// Authentication as a Fastify decorator: routes declare the group they need
// with `config: { group }`; health and metrics declare none and stay open.
import fp from 'fastify-plugin';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Authenticator, Group, Principal } from '../auth/types.js';
import { forbidden, throttled, unauthorized } from './errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
  interface FastifyContextConfig {
    /** The group a caller needs for this route; unset = no credentials needed. */
    group?: Group;
    /** What the route does, for the request's log line (start, poll, stop, ...). */
    action?: string;
  }
}

export const authPlugin = fp(async (app: FastifyInstance, opts: { authenticator: Authenticator }) => {
  app.decorateRequest('principal', undefined);
  app.addHook('onRequest', async (request: FastifyRequest) => {
    const group = request.routeOptions.config?.group;
    if (!group) return;
    const outcome = await opts.authenticator.authenticate(request.headers, request.ip);
    if (!outcome.ok) {
      if (outcome.reason === 'throttled') throw throttled(outcome.retryAfterSeconds);
      throw unauthorized(outcome.reason);
    }
    if (!outcome.principal.groups.has(group)) throw forbidden(group);
    request.principal = outcome.principal;
  });
});

/** The authenticated caller of a route that declared a group. */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw unauthorized();
  return request.principal;
}
