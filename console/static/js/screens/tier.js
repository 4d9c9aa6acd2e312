// Upgrade an account's tier: POST /accounts/{n}/tier with the evidence the
// tier needs, under one Idempotency-Key per submission.

import { h, replace, announce } from '../dom.js';
import { route, href } from '../router.js';
import * as api from '../api.js';
import { field, alertBox, clearErrors, showError, showAlert, values, busy } from '../forms.js';
import { heading } from '../views.js';
import { accountCard, TIER_NAMES } from './accounts.js';

const ORDER = ['TIER_1', 'TIER_2', 'TIER_3'];
const FIELD_FOR = { KYC_FAILED: 'kyc.number', IDENTITY_IN_USE: 'kyc.number', TIER_NOT_HIGHER: 'tier' };

route({
  pattern: '/accounts/:number/tier',
  title: 'Upgrade tier',
  access: 'customer',
  async render(main, { number }) {
    const { data: account } = await api.get(api.path`/accounts/${number}`);
    const card = h('div', {}, accountCard(account));
    const higher = ORDER.slice(ORDER.indexOf(account.tier) + 1);
    main.append(heading('Upgrade tier', h('p', { class: 'subtitle' }, 'Account ', h('span', { class: 'mono' }, number))), card);
    if (!higher.length) {
      main.append(h('p', {}, 'This account is on the highest tier.'));
      return;
    }
    const submission = new api.Submission('tier');
    const form = h('form', { class: 'card', novalidate: true, 'aria-label': 'Upgrade tier' },
      alertBox(),
      field({ label: 'New tier', name: 'tier', options: higher.map((t) => ({ value: t, label: TIER_NAMES[t] })), value: higher[0] }),
      field({ label: 'Document', name: 'kyc.type', value: 'BVN', options: [
        { value: 'BVN', label: 'BVN' }, { value: 'NIN', label: 'NIN' }, { value: 'ID_CARD', label: 'ID card' }],
      hint: 'Tier 2 needs a BVN or NIN. Tier 3 needs an ID card, and a BVN or NIN already on file.' }),
      field({ label: 'Number', name: 'kyc.number', required: true, autocomplete: 'off' }),
      h('div', { class: 'actions' },
        h('a', { class: 'button', href: href('/accounts') }, 'Cancel'),
        h('button', { type: 'submit', class: 'primary' }, 'Upgrade')));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      clearErrors(form);
      const v = values(form);
      const body = { tier: v.tier, kyc: { type: v['kyc.type'], number: v['kyc.number'].trim() } };
      const done = busy(form, 'Verifying…');
      try {
        const resp = await api.post(api.path`/accounts/${number}/tier`, body,
          { 'Idempotency-Key': submission.keyFor(body) });
        submission.settle(null, resp.status);
        done();
        if (resp.status === 202) {
          showAlert(form, 'info', 'The registry is slow to answer; the upgrade goes on. Check your account again shortly.').focus();
          return;
        }
        replace(card, accountCard(resp.data));
        form.replaceWith(h('div', { class: 'alert alert-success', role: 'status' },
          `Your account is now on ${TIER_NAMES[resp.data.tier] || resp.data.tier}.`));
        announce('Tier upgraded');
      } catch (err) {
        submission.settle(err);
        done();
        showError(form, err, FIELD_FOR);
      }
    });
    main.append(form);
  },
});
