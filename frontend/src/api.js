// The HTTP API. Requests that change something send JSON, as the server
// requires (it refuses other content types to stop cross-site form posts).

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
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
    throw new ApiError(res.status, e?.code ?? 'http', e?.message ?? `the server answered ${res.status}`);
  }
  return data;
}

const docPath = (id) => `/api/docs/${encodeURIComponent(id)}`;

export const listDocs = () => request('GET', '/api/docs');
export const createDoc = (title) => request('POST', '/api/docs', title === undefined ? {} : { title });
export const getDoc = (id) => request('GET', docPath(id));
export const renameDoc = (id, title) => request('PATCH', docPath(id), { title });

export function socketURL(id) {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}${docPath(id)}/ws`;
}
