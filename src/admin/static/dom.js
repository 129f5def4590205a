// Small DOM helpers. Text goes in as text (textContent), never as HTML.
/* global document, Node */

/** h('td', {class: 'x', dataset: {id: '1'}}, 'text', child): an element. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

/** An SVG element (namespace), same arguments as h(). */
export function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS('http://www.w3.org/2000/svg', tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

function setAttrs(el, attrs) {
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else el.setAttribute(key, value === true ? '' : String(value));
  }
}

function append(el, children) {
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

/** "3 min", "2 h 5 min", "4 d" since an ISO time. */
export function age(iso, now = Date.now()) {
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) return '';
  const seconds = Math.max(0, Math.round((now - t) / 1000));
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} h ${minutes % 60} min`;
  return `${Math.floor(hours / 24)} d`;
}

/** A local date and time for an ISO string ('' for none). */
export function when(iso) {
  if (!iso) return '';
  const t = new Date(iso);
  return Number.isNaN(t.getTime()) ? String(iso) : t.toLocaleString();
}

export function stateBadge(state) {
  return h('span', { class: `state state-${state}` }, state);
}

/** A <td> with "none" in muted text when the value is empty. */
export function cell(value, attrs = {}) {
  return h('td', attrs, value === '' || value === undefined || value === null ? h('span', { class: 'empty' }, '—') : value);
}

/** Shows a message in the page's status line (role=status). */
export function notify(text, bad = false) {
  const el = document.getElementById('notice');
  el.textContent = text;
  el.classList.toggle('bad', bad);
}
