// The console's entry point: the frame (navigation, notifications, sign
// out) and the screen for the current URL fragment.

import { h, replace, announce } from './dom.js';
import * as session from './session.js';
import * as router from './router.js';
import * as notifications from './notifications.js';
import { messageFor } from './messages.js';
import { loadConfig } from './config.js';

// Screens register their routes when imported. A new screen is one file
// and one line here.
import './screens/signin.js';
import './screens/register.js';
import './screens/accounts.js';
import './screens/history.js';
import './screens/tier.js';
import './screens/transfer.js';
import './screens/notifications.js';
import './screens/operator.js';

const main = document.getElementById('main');
let notice = null; // a message for the next screen (e.g. "session ended")

function renderNav() {
  const here = router.current().path;
  const items = router.navItems();
  replace(document.getElementById('nav'), items.length ? h('ul', {},
    items.map((r) => h('li', {}, h('a', {
      href: router.href(r.pattern),
      'aria-current': here === r.pattern || here.startsWith(`${r.pattern}/`) ? 'page' : false,
    }, r.nav)))) : null);

  const tools = document.getElementById('session-tools');
  if (!session.signedIn()) { replace(tools); return; }
  const count = notifications.unread();
  const state = notifications.connection();
  replace(tools,
    // Read as "Notifications 3 unread": the visible text and the count.
    h('a', { class: 'bell', href: '#/notifications', id: 'bell' }, 'Notifications',
      count ? h('span', { class: 'badge' }, h('span', { id: 'unread-count' }, String(count)),
        h('span', { class: 'visually-hidden' }, ' unread')) : null),
    h('span', { class: `live live-${state}`, title: state === 'live' ? 'Live updates on' : 'Reconnecting…' },
      h('span', { class: 'visually-hidden' }, state === 'live' ? 'Live updates on' : 'Live updates reconnecting')),
    h('span', { class: 'who' }, session.user().full_name),
    h('button', { type: 'button', class: 'link-button', onclick: signOut }, 'Sign out'));
}

function signOut() {
  notifications.stop();
  session.end('signed-out');
}

async function render() {
  const { path, query } = router.current();
  renderNav();
  if (path === '/' || !router.match(path)) {
    router.go(session.signedIn() ? (session.isOperator() ? '/operator' : '/accounts') : '/sign-in');
    return;
  }
  const { route, params } = router.match(path);
  if (!router.allowed(route)) {
    router.go(session.signedIn() ? '/' : `/sign-in?next=${encodeURIComponent(path)}`);
    return;
  }
  document.title = `${route.title} · bankcore`;
  replace(main);
  if (notice) {
    main.append(h('div', { class: 'alert alert-info', role: 'status' }, notice));
    notice = null;
  }
  try {
    await route.render(main, params, query);
  } catch (err) {
    main.append(h('div', { class: 'alert alert-error', role: 'alert' }, messageFor(err)));
  }
  // Move focus to the new screen's heading, as a page load would, so
  // keyboard and screen-reader users start at the top of what changed.
  const heading = main.querySelector('h1');
  if (heading && !main.contains(document.activeElement)) {
    heading.setAttribute('tabindex', '-1');
    heading.focus();
  }
}

session.onChange((reason) => {
  if (reason === 'expired' || reason === 'signed-out') {
    notifications.stop();
    notice = reason === 'expired' ? 'Your session has ended. Please sign in again.' : 'You have signed out.';
    router.go('/sign-in');
  } else {
    renderNav();
  }
});

notifications.onChange((event) => {
  renderNav();
  if (event.kind === 'added') toast(event.item);
});

// toast shows a new notification for a few seconds (and announces it).
function toast(item) {
  const box = document.getElementById('toasts');
  const el = h('div', { class: 'toast', role: 'status' },
    h('strong', {}, item.title), ' ', h('span', {}, item.message));
  box.append(el);
  announce(`${item.title}. ${item.message}`);
  setTimeout(() => el.remove(), 6000);
}

document.querySelector('.skip-link').addEventListener('click', (e) => {
  e.preventDefault();
  main.focus();
});

window.addEventListener('hashchange', render);
loadConfig().finally(render);
