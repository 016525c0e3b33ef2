// The JSON API from the pages: one fetch helper, problem+json turned into errors people can read.

import { _, formatDateTime, ngettext } from "./i18n.js";

export class ProblemError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
    this.code = problem.code || "unknown_error";
  }
}

// Words a visitor understands, by the problem's stable `code` (docs/ERRORS.md). Pages may pass their own.
export const MESSAGES = {
  service_unavailable: _("The service is busy or restarting. Please try again in a moment."),
  storage_unavailable: _("The service is busy or restarting. Please try again in a moment."),
  rate_limited: _("Too many requests. Please wait a little and try again."),
  validation_error: _("Some fields need attention."),
  network_error: _("The server cannot be reached. Check your connection and try again."),
  not_found: _("That was not found."),
  internal_error: _("Something went wrong on the server. Please try again in a moment."),
};

export function describe(error, messages = {}) {
  const code = error && error.code;
  let text = messages[code] || MESSAGES[code] || (error && error.message) || _("Something went wrong.");
  const retryAfter = error && error.retryAfter;
  if (retryAfter) text += " " + _("(try again in {duration})", { duration: formatSeconds(retryAfter) });
  return text;
}

// A duration in words with the language's plural forms: "45 seconds", "3 минуты", "2 часа".
export function formatSeconds(seconds) {
  const s = Math.max(0, Math.round(Number(seconds)));
  if (s < 90) return ngettext("{n} second", "{n} seconds", s);
  if (s < 5400) return ngettext("{n} minute", "{n} minutes", Math.round(s / 60));
  return ngettext("{n} hour", "{n} hours", Math.round(s / 3600));
}

// fetch + JSON + problem handling. `body` is sent as JSON unless it is FormData/Blob.
export async function api(path, { method = "GET", body, token, headers = {}, signal } = {}) {
  const init = { method, headers: { Accept: "application/json", ...headers }, credentials: "same-origin", signal };
  if (token) init.headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) {
    if (body instanceof FormData || body instanceof Blob) init.body = body;
    else { init.body = JSON.stringify(body); init.headers["Content-Type"] = "application/json"; }
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (err) {
    if (err.name === "AbortError") throw err;
    throw new ProblemError(0, { code: "network_error", detail: String(err) });
  }
  return readResponse(response);
}

export async function readResponse(response) {
  const type = response.headers.get("Content-Type") || "";
  const data = type.includes("json") ? await response.json().catch(() => ({})) : null;
  if (!response.ok) {
    const error = new ProblemError(response.status, data || { code: `http_${response.status}` });
    error.retryAfter = response.headers.get("Retry-After");
    throw error;
  }
  return data;
}

// Tiny DOM builder: el("li", {class: "chip", text: "hi"}, child, ...)
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "text") node.textContent = value;
    else if (name === "class") node.className = value;
    else if (name.startsWith("on") && typeof value === "function") node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function formatTime(iso) {
  if (!iso) return "—";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : formatDateTime(date);
}
