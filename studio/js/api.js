// api: the pagevault server's HTTP API, with the key the user entered (kept for this tab only).
const KEY = 'pagevault.apiKey';

export class ApiError extends Error {
  constructor(code, message, status) {
    super(message);
    this.code = code;
    this.status = status;
  }
}

export const apiKey = {
  get: () => sessionStorage.getItem(KEY),
  set: (k) => sessionStorage.setItem(KEY, k),
  clear: () => sessionStorage.removeItem(KEY),
};

/** api: call the server; resolves with the JSON reply, rejects with ApiError (code, message). */
export async function api(method, path, body) {
  let res;
  try {
    res = await fetch(path, {
      method,
      headers: { authorization: `Bearer ${apiKey.get() ?? ''}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
  } catch (err) {
    throw new ApiError('PAGEVAULT_ERR_SERVER_UNREACHABLE', `cannot reach the server (${err.message})`, 0);
  }
  if (res.status === 204) return undefined;
  let json;
  try {
    json = await res.json();
  } catch {
    throw new ApiError('PAGEVAULT_ERR_SERVER_UNREACHABLE', `HTTP ${res.status} without a JSON body`, res.status);
  }
  if (!res.ok) throw new ApiError(json?.error?.code ?? 'PAGEVAULT_ERR_INTERNAL', json?.error?.message ?? `HTTP ${res.status}`, res.status);
  return json;
}

export const q = (params) => {
  const s = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') s.set(k, String(v));
  return s.toString();
};
