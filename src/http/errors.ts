// One catalogue of the errors the API answers with, and the bodies the hubs
// expect for them (see docs/api.md). Domain rooms throw DomainError (src/errors.ts);
// the HTTP layer throws HttpError for what only it knows (auth, throttling), and
// the error handler in app.ts answers both through toHttpError.
import { DomainError, type ErrorCode } from '../errors.js';

export type ErrorBody =
  | { detail: string }
  | { error: string; detailed_error: string }
  | string[];

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: ErrorBody,
    readonly headers: Record<string, string> = {},
    /** For 401: whether credentials were missing or did not verify (the Outpost API words them apart). */
    readonly reason?: 'missing' | 'invalid',
  ) {
    super(Array.isArray(body) ? body.join('; ') : 'detail' in body ? body.detail : body.error);
    this.name = 'HttpError';
  }
}

export const notFound = () => new HttpError(404, { detail: 'Not found.' });
export const unauthorized = (reason: 'missing' | 'invalid' = 'invalid') =>
  new HttpError(401, { detail: 'Authentication credentials were not provided or are invalid.' }, { 'www-authenticate': 'Basic realm="k8smgr", charset="UTF-8"' }, reason);
export const forbidden = (group: string) =>
  new HttpError(403, { detail: `You do not have permission to perform this action (group ${group} required).` });
export const throttled = (retryAfterSeconds: number) =>
  new HttpError(429, { detail: `Too many failed logins from this address. Try again in ${retryAfterSeconds} s.` }, { 'retry-after': String(retryAfterSeconds) });
/** 400 with the original's list-of-messages body. */
export const badRequest = (...messages: string[]) => new HttpError(400, messages);
export const conflict = (detail: string) => new HttpError(409, { detail });
/** A failed start/stop/update: `error` is what the user sees, `detailed_error` for the admin. */
export const failure = (status: number, error: string, detailedError: string) =>
  new HttpError(status, { error, detailed_error: detailedError });

/** The status of each domain error code: the one place where the domain meets HTTP. */
export const STATUS_OF: Readonly<Record<ErrorCode, number>> = {
  invalid_input: 400,
  malformed: 400,
  not_found: 404,
  conflict: 409,
  template_bad_service: 400,
  template_not_found: 404,
  template_invalid: 422,
  limit_reached: 429,
  failed: 500,
  unavailable: 503,
};

/** The answer to a domain error, in the body shape the hubs expect for its code. */
export function toHttpError(err: DomainError): HttpError {
  const status = STATUS_OF[err.code];
  switch (err.code) {
    case 'invalid_input':
    case 'malformed':
      return new HttpError(status, [...err.messages]);
    case 'not_found':
    case 'conflict':
      return new HttpError(status, { detail: err.userMessage });
    default:
      return new HttpError(status, { error: err.userMessage, detailed_error: err.detail });
  }
}
