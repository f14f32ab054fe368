// The console's only way to the service: the JSON API of API.md on this origin.
//
// Every call sends Accept-Language (the language picked on the page) and, when signed in, the
// bearer token.  Errors become ApiError with the contract's {code, message, fields} (messages
// are already in the page's language).  A 401 on a call made with the token ends the session
// (session.js listens), except `invalid_password`, `invalid_credentials` and `invalid_code`
// (a wrong two-factor code): a wrong password
// typed again in a form (email change, password change, cancel) says nothing about the
// session itself.

import { language, t } from './i18n.js';
import { session } from './session.js';

export class ApiError extends Error {
  constructor(status, body) {
    const error = (body && body.error) || {};
    super(error.message || t('error.generic'));
    this.status = status;
    this.code = error.code || (status === 0 ? 'network_error' : 'unknown_error');
    this.fields = error.fields || null;
    this.details = error;
  }
}

const KEEPS_SESSION = new Set(['invalid_password', 'invalid_credentials', 'invalid_code']);

async function send(method, path, { body, auth = true, headers = {}, accept = 'application/json' } = {}) {
  const token = auth ? session.token() : null;
  const all = { Accept: accept, 'Accept-Language': language(), ...headers };
  if (body !== undefined) all['Content-Type'] = 'application/json';
  if (token) all.Authorization = `Bearer ${token}`;
  let response;
  try {
    response = await fetch(path, {
      method,
      headers: all,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'omit',
      cache: 'no-store',
      redirect: 'error',
    });
  } catch {
    const error = new ApiError(0, { error: { code: 'network_error', message: t('error.network') } });
    throw error;
  }
  if (!response.ok) {
    let payload = null;
    try {
      payload = await response.json();
    } catch {
      payload = null;
    }
    const error = new ApiError(response.status, payload);
    if (response.status === 401 && token && !KEEPS_SESSION.has(error.code)) session.expire();
    throw error;
  }
  return response;
}

// <html data-requests="N">: calls in flight.  It drops back a task after an answer is read,
// once the code awaiting it has run, so "0" means the page shows what it was asked to (the
// browser tests wait on it instead of sleeping).
let inFlight = 0;
const mark = () => {
  document.documentElement.dataset.requests = String(inFlight);
};
mark();

function track(promise) {
  inFlight += 1;
  mark();
  return promise.finally(() =>
    window.setTimeout(() => {
      inFlight -= 1;
      mark();
    }, 0),
  );
}

/** JSON in, JSON out (null for 204). */
export function api(method, path, options = {}) {
  return track(
    send(method, path, options).then(async (response) => {
      if (response.status === 204) return { status: 204, data: null };
      const text = await response.text();
      return { status: response.status, data: text ? JSON.parse(text) : null };
    }),
  );
}

export const get = (path, options) => api('GET', path, options).then((r) => r.data);

/** A document (print view, PDF) fetched with the token, as a Blob. */
export function fetchBlob(path, accept) {
  return track(send('GET', path, { accept }).then((response) => response.blob()));
}

/** A new Idempotency-Key for one payment attempt. */
export function idempotencyKey() {
  if (window.crypto && window.crypto.randomUUID) return window.crypto.randomUUID();
  const bytes = new Uint8Array(16);
  window.crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}
