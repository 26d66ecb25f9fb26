// The HTTP API. Requests that change something send JSON, as the server
// requires (it refuses other content types to stop cross-site form posts).
//
// A document is reached through a key: its edit link's token, its view
// link's token (or, for an administrator, its id). The server answers with
// the role the key grants ("edit", "view" or "admin") and the links
// ({edit, view} as paths "/d/<token>"; only view for a viewer).

export class ApiError extends Error {
  constructor(status, code, message, retryAfter = null) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    // Seconds to wait before asking again (429), or null.
    this.retryAfter = retryAfter;
  }
}

async function request(method, path, body) {
  const init = { method, headers: { Accept: 'application/json' } };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
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
    );
  }
  return data;
}

const docPath = (key) => `/api/docs/${encodeURIComponent(key)}`;

export const createDoc = (title) => request('POST', '/api/docs', title === undefined ? {} : { title });
export const getDoc = (key) => request('GET', docPath(key));
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
