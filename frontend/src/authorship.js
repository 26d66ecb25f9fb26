// "Who wrote this": the live editor's text coloured by author, as the server
// attributes it (GET /api/docs/{key}/authorship?rev=N: spans of the text at
// revision N, in order, each {len, author}), with a legend of names and
// colours.
//
// The server's answer describes the text at the revision the page asked
// for; by the time it arrives the editor has moved on (its own pending
// edits, ops from others). So the page remembers what it had when it asked
// (the revision, its pending op) and every change since, and moves the
// spans through them, as CodeMirror moves any range. Text typed since is
// uncoloured until the next refresh, which comes shortly after edits stop
// (and at least every few seconds while they go on).

import { ChangeSet, StateEffect, StateField } from '@codemirror/state';
import { Decoration, EditorView, ViewPlugin } from '@codemirror/view';

import { opToChanges } from './cmops.js';
import { safeColor, withAlpha } from './identity.js';
import { baseLength } from './ot.js';

// spanRanges turns the server's spans into ranges {from, to, author} of
// the text, dropping empty spans; it returns null when the spans do not
// cover exactly `length` units (an answer for another text).
export function spanRanges(spans, length) {
  if (!Array.isArray(spans)) return null;
  const out = [];
  let pos = 0;
  for (const s of spans) {
    const len = s?.len;
    if (!Number.isInteger(len) || len < 0) return null;
    if (len === 0) continue;
    const author = typeof s.author === 'string' ? s.author : '';
    const last = out[out.length - 1];
    if (last && last.author === author && last.to === pos) last.to += len;
    else out.push({ from: pos, to: pos + len, author });
    pos += len;
  }
  return pos === length ? out : null;
}

// shares counts each author's units in ranges, largest first:
// [{author, units, share}] with share in [0, 1].
export function shares(ranges) {
  const units = new Map();
  let total = 0;
  for (const r of ranges) {
    const n = r.to - r.from;
    units.set(r.author, (units.get(r.author) ?? 0) + n);
    total += n;
  }
  return [...units]
    .map(([author, n]) => ({ author, units: n, share: total > 0 ? n / total : 0 }))
    .sort((a, b) => b.units - a.units || a.author.localeCompare(b.author));
}

// percent says a share for people: "62%", "<1%" for a sliver.
export function percent(share) {
  if (share > 0 && share < 0.005) return '<1%';
  return `${Math.round(share * 100)}%`;
}

// mapRanges moves ranges through a ChangeSet (from the text they describe
// to the text after it): deleted text disappears, and text inserted since
// belongs to nobody yet, even inside a range (which is cut around it).
// Ranges must be in order and not overlap.
export function mapRanges(ranges, changes) {
  // The unchanged stretches: old position, new position, length.
  const gaps = [];
  changes.iterGaps((posA, posB, length) => gaps.push([posA, posB, length]));
  const out = [];
  let g = 0;
  for (const r of ranges) {
    while (g < gaps.length && gaps[g][0] + gaps[g][2] <= r.from) g++;
    for (let i = g; i < gaps.length && gaps[i][0] < r.to; i++) {
      const [a, b, len] = gaps[i];
      const from = Math.max(r.from, a);
      const to = Math.min(r.to, a + len);
      if (to <= from) continue;
      const nf = b + (from - a);
      const nt = b + (to - a);
      const last = out[out.length - 1];
      if (last && last.author === r.author && last.to === nf) last.to = nt;
      else out.push({ from: nf, to: nt, author: r.author });
    }
  }
  return out;
}

const setAuthorship = StateEffect.define();

// authorshipField holds the marks; they move with every change.
export const authorshipField = StateField.define({
  create: () => Decoration.none,
  update(decos, tr) {
    let next = decos.map(tr.changes);
    for (const e of tr.effects) if (e.is(setAuthorship)) next = e.value;
    return next;
  },
  provide: (f) => EditorView.decorations.from(f),
});

// authorshipView runs the toggle for one editor page:
//   getView() the live EditorView; client the page's Client (rev,
//   pendingOp()); load(rev) GET /authorship at rev; me the local identity.
// It returns {extension (for the editor's state: the marks, and a plugin
// that follows every change), legend (an element), setOn(bool), isOn(),
// refresh()}.
export function authorshipView({ getView, client, load, me, onError = () => {} }) {
  let on = false;
  // The request in flight: {rev, pending (op or null), since (ChangeSet
  // from the editor's text when asked), length (the editor's text then)}.
  let asking = null;
  let timer = null;
  let firstChangeAt = 0;
  let authors = new Map(); // id -> {name, color}
  let ranges = [];

  const legendList = h('ul', 'authors-legend-list');
  const legendNote = h('span', 'authors-legend-note');
  const legend = h('div', 'authors-legend');
  legend.setAttribute('data-testid', 'authors-legend');
  legend.setAttribute('role', 'region');
  legend.setAttribute('aria-label', 'Who wrote this');
  legend.hidden = true;
  const title = h('span', 'authors-legend-title');
  title.textContent = 'Who wrote this';
  legend.append(title, legendList, legendNote);

  const markCache = new Map();
  function markFor(author) {
    const a = authors.get(author);
    const color = safeColor(a?.color);
    const key = `${author}\u0000${color}\u0000${a?.name ?? ''}`;
    let m = markCache.get(key);
    if (!m) {
      m = Decoration.mark({
        class: 'cm-author',
        attributes: {
          'data-author': author,
          title: a?.name ?? 'Unknown author',
          style: `background-color: ${withAlpha(color, 0.2)}; box-shadow: inset 0 -2px 0 ${withAlpha(color, 0.85)}`,
        },
      });
      markCache.set(key, m);
    }
    return m;
  }

  function decorations(list) {
    const decos = [];
    for (const r of list) if (r.author !== '' && r.to > r.from) decos.push(markFor(r.author).range(r.from, r.to));
    return Decoration.set(decos, true);
  }

  function show(list) {
    ranges = list;
    getView().dispatch({ effects: setAuthorship.of(on ? decorations(list) : Decoration.none) });
    renderLegend();
  }

  function renderLegend() {
    legend.hidden = !on;
    if (!on) return;
    const rows = shares(ranges).map(({ author, share }) => {
      const a = authors.get(author);
      const known = author !== '';
      const li = h('li', known ? 'authors-legend-item' : 'authors-legend-item unknown');
      li.setAttribute('data-testid', 'author-item');
      li.setAttribute('data-author', author);
      const swatch = h('span', 'authors-swatch');
      swatch.style.backgroundColor = known ? withAlpha(safeColor(a?.color), 0.35) : 'transparent';
      swatch.style.borderColor = known ? safeColor(a?.color) : '#b0b4ba';
      const name = h('span', 'authors-name');
      name.textContent = known ? (a?.name ?? 'Someone') : 'Unknown (before authors were recorded)';
      if (author === me.author) name.textContent += ' (you)';
      const pct = h('span', 'authors-share');
      pct.textContent = percent(share);
      li.append(swatch, name, pct);
      return li;
    });
    legendList.replaceChildren(...rows);
    legendNote.textContent = rows.length === 0 ? 'Nobody has written anything yet.' : '';
  }

  async function refresh() {
    clearTimeout(timer);
    timer = null;
    firstChangeAt = 0;
    if (!on || asking) return;
    const view = getView();
    if (client.rev === null) return;
    const req = { rev: client.rev, pending: client.pendingOp(), since: ChangeSet.empty(view.state.doc.length), length: view.state.doc.length };
    asking = req;
    try {
      const res = await load(req.rev);
      if (!on || asking !== req) return;
      for (const a of res.authors ?? []) if (a && typeof a.id === 'string') authors.set(a.id, { name: a.name, color: a.color });
      const baseLen = req.pending ? baseLength(req.pending) : req.length;
      let list = spanRanges(res.spans, baseLen);
      const now = getView().state.doc.length;
      if (list === null || res.rev !== req.rev || req.since.length !== req.length || req.since.newLength !== now) {
        // Not the text we asked about (a snapshot replaced the editor's):
        // ask again shortly.
        schedule();
        return;
      }
      if (req.pending) list = mapRanges(list, ChangeSet.of(opToChanges(req.pending), baseLen, '\n'));
      list = mapRanges(list, req.since);
      show(list);
    } catch (err) {
      onError(err);
    } finally {
      if (asking === req) asking = null;
    }
  }

  function schedule() {
    if (!on) return;
    const now = Date.now();
    if (firstChangeAt === 0) firstChangeAt = now;
    clearTimeout(timer);
    // After a pause in the edits, but at least every 3 s while they go on.
    const wait = Math.max(0, Math.min(700, firstChangeAt + 3000 - now));
    timer = setTimeout(refresh, wait);
  }

  // changed follows every editor update.
  function changed(update) {
    if (!on || !update.docChanged) return;
    if (asking) asking.since = asking.since.compose(update.changes);
    schedule();
  }

  // A plugin is made anew when the editor's state is replaced (a snapshot):
  // the marks are gone then, so they are fetched again.
  const follower = ViewPlugin.define(() => {
    asking = null;
    if (on) schedule();
    return { update: changed };
  });

  return {
    extension: [authorshipField, follower],
    legend,
    isOn: () => on,
    setOn(value) {
      on = value;
      asking = null;
      clearTimeout(timer);
      if (on) {
        renderLegend();
        refresh();
      } else {
        ranges = [];
        show([]);
      }
    },
    refresh,
  };
}

function h(tag, className) {
  const el = document.createElement(tag);
  el.className = className;
  return el;
}
