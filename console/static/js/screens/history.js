// An account's history, newest first, a page at a time (the API's opaque
// cursors; "Newer" goes back through the cursors already used). Operators
// may open any account's history and each entry's workflows in Temporal.

import { h, replace, announce } from '../dom.js';
import { route, href } from '../router.js';
import * as api from '../api.js';
import * as notifications from '../notifications.js';
import { messageFor } from '../messages.js';
import { heading, amount, time, temporalLink } from '../views.js';
import { formatNaira } from '../money.js';

export const PAGE_SIZE = 10;

const KIND = { TRANSFER: 'Transfer', DEPOSIT: 'Deposit', REVERSAL: 'Reversal' };

// The system funding account (docs/design.md): money from it is a deposit.
const FUNDING = '0000000000';

function describe(item) {
  if (item.kind === 'DEPOSIT' || (!item.kind && item.counterparty_account === FUNDING)) return 'Deposit';
  const kind = KIND[item.kind] || (item.direction === 'CREDIT' ? 'Credit' : 'Debit');
  const who = item.counterparty_account
    ? `${item.direction === 'DEBIT' ? 'to' : 'from'} ${item.counterparty_account}` : '';
  return [kind, who].filter(Boolean).join(' ');
}

// cell is one table cell; its content sits in one box, so on a phone the
// cell is a label column and a value column (console.css).
function cell(label, cls, ...content) {
  return h('td', { 'data-label': label, class: cls }, h('div', {}, ...content));
}

function row(item) {
  return h('tr', { dataset: { entry: item.id } },
    cell('Date', null, time(item.created_at)),
    cell('Details', null,
      h('span', { class: 'what' }, describe(item)),
      // The narration is the sender's free text: shown as text, always.
      item.narration ? h('span', { class: 'narration' }, item.narration) : null),
    cell('Reference', 'mono', item.transfer_reference, ' ', temporalLink(item.transfer_reference)),
    cell('Amount', 'num', amount(item.amount, item.direction)),
    cell('Balance after', 'num', formatNaira(item.balance_after)));
}

// historyTable renders a paged history of one account into a container and
// returns it; used by the customer's screen and the operator's account view.
export function historyTable(number) {
  const box = h('section', { class: 'history', 'aria-label': 'History' });
  const cursors = []; // cursors of the pages before the current one
  let cursor = '';

  const load = async (focusTable) => {
    const q = new URLSearchParams({ limit: String(PAGE_SIZE) });
    if (cursor) q.set('cursor', cursor);
    let page;
    try {
      ({ data: page } = await api.get(`${api.path`/accounts/${number}/transactions`}?${q}`));
    } catch (err) {
      replace(box, h('div', { class: 'alert alert-error', role: 'alert' }, messageFor(err)));
      return;
    }
    const pageNo = cursors.length + 1;
    const table = h('table', { class: 'entries' },
      h('caption', {}, `Page ${pageNo}, newest first`),
      h('thead', {}, h('tr', {},
        ['Date', 'Details', 'Reference', 'Amount', 'Balance after'].map((c, i) =>
          h('th', { scope: 'col', class: i >= 3 ? 'num' : null }, c)))),
      h('tbody', {}, page.items.map(row)));
    const newer = h('button', { type: 'button', disabled: cursors.length === 0 }, '← Newer');
    const older = h('button', { type: 'button', disabled: !page.next_cursor }, 'Older →');
    newer.addEventListener('click', () => { cursor = cursors.pop() || ''; load(true); });
    older.addEventListener('click', () => { cursors.push(cursor); cursor = page.next_cursor; load(true); });
    replace(box,
      page.items.length ? table : h('p', { class: 'empty' }, 'No transactions yet.'),
      h('nav', { class: 'pager', 'aria-label': 'History pages' }, newer, older));
    if (focusTable) {
      table.setAttribute('tabindex', '-1');
      table.focus();
      announce(`Page ${pageNo}`);
    }
  };
  box.reload = () => { cursors.length = 0; cursor = ''; return load(false); };
  box.onFirstPage = () => cursors.length === 0;
  return box;
}

route({
  pattern: '/accounts/:number/history',
  title: 'History',
  async render(main, { number }) {
    const table = historyTable(number);
    main.append(heading('History', h('p', { class: 'subtitle' }, 'Account ', h('span', { class: 'mono' }, number))),
      table, h('p', {}, h('a', { href: href('/') }, '← Back')));
    await table.reload();
    // New money appears at the top: reload the first page when a
    // notification arrives, if the customer is looking at it.
    const off = notifications.onChange((event) => {
      if (!table.isConnected) { off(); return; }
      if (event.kind === 'added' && table.onFirstPage()) table.reload();
    });
  },
});
