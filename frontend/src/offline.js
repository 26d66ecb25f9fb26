// Unsent edits that survive a reload, a tab crash or a browser restart.
//
// While a page has edits the server has not acknowledged, it keeps them in
// IndexedDB, one record per document and identity:
//
//   {id, doc, secret, client, rev, text, out: {op, seq, edits}, buf: {op, edits} | null, savedAt}
//
// text is the document at revision rev (the server's text, without our
// edits); out is the op in flight (seq null if it was never sent) and buf
// the edits typed behind it, exactly as the Client holds them; secret and
// client are the identity from joined. Any record that was written is a
// state the client really was in, so a page that opens the document later
// can take it up: it shows text with out and buf applied, joins with the
// stored secret and revision, and the resubmission rule (docs/protocol.md)
// does the rest. The server de-duplicates by (client, seq), so an op that
// had landed comes back in the catch-up as its own acknowledgement and is
// not applied twice.
//
// That is safe only if no op ever reaches the server with a seq the record
// does not know: a page stores the state in which an op has its new seq
// before it sends that op (write-ahead, `beforeSend`). Edits typed and not
// yet stored when the tab dies are lost, but they were never sent either.
//
// Claims: a record belongs to the live page whose identity it holds. Each
// page holds a lock named after its document and secret for as long as it
// lives (the Web Locks API releases it when the page closes or crashes); a
// page that opens a document takes up a record only after getting its lock
// without waiting, so two tabs never send the same stored edits. The lock
// and the database are injected (tests use fakes).

const DB_NAME = 'tandem';
const STORE = 'edits';

const lockName = (doc, secret) => `tandem-edits ${doc} ${secret}`;
const recordId = (doc, secret) => `${doc}\u0000${secret}`;

// StoredEdits keeps one page's unsent edits for one document.
export class StoredEdits {
  // db: {list(doc), get(id), put(record), delete(id)}, each a promise;
  // locks: {hold(name)} resolving true when this page now holds the lock
  // (for its lifetime), false when another page holds it.
  constructor({ db, locks, doc, now = () => Date.now() }) {
    this.db = db;
    this.locks = locks;
    this.doc = doc;
    this.now = now;
    // The identity whose lock this page holds (null: none yet).
    this.secret = null;
    // The highest seq written to the database for this identity: an op
    // with a higher seq must not be sent before a write.
    this.durableSeq = 0;
    this.latest = undefined;
    this.dirty = false;
    this.running = null;
    // Whether the database has the latest state (for tests and the page).
    this.stored = 0;
    this.failed = false;
  }

  // adopt looks for edits left by a page of this document that is gone,
  // claims the first it can and returns its record (null: none).
  async adopt() {
    let records;
    try {
      records = await this.db.list(this.doc);
    } catch {
      return null;
    }
    records.sort((a, b) => (a.savedAt ?? 0) - (b.savedAt ?? 0));
    for (const r of records) {
      if (!valid(r)) continue;
      if (this.secret !== null) break;
      if (!(await this.locks.hold(lockName(this.doc, r.secret)))) continue;
      // Read again under the lock: the page that held it may have sent
      // and removed the edits since the list was read.
      let rec = null;
      try {
        rec = await this.db.get(recordId(this.doc, r.secret));
      } catch {
        rec = null;
      }
      this.secret = r.secret;
      if (rec && valid(rec)) {
        this.durableSeq = rec.out.seq ?? 0;
        this.stored = rec.out.edits + (rec.buf?.edits ?? 0);
        return rec;
      }
      return null;
    }
    return null;
  }

  // own claims the identity the server issued (after the first joined).
  // Returns whether edits can be stored for it.
  async own(secret) {
    if (this.secret === secret) return true;
    if (this.secret !== null) return false;
    if (!(await this.locks.hold(lockName(this.doc, secret)))) return false;
    this.secret = secret;
    return true;
  }

  // save stores a state of the client ({rev, text, client, out, buf}, or
  // null when nothing is pending: the record is removed), or a function
  // that returns it when the write starts (so that a large text is copied
  // once per write, not once per keystroke). Writes are
  // serialised and coalesced (the latest state wins); the promise resolves
  // when the state given, or a later one, is in the database.
  save(state) {
    if (this.secret === null) return Promise.resolve(false);
    this.latest = state;
    this.dirty = true;
    if (!this.running) {
      this.running = this.#flush().finally(() => {
        this.running = null;
      });
    }
    return this.running;
  }

  // beforeSend returns null when an op with this seq may go out now, or a
  // promise of the write that must come first (state: as for save).
  beforeSend(seq, state) {
    if (this.secret === null || seq <= this.durableSeq) return null;
    return this.save(state);
  }

  async #flush() {
    while (this.dirty) {
      this.dirty = false;
      const state = typeof this.latest === 'function' ? this.latest() : this.latest;
      const id = recordId(this.doc, this.secret);
      try {
        if (state === null) {
          await this.db.delete(id);
          this.stored = 0;
        } else {
          await this.db.put({
            id,
            doc: this.doc,
            secret: this.secret,
            client: state.client,
            rev: state.rev,
            text: state.text,
            out: state.out,
            buf: state.buf,
            savedAt: this.now(),
          });
          this.durableSeq = Math.max(this.durableSeq, state.out?.seq ?? 0);
          this.stored = (state.out?.edits ?? 0) + (state.buf?.edits ?? 0);
        }
        this.failed = false;
      } catch (err) {
        // No storage (private mode, quota): edits live in this page only.
        // Sending goes on: without the database there is nothing to
        // resubmit later, so nothing can be sent twice.
        this.failed = true;
        this.durableSeq = Infinity;
        console.warn('tandem: could not keep unsent edits in this browser:', err);
      }
    }
    return !this.failed;
  }
}

function valid(r) {
  return (
    r !== null &&
    typeof r === 'object' &&
    typeof r.secret === 'string' &&
    typeof r.text === 'string' &&
    Number.isInteger(r.rev) &&
    r.rev >= 0 &&
    r.out !== null &&
    typeof r.out === 'object' &&
    Array.isArray(r.out.op) &&
    (r.out.seq === null || Number.isInteger(r.out.seq)) &&
    (r.buf === null || r.buf === undefined || Array.isArray(r.buf.op))
  );
}

// indexedDBStore opens the browser's database of unsent edits; null when
// IndexedDB is not available.
export function indexedDBStore(idb = globalThis.indexedDB) {
  if (!idb) return null;
  let opened = null;
  const open = () => {
    opened ??= new Promise((resolve, reject) => {
      const req = idb.open(DB_NAME, 1);
      req.onupgradeneeded = () => {
        const s = req.result.createObjectStore(STORE, { keyPath: 'id' });
        s.createIndex('doc', 'doc');
      };
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
      req.onblocked = () => reject(new Error('the database is blocked by another tab'));
    });
    return opened;
  };
  const run = async (mode, fn) => {
    const db = await open();
    return new Promise((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const req = fn(tx.objectStore(STORE));
      tx.oncomplete = () => resolve(req.result);
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error ?? new Error('transaction aborted'));
    });
  };
  return {
    list: (doc) => run('readonly', (s) => s.index('doc').getAll(doc)),
    get: (id) => run('readonly', (s) => s.get(id)),
    put: (rec) => run('readwrite', (s) => s.put(rec)),
    delete: (id) => run('readwrite', (s) => s.delete(id)),
  };
}

// webLocks holds named locks with the Web Locks API for the page's life;
// null when the API is not available (an insecure origin, an old browser).
export function webLocks(locks = globalThis.navigator?.locks) {
  if (!locks?.request) return null;
  return {
    hold(name) {
      return new Promise((resolve, reject) => {
        locks
          .request(name, { ifAvailable: true }, (lock) => {
            resolve(lock !== null);
            // Held until the page ends.
            return lock === null ? undefined : new Promise(() => {});
          })
          .catch(reject);
      });
    },
  };
}

// moveKey renames a document's stored records after its key changed (a
// reissued link).
export async function moveKey(db, from, to) {
  const records = await db.list(from);
  for (const r of records) {
    await db.put({ ...r, id: recordId(to, r.secret), doc: to });
    await db.delete(r.id);
  }
}
