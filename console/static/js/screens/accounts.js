// The customer's accounts: balance, available balance, tier, limits and
// today's debits, refreshed when a notification says money moved. Fields
// the API does not send yet (available_balance, daily_debit_used and the
// daily limit arrive with holds and daily limits) are left out, not guessed.

import { h, replace } from '../dom.js';
import { route, href } from '../router.js';
import * as api from '../api.js';
import * as session from '../session.js';
import * as notifications from '../notifications.js';
import { formatNaira, formatLimit } from '../money.js';
import { heading, definitions, time } from '../views.js';

export const TIER_NAMES = { TIER_1: 'Tier 1', TIER_2: 'Tier 2', TIER_3: 'Tier 3' };

// accountCard shows one account; actions are links to what can be done.
export function accountCard(a, actions = []) {
  const limits = a.limits || {};
  return h('article', { class: 'card account', 'aria-labelledby': `acc-${a.account_number}` },
    h('header', { class: 'account-head' },
      h('h2', { id: `acc-${a.account_number}` },
        h('span', { class: 'visually-hidden' }, 'Account '), h('span', { class: 'mono' }, a.account_number)),
      h('span', { class: 'tier' }, TIER_NAMES[a.tier] || a.tier)),
    h('p', { class: 'balance' },
      h('span', { class: 'label' }, 'Balance'), ' ',
      h('span', { class: 'value', dataset: { testid: 'balance' } }, formatNaira(a.balance))),
    definitions([
      ['Available balance', 'available_balance' in a ? formatNaira(a.available_balance) : null],
      ["Today's debits", 'daily_debit_used' in a ? formatNaira(a.daily_debit_used) : null],
      ['Daily debit limit', 'daily_debit' in limits ? formatLimit(limits.daily_debit) : null],
      ['Single transfer limit', formatLimit(limits.single_transaction)],
      ['Maximum balance', formatLimit(limits.max_balance)],
      ['Opened', a.created_at ? time(a.created_at) : null],
    ]),
    actions.length ? h('div', { class: 'actions' }, actions) : null);
}

function customerActions(a) {
  return [
    h('a', { class: 'button', href: href(`/accounts/${a.account_number}/history`) }, 'History'),
    h('a', { class: 'button primary', href: href(`/transfer?from=${a.account_number}`) }, 'Send money'),
    a.tier !== 'TIER_3' ? h('a', { class: 'button', href: href(`/accounts/${a.account_number}/tier`) }, 'Upgrade tier') : null,
  ].filter(Boolean);
}

route({
  pattern: '/accounts',
  title: 'Accounts',
  access: 'customer',
  nav: 'Accounts',
  navOrder: 10,
  async render(main) {
    const list = h('div', { class: 'cards', 'aria-live': 'polite' });
    main.append(heading('Your accounts'), list);
    const draw = async () => {
      const { data } = await api.get('/me');
      session.setMe(data);
      replace(list, data.accounts.length
        ? data.accounts.map((a) => accountCard(a, customerActions(a)))
        : h('p', {}, 'You have no account yet.'));
    };
    await draw();
    // Balances move when money does: redraw on each new notification while
    // this screen is shown.
    const off = notifications.onChange((event) => {
      if (!list.isConnected) { off(); return; }
      if (event.kind === 'added') draw().catch(() => {});
    });
  },
});
