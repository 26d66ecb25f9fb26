// The Markdown preview: the document rendered next to the editor, updated
// as anyone types, its scroll kept in step with the editor's.
//
// Rendering: markdown-it (CommonMark, with GFM tables and strikethrough;
// raw HTML in the text is allowed, as in most Markdown editors), then
// DOMPurify. No script from a document ever runs: DOMPurify removes
// <script>, event-handler attributes (onerror=...), javascript: and other
// unsafe URLs, forms and frames; every link opens in a new tab without an
// opener; and the server's Content-Security-Policy would block inline
// script anyway. The sanitised HTML is put into the preview with
// innerHTML only after that.
//
// Scroll sync: every top-level block carries the source line it starts on
// (data-line, from markdown-it's token maps); the pane that the person
// scrolls leads, and the other is brought to the same line, interpolated
// between blocks.

import DOMPurify from 'dompurify';
import MarkdownIt from 'markdown-it';

import { h } from './dom.js';

const md = new MarkdownIt({ html: true, linkify: true, typographer: false });

// Top-level block tokens get data-line: their first source line (0-based).
md.core.ruler.push('source_lines', (state) => {
  for (const t of state.tokens) {
    if (t.map && t.level === 0 && t.nesting !== -1) t.attrSet('data-line', String(t.map[0]));
  }
});

const purify = DOMPurify(globalThis.window);
purify.addHook('afterSanitizeAttributes', (node) => {
  if (node.tagName === 'A' && node.hasAttribute('href')) {
    node.setAttribute('target', '_blank');
    node.setAttribute('rel', 'noopener noreferrer nofollow');
  }
});
const PURIFY = {
  FORBID_TAGS: ['style', 'form', 'input', 'button', 'textarea', 'select', 'iframe', 'object', 'embed'],
  FORBID_ATTR: ['style'],
  ADD_ATTR: ['target'],
};

// renderMarkdown returns sanitised HTML for a Markdown text.
export function renderMarkdown(text) {
  return purify.sanitize(md.render(text), PURIFY);
}

// Rendering a very large document on every keystroke would make typing
// slow: the preview waits for a pause that grows with the text.
function delayFor(length) {
  if (length < 20_000) return 60;
  if (length < 200_000) return 250;
  return 1000;
}

// markdownPreview returns the preview pane: update(text) renders (after a
// short pause), and syncFrom(view) / the pane's own scroll keep the two
// in step once attach(view) was called.
export function markdownPreview() {
  const body = h('div', { className: 'preview-body markdown', 'data-testid': 'preview-body' });
  const el = h(
    'section',
    { className: 'preview', 'data-testid': 'preview', 'aria-label': 'Preview', tabindex: '0', hidden: true },
    body,
  );
  // The text to render, or a function that returns it (read only when
  // rendering, so a large document is not copied on every keystroke).
  let text = '';
  let dirty = true;
  let timer = null;
  let view = null;
  // Which pane leads the scroll, and until when (the other's scroll events
  // are echoes).
  let leader = null;
  let leaderUntil = 0;

  function render() {
    timer = null;
    if (el.hidden || !dirty) return;
    dirty = false;
    body.innerHTML = renderMarkdown(typeof text === 'function' ? text() : text);
    el.dataset.rendered = String(Date.now());
    if (view) syncFromEditor();
  }

  function update(next, length = typeof next === 'string' ? next.length : 0) {
    text = next;
    dirty = true;
    if (el.hidden) return;
    if (timer === null) timer = setTimeout(render, delayFor(length));
  }

  function show(on) {
    el.hidden = !on;
    if (on) {
      clearTimeout(timer);
      timer = null;
      render();
    }
  }

  function lead(who) {
    if (leader !== null && leader !== who && Date.now() < leaderUntil) return false;
    leader = who;
    leaderUntil = Date.now() + 150;
    return true;
  }

  // blocks returns [{line, top}] of the rendered blocks, in order.
  function blocks() {
    const out = [];
    for (const b of body.children) {
      const line = Number(b.dataset.line);
      if (Number.isFinite(line)) out.push({ line, top: b.offsetTop });
    }
    return out;
  }

  function syncFromEditor() {
    if (el.hidden || !view) return;
    const scroller = view.scrollDOM;
    if (scroller.scrollTop <= 0) {
      el.scrollTop = 0;
      return;
    }
    if (scroller.scrollTop + scroller.clientHeight >= scroller.scrollHeight - 2) {
      el.scrollTop = el.scrollHeight;
      return;
    }
    const block = view.lineBlockAtHeight(scroller.scrollTop);
    const lineNo = view.state.doc.lineAt(block.from).number - 1;
    const frac = block.height > 0 ? (scroller.scrollTop - block.top) / block.height : 0;
    const bs = blocks();
    let i = bs.findLastIndex((b) => b.line <= lineNo);
    if (i < 0) i = 0;
    const a = bs[i];
    const b = bs[i + 1];
    if (!a) return;
    let top = a.top;
    if (b) {
      const span = Math.max(1, b.line - a.line);
      top += ((lineNo - a.line + frac) / span) * (b.top - a.top);
    }
    el.scrollTop = top - body.offsetTop;
  }

  function syncFromPreview() {
    if (!view) return;
    const scroller = view.scrollDOM;
    if (el.scrollTop <= 0) {
      scroller.scrollTop = 0;
      return;
    }
    if (el.scrollTop + el.clientHeight >= el.scrollHeight - 2) {
      scroller.scrollTop = scroller.scrollHeight;
      return;
    }
    const y = el.scrollTop + body.offsetTop;
    const bs = blocks();
    let i = bs.findLastIndex((b) => b.top <= y);
    if (i < 0) i = 0;
    const a = bs[i];
    const b = bs[i + 1];
    if (!a) return;
    const doc = view.state.doc;
    const lineA = Math.min(doc.lines, a.line + 1);
    let top = view.lineBlockAt(doc.line(lineA).from).top;
    if (b) {
      const lineB = Math.min(doc.lines, b.line + 1);
      const topB = view.lineBlockAt(doc.line(lineB).from).top;
      top += ((y - a.top) / Math.max(1, b.top - a.top)) * (topB - top);
    }
    scroller.scrollTop = top;
  }

  el.addEventListener('scroll', () => {
    if (lead('preview')) syncFromPreview();
  });

  return {
    el,
    update,
    show,
    get visible() {
      return !el.hidden;
    },
    // attach follows the editor's scrolling (call again after the editor's
    // state is replaced: the scroller stays the same element).
    attach(v) {
      if (view === v) return;
      view = v;
      v.scrollDOM.addEventListener('scroll', () => {
        if (lead('editor')) syncFromEditor();
      });
    },
  };
}
