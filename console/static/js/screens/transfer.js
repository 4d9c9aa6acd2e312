// Send money, in three steps: the form; a review that shows the receiver's
// name from name enquiry, confirmed before anything is sent; the outcome.
//
// One Idempotency-Key per submission: it is made when the review is shown
// and sent with every attempt of that submission, so a double click, a
// retry after a network error or a 5xx, or a transfer still processing
// (202) can never move money twice. Editing the transfer starts a new one.

import { h, replace, announce } from '../dom.js';
import { route, href } from '../router.js';
import * as api from '../api.js';
import * as session from '../session.js';
import { field, alertBox, clearErrors, showError, fieldError, showAlert, values, busy } from '../forms.js';
import { formatNaira, parseAmount } from '../money.js';
import { messageFor, detailFor } from '../messages.js';
import { heading, definitions, status } from '../views.js';

const FIELD_FOR = {
  SAME_ACCOUNT: 'to_account', INSUFFICIENT_FUNDS: 'amount', SINGLE_LIMIT_EXCEEDED: 'amount',
  DAILY_LIMIT_EXCEEDED: 'amount', RECEIVER_BALANCE_LIMIT: 'amount',
};
const FINAL = new Set(['COMPLETED', 'FAILED']);
const sleep = (ms) => new Promise((resolve) => { setTimeout(resolve, ms); });

route({
  pattern: '/transfer',
  title: 'Send money',
  access: 'customer',
  nav: 'Send money',
  navOrder: 20,
  render(main, params, query) {
    const own = session.accounts();
    if (!own.length) { main.append(heading('Send money'), h('p', {}, 'You have no account to send from.')); return; }
    const stage = h('div', { class: 'stage' });
    main.append(heading('Send money'), stage);
    let draft = { from_account: query.get('from') || own[0].account_number, to_account: '', amount: '', narration: '' };
    let submission = null; // {key, body, name}: the transfer being confirmed

    const showForm = (focusField) => {
      const form = h('form', { class: 'card', novalidate: true, 'aria-label': 'Transfer details' },
        alertBox(),
        field({ label: 'From', name: 'from_account', value: draft.from_account,
          options: own.map((a) => ({ value: a.account_number, label: `${a.account_number} · ${formatNaira(a.balance)}` })) }),
        field({ label: "Receiver's account number", name: 'to_account', value: draft.to_account, required: true,
          inputmode: 'numeric', autocomplete: 'off', maxlength: 10, pattern: '[0-9]{10}', hint: '10 digits.' }),
        field({ label: 'Amount (₦)', name: 'amount', value: draft.amount, required: true, inputmode: 'decimal',
          autocomplete: 'off', hint: 'For example 1500 or 1500.50.' }),
        field({ label: 'Narration (optional)', name: 'narration', value: draft.narration, maxlength: 140, autocomplete: 'off' }),
        h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Continue')));
      form.addEventListener('submit', async (e) => {
        e.preventDefault();
        clearErrors(form);
        draft = values(form);
        draft.to_account = draft.to_account.trim();
        const amount = parseAmount(draft.amount);
        let bad = false;
        if (!/^\d{10}$/.test(draft.to_account)) bad = fieldError(form, 'to_account', 'Enter the 10-digit account number.');
        if (!amount) bad = fieldError(form, 'amount', 'Enter an amount above zero with at most two decimals.') || bad;
        if (bad) { form.querySelector('[aria-invalid=true]').focus(); return; }
        const done = busy(form, 'Checking the receiver…');
        try {
          const { data } = await api.get(api.path`/accounts/${draft.to_account}/name-enquiry`);
          const body = { from_account: draft.from_account, to_account: draft.to_account, amount, currency: 'NGN',
            narration: draft.narration.trim() };
          // A new submission, unless this is the one already being sent
          // (its outcome unknown): then its key is kept.
          if (!submission || JSON.stringify(submission.body) !== JSON.stringify(body)) {
            submission = { key: api.newKey('tx'), body, name: data.account_name };
          }
          showReview();
        } catch (err) {
          done();
          showError(form, err, { NOT_FOUND: 'to_account' });
        }
      });
      replace(stage, form);
      if (focusField) form.querySelector(`[name="${focusField}"]`).focus();
    };

    const showReview = () => {
      const { body, name } = submission;
      const send = h('button', { type: 'submit', class: 'primary' }, `Send ${formatNaira(body.amount)}`);
      const form = h('form', { class: 'card review', 'aria-label': 'Confirm the transfer' },
        h('h2', {}, 'Check and confirm'),
        definitions([
          ['To', h('span', { class: 'receiver-name', dataset: { testid: 'receiver-name' } }, name)],
          ['Account', h('span', { class: 'mono' }, body.to_account)],
          ['Amount', h('strong', {}, formatNaira(body.amount))],
          ['From', h('span', { class: 'mono' }, body.from_account)],
          ['Narration', body.narration || null],
        ]),
        alertBox(),
        h('div', { class: 'actions' },
          h('button', { type: 'button', onclick: () => showForm('amount') }, 'Edit'),
          send));
      form.addEventListener('submit', (e) => { e.preventDefault(); attempt(form); });
      replace(stage, form);
      send.focus();
      announce(`Sending to ${name}. Check and confirm.`);
    };

    // attempt sends the submission once; its buttons stay disabled until
    // the answer, so a double click is one request.
    const attempt = async (form) => {
      clearErrors(form);
      const done = busy(form, 'Sending…');
      let resp;
      try {
        resp = await api.post('/transfers', submission.body, { 'Idempotency-Key': submission.key });
      } catch (err) {
        done();
        if (err.network || err.status >= 500) {
          // The outcome is unknown: the money may have moved. Retrying with
          // the same key answers the first outcome and never sends again.
          showAlert(form, 'error',
            h('p', {}, messageFor(err)),
            h('p', {}, 'Your transfer may or may not have gone through. Retrying is safe: it will not be sent twice.'),
            h('button', { type: 'button', class: 'primary', onclick: () => attempt(form) }, 'Retry')).focus();
          return;
        }
        // A refusal is final for this key: a corrected transfer is a new one.
        submission = null;
        showForm();
        const f = stage.querySelector('form');
        showError(f, err, FIELD_FOR);
        return;
      }
      showOutcome(resp.data);
    };

    const showOutcome = async (t) => {
      const box = h('section', { class: 'card outcome', 'aria-live': 'polite' });
      replace(stage, box);
      const draw = (tr) => {
        const title = { COMPLETED: 'Sent', FAILED: 'Not sent', PENDING_APPROVAL: 'Awaiting approval' }[tr.status] || 'Processing';
        replace(box,
          h('h2', { tabindex: '-1' }, title),
          definitions([
            ['Status', status(tr.status)],
            ['To', submission ? submission.name : null],
            ['Amount', formatNaira(tr.amount)],
            ['Reference', h('span', { class: 'mono', dataset: { testid: 'reference' } }, tr.reference)],
            ['Reason', tr.failure_code ? messageFor({ code: tr.failure_code }) : null],
          ]),
          tr.status === 'PENDING_APPROVAL'
            ? h('p', {}, 'Large transfers wait for an operator. The amount is held on your account until then.') : null,
          h('div', { class: 'actions' },
            h('a', { class: 'button', href: href(`/accounts/${tr.from_account}/history`) }, 'History'),
            h('button', { type: 'button', class: 'primary', onclick: () => { submission = null; draft.amount = ''; draft.narration = ''; showForm('to_account'); } }, 'Send another')));
        box.querySelector('h2').focus();
      };
      draw(t);
      // Still processing: ask again with the key until the outcome is final.
      for (let i = 0; t.status === 'PENDING' && i < 60 && box.isConnected; i++) {
        await sleep(1500);
        try {
          ({ data: t } = await api.get(api.path`/transfers/${t.reference}`));
          if (FINAL.has(t.status) || t.status !== 'PENDING') draw(t);
        } catch (err) {
          if (!err.network) {
            box.append(h('div', { class: 'alert alert-error', role: 'alert' }, messageFor(err), ' ', detailFor(err)));
            break;
          }
        }
      }
      if (FINAL.has(t.status)) submission = null;
    };

    showForm();
  },
});
