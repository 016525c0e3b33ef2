// What the two staff consoles (/moderation, /ops) share: token sign-in, authorised calls, tabs,
// a confirmation dialog, pagers and the way times and sizes are shown.
//
// The token lives in sessionStorage only (this tab, gone when it closes): never in a URL, a cookie,
// localStorage or a log line. A 401, or a 403 that says the token is wrong, signs the tab out.

import { api, describe, el, formatSeconds } from "./api.js";
import { _, formatNumber, lang, ngettext } from "./i18n.js";

const AUTH_CODES = new Set([
  "moderator_token_required", "invalid_moderator_token",
  "ops_token_required", "invalid_ops_token", "ops_token_not_configured",
]);

export class SignedOut extends Error {}

export function isAuthError(error) {
  return Boolean(error) && (error.status === 401 || (error.status === 403 && AUTH_CODES.has(error.code)));
}

// Start a console: `probe(call)` checks a token (any cheap authorised GET), `onSignIn(session)` builds
// the console once a token is accepted, `onSignOut()` empties it. `messages` maps problem codes to words for the sign-in form.
export function startConsole({ storageKey, probe, onSignIn, onSignOut = () => {}, messages = {} }) {
  const signin = document.getElementById("signin");
  const form = document.getElementById("signin-form");
  const input = document.getElementById("token");
  const error = document.getElementById("signin-error");
  const consoleRoot = document.getElementById("console");
  const signoutButton = document.getElementById("signout");
  const submit = form.querySelector("button[type=submit]");
  let session = null;

  const words = {
    network_error: _("The server cannot be reached. Check your connection and try again."),
    session_ended: _("The server no longer accepts your token (it may have been revoked or changed). Sign in again."),
    ...messages,
  };
  const refusedText = (problem) => (problem.code.endsWith("not_configured") && words[problem.code]) ||
    words.session_ended;

  function showSignIn(message, { invalid = false } = {}) {
    consoleRoot.hidden = true;
    signin.hidden = false;
    error.textContent = message || "";
    input.setAttribute("aria-invalid", invalid ? "true" : "false");
    input.value = "";
    input.focus();
  }

  function end(message, options) {
    if (session) session.close();
    session = null;
    // Nothing of the last session stays on the page for the next one to act on.
    onSignOut();
    sessionStorage.removeItem(storageKey);
    showSignIn(message, options);
  }

  async function open(token, { fromStorage = false } = {}) {
    // Once signed in, a refused call ends the session; while probing, open() itself says why.
    const candidate = makeSession(token, (problem) => {
      if (session !== candidate) return false;
      end(refusedText(problem), { invalid: false });
      return true;
    });
    try {
      await probe(candidate.call);
    } catch (problem) {
      candidate.close();
      if (isAuthError(problem)) {
        sessionStorage.removeItem(storageKey);
        // A token kept from earlier in this tab was not typed just now: do not mark the field.
        showSignIn(fromStorage ? refusedText(problem) : (words[problem.code] || describe(problem)),
          { invalid: !fromStorage });
      } else {
        showSignIn(describe(problem, words));
      }
      return false;
    }
    sessionStorage.setItem(storageKey, token);
    session = candidate;
    input.value = "";
    error.textContent = "";
    input.setAttribute("aria-invalid", "false");
    signin.hidden = true;
    consoleRoot.hidden = false;
    await onSignIn(session);
    return true;
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const token = input.value.trim();
    if (!token) {
      showSignIn(words.empty || _("Enter your token."), { invalid: true });
      return;
    }
    submit.disabled = true;
    error.textContent = "";
    try {
      await open(token);
    } finally {
      submit.disabled = false;
    }
  });

  signoutButton.addEventListener("click", () => end(_("You are signed out. The token was forgotten by this tab.")));
  submit.disabled = false;   // disabled in the page until this handler exists: an early click would post the form

  const stored = sessionStorage.getItem(storageKey);
  if (stored) {
    signin.hidden = true;
    open(stored, { fromStorage: true });
  }
}

// A signed-in session: `call(path, options)` adds the token; timers registered with `every`
// stop on sign-out and pause while the tab is hidden.
function makeSession(token, onRefused) {
  const timers = new Set();
  let closed = false;

  async function call(path, options = {}) {
    if (closed) throw new SignedOut("signed out");
    try {
      return await api(path, { ...options, token });
    } catch (problem) {
      if (isAuthError(problem) && !closed && onRefused(problem)) throw new SignedOut("signed out");
      throw problem;
    }
  }

  function every(ms, fn) {
    const tick = () => { if (!document.hidden && !closed) fn(); };
    const id = setInterval(tick, ms);
    timers.add(id);
    return () => { clearInterval(id); timers.delete(id); };
  }

  function later(ms, fn) {
    const id = setTimeout(() => { timers.delete(id); if (!closed) fn(); }, ms);
    timers.add(id);
  }

  return {
    call, every, later,
    get closed() { return closed; },
    close() {
      closed = true;
      for (const id of timers) { clearInterval(id); clearTimeout(id); }
      timers.clear();
    },
  };
}

// Tabs (WAI-ARIA tabs pattern): arrow keys, Home and End move between tabs; the open tab is kept in
// the URL's fragment so a reload stays on it. `onShow(name)` runs each time a tab opens.
export function tabs(root, onShow) {
  const list = root.querySelector("[role=tablist]");
  const buttons = [...list.querySelectorAll("[role=tab]")];
  const names = buttons.map((button) => button.dataset.tab);

  function select(name, { focus = false, remember = true } = {}) {
    if (!names.includes(name)) name = names[0];
    for (const button of buttons) {
      const active = button.dataset.tab === name;
      button.setAttribute("aria-selected", String(active));
      button.tabIndex = active ? 0 : -1;
      document.getElementById(button.getAttribute("aria-controls")).hidden = !active;
      if (active && focus) button.focus();
    }
    if (remember) history.replaceState(null, "", `#${name}`);
    onShow(name);
  }

  list.addEventListener("click", (event) => {
    const button = event.target.closest("[role=tab]");
    if (button) select(button.dataset.tab);
  });
  list.addEventListener("keydown", (event) => {
    const index = buttons.indexOf(document.activeElement);
    if (index < 0) return;
    const moves = { ArrowRight: index + 1, ArrowLeft: index - 1, Home: 0, End: buttons.length - 1 };
    if (!(event.key in moves)) return;
    event.preventDefault();
    const next = (moves[event.key] + buttons.length) % buttons.length;
    select(names[next], { focus: true });
  });

  const fromHash = location.hash.slice(1);
  return {
    select,
    current: () => buttons.find((button) => button.getAttribute("aria-selected") === "true").dataset.tab,
    start: () => select(names.includes(fromHash) ? fromHash : names[0], { remember: false }),
  };
}

// A modal confirmation (native <dialog>: focus stays inside, Escape cancels). Resolves to null when
// cancelled, else {note} (the note field is shown when `noteLabel` is given).
export function confirmAction({ title, message, confirmLabel, danger = true, noteLabel = null }) {
  const noteId = "confirm-note";
  const note = noteLabel ? el("textarea", { id: noteId, rows: 2, maxlength: 2000 }) : null;
  const cancel = el("button", { type: "button", class: "secondary", text: _("Cancel") });
  const confirm = el("button", { type: "submit", class: danger ? "danger" : "", text: confirmLabel });
  const dialog = el("dialog", { class: "confirm", "aria-labelledby": "confirm-title", "aria-describedby": "confirm-text" },
    el("form", { method: "dialog" },
      el("h2", { id: "confirm-title", text: title }),
      el("p", { id: "confirm-text", text: message }),
      note && el("div", { class: "field" }, el("label", { for: noteId, text: noteLabel }), note),
      el("div", { class: "row end" }, cancel, confirm)));
  document.body.append(dialog);
  return new Promise((resolve) => {
    let answer = null;
    cancel.addEventListener("click", () => dialog.close());
    confirm.addEventListener("click", (event) => {
      event.preventDefault();
      answer = { note: note ? note.value.trim() || null : null };
      dialog.close();
    });
    dialog.addEventListener("close", () => { dialog.remove(); resolve(answer); });
    dialog.showModal();
    cancel.focus();
  });
}

// "Page 2 of 5" with Previous/Next; `onPage(n)` loads page n.
export function pager(container, { page, per_page: perPage, total }, onPage, label = _("Pages")) {
  container.replaceChildren();
  const pages = Math.max(1, Math.ceil(total / perPage));
  if (pages <= 1) return;
  container.append(el("nav", { class: "pager row", "aria-label": label },
    el("button", { type: "button", class: "secondary", disabled: page <= 1, onclick: () => onPage(page - 1) }, _("Previous")),
    el("span", { text: _("Page {page} of {pages}", { page: formatNumber(page), pages: formatNumber(pages) }) }),
    el("button", { type: "button", class: "secondary", disabled: page >= pages, onclick: () => onPage(page + 1) }, _("Next"))));
}

// Messages in a live region: a result people should hear about without losing their place.
export function announce(region, text, kind = "success") {
  region.className = `alert ${kind}`;
  region.textContent = text;
}

export function clear(region) {
  region.className = "alert";
  region.textContent = "";
}

// Problems in words; `messages` maps codes of this console.
export function problemText(error, messages = {}) {
  if (error && error.problem && error.problem.errors && !messages[error.code]) {
    const fields = Object.entries(error.problem.errors).map(([name, list]) => `${name}: ${[].concat(list).join(" ")}`);
    if (fields.length) return `${describe(error, messages)} ${fields.join("; ")}`;
  }
  return describe(error, messages);
}

const LOCAL = new Intl.DateTimeFormat(lang, { dateStyle: "medium", timeStyle: "short" });
const LOCAL_SECONDS = new Intl.DateTimeFormat(lang, { dateStyle: "medium", timeStyle: "medium" });
const ZONE = Intl.DateTimeFormat().resolvedOptions().timeZone;

export function utcText(date) {
  return `${date.toISOString().replace("T", " ").slice(0, 19)} UTC`;
}

// <time> in the user's time zone, with the UTC time in its title.
export function timeEl(value, { seconds = false, relative = false } = {}) {
  if (value === null || value === undefined || value === "") return el("span", { class: "muted", text: "—" });
  const date = typeof value === "number" ? new Date(value * 1000) : new Date(value);
  if (Number.isNaN(date.getTime())) return el("span", { text: String(value) });
  const text = (seconds ? LOCAL_SECONDS : LOCAL).format(date);
  const node = el("time", { datetime: date.toISOString(), title: utcText(date) }, text);
  if (relative) node.append(` (${relativeText(date)})`);
  return node;
}

export function relativeText(date, now = Date.now()) {
  const seconds = (date.getTime() - now) / 1000;
  return seconds >= 0 ? _("in {duration}", { duration: formatSeconds(seconds) })
    : _("{duration} ago", { duration: formatSeconds(-seconds) });
}

export function zoneName() {
  return ZONE;
}

export function formatBytes(bytes) {
  const n = Number(bytes) || 0;
  if (n < 1024) return _("{size} B", { size: formatNumber(n) });
  let value = n / 1024;
  let unit = 0;
  while (value >= 1024 && unit < 3) { value /= 1024; unit += 1; }
  const size = formatNumber(value, { maximumFractionDigits: value < 10 ? 1 : 0 });
  return [_("{size} KB", { size }), _("{size} MB", { size }), _("{size} GB", { size }), _("{size} TB", { size })][unit];
}

export { ngettext };

// Ignore errors of a signed-out session (the sign-in form already says why); show others.
export function unlessSignedOut(error, show) {
  if (error instanceof SignedOut) return;
  show(error);
}
