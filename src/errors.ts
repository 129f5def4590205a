// Errors of the domain rooms (services, userjobs, logging, flavors, auth): a
// code and the words for the caller, no HTTP. src/http/errors.ts maps each code
// to a status and a body in one catalogue, so a room never chooses a status.
export type ErrorCode =
  /** The request is malformed: `messages` lists every problem (answered as the original's list body). */
  | 'invalid_input'
  /**
   * The request body does not have the shape an API needs (a missing or mistyped field):
   * `problems` names each field. The Outpost API answers it as FastAPI's 422.
   */
  | 'malformed'
  /** No such object for this caller. */
  | 'not_found'
  /** Another request holds what this one needs (a concurrent start, a foreign object). */
  | 'conflict'
  /** The requested service path is not a safe `<type>/<option>`. */
  | 'template_bad_service'
  /** No template (or no update template) for the request. */
  | 'template_not_found'
  /** The template or a value put into it is not acceptable. */
  | 'template_invalid'
  /** A site limit (flavor capacity, per-user maximum) refuses the request. */
  | 'limit_reached'
  /** The operation failed on our side or in the cluster. */
  | 'failed'
  /** The cluster (or a dependency) cannot do it right now; try again. */
  | 'unavailable';

export class DomainError extends Error {
  readonly code: ErrorCode;
  /** What the user or the hub is shown (`error`, or the `detail`). */
  readonly userMessage: string;
  /** For the admin: `detailed_error`. */
  readonly detail: string;
  /** For invalid_input: every problem found. */
  readonly messages: readonly string[];
  /** For malformed: each field's problem. */
  readonly problems: readonly FieldProblem[];
  /** Facts of the refusal for an API that words it its own way (e.g. the Outpost API's flavor messages). */
  readonly facts: Readonly<Record<string, unknown>>;

  constructor(code: ErrorCode, userMessage: string, opts: { detail?: string; messages?: readonly string[]; problems?: readonly FieldProblem[]; facts?: Record<string, unknown>; cause?: unknown } = {}) {
    super(opts.detail ? `${userMessage}: ${opts.detail}` : userMessage, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'DomainError';
    this.code = code;
    this.userMessage = userMessage;
    this.detail = opts.detail ?? '';
    this.messages = opts.messages ?? [userMessage];
    this.problems = opts.problems ?? [];
    this.facts = opts.facts ?? {};
  }
}

/** One field of a malformed request: where (`["body", "name"]`), what kind (`missing`), the words, and the value found. */
export interface FieldProblem {
  loc: readonly (string | number)[];
  type: string;
  msg: string;
  input?: unknown;
}

export const malformed = (problems: readonly FieldProblem[]) =>
  new DomainError('malformed', problems.map((p) => `${p.loc.join('.')}: ${p.msg}`).join('; '), { messages: problems.map((p) => `${p.loc.join('.')}: ${p.msg}`), problems });

export const invalidInput = (...messages: string[]) => new DomainError('invalid_input', messages.join('; '), { messages });
export const notFoundError = (what = 'Not found.') => new DomainError('not_found', what);
export const conflictError = (message: string) => new DomainError('conflict', message);
export const failedError = (message: string, detail: string, cause?: unknown) => new DomainError('failed', message, { detail, cause });
export const unavailableError = (message: string, detail: string) => new DomainError('unavailable', message, { detail });
export const limitReached = (message: string, detail = message, facts?: Record<string, unknown>) => new DomainError('limit_reached', message, { detail, ...(facts ? { facts } : {}) });

export function isDomainError(err: unknown): err is DomainError {
  return err instanceof DomainError;
}
