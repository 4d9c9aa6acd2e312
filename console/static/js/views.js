// Pieces several screens show.

import { h } from './dom.js';
import { formatNaira } from './money.js';
import { workflowSearchURL } from './config.js';
import * as session from './session.js';

// Times are shown in Lagos, the bank's day (the daily limits follow it).
const DATE_TIME = new Intl.DateTimeFormat('en-NG', {
  timeZone: 'Africa/Lagos', dateStyle: 'medium', timeStyle: 'short',
});

export function formatTime(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso) : DATE_TIME.format(d);
}

export function time(iso) {
  return h('time', { datetime: iso }, formatTime(iso));
}

export function heading(text, ...rest) {
  return h('div', { class: 'screen-head' }, h('h1', {}, text), ...rest);
}

// amount shows a signed amount: debits with a minus sign, credits with a plus.
export function amount(value, direction) {
  const text = formatNaira(value);
  if (direction === 'DEBIT') return h('span', { class: 'amount debit' }, `−${text}`);
  if (direction === 'CREDIT') return h('span', { class: 'amount credit' }, `+${text}`);
  return h('span', { class: 'amount' }, text);
}

// status shows a transfer status as a labelled badge.
export function status(value) {
  const label = {
    COMPLETED: 'Completed', FAILED: 'Failed', PENDING: 'Processing', PENDING_APPROVAL: 'Awaiting approval',
  }[value] || value;
  return h('span', { class: `badge-status status-${String(value).toLowerCase()}` }, label);
}

// temporalLink links an operator to the workflows of a reference in the
// Temporal Web UI; nothing for customers or when the UI is not configured.
export function temporalLink(reference) {
  const url = session.isOperator() && reference ? workflowSearchURL(reference) : '';
  if (!url) return null;
  return h('a', { href: url, target: '_blank', rel: 'noopener noreferrer', class: 'temporal-link' },
    'Workflow in Temporal', h('span', { class: 'visually-hidden' }, ` for ${reference} (opens in a new tab)`));
}

// definition renders a <dl> from [term, value] pairs, skipping absent values.
export function definitions(pairs, cls = 'facts') {
  return h('dl', { class: cls }, pairs.filter(([, v]) => v !== null && v !== undefined && v !== false)
    .map(([term, value]) => h('div', {}, h('dt', {}, term), h('dd', {}, value))));
}
