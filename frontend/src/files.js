// Files in and out of Tandem, the parts that need no page: checking an
// uploaded .txt/.md or an exported history (.json) before it is sent, and
// the title a file gives its document. The page (home.js) reads the file
// and posts what these say to post.
//
// The server's limits: a document's text at most 10 Mi UTF-16 units (its
// -max-doc; a server may have another), an import's body at most 64 MiB.
// A file over a limit gets a clear sentence here instead of a long upload
// that fails; a server with lower limits answers too_large (413), which
// fileError turns into a sentence as well.

export const MAX_TEXT_UNITS = 10 * 1024 * 1024;
export const MAX_IMPORT_BYTES = 64 * 1024 * 1024;
const MAX_TITLE = 200;

const mib = (n) => `${(n / (1024 * 1024)).toFixed(n < 10 * 1024 * 1024 ? 1 : 0)} MiB`;

// titleFromFileName is a file's name without its extension, cleaned as the
// server cleans titles (no control characters, trimmed, at most 200 units,
// not cutting an emoji).
export function titleFromFileName(name) {
  let t = String(name ?? '')
    .replace(/\.(txt|text|md|markdown|json)$/i, '')
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u001f\u007f-\u009f]/g, '')
    .trim();
  if (t.length > MAX_TITLE) {
    t = t.slice(0, MAX_TITLE);
    if (/[\ud800-\udbff]$/.test(t)) t = t.slice(0, -1);
  }
  return t || 'Untitled';
}

// checkUpload says what is wrong with a file to upload as a new document's
// text, before reading it ({name, size, type}); null if nothing.
export function checkUpload(file, maxUnits = MAX_TEXT_UNITS) {
  if (!/\.(txt|text|md|markdown)$/i.test(file.name ?? '') && !/^text\//.test(file.type ?? '')) {
    return `“${file.name}” is not a text file: upload a .txt or .md file.`;
  }
  // A UTF-8 file has at least one byte per UTF-16 unit... and at most
  // three per unit (four per surrogate pair): over 3 bytes per allowed
  // unit it cannot fit.
  if (file.size > maxUnits * 3) {
    return `“${file.name}” is too large (${mib(file.size)}): a document holds at most ${maxUnits.toLocaleString()} characters.`;
  }
  return null;
}

// textOfUpload checks a file's decoded text: null and the text to send
// (a byte order mark dropped), or the problem.
export function textOfUpload(name, text, maxUnits = MAX_TEXT_UNITS) {
  let t = text;
  if (t.startsWith('\ufeff')) t = t.slice(1);
  if (t.includes('\u0000')) return { error: `“${name}” does not look like a text file (it holds binary data).` };
  if (t.length > maxUnits) {
    return {
      error: `“${name}” is too long: ${t.length.toLocaleString()} characters, and a document holds at most ${maxUnits.toLocaleString()}.`,
    };
  }
  return { text: t };
}

// checkImport says what is wrong with a file to import as an exported
// history, before reading it; null if nothing.
export function checkImport(file, maxBytes = MAX_IMPORT_BYTES) {
  if (!/\.json$/i.test(file.name ?? '') && file.type !== 'application/json') {
    return `“${file.name}” is not a history export: choose the .json file that “Export the full history” saved.`;
  }
  if (file.size > maxBytes) {
    return `“${file.name}” is too large to import (${mib(file.size)}; at most ${mib(maxBytes)}).`;
  }
  return null;
}

// parseExport checks an export's text: {title} or {error}.
export function parseExport(name, text) {
  let data;
  try {
    data = JSON.parse(text);
  } catch {
    return { error: `“${name}” is not a history export (it is not JSON).` };
  }
  if (data === null || typeof data !== 'object' || data.format !== 'tandem-history') {
    return { error: `“${name}” is not a Tandem history export.` };
  }
  if (data.version !== 1) return { error: `“${name}” is a history export of a version this server does not know (${data.version}).` };
  return { title: typeof data.title === 'string' ? data.title : '' };
}

// fileError turns a failed upload or import (an ApiError) into a sentence.
export function fileError(err, name, what) {
  if (err?.status === 413 || err?.code === 'too_large') {
    return `“${name}” is too large for this server${err.message ? ` (${err.message})` : ''}.`;
  }
  if (err?.status === 401 || err?.code === 'unauthorized') {
    return 'This server lets only its administrators create documents.';
  }
  if (err?.status === 429) return 'Too many documents created from here just now; try again in a minute.';
  if (err?.status === 400 || err?.code === 'bad_request') return `The server refused “${name}”: ${err.message}.`;
  return `Could not ${what} “${name}”: ${err?.message ?? err}.`;
}
