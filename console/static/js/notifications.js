// Notifications, live: one graphql-transport-ws socket (the graphql-ws
// client, served from /console/vendor) subscribed to notificationAdded,
// reconnecting with backoff whenever it drops. Delivery is at least once,
// so notifications are kept by id: a duplicate replaces itself. After every
// (re)connection the latest page is read over HTTP, which fills in whatever
// arrived while the socket was down.

import { createClient } from '../vendor/graphql-ws-6.4.2/client.js';
import * as session from './session.js';
import { graphql } from './api.js';

const FIELDS = 'id type title message amount reference accountNumber read createdAt';
const LATEST = `query Latest { getNotifications(first: 50) { ${FIELDS} } }`;
const LIVE = `subscription Live { notificationAdded { ${FIELDS} } }`;
const MARK = `mutation Mark($id: ID!) { markNotificationRead(id: $id) { ${FIELDS} } }`;

const byId = new Map();
const listeners = new Set();
let client = null;
let unsubscribe = null;
let state = 'offline'; // 'connecting', 'live', 'offline'

export function list() {
  return [...byId.values()].sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : 0));
}

export function unread() {
  let n = 0;
  for (const x of byId.values()) if (!x.read) n += 1;
  return n;
}

export function connection() { return state; }

// onChange(fn) calls fn(event) with {kind: 'added', item} for a live
// notification seen for the first time, {kind: 'updated'} otherwise.
export function onChange(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

function emit(event) { for (const fn of listeners) fn(event); }

function keep(item, live) {
  const known = byId.has(item.id);
  byId.set(item.id, { ...byId.get(item.id), ...item });
  return live && !known;
}

async function refresh() {
  try {
    const data = await graphql(LATEST);
    for (const item of data.getNotifications) keep(item, false);
    emit({ kind: 'updated' });
  } catch {
    // The socket's own reconnection will try again.
  }
}

// start opens the socket for the signed-in user; stop closes it.
export function start() {
  stop();
  const wsURL = `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/graphql`;
  state = 'connecting';
  client = createClient({
    url: wsURL,
    // Read at every (re)connection: the current token, never a stale one.
    connectionParams: () => ({ Authorization: `Bearer ${session.accessToken()}` }),
    lazy: false,
    keepAlive: 10_000,
    retryAttempts: Infinity,
    // Retry everything but a refused token (4401/4403): that session is over.
    shouldRetry: (e) => !(e && (e.code === 4401 || e.code === 4403)),
    retryWait: async (retries) => {
      const ms = Math.min(30_000, 500 * 2 ** Math.min(retries, 6)) * (0.5 + Math.random() / 2);
      await new Promise((resolve) => { setTimeout(resolve, ms); });
    },
    on: {
      connected: () => { state = 'live'; emit({ kind: 'updated' }); refresh(); },
      closed: () => { if (client) { state = 'connecting'; emit({ kind: 'updated' }); } },
    },
  });
  unsubscribe = client.subscribe({ query: LIVE }, {
    next: (msg) => {
      const item = msg.data && msg.data.notificationAdded;
      if (!item) return;
      const fresh = keep(item, true);
      emit(fresh ? { kind: 'added', item: byId.get(item.id) } : { kind: 'updated' });
    },
    error: (err) => {
      state = 'offline';
      emit({ kind: 'updated' });
      if (err && (err.code === 4401 || err.code === 4403)) session.end('expired');
    },
    complete: () => {},
  });
  refresh();
}

export function stop() {
  const c = client;
  client = null;
  if (unsubscribe) unsubscribe();
  unsubscribe = null;
  if (c) c.dispose();
  byId.clear();
  state = 'offline';
  emit({ kind: 'updated' });
}

export async function markRead(id) {
  const data = await graphql(MARK, { id });
  keep(data.markNotificationRead, false);
  emit({ kind: 'updated' });
}
