// The people in a document, as a list above the editor: the page's own
// person first, then the others; each other person is a button that
// follows them: the editor jumps to their cursor and keeps it in view as
// they move, until the button is pressed again, the person leaves, or
// the local person moves their own cursor.

import { EditorView } from '@codemirror/view';

import { h } from './dom.js';
import { initials, inkOn, safeColor } from './identity.js';
import { peersField } from './remote.js';

export function peopleList() {
  const el = h('ul', { className: 'people', 'data-testid': 'people', 'aria-label': 'People in this document' });
  let following = null;
  let view = null;
  let last = '';

  function headOf(state, client) {
    const p = state.field(peersField).get(client);
    const r = p?.sel?.[0];
    return r ? r[1] : null;
  }

  function reveal() {
    if (following === null || !view) return;
    const head = headOf(view.state, following);
    if (head === null) return;
    view.dispatch({ effects: EditorView.scrollIntoView(head, { y: 'center' }) });
  }

  function toggle(client) {
    following = following === client ? null : client;
    last = '';
    render(view.state, currentMe);
    reveal();
  }

  let currentMe = null;
  // render draws the list for an editor state; me: {name, color, view}.
  function render(state, me) {
    currentMe = me;
    const peers = [...state.field(peersField).values()];
    if (following !== null && !peers.some((p) => p.client === following)) following = null;
    const list = [{ client: me.client, name: me.name, color: me.color, view: me.view, me: true }, ...peers];
    const key = JSON.stringify([following, list.map((p) => [p.client, p.name, p.color, p.view])]);
    if (key === last) return;
    last = key;
    el.replaceChildren(
      ...list.map((p) => {
        const color = safeColor(p.color);
        const inner = [
          h('span', { className: 'avatar', style: { backgroundColor: color, color: inkOn(color) }, 'aria-hidden': 'true' }, initials(p.name)),
          h('span', { className: 'person-name' }, p.name),
          p.view ? h('span', { className: 'person-view', 'aria-hidden': 'true' }, 'viewing') : null,
        ];
        const isFollowed = following === p.client;
        return h(
          'li',
          {
            className: ['person', p.me && 'me', p.view && 'viewer', isFollowed && 'following'].filter(Boolean).join(' '),
            'data-testid': 'person',
            'data-client': p.client,
            'data-view': p.view ? 'true' : null,
            title: `${p.name}${p.me ? ' (you)' : ''}${p.view ? ': can only view' : ''}`,
          },
          // The names are the visible text; the rest of what a screen
          // reader says is visually hidden, so both agree.
          p.me
            ? h('span', { className: 'person-inner' }, inner)
            : h(
                'button',
                {
                  className: 'person-inner',
                  type: 'button',
                  'aria-pressed': String(isFollowed),
                  'data-testid': 'follow',
                  onclick: () => toggle(p.client),
                },
                inner,
                h('span', { className: 'sr-only' }, p.view ? ', viewing: follow' : ': follow'),
              ),
        );
      }),
    );
  }

  return {
    el,
    render,
    attach(v) {
      view = v;
    },
    following: () => following,
    // update is called on every editor update: keeps the followed cursor
    // in view, and stops following when the local person moves.
    update(update) {
      if (following === null) return;
      const userMoved = update.transactions.some((tr) => tr.isUserEvent('select') || tr.isUserEvent('input') || tr.isUserEvent('delete'));
      if (userMoved) {
        following = null;
        last = '';
        render(update.state, currentMe);
        return;
      }
      const before = headOf(update.startState, following);
      const after = headOf(update.state, following);
      if (before !== after) queueMicrotask(reveal);
    },
  };
}
