// Accessible form pieces: every input has a visible label, an optional hint
// and an error slot tied to it with aria-describedby; errors from the API's
// problem+json `field` are shown next to that field, and focus moves to the
// first field in error (or to the form's alert).

import { h, replace, uid, announce } from './dom.js';
import { messageFor, detailFor } from './messages.js';

// field builds a labelled control. opts: {label, name, type, hint,
// autocomplete, inputmode, required, options (for a select), value, ...attrs}
export function field(opts) {
  const { label, name, hint, options, type = 'text', ...attrs } = opts;
  const id = uid(`f-${name.replace(/\W/g, '-')}`);
  const hintId = hint ? `${id}-hint` : null;
  const errorId = `${id}-error`;
  const describedBy = [hintId, errorId].filter(Boolean).join(' ');
  let control;
  if (options) {
    control = h('select', { id, name, 'aria-describedby': describedBy, ...attrs },
      options.map((o) => h('option', { value: o.value, selected: o.value === attrs.value }, o.label)));
  } else {
    control = h('input', { id, name, type, 'aria-describedby': describedBy, ...attrs });
  }
  return h('div', { class: 'field', dataset: { field: name } },
    h('label', { for: id }, label),
    hint ? h('p', { class: 'hint', id: hintId }, hint) : null,
    control,
    h('p', { class: 'field-error', id: errorId, hidden: true }));
}

// alertBox is a form's message area for errors not tied to one field.
export function alertBox() {
  return h('div', { class: 'alert', role: 'alert', tabindex: '-1', hidden: true });
}

export function clearErrors(form) {
  for (const el of form.querySelectorAll('.field-error')) { el.hidden = true; el.textContent = ''; }
  for (const el of form.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
  const alert = form.querySelector('.alert');
  if (alert) { alert.hidden = true; alert.className = 'alert'; replace(alert); }
}

// fieldError marks one field invalid with a message.
export function fieldError(form, name, message) {
  const wrap = form.querySelector(`.field[data-field="${CSS.escape(name)}"]`);
  if (!wrap) return false;
  const control = wrap.querySelector('input, select, textarea');
  const slot = wrap.querySelector('.field-error');
  control.setAttribute('aria-invalid', 'true');
  slot.textContent = message;
  slot.hidden = false;
  return true;
}

// showAlert fills the form's alert; kind is 'error', 'info' or 'success'.
export function showAlert(form, kind, ...content) {
  const alert = form.querySelector('.alert');
  alert.className = `alert alert-${kind}`;
  replace(alert, ...content);
  alert.hidden = false;
  return alert;
}

// showError puts an API error where it belongs: next to its field when the
// problem names one (or fieldFor maps its code to one), else in the alert.
// Focus goes to the field, or to the alert.
export function showError(form, err, fieldFor = {}) {
  const name = err.field || fieldFor[err.code];
  // A validation detail names what is wrong with the value; other codes
  // read better as the sentence for the code.
  const text = err.code === 'VALIDATION_FAILED' ? (detailFor(err) || messageFor(err)) : messageFor(err);
  if (name && fieldError(form, name, text)) {
    form.querySelector(`.field[data-field="${CSS.escape(name)}"] :is(input, select)`).focus();
    announce(text);
    return;
  }
  const detail = err.code === 'VALIDATION_FAILED' ? '' : detailFor(err);
  const alert = showAlert(form, 'error', h('p', {}, text), detail ? h('p', { class: 'detail' }, detail) : null);
  alert.focus();
}

// values reads a form's named controls into an object.
export function values(form) {
  const out = {};
  for (const el of form.elements) {
    if (el.name) out[el.name] = el.value;
  }
  return out;
}

// busy disables a form's buttons while a request runs, so a double click
// sends nothing twice; it returns the function that ends it.
export function busy(form, label) {
  const buttons = [...form.querySelectorAll('button')];
  const submit = form.querySelector('button[type=submit]');
  const text = submit ? submit.textContent : '';
  for (const b of buttons) b.disabled = true;
  form.setAttribute('aria-busy', 'true');
  if (submit && label) submit.textContent = label;
  return () => {
    for (const b of buttons) b.disabled = false;
    form.removeAttribute('aria-busy');
    if (submit && label) submit.textContent = text;
  };
}
