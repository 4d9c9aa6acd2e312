// The signed-in session: the access token and who it belongs to.
//
// The token lives in this module's memory only: never in localStorage,
// sessionStorage or a cookie. It is not on disk, not shared with other tabs,
// and gone when the tab is closed or reloaded (the customer signs in again;
// tokens last an hour anyway). Another script on the page could still use
// it while the page runs, which is why the CSP admits no script but the
// console's own and the console never turns API text into markup.

let token = null;
let expiresAt = 0;
let me = null; // {user: {id, email, full_name, role}, accounts: [...]}
let expiryTimer = null;
const listeners = new Set();

export function accessToken() {
  if (token && Date.now() >= expiresAt) end('expired');
  return token;
}

export function user() { return me ? me.user : null; }
export function accounts() { return me ? me.accounts : []; }
export function isOperator() { return Boolean(me && me.user.role === 'operator'); }
export function signedIn() { return accessToken() !== null && me !== null; }

// start keeps a new token; setMe records GET /me's answer.
export function start(accessTokenValue, expiresInSeconds) {
  token = accessTokenValue;
  expiresAt = Date.now() + expiresInSeconds * 1000;
  clearTimeout(expiryTimer);
  expiryTimer = setTimeout(() => end('expired'), expiresInSeconds * 1000);
}

export function setMe(value) {
  me = value;
  emit('changed');
}

// end forgets the token: reason is 'signed-out' or 'expired'.
export function end(reason) {
  const was = token !== null;
  token = null;
  me = null;
  expiresAt = 0;
  clearTimeout(expiryTimer);
  if (was) emit(reason);
}

// onChange(fn) calls fn(reason) on 'changed', 'signed-out' and 'expired'.
export function onChange(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

function emit(reason) {
  for (const fn of listeners) fn(reason);
}
