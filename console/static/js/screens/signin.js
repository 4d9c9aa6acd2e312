// Sign in: POST /auth/login, then GET /me; the token stays in memory.

import { h } from '../dom.js';
import { route, go, href } from '../router.js';
import * as api from '../api.js';
import * as session from '../session.js';
import * as notifications from '../notifications.js';
import { field, alertBox, clearErrors, showError, values, busy } from '../forms.js';
import { heading } from '../views.js';

// signIn logs in and loads the user; shared with registration.
export async function signIn(email, password) {
  const { data } = await api.post('/auth/login', { email, password });
  session.start(data.access_token, data.expires_in);
  const me = await api.get('/me');
  session.setMe(me.data);
  notifications.start();
}

route({
  pattern: '/sign-in',
  title: 'Sign in',
  access: 'public',
  render(main, params, query) {
    const form = h('form', { class: 'card narrow', novalidate: true, 'aria-label': 'Sign in' },
      alertBox(),
      field({ label: 'Email', name: 'email', type: 'email', autocomplete: 'username', required: true }),
      field({ label: 'Password', name: 'password', type: 'password', autocomplete: 'current-password', required: true }),
      h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Sign in')));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      clearErrors(form);
      const v = values(form);
      const done = busy(form, 'Signing in…');
      try {
        await signIn(v.email.trim(), v.password);
        const next = query.get('next');
        go(next && next.startsWith('/') ? next : '/');
      } catch (err) {
        done();
        showError(form, err);
      }
    });
    main.append(
      heading('Sign in'),
      form,
      h('p', { class: 'aside' }, 'New here? ', h('a', { href: href('/register') }, 'Open an account')));
  },
});
