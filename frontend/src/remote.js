// Other people's carets and selections in the editor.
//
// A StateField holds each peer's selections in positions of the current
// document. Every change, local or remote, moves them by ot.js's cursor rule,
// the one the server applies to stored selections: a caret exactly at an
// insertion point moves after the inserted text. (CodeMirror's own mapPos
// differs at the start of a replaced range, so it is not used.) A presence message replaces a
// peer's selections; the caller has already brought them from the server's
// revision to the local document.
//
// Name labels: a caret shows its person's name above it while they move or
// type, and the label fades after a moment of stillness (CSS), so that it
// never keeps the line above hidden; hovering the caret shows it again.
// A peer's `active` stamp changes whenever its selections do, which makes
// a new widget (and restarts the fade).

import { StateEffect, StateField } from '@codemirror/state';
import { Decoration, EditorView, ViewPlugin, WidgetType } from '@codemirror/view';

import { changesToOp } from './cmops.js';
import { inkOn, safeColor, withAlpha } from './identity.js';
import { transformSelection } from './ot.js';

// setPeer adds or replaces a peer: {client, name, color, sel} (sel may be
// null to keep the known selections).
export const setPeer = StateEffect.define();
// removePeer removes the peer with this client id.
export const removePeer = StateEffect.define();
// resetPeers replaces every peer (after a join).
export const resetPeers = StateEffect.define();

function clampSel(sel, length) {
  if (!Array.isArray(sel)) return [];
  const clamp = (p) => Math.max(0, Math.min(length, Number.isInteger(p) ? p : 0));
  return sel.filter((r) => Array.isArray(r) && r.length === 2).map(([a, h]) => [clamp(a), clamp(h)]);
}

// flipLabels opens a label to the left of its caret when it would stick
// out past the editor's right edge (measured after every update).
const flipLabels = ViewPlugin.fromClass(
  class {
    constructor(view) {
      this.measure = {
        read: (v) => {
          const right = v.scrollDOM.getBoundingClientRect().right;
          return [...v.contentDOM.querySelectorAll('.cm-remote-caret')].map((c) => {
            const label = c.firstElementChild;
            const caretX = c.getBoundingClientRect().left;
            return { label, flip: label !== null && caretX + label.offsetWidth > right - 2 };
          });
        },
        write: (list) => {
          for (const { label, flip } of list) label?.classList.toggle('flip', flip);
        },
      };
      view.requestMeasure(this.measure);
    }

    update(update) {
      if (update.docChanged || update.viewportChanged || update.geometryChanged || update.transactions.some((tr) => tr.effects.length > 0)) {
        update.view.requestMeasure(this.measure);
      }
    }
  },
);

export const peersField = StateField.define({
  create: () => new Map(),
  update(peers, tr) {
    let next = peers;
    if (tr.docChanged && peers.size > 0) {
      const op = changesToOp(tr.changes, tr.startState.doc.length);
      next = new Map();
      for (const [id, p] of peers) next.set(id, { ...p, sel: transformSelection(op, p.sel) });
    }
    const len = tr.newDoc.length;
    for (const e of tr.effects) {
      if (e.is(resetPeers)) {
        next = new Map(e.value.map((p) => [p.client, { ...p, sel: clampSel(p.sel, len) }]));
      } else if (e.is(setPeer)) {
        if (next === peers) next = new Map(peers);
        const old = next.get(e.value.client);
        const sel = e.value.sel === null ? (old?.sel ?? []) : clampSel(e.value.sel, len);
        const moved = !old || JSON.stringify(old.sel) !== JSON.stringify(sel);
        next.set(e.value.client, { ...e.value, sel, active: moved ? (old?.active ?? 0) + 1 : old.active });
      } else if (e.is(removePeer)) {
        if (next === peers) next = new Map(peers);
        next.delete(e.value);
      }
    }
    return next;
  },
  provide: (f) => [EditorView.decorations.from(f, decorate), flipLabels],
});



class CaretWidget extends WidgetType {
  constructor(client, name, color, active) {
    super();
    this.client = client;
    this.name = name;
    this.color = color;
    this.active = active;
  }

  eq(other) {
    return other.client === this.client && other.name === this.name && other.color === this.color && other.active === this.active;
  }

  toDOM() {
    const caret = document.createElement('span');
    caret.className = 'cm-remote-caret';
    caret.dataset.client = this.client;
    caret.style.borderLeftColor = this.color;
    caret.setAttribute('aria-hidden', 'true');
    const label = document.createElement('span');
    label.className = 'cm-remote-label';
    label.style.backgroundColor = this.color;
    label.style.color = inkOn(this.color);
    // The name is drawn by CSS from an attribute, not as a text node: a text
    // node inside the editable area can be read back as typed text when the
    // browser merges lines around the caret widget.
    label.dataset.name = this.name;
    caret.append(label);
    return caret;
  }

  ignoreEvent() {
    return true;
  }
}

function decorate(peers) {
  const decos = [];
  for (const [client, p] of peers) {
    const color = safeColor(p.color);
    const mark = Decoration.mark({
      class: 'cm-remote-selection',
      attributes: { style: `background-color: ${withAlpha(color, 0.22)}` },
    });
    for (const [anchor, head] of p.sel) {
      const from = Math.min(anchor, head);
      const to = Math.max(anchor, head);
      if (from < to) decos.push(mark.range(from, to));
      decos.push(Decoration.widget({ widget: new CaretWidget(client, p.name, color, p.active ?? 0), side: 1 }).range(head));
    }
  }
  return Decoration.set(decos, true);
}
