// The words the page shows when a document's connection ends or has to
// wait. What the client does after each close code comes from the shared
// close-code table (closecodes.js); only the words for people are chosen
// here, from the error the server sent before closing (its code says more
// than the close code: 4003 is both "forbidden" and "link_revoked") or else
// from the close code.
//
// A notice is {label, text, gone?}: label is short, for the status pill;
// text is a sentence for the banner and the status's tooltip; gone is true
// when the link no longer leads to the document (nothing left to share).

const byError = {
  link_revoked: {
    label: 'Link revoked',
    text: 'This link was revoked. Ask the owner for a new one.',
    gone: true,
  },
  not_found: {
    label: 'Not found',
    text: 'This document does not exist: it was deleted, or the link is wrong.',
    gone: true,
  },
  too_many_connections: {
    label: 'Too many connections',
    text: 'Too many connections from your address: the server allows only so many at once. Close a few Tandem tabs. This page tries again shortly.',
  },
  join_timeout: {
    label: 'Join timed out',
    text: 'The server did not hear from this page in time. Reconnecting…',
  },
  rate_limited: {
    label: 'Slowing down',
    text: 'This page sent too much too quickly. It reconnects in a moment and keeps your edits.',
  },
  internal: {
    label: 'Server problem',
    text: 'The server had a problem with this document. Reconnecting; your edits are kept in this page.',
  },
};

const byClose = {
  1001: {
    label: 'Server restarting',
    text: 'The server is restarting. This page reconnects by itself and keeps your edits.',
  },
  1003: {
    label: 'Stopped',
    text: 'The server refused a message from this page, which is a bug in the page. Reload it to continue.',
  },
  1008: byError.rate_limited,
  1011: byError.internal,
  4004: byError.not_found,
  4009: {
    label: 'Opened elsewhere',
    text: 'This document was opened again elsewhere with this page’s connection, so this copy stopped. Reload the page to continue here.',
  },
};

// forbidden depends on what the page may do: a viewer's change was refused,
// or this link does not open the document at all.
function forbidden(viewOnly) {
  return viewOnly
    ? { label: 'View only', text: 'This link lets you view the document, not change it. Ask the owner for the edit link to make changes.' }
    : { label: 'Not allowed', text: 'You are not allowed to open this document with this link.' };
}

// closeNotice returns the notice for a close: code is the close code,
// error the code of the error message that came before it (or null).
// It returns null when there is nothing special to say (a lost connection).
export function closeNotice(code, error, { viewOnly = false } = {}) {
  if (error === 'forbidden') return forbidden(viewOnly);
  if (error && byError[error]) return byError[error];
  if (code === 4003) return forbidden(viewOnly);
  if (byClose[code]) return byClose[code];
  return null;
}

// stopNotice returns the notice for a close that ends the page's
// connection for good (the table's "stop"): always something to say.
export function stopNotice(code, error, options = {}) {
  return (
    closeNotice(code, error, options) ?? {
      label: 'Disconnected',
      text: `The server closed this document’s connection (code ${code}${error ? `, ${error}` : ''}). Reload the page to try again.`,
    }
  );
}

// httpNotice returns the notice for an HTTP error on the document (an
// ApiError), or null when the generic message will do.
export function httpNotice(err, { viewOnly = false } = {}) {
  if (err?.status === 404) return byError.not_found;
  if (err?.status === 410 || err?.code === 'deleted') {
    return { label: 'Deleted', text: 'This document was deleted: it is in the trash. Ask its owner to restore it.', gone: true };
  }
  if (err?.code === 'rate_limited' || err?.status === 429) {
    const wait = err.retryAfter ? ` Try again in ${err.retryAfter} s.` : ' Try again in a moment.';
    return { label: 'Slowing down', text: `The server is receiving too many requests from this page.${wait}` };
  }
  if (err?.code === 'forbidden' || err?.status === 403) return forbidden(viewOnly);
  return null;
}

// unsavedText is what the page says of edits the server does not have yet.
export function unsavedText(n) {
  return `${n} ${n === 1 ? 'edit' : 'edits'} not yet saved, ${n === 1 ? 'it' : 'they'} will be sent when you are back online.`;
}

// whyOffline explains, in a sentence, why a page that is not connected is
// not: the browser is offline, the connection went silent (no answer to
// the heartbeat), the server gave a reason (a notice), or it cannot be
// reached. waitMs is the time to the next attempt (null: none scheduled,
// an attempt is under way).
export function whyOffline({ online = true, silent = false, notice = null, waitMs = null } = {}) {
  let why;
  if (!online) why = 'This device is offline.';
  else if (notice) why = notice.text.replace(/\s*(Reconnecting…|This page tries again shortly\.|It reconnects in a moment and keeps your edits\.|This page reconnects by itself and keeps your edits\.)$/i, '');
  else if (silent) why = 'The server stopped answering: the network may be down.';
  else why = 'The server cannot be reached.';
  let next;
  if (waitMs === null) next = 'Connecting…';
  else if (waitMs < 1000) next = 'Trying again now.';
  else next = `Trying again in ${Math.ceil(waitMs / 1000)} s.`;
  return `${why} ${next}`;
}
