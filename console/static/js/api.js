// One way to call the REST API. Answers are {status, data, headers}; every
// failure is an ApiError: a problem+json answer (problem has code, detail
// and maybe field), or a network failure (network: true) after which the
// outcome is unknown and a write must be retried with the same key.

import * as session from './session.js';

export class ApiError extends Error {
  constructor({ status = 0, problem = null, network = false, message }) {
    super(message || (problem && problem.detail) || 'request failed');
    this.status = status;
    this.problem = problem;
    this.network = network;
    this.code = problem ? problem.code : (network ? 'NETWORK' : 'UNKNOWN');
    this.field = problem ? problem.field : undefined;
  }
}

// request(method, path, {body, headers}) sends JSON with the session's
// token and decodes the answer.
export async function request(method, path, { body, headers = {} } = {}) {
  const h = { Accept: 'application/json', ...headers };
  if (body !== undefined) h['Content-Type'] = 'application/json';
  const token = session.accessToken();
  if (token) h.Authorization = `Bearer ${token}`;
  let resp;
  try {
    resp = await fetch(path, {
      method,
      headers: h,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'omit', // the token is the only credential
      cache: 'no-store',
    });
  } catch (err) {
    throw new ApiError({ network: true, message: 'The bank could not be reached.' });
  }
  const type = resp.headers.get('Content-Type') || '';
  let data = null;
  if (type.includes('json')) {
    try { data = await resp.json(); } catch { data = null; }
  }
  if (resp.ok) return { status: resp.status, data, headers: resp.headers };
  const problem = type.startsWith('application/problem+json') && data ? data : null;
  if (resp.status === 401 && token) session.end('expired');
  throw new ApiError({ status: resp.status, problem, message: problem ? undefined : `HTTP ${resp.status}` });
}

export const get = (path) => request('GET', path);
export const post = (path, body, headers) => request('POST', path, { body, headers });

// newKey returns a fresh Idempotency-Key: 128 random bits. getRandomValues
// works on plain http too (randomUUID needs a secure context).
export function newKey(prefix = 'console') {
  const b = new Uint8Array(16);
  crypto.getRandomValues(b);
  return `${prefix}-${Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('')}`;
}

// path joins a route and URI-escaped parameters: path`/accounts/${n}`.
export function path(strings, ...values) {
  return strings.reduce((out, s, i) => out + s + (i < values.length ? encodeURIComponent(values[i]) : ''), '');
}

// graphql runs a query or mutation over HTTP and returns its data; GraphQL
// errors become an ApiError with the first error's code.
export async function graphql(query, variables = {}) {
  const { data } = await request('POST', '/graphql', { body: { query, variables } });
  if (data && data.errors && data.errors.length) {
    const e = data.errors[0];
    const code = (e.extensions && e.extensions.code) || 'GRAPHQL_ERROR';
    if (code === 'UNAUTHENTICATED') session.end('expired');
    throw new ApiError({ status: 200, problem: { code, detail: e.message } });
  }
  return data ? data.data : null;
}

// Submission gives a form one Idempotency-Key per submission. The key is
// kept while the outcome is unknown (a network failure, a 5xx, or a 202
// that is still processing) and the form still says the same thing, so a
// retry or a double click can never send twice; a changed form or a final
// answer starts a new submission with a new key.
export class Submission {
  constructor(prefix) {
    this.prefix = prefix;
    this.key = null;
    this.body = null;
  }

  // keyFor returns the key to send this body with.
  keyFor(body) {
    const text = JSON.stringify(body);
    if (this.key === null || this.body !== text) {
      this.key = newKey(this.prefix);
      this.body = text;
    }
    return this.key;
  }

  // settle records how the last attempt ended: keep the key only when the
  // outcome is unknown.
  settle(err, status) {
    const unknown = (err && (err.network || err.status >= 500)) || status === 202;
    if (!unknown) { this.key = null; this.body = null; }
  }
}
