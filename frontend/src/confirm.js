// confirmDialog asks a yes-or-no question in a modal <dialog> (the browser
// keeps the focus inside it and closes it on Escape) and resolves to true
// when the person confirms. The confirming button is focused only for
// harmless questions; for a dangerous one, Cancel is.

import { h } from './dom.js';

export function confirmDialog({ title, text, confirmLabel = 'OK', cancelLabel = 'Cancel', danger = false }) {
  return new Promise((resolve) => {
    const ok = h('button', { className: danger ? 'btn danger' : 'btn primary', type: 'button', 'data-testid': 'confirm-ok' }, confirmLabel);
    const cancel = h('button', { className: 'btn', type: 'button', 'data-testid': 'confirm-cancel' }, cancelLabel);
    const el = h(
      'dialog',
      { className: 'confirm', 'aria-labelledby': 'confirm-title', 'aria-describedby': 'confirm-text', 'data-testid': 'confirm-dialog' },
      h('h2', { id: 'confirm-title' }, title),
      h('p', { id: 'confirm-text', className: 'confirm-text' }, text),
      h('div', { className: 'confirm-buttons' }, cancel, ok),
    );
    const opener = document.activeElement;
    let answer = false;
    ok.addEventListener('click', () => {
      answer = true;
      el.close();
    });
    cancel.addEventListener('click', () => el.close());
    el.addEventListener('close', () => {
      el.remove();
      if (opener?.isConnected) opener.focus?.();
      resolve(answer);
    });
    document.body.append(el);
    el.showModal();
    (danger ? cancel : ok).focus();
  });
}
