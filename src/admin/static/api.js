// Calls to /admin/api/: same-origin, the session cookie goes along by itself,
// and every action carries the session's CSRF token in a header.
/* global document, fetch, CustomEvent */
export const session = { credential: null, csrf: null, replica: null };

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** The message of an error answer: {detail}, {error, detailed_error} or a list of messages. */
function messageOf(status, body) {
  if (Array.isArray(body)) return body.join('; ');
  if (body && typeof body === 'object') {
    if (body.detail) return body.detail;
    if (body.error) return body.detailed_error ? `${body.error}: ${body.detailed_error}` : body.error;
  }
  return `HTTP ${status}`;
}

export async function api(path, { method = 'GET', body } = {}) {
  const headers = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && session.csrf) headers['x-csrf-token'] = session.csrf;
  const res = await fetch(`api/${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: 'same-origin',
    cache: 'no-store',
  });
  const text = await res.text();
  let parsed;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  if (!res.ok) {
    if (res.status === 401 && path !== 'login') document.dispatchEvent(new CustomEvent('admin:logged-out'));
    throw new ApiError(res.status, messageOf(res.status, parsed));
  }
  return parsed;
}
