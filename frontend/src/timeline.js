// The history panel's model: a document's revisions, read from the server
// in pages, and the texts at revisions, kept in a bounded cache. Pure logic
// around two injected functions (no DOM, no fetch of its own), so that it
// is unit-tested in Node and stays fluid on a document with 100,000
// revisions: only the pages around the slider's position are loaded, and a
// bounded number of them is kept.
//
// Revision N is the document after its N-th op; revision 0 is the empty
// document it was created as. The log entry "rev N" is the op that made
// revision N from revision N-1: {rev, op, client, seq, time, author}.
//
//   fetchOps(from, to) -> Promise<entries with from <= rev <= to, in order>
//     (GET /api/docs/{key}/ops?from=&to=). The server may answer a shorter
//     page than asked for (its byte bound): the model asks again from the
//     last rev + 1, a bounded number of times.
//   fetchText(rev) -> Promise<string> (GET /api/docs/{key}?rev=N).
//
// The text at a revision comes from the cache; failing that, from the
// nearest cached text below it with the loaded ops applied (so stepping and
// playing forward cost no request); failing that, from the server.

import { apply } from './ot.js';

export const PAGE_SIZE = 500;

export class Timeline {
  constructor({
    fetchOps,
    fetchText,
    pageSize = PAGE_SIZE,
    // Pages kept, and the ops' size they may hold together (UTF-16 units
    // of inserted text plus one per component): the least recently used
    // page goes first.
    maxPages = 40,
    maxOpUnits = 16 * 1024 * 1024,
    // Texts kept, and their total length.
    maxTexts = 48,
    maxTextUnits = 32 * 1024 * 1024,
    // At most this many ops are applied to derive a text locally; further
    // away the server is asked.
    replayLimit = 2000,
    // ... and at most this much text copied in doing so (ops applied times
    // the text's length), so a long text is not rebuilt op by op.
    replayBudget = 40_000_000,
    // Requests for one short page before giving up on it.
    maxRounds = 50,
  }) {
    this.fetchOps = fetchOps;
    this.fetchText = fetchText;
    this.pageSize = pageSize;
    this.maxPages = maxPages;
    this.maxOpUnits = maxOpUnits;
    this.maxTexts = maxTexts;
    this.maxTextUnits = maxTextUnits;
    this.replayLimit = replayLimit;
    this.replayBudget = replayBudget;
    this.maxRounds = maxRounds;
    // The latest revision known (the slider's end).
    this.head = 0;
    // page number -> {entries: Map rev -> entry, units}; a Map keeps the
    // order of use (a page used again is moved to the end).
    this.pages = new Map();
    this.opUnits = 0;
    // page number -> Promise, while it loads.
    this.loading = new Map();
    // rev -> text, in order of use.
    this.texts = new Map();
    this.textUnits = 0;
    // rev -> Promise<string>, while it loads.
    this.textLoading = new Map();
    this.requests = { ops: 0, texts: 0 };
  }

  // setHead moves the latest known revision (the document went on).
  setHead(rev) {
    if (Number.isInteger(rev) && rev > this.head) this.head = rev;
  }

  // pageOf is the page number that holds revision rev (rev >= 1).
  pageOf(rev) {
    return Math.floor((rev - 1) / this.pageSize);
  }

  // pageRange is the revisions [from, to] of page p.
  pageRange(p) {
    return [p * this.pageSize + 1, (p + 1) * this.pageSize];
  }

  // entry returns the log entry of revision rev if its page is loaded,
  // else null (rev 0 has none).
  entry(rev) {
    if (rev < 1) return null;
    const page = this.pages.get(this.pageOf(rev));
    return page?.entries.get(rev) ?? null;
  }

  // isLoaded says whether the page that holds rev is loaded, completely or
  // up to what the server had when it was read.
  isLoaded(rev) {
    return rev < 1 || this.pages.has(this.pageOf(rev));
  }

  // load makes sure the page holding rev is loaded (a loaded page whose end
  // is past what it held is read again to the head), and resolves to the
  // entry of rev (or null if the server has none).
  async load(rev) {
    if (rev < 1) return null;
    const p = this.pageOf(rev);
    const page = this.pages.get(p);
    if (page && page.entries.has(rev)) {
      this.#touchPage(p, page);
      return page.entries.get(rev);
    }
    if (page && rev > page.last && rev <= this.head) this.#dropPage(p);
    let pending = this.loading.get(p);
    if (!pending) {
      pending = this.#loadPage(p).finally(() => this.loading.delete(p));
      this.loading.set(p, pending);
    }
    await pending;
    return this.entry(rev);
  }

  async #loadPage(p) {
    const [from, to] = this.pageRange(p);
    const last = Math.min(to, Math.max(this.head, from));
    const entries = new Map();
    let next = from;
    for (let round = 0; round < this.maxRounds && next <= last; round++) {
      this.requests.ops++;
      const got = await this.fetchOps(next, last);
      if (!Array.isArray(got) || got.length === 0) break;
      let advanced = false;
      for (const e of got) {
        if (!e || !Number.isInteger(e.rev) || e.rev < next || e.rev > last) continue;
        entries.set(e.rev, e);
        next = e.rev + 1;
        advanced = true;
      }
      if (!advanced) break;
    }
    let units = 0;
    for (const e of entries.values()) units += opUnits(e.op);
    const highest = entries.size > 0 ? Math.max(...entries.keys()) : from - 1;
    if (highest > this.head) this.head = highest;
    this.#dropPage(p);
    this.pages.set(p, { entries, units, last: highest });
    this.opUnits += units;
    this.#evictPages(p);
  }

  #touchPage(p, page) {
    this.pages.delete(p);
    this.pages.set(p, page);
  }

  #dropPage(p) {
    const page = this.pages.get(p);
    if (!page) return;
    this.pages.delete(p);
    this.opUnits -= page.units;
  }

  #evictPages(keep) {
    for (const p of this.pages.keys()) {
      if (this.pages.size <= this.maxPages && this.opUnits <= this.maxOpUnits) break;
      if (p !== keep) this.#dropPage(p);
    }
  }

  // cachedText returns the text at rev if the cache has it, or if it can be
  // derived from a cached text below it through loaded ops; else null.
  cachedText(rev) {
    if (rev === 0) return '';
    if (this.texts.has(rev)) {
      const t = this.texts.get(rev);
      this.texts.delete(rev);
      this.texts.set(rev, t);
      return t;
    }
    // The nearest cached revision below rev, within replayLimit.
    let base = -1;
    for (const r of this.texts.keys()) if (r < rev && r > base && rev - r <= this.replayLimit) base = r;
    if (base < 0 && rev <= this.replayLimit) base = 0;
    if (base < 0) return null;
    let text = base === 0 ? '' : this.texts.get(base);
    if ((rev - base) * Math.max(1, text.length) > this.replayBudget) return null;
    for (let r = base + 1; r <= rev; r++) if (!this.entry(r)?.op) return null;
    try {
      for (let r = base + 1; r <= rev; r++) text = apply(this.entry(r).op, text);
    } catch {
      return null; // an op that does not fit: ask the server instead
    }
    this.#keepText(rev, text);
    return text;
  }

  // text resolves to the text at rev: from the cache, derived, or asked of
  // the server (one request per revision at a time).
  async text(rev) {
    const cached = this.cachedText(rev);
    if (cached !== null) return cached;
    let pending = this.textLoading.get(rev);
    if (!pending) {
      this.requests.texts++;
      pending = this.fetchText(rev)
        .then((t) => {
          this.#keepText(rev, t);
          return t;
        })
        .finally(() => this.textLoading.delete(rev));
      this.textLoading.set(rev, pending);
    }
    return pending;
  }

  // remember caches a text the caller knows (the live text at the head).
  remember(rev, text) {
    this.#keepText(rev, text);
  }

  #keepText(rev, text) {
    if (typeof text !== 'string') return;
    if (this.texts.has(rev)) {
      this.textUnits -= this.texts.get(rev).length;
      this.texts.delete(rev);
    }
    this.texts.set(rev, text);
    this.textUnits += text.length;
    for (const r of this.texts.keys()) {
      if (this.texts.size <= this.maxTexts && this.textUnits <= this.maxTextUnits) break;
      if (r === rev) continue;
      this.textUnits -= this.texts.get(r).length;
      this.texts.delete(r);
    }
  }
}

// opUnits is a rough size of an op: its inserted text and one per
// component.
export function opUnits(op) {
  if (!Array.isArray(op)) return 1;
  let n = op.length;
  for (const c of op) if (typeof c === 'string') n += c.length;
  return n;
}

// playStep is how many revisions one tick of "play" advances, so that
// playing a whole history takes about `ticks` ticks at most: one revision
// at a time for short histories, more for long ones.
export function playStep(total, ticks = 300) {
  if (!(total > 0)) return 1;
  return Math.max(1, Math.ceil(total / ticks));
}

// sliderStep is the jump of PageUp/PageDown and of the outer step buttons:
// a tenth of the history, at least one revision.
export function bigStep(total) {
  return Math.max(1, Math.round(total / 10));
}

// debounce returns fn delayed until `ms` passed without another call; the
// returned function has cancel() and flush().
export function debounce(fn, ms, timers = globalThis) {
  let timer = null;
  let args = null;
  const run = () => {
    timer = null;
    const a = args;
    args = null;
    fn(...a);
  };
  const d = (...a) => {
    args = a;
    if (timer !== null) timers.clearTimeout(timer);
    timer = timers.setTimeout(run, ms);
  };
  d.cancel = () => {
    if (timer !== null) timers.clearTimeout(timer);
    timer = null;
    args = null;
  };
  d.flush = () => {
    if (timer === null) return;
    timers.clearTimeout(timer);
    run();
  };
  return d;
}
