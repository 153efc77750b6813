// The deployer's HTTP API from the browser: the function key (kept in this tab's sessionStorage,
// sent as x-functions-key) and the signed-in session (App Service Authentication's cookie, sent
// with same-origin requests). Problems (RFC 9457) become ApiError with their detail.

const KEY_ITEM = "agent-deployer.function-key";

export class ApiError extends Error {
  constructor(status, problem) {
    const detail = problem && typeof problem === "object" ? problem.detail || problem.title : null;
    super(detail || `the API answered HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

export const key = {
  get: () => sessionStorage.getItem(KEY_ITEM),
  set: (value) => sessionStorage.setItem(KEY_ITEM, value),
  forget: () => sessionStorage.removeItem(KEY_ITEM),
};

export async function call(path, { method = "GET", body, idempotent = false } = {}) {
  const headers = { Accept: "application/json" };
  const stored = key.get();
  if (stored) headers["x-functions-key"] = stored;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (idempotent && crypto.randomUUID) headers["Idempotency-Key"] = crypto.randomUUID();
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "same-origin",
    cache: "no-store",
  });
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

export function query(path, params) {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) if (value) search.set(name, value);
  const text = search.toString();
  return text ? `${path}?${text}` : path;
}

export const segment = encodeURIComponent;
