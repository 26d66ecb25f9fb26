// A tiny element builder. Strings become text nodes (never HTML), so text a
// user typed (names, titles) cannot inject markup.
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'className') el.className = value;
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else if (key === 'value') el.value = value;
    else if (key === 'style' && typeof value === 'object') Object.assign(el.style, value);
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

// errorBanner returns the page's banner for problems the user should know
// about; show(text) fills and reveals it, hide() clears it.
export function errorBanner() {
  const text = h('span', { className: 'banner-text' });
  const close = h('button', { className: 'banner-close', type: 'button', 'aria-label': 'Dismiss' }, '×');
  const el = h('div', { className: 'banner', role: 'alert', 'data-testid': 'error-banner', hidden: true }, text, close);
  const api = {
    el,
    show(message, { dismissible = true, action = null } = {}) {
      text.replaceChildren(message);
      if (action) text.append(' ', action);
      close.hidden = !dismissible;
      el.hidden = false;
    },
    hide() {
      el.hidden = true;
      text.replaceChildren();
    },
  };
  close.addEventListener('click', () => api.hide());
  return api;
}
