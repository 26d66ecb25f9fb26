// The HTTP API. Requests that change something send JSON, as the server
// requires (it refuses other content types to stop cross-site form posts).
//
// A document is reached through a key: its edit link's token, its view
// link's token (or, for an administrator, its id). The server answers with
// the role the key grants ("edit", "view" or "admin") and the links
// ({edit, view} as paths "/d/<token>"; only view for a viewer).

export class ApiError extends Error {
  constructor(status, code, message, retryAfter = null, details = null) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    // Seconds to wait before asking again (429), or null.
    this.retryAfter = retryAfter;
    // The error object as the server sent it ({code, message, purge, ...}).
    this.details = details;
  }
}

// request sends body as JSON (a string is sent as it is: JSON already).
async function request(method, path, body) {
  // Never from the browser's cache: a document's state changes under the
  // same URL (a 410 for a trashed document is cacheable by default).
  const init = { method, headers: { Accept: 'application/json' }, cache: 'no-store' };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (err) {
    throw new ApiError(0, 'network', `the server cannot be reached (${err.message})`);
  }
  const data = await res.json().catch(() => null);
  if (!res.ok) {
    const e = data?.error;
    const retry = Number.parseInt(res.headers.get('Retry-After') ?? '', 10);
    throw new ApiError(
      res.status,
      e?.code ?? 'http',
      e?.message ?? `the server answered ${res.status}`,
      Number.isFinite(retry) ? retry : null,
      e ?? null,
    );
  }
  return data;
}

const docPath = (key) => `/api/docs/${encodeURIComponent(key)}`;

// createDoc makes a document, with a title and a first text if given.
export function createDoc(title, text) {
  const body = {};
  if (title !== undefined) body.title = title;
  if (text !== undefined) body.text = text;
  return request('POST', '/api/docs', body);
}
export const getDoc = (key) => request('GET', docPath(key));
// getDocAt answers the document as it was at revision rev (its text too).
export const getDocAt = (key, rev) => request('GET', `${docPath(key)}?rev=${rev}`);
// getOps answers the log entries from <= rev <= to (a page: maybe fewer).
export const getOps = (key, from, to) => request('GET', `${docPath(key)}/ops?from=${from}&to=${to}`);
// getAuthors answers everyone who wrote in the document: [{id, name, color}].
export const getAuthors = (key) => request('GET', `${docPath(key)}/authors`);
// getAuthorship answers {rev, spans: [{len, author}], authors} at revision
// rev (the current one without it).
export const getAuthorship = (key, rev) =>
  request('GET', `${docPath(key)}/authorship${rev === undefined || rev === null ? '' : `?rev=${rev}`}`);
// restoreDoc makes the text what it was at revision rev, as one new op:
// answers {rev: the new revision}.
export const restoreDoc = (key, rev, author) => request('POST', `${docPath(key)}/restore`, author ? { rev, author } : { rev });
export const getVersions = (key) => request('GET', `${docPath(key)}/versions`);
export const nameVersion = (key, rev, name, author) =>
  request('POST', `${docPath(key)}/versions`, author ? { rev, name, author } : { rev, name });
export const deleteVersion = (key, rev) => request('DELETE', `${docPath(key)}/versions/${rev}`);
// exportURL is the address of a download: format "txt", "md" or "json".
export const exportURL = (key, format) => `${docPath(key)}/export?format=${format}`;
// importDoc makes a new document from an exported history (its JSON text).
export const importDoc = (json) => request('POST', '/api/docs/import', json);
// deleteDoc moves the document to the trash; purge deletes it for good.
export const deleteDoc = (key, { purge = false } = {}) => request('DELETE', `${docPath(key)}${purge ? '?purge=true' : ''}`);
export const undeleteDoc = (key) => request('POST', `${docPath(key)}/undelete`, {});
export const renameDoc = (key, title) => request('PATCH', docPath(key), { title });
// reissueLink replaces the edit or the view link (which: "edit" | "view"):
// the old one stops working at once. It answers {links: {edit, view}}.
export const reissueLink = (key, which) => request('POST', `${docPath(key)}/links`, { reissue: which });

export function socketURL(key) {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}${docPath(key)}/ws`;
}

// keyOfLink returns the key in a link path or URL ("/d/<key>"), or null.
export function keyOfLink(link) {
  const m = String(link ?? '').match(/\/d\/([^/?#\s]+)\/?(?:[?#].*)?$/);
  if (!m) return null;
  try {
    return decodeURIComponent(m[1]);
  } catch {
    return null;
  }
}

// pageURL is the full address of a link path, to share.
export const pageURL = (path) => `${location.origin}${path}`;
