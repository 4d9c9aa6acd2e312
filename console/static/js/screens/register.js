// Open an account: POST /auth/register with the KYC evidence, then sign in.
// The API checks every field and names the one it refuses (problem `field`),
// which is shown next to that field. Sending the same form again is safe:
// the API answers a repeated registration with its first outcome.

import { h, announce } from '../dom.js';
import { route, go, href } from '../router.js';
import * as api from '../api.js';
import { ApiError } from '../api.js';
import { field, alertBox, clearErrors, showError, showAlert, values, busy } from '../forms.js';
import { heading } from '../views.js';
import { signIn } from './signin.js';

const KYC_TYPES = [
  { value: 'NIN', label: 'NIN (National Identification Number)' },
  { value: 'BVN', label: 'BVN (Bank Verification Number)' },
  { value: 'ID_CARD', label: 'ID card' },
];

// Codes that belong to one field although they are not VALIDATION_FAILED.
const FIELD_FOR = { EMAIL_TAKEN: 'email', IDENTITY_IN_USE: 'kyc.number', KYC_FAILED: 'kyc.number' };

const sleep = (ms) => new Promise((resolve) => { setTimeout(resolve, ms); });

// awaitRegistration polls a registration the API answered 202 for.
async function awaitRegistration(id) {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    await sleep(1000);
    const { data } = await api.get(api.path`/auth/registrations/${id}`);
    if (data.status === 'COMPLETED') return data;
    if (data.status === 'FAILED') throw new ApiError({ status: data.error ? data.error.status : 0, problem: data.error });
  }
  throw new ApiError({ problem: { code: 'SERVICE_UNAVAILABLE', detail: 'The registration is still being processed; try signing in later.' } });
}

route({
  pattern: '/register',
  title: 'Open an account',
  access: 'public',
  render(main) {
    const form = h('form', { class: 'card', novalidate: true, 'aria-label': 'Open an account' },
      alertBox(),
      h('fieldset', {}, h('legend', {}, 'You'),
        field({ label: 'Full name', name: 'full_name', autocomplete: 'name', required: true, maxlength: 100 }),
        field({ label: 'Email', name: 'email', type: 'email', autocomplete: 'email', required: true }),
        field({ label: 'Phone', name: 'phone', type: 'tel', autocomplete: 'tel', required: true,
          hint: 'Nigerian number, such as 08031234567 or +2348031234567.' }),
        field({ label: 'Password', name: 'password', type: 'password', autocomplete: 'new-password', required: true,
          minlength: 10, hint: 'At least 10 characters.' })),
      h('fieldset', {}, h('legend', {}, 'Identity (KYC)'),
        field({ label: 'Document', name: 'kyc.type', options: KYC_TYPES, value: 'NIN' }),
        field({ label: 'Number', name: 'kyc.number', required: true, autocomplete: 'off',
          hint: 'NIN and BVN: 11 digits. ID card: 2 letters and 7 to 9 digits.' })),
      h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Open account')));

    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      clearErrors(form);
      const v = values(form);
      const body = {
        email: v.email.trim(), password: v.password, full_name: v.full_name.trim(), phone: v.phone.trim(),
        kyc: { type: v['kyc.type'], number: v['kyc.number'].trim() },
      };
      const done = busy(form, 'Opening your account…');
      try {
        const resp = await api.post('/auth/register', body);
        if (resp.status === 202) {
          showAlert(form, 'info', 'Verifying your identity. This can take a little while…');
          announce('Verifying your identity');
          await awaitRegistration(resp.data.registration_id);
        }
        await signIn(body.email, body.password);
        announce('Your account is open.');
        go('/accounts');
      } catch (err) {
        done();
        showError(form, err, FIELD_FOR);
      }
    });

    main.append(heading('Open an account'), form,
      h('p', { class: 'aside' }, 'Already a customer? ', h('a', { href: href('/sign-in') }, 'Sign in')));
  },
});
