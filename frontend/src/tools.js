// The editor page's document tools, next to Share in the header: History
// (the panel of history.js), "Who wrote this" (authorship.js), and a menu
// with the downloads and Delete. Also what the page says when its
// document is in the trash (with Undelete for the edit link's holders).
//
// editor.js hands over what the tools need (the key, the live view and
// client, the banner) and calls three hooks: extensions (in every editor
// state), loaded(doc) when it knows the document and its role, and
// stopped(notice) when the page stops for good.

import { EditorView } from '@codemirror/view';

import { deleteDoc, exportURL, getAuthorship, getDoc, restoreDoc, undeleteDoc } from './api.js';
import { authorshipView } from './authorship.js';
import { confirmDialog } from './confirm.js';
import { h } from './dom.js';
import { historyPanel } from './history.js';
import { loadRecent } from './recent.js';

const longDate = new Intl.DateTimeFormat(undefined, { dateStyle: 'long', timeStyle: 'short' });

// purgeDate says when a trashed document goes for good ('' if unknown).
export function purgeDate(iso) {
  const ms = Date.parse(iso ?? '');
  return Number.isFinite(ms) ? longDate.format(new Date(ms)) : '';
}

export function docTools({ getKey, getView, client, me, banner }) {
  // The role the key grants, once known ("edit", "view", "admin").
  let role = null;
  let stopped = false;
  const mayEdit = () => role === 'edit' || role === 'admin';

  // --- the toolbar ---
  const historyBtn = h(
    'button',
    { className: 'btn tool-btn', type: 'button', 'aria-pressed': 'false', 'data-testid': 'history-toggle', title: 'Older versions of this document' },
    h('span', { className: 'tool-icon icon-history', 'aria-hidden': 'true' }),
    h('span', { className: 'tool-label' }, 'History'),
  );
  const authorsBtn = h(
    'button',
    { className: 'btn tool-btn', type: 'button', 'aria-pressed': 'false', 'data-testid': 'authors-toggle', title: 'Colour the text by who wrote it' },
    h('span', { className: 'tool-icon icon-authors', 'aria-hidden': 'true' }),
    h('span', { className: 'tool-label' }, 'Who wrote this'),
  );
  const txtLink = h('a', { className: 'menu-item', role: 'menuitem', download: '', 'data-testid': 'download-txt' }, 'Download as text (.txt)');
  const mdLink = h('a', { className: 'menu-item', role: 'menuitem', download: '', 'data-testid': 'download-md' }, 'Download as Markdown (.md)');
  const jsonLink = h('a', { className: 'menu-item', role: 'menuitem', download: '', 'data-testid': 'download-json' }, 'Export the full history (.json)');
  const deleteBtn = h('button', { className: 'menu-item danger', type: 'button', role: 'menuitem', 'data-testid': 'delete-doc' }, 'Delete document…');
  const menu = h(
    'details',
    { className: 'menu', 'data-testid': 'doc-menu' },
    h('summary', { className: 'icon-btn menu-btn', 'aria-label': 'More: download, export, delete', title: 'Download, export, delete' }, '⋯'),
    h('div', { className: 'menu-list', role: 'menu' }, txtLink, mdLink, jsonLink, h('hr', { className: 'menu-sep' }), deleteBtn),
  );
  const buttons = h('div', { className: 'doc-tools' }, historyBtn, authorsBtn, menu);

  menu.addEventListener('toggle', () => {
    if (!menu.open) return;
    txtLink.href = exportURL(getKey(), 'txt');
    mdLink.href = exportURL(getKey(), 'md');
    jsonLink.href = exportURL(getKey(), 'json');
    deleteBtn.disabled = !mayEdit() || stopped;
    deleteBtn.title = mayEdit() ? '' : 'Only people with the edit link can delete this document';
  });
  // The menu closes on a choice, a click elsewhere, or Escape.
  menu.addEventListener('click', (e) => {
    if (e.target.closest('.menu-item')) menu.open = false;
  });
  document.addEventListener('click', (e) => {
    if (menu.open && !menu.contains(e.target)) menu.open = false;
  });
  menu.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && menu.open) {
      menu.open = false;
      menu.querySelector('summary').focus();
    }
  });

  // --- a short notice under the header (after a restore) ---
  const noticeText = h('span', { className: 'tool-notice-text' });
  const noticeAction = h('span', {});
  const noticeClose = h('button', { className: 'banner-close', type: 'button', 'aria-label': 'Dismiss' }, '×');
  const notice = h('div', { className: 'tool-notice', role: 'status', 'data-testid': 'tool-notice', hidden: true }, noticeText, noticeAction, noticeClose);
  noticeClose.addEventListener('click', () => {
    notice.hidden = true;
  });
  function say(text, action = null) {
    noticeText.textContent = text;
    noticeAction.replaceChildren(...(action ? [' ', action] : []));
    notice.hidden = false;
  }

  // --- authorship ---
  const authorship = authorshipView({
    getView,
    client,
    me,
    load: (rev) => getAuthorship(getKey(), rev),
    onError: (err) => say(`Could not load who wrote what: ${err.message}.`),
  });
  authorsBtn.addEventListener('click', () => {
    const on = !authorship.isOn();
    authorship.setOn(on);
    authorsBtn.setAttribute('aria-pressed', String(on));
    getView().dom.closest('.editor')?.classList.toggle('show-authors', on);
  });

  // --- history ---
  const history = historyPanel({
    getKey,
    me,
    liveText: () => getView().state.doc.toString(),
    liveRev: () => client.rev,
    liveSynced: () => client.isSynchronized(),
    canEdit: () => mayEdit() && !stopped,
    onRestored(newRev, fromRev) {
      history.close();
      const undo = h('button', { className: 'btn small', type: 'button', 'data-testid': 'undo-restore' }, 'Undo');
      undo.addEventListener('click', async () => {
        undo.disabled = true;
        try {
          // The text before the restore is the revision just before it.
          await restoreDoc(getKey(), newRev - 1, me.author);
          say('The restore was undone.');
        } catch (err) {
          say(`Could not undo the restore: ${err.message}.`);
        }
      });
      say(`Restored the version of revision ${fromRev}.`, Number.isInteger(newRev) && newRev > 0 ? undo : null);
    },
    onError: () => {},
  });
  history.onClose = () => {
    historyBtn.setAttribute('aria-pressed', 'false');
    history.el.parentElement?.classList.remove('history-open');
    getView().focus();
  };
  historyBtn.addEventListener('click', () => {
    if (history.isOpen()) {
      history.close();
      return;
    }
    history.el.parentElement?.classList.add('history-open');
    historyBtn.setAttribute('aria-pressed', 'true');
    history.open();
  });
  const follow = EditorView.updateListener.of((u) => {
    if (u.docChanged) history.liveChanged();
  });
  // Our own acknowledged ops move the revision without a change in the
  // text: look now and then while the panel is open.
  const liveTimer = setInterval(() => {
    if (history.isOpen()) history.liveChanged();
  }, 1000);

  // --- delete, and the trash ---
  deleteBtn.addEventListener('click', async () => {
    if (!mayEdit()) return;
    const ok = await confirmDialog({
      title: 'Delete this document?',
      text: 'Everyone loses access at once, through every link. The document stays in the trash for a while, and can be restored from there until then.',
      confirmLabel: 'Delete',
      danger: true,
    });
    if (!ok) return;
    try {
      await deleteDoc(getKey());
    } catch (err) {
      say(`Could not delete the document: ${err.message}.`);
      return;
    }
    checkTrash();
  });

  let checking = null;
  // checkTrash asks whether the document is in the trash and, if so, says
  // so on the page, with Undelete for those who may.
  function checkTrash() {
    if (checking) return checking;
    checking = getDoc(getKey())
      .then(
        () => null,
        (err) => (err.status === 410 || err.code === 'deleted' ? err.details ?? {} : null),
      )
      .then((trashed) => {
        if (trashed) showTrashed(trashed);
      })
      .finally(() => {
        checking = null;
      });
    return checking;
  }

  function showTrashed(details) {
    stopped = true;
    if (history.isOpen()) history.close();
    if (authorship.isOn()) authorsBtn.click();
    historyBtn.disabled = true;
    authorsBtn.disabled = true;
    const until = purgeDate(details.purge);
    const text = `This document was deleted. It stays in the trash${until ? ` until ${until}` : ' for a while'}, then it is gone for good.`;
    const knownRole = role ?? loadRecent().find((e) => e.key === getKey())?.role ?? null;
    const may = knownRole === 'edit' || knownRole === 'admin';
    const actions = h('span', { className: 'trash-actions' });
    if (may) {
      const undelete = h('button', { className: 'btn small', type: 'button', 'data-testid': 'undelete' }, 'Undelete');
      undelete.addEventListener('click', async () => {
        undelete.disabled = true;
        try {
          await undeleteDoc(getKey());
          location.reload();
        } catch (err) {
          undelete.disabled = false;
          say(`Could not undelete the document: ${err.message}.`);
        }
      });
      actions.append(undelete, ' ');
    } else {
      actions.append('Ask someone with the edit link to restore it. ');
    }
    actions.append(h('a', { href: '/' }, 'Your documents'));
    banner.show(text, { dismissible: false, action: actions });
    banner.el.dataset.state = 'trashed';
  }

  return {
    buttons,
    bar: h('div', { className: 'tools-bar' }, notice, authorship.legend),
    panel: history.el,
    extensions: [authorship.extension, follow],
    loaded(doc) {
      role = doc?.role ?? role;
    },
    // stopped is called when the page stops for good; a document gone may
    // be in the trash.
    stopped(n) {
      stopped = true;
      if (n?.gone) checkTrash();
    },
    destroy() {
      clearInterval(liveTimer);
    },
  };
}
