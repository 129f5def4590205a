// Trailing slashes that matter. The app accepts the seed API's paths with and
// without their final `/` (ignoreTrailingSlash), but the Outpost API answers as
// FastAPI does, and clients follow what it answers: a route's other form is
// 405 Method Not Allowed when a route of another method has that form (POST
// /services/ meets GET /services/), else 307 Temporary Redirect to the
// declared form (GET /flavors → /flavors/). A route opts in with
// `config.exactSlash`; the hook runs before authentication, as FastAPI's
// router decides before any dependency.
import type { FastifyReply, FastifyRequest } from 'fastify';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** This route's path is exact about its final `/`; `twin`: a route of another method has the other form. */
    exactSlash?: { twin: boolean };
  }
}

export type SlashVerdict = { status: 405 } | { status: 307; location: string } | undefined;

/**
 * What a request for `rawPath` (with its query) gets from a route declared as
 * `declared` (the route's URL pattern): nothing when the final slashes agree.
 */
export function slashVerdict(declared: string, rawPathAndQuery: string, twin: boolean): SlashVerdict {
  const at = rawPathAndQuery.indexOf('?');
  const path = at < 0 ? rawPathAndQuery : rawPathAndQuery.slice(0, at);
  const query = at < 0 ? '' : rawPathAndQuery.slice(at);
  const wantsSlash = declared.endsWith('/');
  if (path.endsWith('/') === wantsSlash || path === '/') return undefined;
  if (twin) return { status: 405 };
  return { status: 307, location: `${wantsSlash ? `${path}/` : path.replace(/\/+$/, '')}${query}` };
}

/** The onRequest hook (add it before authentication). */
export async function exactSlashHook(request: FastifyRequest, reply: FastifyReply): Promise<void> {
  const rule = request.routeOptions.config?.exactSlash;
  const declared = request.routeOptions.url;
  if (!rule || !declared) return;
  const verdict = slashVerdict(declared, request.url, rule.twin);
  if (!verdict) return;
  if (verdict.status === 405) {
    await reply.status(405).send({ detail: 'Method Not Allowed' });
    return;
  }
  // Absolute, as Starlette's RedirectResponse: the client follows it from where it called.
  const host = request.headers.host ?? 'localhost';
  await reply.status(307).header('location', `${request.protocol}://${host}${verdict.location}`).send();
}
