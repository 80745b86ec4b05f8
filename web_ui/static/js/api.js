// The JSON API from the pages: CSRF header on writes, a redirect to the login page when the
// session has ended.

const csrfToken = () => document.querySelector('meta[name="csrf-token"]')?.content ?? "";

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.error ?? `HTTP ${status}`);
    this.status = status;
    this.body = body ?? {};
  }
}

/** Fetch a JSON answer; throws ApiError with the server's {error, field, fields} on failure. */
export async function api(path, { method = "GET", body } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET") headers["X-CSRF-Token"] = csrfToken();
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "same-origin",
    cache: "no-store",
  });
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  // The session ended (or no password is set yet): to the login page. A wrong password in a
  // form (field "current") is the form's error, not a lost session.
  if ((response.status === 401 || response.status === 403) && data?.field === "password") {
    window.location.assign(response.status === 403 ? "/setup" : "/login");
  }
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

/** The text of an element, set only when it changed (keeps screen readers quiet). */
export function setText(element, text) {
  if (element && element.textContent !== text) element.textContent = text;
}
