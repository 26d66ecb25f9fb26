// The Share dialog: the document's links as full addresses, each with a
// Copy button and, for people who may edit, a Reissue button that replaces
// the link (the old one stops working at once, so it asks first).
//
// A native modal <dialog>: the browser gives it role=dialog, keeps focus
// inside while it is open and closes it on Escape; it is labelled by its
// heading, and focus goes back to the button that opened it. The dialog
// holds no state of its own: open() and update() render the links and role
// the page knows, and reissue(which) asks the page to reissue a link
// (resolving when the page has the new links).

import { pageURL } from './api.js';
import { h } from './dom.js';

const LINKS = {
  edit: {
    title: 'Edit link',
    note: 'Anyone with this link can change the text and the title, and share it on.',
    warning: 'The current edit link will stop working at once, and everyone who opened it will be disconnected.',
  },
  view: {
    title: 'View link',
    note: 'Anyone with this link can read along as the text changes, but not change it.',
    warning: 'The current view link will stop working at once, and everyone who opened it will be disconnected.',
  },
};

export function shareDialog({ reissue }) {
  const status = h('p', { className: 'share-status', role: 'status', 'aria-live': 'polite' });
  const lead = h('p', { className: 'share-lead', id: 'share-lead' });
  const closeButton = h('button', { className: 'icon-btn', type: 'button', 'aria-label': 'Close', title: 'Close (Esc)' }, '×');
  const body = h('div', { className: 'share-links' });
  const el = h(
    'dialog',
    { className: 'share', 'aria-labelledby': 'share-title', 'aria-describedby': 'share-lead', 'data-testid': 'share-dialog' },
    h('div', { className: 'share-head' }, h('h2', { id: 'share-title' }, 'Share this document'), closeButton),
    lead,
    body,
    h('div', { className: 'share-foot' }, status, h('button', { className: 'btn', type: 'button', onclick: () => el.close() }, 'Done')),
  );
  closeButton.addEventListener('click', () => el.close());
  // A click on the backdrop (outside the dialog's box) closes it too.
  el.addEventListener('click', (e) => {
    if (e.target !== el) return;
    const r = el.getBoundingClientRect();
    const inside = e.clientX >= r.left && e.clientX <= r.right && e.clientY >= r.top && e.clientY <= r.bottom;
    if (!inside) el.close();
  });

  let opener = null;
  let busy = false;
  el.addEventListener('close', () => {
    status.textContent = '';
    if (opener?.isConnected) opener.focus();
    opener = null;
  });

  let current = { links: {}, role: 'view' };

  function render() {
    const { links, role } = current;
    const mayReissue = role === 'edit' || role === 'admin';
    lead.textContent = mayReissue
      ? 'Send the edit link to people who should write, and the view link to people who should only read.'
      : 'You can view this document. Send the view link to others who should read it.';
    const rows = [];
    for (const which of ['edit', 'view']) {
      if (!links[which] || (which === 'edit' && !mayReissue)) continue;
      rows.push(linkRow(which, pageURL(links[which]), mayReissue));
    }
    body.replaceChildren(...rows);
  }

  function linkRow(which, url, mayReissue) {
    const info = LINKS[which];
    const inputId = `share-${which}-url`;
    const input = h('input', {
      className: 'share-url',
      id: inputId,
      type: 'text',
      readonly: true,
      value: url,
      spellcheck: 'false',
      'data-testid': `share-${which}-url`,
    });
    input.addEventListener('focus', () => input.select());
    const copy = h('button', { className: 'btn', type: 'button', 'data-testid': `copy-${which}` }, 'Copy');
    copy.addEventListener('click', () => copyLink(input, copy));
    const confirm = h('div', { className: 'share-confirm', hidden: true, role: 'group', 'aria-label': `Reissue the ${which} link?` });
    const reissueButton = mayReissue
      ? h(
          'button',
          {
            className: 'btn small subtle',
            type: 'button',
            'data-testid': `reissue-${which}`,
            'aria-expanded': 'false',
            'aria-label': `Reissue the ${which} link…`,
            title: `Make a new ${which} link; the current one stops working`,
          },
          'Reissue…',
        )
      : null;
    reissueButton?.addEventListener('click', () => {
      const open = confirm.hidden;
      confirm.hidden = !open;
      reissueButton.setAttribute('aria-expanded', String(open));
      if (open) confirm.querySelector('button')?.focus();
    });
    if (mayReissue) {
      const yes = h('button', { className: 'btn danger', type: 'button', 'data-testid': `confirm-reissue-${which}` }, `Reissue the ${which} link`);
      const no = h('button', { className: 'btn', type: 'button' }, 'Cancel');
      no.addEventListener('click', () => {
        confirm.hidden = true;
        reissueButton.setAttribute('aria-expanded', 'false');
        reissueButton.focus();
      });
      yes.addEventListener('click', () => doReissue(which, yes));
      confirm.append(h('p', { className: 'share-warning' }, info.warning), h('div', { className: 'share-confirm-buttons' }, yes, no));
    }
    return h(
      'section',
      { className: 'share-link', 'data-testid': `share-${which}` },
      h(
        'div',
        { className: 'share-link-head' },
        h('div', {}, h('label', { className: 'share-link-title', for: inputId }, info.title), h('p', { className: 'share-note' }, info.note)),
        reissueButton,
      ),
      h('div', { className: 'share-row' }, input, copy),
      confirm,
    );
  }

  async function copyLink(input, button) {
    let ok = false;
    try {
      await navigator.clipboard.writeText(input.value);
      ok = true;
    } catch {
      // No clipboard access here (an insecure origin, or permission
      // refused): select the text so that the keyboard's copy takes it.
    }
    input.focus();
    input.select();
    if (ok) {
      button.textContent = 'Copied';
      button.classList.add('done');
      status.textContent = 'Link copied.';
      setTimeout(() => {
        button.textContent = 'Copy';
        button.classList.remove('done');
      }, 1500);
    } else {
      status.textContent = 'The link is selected: press Ctrl+C (⌘C on a Mac) to copy it.';
    }
  }

  async function doReissue(which, button) {
    if (busy) return;
    busy = true;
    button.disabled = true;
    status.textContent = `Making a new ${which} link…`;
    try {
      await reissue(which);
      status.textContent = `New ${which} link made. The old one no longer works.`;
      // The rows were rendered again with the new links: focus the new one.
      el.querySelector(`[data-testid="copy-${which}"]`)?.focus();
    } catch (err) {
      status.textContent = `Could not reissue the ${which} link: ${err.message}.`;
      button.disabled = false;
    } finally {
      busy = false;
    }
  }

  return {
    el,
    open(links, role, from) {
      current = { links: { ...links }, role };
      render();
      opener = from ?? document.activeElement;
      if (!el.open) el.showModal();
      // The first Copy button: the likeliest next step, and focusing it
      // leaves the addresses showing from their start.
      el.querySelector('.share-row .btn')?.focus();
    },
    // update renders new links or a new role if the dialog is open.
    update(links, role) {
      current = { links: { ...links }, role };
      if (el.open) render();
    },
    close() {
      if (el.open) el.close();
    },
  };
}
