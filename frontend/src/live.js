// Live document changes: GET /api/events streams a "doc" event per watched
// key at first and whenever its document is renamed, edited, deleted or
// restored, or people come and go (docs/protocol.md, "The live document
// list"). The browser's EventSource reconnects by itself; the pages keep
// their slow polling as a fallback.

// watchDocs calls onEvent(event) for every event about keys and returns a
// function that stops watching. Without EventSource (or keys) it does
// nothing.
export function watchDocs(keys, onEvent, Source = globalThis.EventSource) {
  if (typeof Source !== 'function' || keys.length === 0) return () => {};
  const es = new Source(`/api/events?keys=${keys.map(encodeURIComponent).join(',')}`);
  es.addEventListener('doc', (e) => {
    let ev;
    try {
      ev = JSON.parse(e.data);
    } catch {
      return; // not ours to fix: the next event carries the state again
    }
    if (ev && typeof ev.key === 'string') onEvent(ev);
  });
  return () => es.close();
}

// liveState turns an event into what the home page keeps per key: the
// document's details, or that it is in the trash, or gone.
export function liveState(ev, known) {
  if (ev.state === 'gone') return { gone: true };
  if (ev.state === 'deleted') return { trashed: { purge: ev.purge } };
  const doc = { ...(known?.doc ?? {}) };
  for (const k of ['title', 'rev', 'size', 'updated', 'editors', 'role']) {
    if (ev[k] !== undefined) doc[k] = ev[k];
  }
  return { doc };
}
