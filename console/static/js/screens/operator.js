// Operators: find any customer account, see it and its history (each entry
// links to its workflows in the Temporal Web UI), and pay deposits into it.
// A deposit is idempotent by its reference: the form makes one per deposit
// and keeps it across a retry whose outcome is unknown.

import { h, replace, announce } from '../dom.js';
import { route, go, href } from '../router.js';
import * as api from '../api.js';
import { field, alertBox, clearErrors, showError, fieldError, showAlert, values, busy } from '../forms.js';
import { formatNaira, parseAmount } from '../money.js';
import { messageFor } from '../messages.js';
import { heading, definitions, status, temporalLink } from '../views.js';
import { accountCard } from './accounts.js';
import { historyTable } from './history.js';

function findForm(initial = '') {
  const form = h('form', { class: 'card narrow search', novalidate: true, role: 'search', 'aria-label': 'Find an account' },
    alertBox(),
    field({ label: 'Account number', name: 'number', value: initial, inputmode: 'numeric', maxlength: 10,
      autocomplete: 'off', required: true }),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Find')));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    clearErrors(form);
    const number = values(form).number.trim();
    if (!/^\d{10}$/.test(number)) {
      fieldError(form, 'number', 'Enter the 10-digit account number.');
      form.querySelector('input').focus();
      return;
    }
    go(`/operator/accounts/${number}`);
  });
  return form;
}

function depositForm(number, onDone) {
  const submission = new api.Submission('dep');
  const form = h('form', { class: 'card', novalidate: true, 'aria-label': 'Pay a deposit' },
    h('h2', {}, 'Pay a deposit'),
    alertBox(),
    field({ label: 'Amount (₦)', name: 'amount', required: true, inputmode: 'decimal', autocomplete: 'off' }),
    field({ label: 'Narration', name: 'narration', maxlength: 140, autocomplete: 'off', value: 'Cash deposit' }),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Deposit')));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(form);
    const v = values(form);
    const amount = parseAmount(v.amount);
    if (!amount) {
      fieldError(form, 'amount', 'Enter an amount above zero with at most two decimals.');
      form.querySelector('[name=amount]').focus();
      return;
    }
    const deposit = { amount, narration: v.narration.trim() };
    // The reference is the deposit's idempotency key.
    const body = { reference: submission.keyFor(deposit), ...deposit };
    const done = busy(form, 'Depositing…');
    try {
      const resp = await api.post(api.path`/accounts/${number}/deposits`, body);
      submission.settle(null, resp.status);
      done();
      const t = resp.data;
      showAlert(form, 'success',
        h('p', {}, `Deposited ${formatNaira(t.amount)} `, status(t.status)),
        h('p', {}, 'Reference ', h('span', { class: 'mono' }, t.reference), ' ', temporalLink(t.reference))).focus();
      form.querySelector('[name=amount]').value = '';
      announce('Deposit paid');
      onDone();
    } catch (err) {
      submission.settle(err);
      done();
      if (err.network || err.status >= 500) {
        showAlert(form, 'error', h('p', {}, messageFor(err)),
          h('p', {}, 'The deposit may or may not have been paid. Deposit again with the same amount: it is sent with the same reference and cannot be paid twice.')).focus();
        return;
      }
      showError(form, err, { RECEIVER_BALANCE_LIMIT: 'amount' });
    }
  });
  return form;
}

route({
  pattern: '/operator',
  title: 'Customer accounts',
  access: 'operator',
  nav: 'Customer accounts',
  navOrder: 10,
  render(main) {
    main.append(heading('Customer accounts'), findForm());
  },
});

route({
  pattern: '/operator/accounts/:number',
  title: 'Customer account',
  access: 'operator',
  async render(main, { number }) {
    main.append(heading('Customer account'), findForm(number));
    let account;
    let holder;
    try {
      [{ data: account }, { data: holder }] = await Promise.all([
        api.get(api.path`/accounts/${number}`),
        api.get(api.path`/accounts/${number}/name-enquiry`),
      ]);
    } catch (err) {
      main.append(h('div', { class: 'alert alert-error', role: 'alert' },
        err.code === 'NOT_FOUND' ? `No customer account has the number ${number}.` : messageFor(err)));
      return;
    }
    const card = h('div', {}, accountCard(account));
    const history = historyTable(number);
    const refresh = async () => {
      const { data } = await api.get(api.path`/accounts/${number}`);
      replace(card, accountCard(data));
      await history.reload();
    };
    main.append(
      definitions([['Holder', h('span', { dataset: { testid: 'holder' } }, holder.account_name)]]),
      h('div', { class: 'two-col' }, card, depositForm(number, () => refresh().catch(() => {}))),
      h('h2', {}, 'History'), history,
      h('p', {}, h('a', { href: href('/operator') }, '← Find another account')));
    await history.reload();
  },
});
