// Screens by URL fragment (#/accounts/1234567890/history). Each screen
// module registers itself with route(); main.js imports the modules, so a
// new screen (approvals queue, standing orders, statements...) is one new
// file and one import line. A route says who may see it and whether it has
// a place in the navigation.

import * as session from './session.js';

const routes = [];

// route({pattern, title, render, access, nav, navOrder})
//   pattern: '/accounts/:number/history'
//   access:  'public' (signed out only), 'customer', 'operator' or 'any' (signed in)
//   nav:     the label in the navigation, if any
//   render(main, params, query) builds the screen into main (may be async)
export function route(def) {
  const keys = [];
  const source = def.pattern
    .replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
    .replace(/\\?:(\w+)/g, (_, k) => { keys.push(k); return '([^/]+)'; });
  routes.push({ access: 'any', navOrder: 100, ...def, regex: new RegExp(`^${source}$`), keys });
}

export function allowed(r) {
  const signedIn = session.signedIn();
  switch (r.access) {
    case 'public': return !signedIn;
    case 'customer': return signedIn && !session.isOperator();
    case 'operator': return signedIn && session.isOperator();
    default: return signedIn;
  }
}

// navItems lists the routes to show in the navigation for this session.
export function navItems() {
  return routes.filter((r) => r.nav && allowed(r)).sort((a, b) => a.navOrder - b.navOrder);
}

// current parses location.hash into {path, query}.
export function current() {
  const raw = location.hash.replace(/^#/, '') || '/';
  const [p, q = ''] = raw.split('?');
  return { path: p, query: new URLSearchParams(q) };
}

export function go(p) {
  if (location.hash === `#${p}`) window.dispatchEvent(new HashChangeEvent('hashchange'));
  else location.hash = p;
}

// match finds the route for a path: {route, params} or null.
export function match(p) {
  for (const r of routes) {
    const m = r.regex.exec(p);
    if (m) {
      const params = {};
      r.keys.forEach((k, i) => { params[k] = decodeURIComponent(m[i + 1]); });
      return { route: r, params };
    }
  }
  return null;
}

// href builds a link target for a path.
export function href(p) { return `#${p}`; }
