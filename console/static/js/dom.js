// Building the page without HTML strings. Every string, above all every
// string from the API, becomes a text node: nothing is ever parsed as
// markup (no innerHTML anywhere in the console), so a narration such as
// <img src=x onerror=alert(1)> is shown as the characters it is.

// h(tag, props, ...children) creates an element. props:
//   class, id, for, type, name, value, ... → attributes (false/null skipped)
//   onclick, onsubmit, oninput, ...      → event listeners
//   dataset: {k: v}                       → data-k attributes
// children: strings and numbers (as text), nodes, arrays, null/false (skipped).
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2), value);
    } else if (key === 'dataset') {
      Object.assign(el.dataset, value);
    } else if (key === 'value' && 'value' in el) {
      el.value = value;
    } else {
      el.setAttribute(key, value === true ? '' : String(value));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else if (child instanceof Node) el.append(child);
    else el.append(document.createTextNode(String(child)));
  }
}

// replace empties el and puts children in it.
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

// announce reads a short message to screen-reader users without moving focus.
export function announce(message) {
  const region = document.getElementById('announcer');
  if (!region) return;
  region.textContent = '';
  // A new text node after a tick is announced even when it repeats.
  setTimeout(() => { region.textContent = message; }, 50);
}

let idCounter = 0;
// uid returns an id unique in the page, for label/aria wiring.
export function uid(prefix) {
  idCounter += 1;
  return `${prefix}-${idCounter}`;
}
