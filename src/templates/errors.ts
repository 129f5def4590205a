/**
 * Typed errors of the template logic, so the HTTP layer can map them to answers.
 *
 * Codes:
 * - `bad_service`: the requested `user_options.service` (or a credential folder name) is
 *   not a safe `<type>/<option>` path.                                    (suggested 400)
 * - `not_found`: no such service folder, or it has no service yaml file. (suggested 404)
 * - `no_update`: the service has no update yaml file.                    (suggested 404)
 * - `parse`: a template (or its options.yaml) is not valid YAML.         (suggested 422)
 * - `bad_object`: a template object is not allowed or malformed (missing kind, another
 *   namespace, cluster-scoped kind, broken options.yaml declaration).   (suggested 422)
 * - `bad_value`: a value from the request (a user option, an env key, certs) is not
 *   acceptable.                                                          (suggested 422)
 * - `unreplaced`: a known placeholder is still in the rendered text (the admin's config
 *   has no value for it in this stage/credential).                       (suggested 422)
 */
export type TemplateErrorCode =
  | 'bad_service'
  | 'not_found'
  | 'no_update'
  | 'parse'
  | 'bad_object'
  | 'bad_value'
  | 'unreplaced';

export class TemplateError extends Error {
  readonly code: TemplateErrorCode;

  constructor(code: TemplateErrorCode, message: string) {
    super(message);
    this.name = 'TemplateError';
    this.code = code;
  }
}

/** Suggested HTTP status for each code (the HTTP layer may choose differently). */
export const TEMPLATE_ERROR_STATUS: Readonly<Record<TemplateErrorCode, number>> = {
  bad_service: 400,
  not_found: 404,
  no_update: 404,
  parse: 422,
  bad_object: 422,
  bad_value: 422,
  unreplaced: 422,
};

export function isTemplateError(e: unknown): e is TemplateError {
  return e instanceof TemplateError;
}
