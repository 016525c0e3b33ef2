// The moderation console: the review queue with its context, decisions with a note, appeals, the audit
// log, and the term and allowlist editors. Everything goes through /api/moderation/ with the token.

import { el } from "./api.js";
import { _, formatNumber, ngettext } from "./i18n.js";
import {
  announce, clear, confirmAction, pager, problemText, startConsole, tabs, timeEl, unlessSignedOut,
} from "./staff.js";

const MESSAGES = {
  invalid_moderator_token: _("That moderator token was not accepted. Check that you copied all of it and try again."),
  moderator_token_required: _("Enter your moderator token."),
  empty: _("Enter your moderator token."),
  hashtag_not_found: _("That hashtag is no longer stored. The list was refreshed."),
  appeal_needs_another_moderator: _("This hashtag was decided by you, or by a token minted with or for yours, so a moderator outside that chain has to decide its appeal."),
  decision_needs_another_moderator: _("This hashtag's decision was appealed against you, or against a token minted with or for yours, so a moderator outside that chain decides it now."),
  appeal_already_decided: _("This appeal was decided already. The list was refreshed."),
  appeal_not_found: _("That appeal is gone. The list was refreshed."),
  term_exists: _("That term is on the list already."),
  allowlist_entry_exists: _("That word is on the allowlist already."),
  term_not_found: _("That term was removed meanwhile. The list was refreshed."),
  allowlist_entry_not_found: _("That allowlist entry was removed meanwhile. The list was refreshed."),
  moderator_admin_required: _("Only an admin moderator issues and revokes moderator tokens, and yours is not an admin token."),
  moderator_exists: _("A moderator with this name exists already. Names are unique: pick another one."),
  moderator_not_found: _("That moderator is gone. The list was refreshed."),
  moderator_is_bootstrap: _("The first moderator's token comes from the MODERATOR_TOKEN setting: change or unset the setting to replace it."),
};
const GONE = new Set(["hashtag_not_found", "appeal_already_decided", "appeal_not_found", "term_not_found",
  "allowlist_entry_not_found", "moderator_not_found"]);
const ROLE_WORDS = { admin: _("admin"), moderator: _("moderator") };
const STATUS_WORDS = { needs_review: _("needs review"), approved: _("approved"), rejected: _("rejected") };
const STATUS_CHIP = { needs_review: ["flagged", STATUS_WORDS.needs_review], approved: ["approved", STATUS_WORDS.approved],
  rejected: ["rejected", STATUS_WORDS.rejected] };
const APPEAL_CHIP = { open: ["flagged", _("appeal open")], upheld: ["rejected", _("appeal upheld")],
  overturned: ["approved", _("appeal overturned")] };
const SEVERITY_WORDS = { high: _("high"), medium: _("medium"), low: _("low") };
const CATEGORY_WORDS = { profanity: _("profanity"), sexual: _("sexual content"), slur: _("slur"), hate: _("hate speech"),
  violence: _("violence"), abuse: _("abuse"), drugs: _("drugs"), spam: _("spam"), moderator: _("banned by moderators") };
const SOURCE_WORDS = { moderator: _("moderator") };
const VIEWS = { plain: _("as written"), normalized: _("once look-alikes, leetspeak and separators are undone"),
  translit: _("read as transliterated Russian"), lookalike: _("read as Cyrillic look-alike letters"),
  translit_en: _("read as transliterated English") };
const MODES = { sub: _("anywhere in a tag"), start: _("at the start of a word"), word: _("whole word only") };
const LANGUAGES = { en: _("English"), ru: _("Russian") };
const ACTIONS = { approve: _("approved"), reject: _("rejected"), flagged: _("flagged by the check"), rechecked: _("re-checked"),
  appeal_opened: _("appeal opened"), appeal_overturned: _("appeal overturned"), appeal_upheld: _("appeal upheld"),
  term_added: _("term added"), term_updated: _("term changed"), term_removed: _("term removed"),
  allowlist_added: _("allowlist entry added"), allowlist_updated: _("allowlist entry changed"),
  allowlist_removed: _("allowlist entry removed"), moderator_bootstrapped: _("moderator bootstrapped"),
  moderator_issued: _("moderator token issued"), moderator_revoked: _("moderator token revoked") };
const HASHTAG_ACTIONS = new Set(["approve", "reject", "flagged", "rechecked", "appeal_opened", "appeal_overturned",
  "appeal_upheld"]);
const PER_PAGE = 20;

const $ = (id) => document.getElementById(id);
const statusRegion = $("status");
const state = { queue: 1, appeals: 1, audit: 1, terms: 1, stems: 1, highlightAudit: null, readOnly: false };
let session = null;

const view = tabs($("tabs"), (name) => LOADERS[name]());
const LOADERS = { queue: () => loadQueue(), appeals: () => loadAppeals(), audit: () => loadAudit(),
  terms: () => loadTerms(), allowlist: () => loadStems(), moderators: () => loadModerators() };

function fail(error, where = statusRegion) {
  unlessSignedOut(error, (problem) => {
    if (where === statusRegion) announce(statusRegion, problemText(problem, MESSAGES), "error");
    else where.textContent = problemText(problem, MESSAGES);
  });
}

async function busy(node, work) {
  node.setAttribute("aria-busy", "true");
  try {
    return await work();
  } finally {
    node.removeAttribute("aria-busy");
  }
}

// -- lexicon and counts -------------------------------------------------------------------------------

function showLexicon(lexicon) {
  const terms = Object.entries(lexicon.terms || {}).map(([lang, n]) => `${formatNumber(n)} ${LANGUAGES[lang] || lang}`).join(" + ");
  const allowlist = ngettext("{n} allowlisted word", "{n} allowlisted words", lexicon.allowlist);
  $("lexicon-info").textContent = _("Signed in. Lexicon version {version}: {terms} terms, {allowlist}.",
    { version: lexicon.version, terms, allowlist });
  return lexicon;
}

async function refreshLexicon() {
  try {
    showLexicon(await session.call("/api/moderation/lexicon/"));
  } catch (error) {
    fail(error);
  }
}

async function refreshCounts() {
  try {
    const [queue, appeals] = await Promise.all([session.call("/api/moderation/queue/?per_page=1"),
      session.call("/api/moderation/appeals/?status=open&per_page=1")]);
    setCount("queue-count", queue.total, WAITING);
    setCount("appeals-count", appeals.total, OPEN);
  } catch (error) {
    fail(error);
  }
}

const WAITING = ["{n} waiting", "{n} waiting"];
const OPEN = ["{n} open", "{n} open"];

function setCount(id, total, [one, many]) {
  const node = $(id);
  node.textContent = total ? formatNumber(total) : "";
  node.setAttribute("aria-label", total ? ngettext(one, many, total) : "");
}

// -- the queue --------------------------------------------------------------------------------------

async function loadQueue(page = state.queue) {
  const status = $("queue-status").value;
  const q = $("queue-q").value.trim();
  const params = new URLSearchParams({ page, per_page: PER_PAGE });
  let path = `/api/moderation/queue/?${params}`;
  if (status !== "needs_review" || q) {
    params.set("status", status);
    if (q) params.set("q", q);
    path = `/api/moderation/hashtags/?${params}`;
  }
  const list = $("queue-list");
  try {
    const data = await busy(list, () => session.call(path));
    if (!data.items.length && data.total && page > 1) return loadQueue(Math.ceil(data.total / PER_PAGE));
    state.queue = data.page;
    list.replaceChildren(...data.items.map(hashtagItem));
    $("queue-summary").textContent = queueSummary(status, q, data.total);
    if (status === "needs_review" && !q) setCount("queue-count", data.total, WAITING);
    pager($("queue-pager"), data, loadQueue, _("Queue pages"));
  } catch (error) {
    fail(error);
  }
}

function queueSummary(status, q, total) {
  const filter = q ? " " + _("containing “{q}”", { q }) : "";
  if (status === "needs_review") {
    return total ? ngettext("{n} hashtag{filter} waiting for review, oldest first.",
      "{n} hashtags{filter} waiting for review, oldest first.", total, { filter })
      : _("Nothing{filter} is waiting for review.", { filter });
  }
  return ngettext("{n} hashtag{filter} with the status “{status}”.", "{n} hashtags{filter} with the status “{status}”.",
    total, { filter, status: STATUS_WORDS[status] || status });
}

function hashtagItem(item) {
  const titleId = `hashtag-${item.id}-title`;
  const [chipClass, chipText] = STATUS_CHIP[item.status] || ["", item.status];
  const note = el("textarea", { id: `note-${item.id}`, rows: 2, maxlength: 2000 });
  const feed = el("input", { type: "checkbox", id: `feed-${item.id}` });
  const error = el("p", { class: "field-error", role: "alert" });
  const approve = el("button", { type: "button", "aria-label": _("Approve #{tag}", { tag: item.tag }) }, _("Approve"));
  const reject = el("button", { type: "button", class: "danger", "aria-label": _("Reject #{tag}", { tag: item.tag }) }, _("Reject…"));
  const controls = { note, feed, error, buttons: [approve, reject] };
  approve.addEventListener("click", () => decide(item, "approve", controls, approve));
  reject.addEventListener("click", () => decide(item, "reject", controls, reject));
  if (item.status === "approved") approve.disabled = true;
  if (item.status === "rejected") reject.disabled = true;

  const profiles = item.profiles || [];
  return el("li", { class: "card item", id: `hashtag-${item.id}`, "data-tag": item.tag },
    el("article", { "aria-labelledby": titleId },
      el("header", {},
        el("h3", { id: titleId, tabindex: -1 }, `#${item.tag}`),
        el("span", { class: `chip ${chipClass}`, text: chipText })),
      item.reason && el("p", { text: item.reason }),
      el("dl", { class: "kv" },
        el("dt", { text: _("Matched") }),
        el("dd", {}, item.reasons && item.reasons.length ? reasonsList(item.reasons) : _("no listed term")),
        el("dt", { text: _("Normalized") }), el("dd", { class: "mono", text: item.normalized }),
        el("dt", { text: _("First seen") }), el("dd", {}, timeEl(item.created_at)),
        item.decided_at && el("dt", { text: _("Decided") }), item.decided_at && el("dd", {}, timeEl(item.decided_at)),
        el("dt", { text: _("Lexicon") }), el("dd", { text: _("version {version}", { version: item.lexicon_version }) })),
      el("h4", { text: profiles.length
        ? ngettext("Used on {n} published profile", "Used on {n} published profiles", profiles.length)
        : _("Not on a published profile yet") }),
      profiles.length ? el("ul", {}, profiles.map(profileRef))
        : el("p", { class: "muted", text: _("It was seen in a submission that is not published yet.") }),
      el("form", { class: "decision", novalidate: true, onsubmit: (event) => event.preventDefault() },
        el("div", {}, el("label", { for: note.id, text: _("Note (optional; kept in the audit log, shown to the owner on a rejection)") }), note),
        el("label", { class: "checkbox", for: feed.id }, feed,
          _("Also update the lists (approve: allowlist this word; reject: ban it as a term)")),
        el("div", { class: "row" }, approve, reject),
        error)));
}

function reasonsList(reasons) {
  return el("ul", {}, reasons.map((reason) => el("li", {},
    el("strong", { text: `“${reason.term}”` }),
    " " + _("{category}, {severity} severity, {view}", { category: CATEGORY_WORDS[reason.category] || reason.category,
      severity: SEVERITY_WORDS[reason.severity] || reason.severity, view: VIEWS[reason.view] || reason.view }))));
}

function profileRef(profile) {
  return el("li", {},
    el("a", { href: `/p/${profile.wallet}` }, profile.name || _("(no name)")),
    profile.is_incognito ? _(" (incognito: name hidden publicly) ") : " ",
    el("span", { class: "mono muted", text: profile.wallet }),
    profile.published_at ? el("span", { class: "muted" }, _(", published "), timeEl(profile.published_at)) : null);
}

async function decide(item, decision, controls, button) {
  controls.error.textContent = "";
  const note = controls.note.value.trim() || null;
  if (decision === "reject") {
    const profiles = (item.profiles || []).length;
    const answer = await confirmAction({
      title: _("Reject #{tag}?", { tag: item.tag }),
      message: ngettext("It stays hidden on {n} profile and submissions carrying it are refused.",
        "It stays hidden on {n} profiles and submissions carrying it are refused.", profiles) + " " +
        (note ? _("The owner sees your note: “{note}”.", { note }) : _("You gave no note: the owner sees “rejected by a moderator”.")),
      confirmLabel: _("Reject #{tag}", { tag: item.tag }),
    });
    if (!answer) {
      button.focus();
      return;
    }
  }
  controls.buttons.forEach((b) => { b.disabled = true; });
  try {
    const decided = await session.call(`/api/moderation/hashtags/${item.id}/decision/`,
      { method: "POST", body: { decision, note, feed_lexicon: controls.feed.checked } });
    const audit = await session.call(`/api/moderation/audit/?hashtag_id=${item.id}&per_page=1`);
    showChange(decision === "approve" ? _("Approved #{tag}.", { tag: decided.tag }) : _("Rejected #{tag}.", { tag: decided.tag }),
      audit.items[0]);
    if (controls.feed.checked) refreshLexicon();
    replaceOrRemove(item, decided);
    refreshCounts();
  } catch (error) {
    controls.buttons.forEach((b) => { b.disabled = false; });
    fail(error, controls.error);
    if (GONE.has(error.code)) loadQueue();
  }
}

// Show the audit entry a change made, with a way to it in the log.
function showChange(text, entry) {
  if (!entry) {
    announce(statusRegion, text);
    return;
  }
  state.highlightAudit = entry.id;
  statusRegion.className = "alert success";
  statusRegion.replaceChildren(
    el("strong", { text }), _(" Audit log: "),
    el("span", { class: "audit-entry" },
      _("“{action}” by {moderator},", { action: ACTIONS[entry.action] || entry.action, moderator: entry.moderator }), " ",
      timeEl(entry.created_at, { seconds: true }),
      entry.note ? _(", note: “{note}”", { note: entry.note }) : _(", no note"), ". "),
    el("button", { type: "button", class: "secondary", onclick: () => view.select("audit", { focus: true }) },
      _("Open the audit log")));
}

function replaceOrRemove(item, decided) {
  const node = $(`hashtag-${item.id}`);
  if (!node) return;
  if ($("queue-status").value === decided.status || $("queue-q").value.trim()) {
    node.replaceWith(hashtagItem({ ...item, ...decided }));
    $(`hashtag-${item.id}-title`).focus();
    return;
  }
  // Keep the keyboard where the work is: the next hashtag, or the summary when none is left.
  const next = node.nextElementSibling || node.previousElementSibling;
  node.remove();
  if (next) next.querySelector("h3").focus();
  else loadQueue().then(() => {
    const first = $("queue-list").querySelector("h3");
    (first || $("queue-status")).focus();
  });
}

// -- appeals ----------------------------------------------------------------------------------------

async function loadAppeals(page = state.appeals) {
  const status = $("appeal-status").value;
  const list = $("appeals-list");
  try {
    const data = await busy(list, () =>
      session.call(`/api/moderation/appeals/?${new URLSearchParams({ status, page, per_page: PER_PAGE })}`));
    if (!data.items.length && data.total && page > 1) return loadAppeals(Math.ceil(data.total / PER_PAGE));
    state.appeals = data.page;
    list.replaceChildren(...data.items.map(appealItem));
    const statusWord = { open: _("open"), overturned: _("overturned"), upheld: _("upheld") }[status];
    $("appeals-summary").textContent = statusWord
      ? (data.total ? ngettext("{n} appeal ({status}), newest first.", "{n} appeals ({status}), newest first.", data.total,
        { status: statusWord }) : _("No appeals ({status}).", { status: statusWord }))
      : (data.total ? ngettext("{n} appeal, newest first.", "{n} appeals, newest first.", data.total) : _("No appeals."));
    if (status === "open") setCount("appeals-count", data.total, OPEN);
    pager($("appeals-pager"), data, loadAppeals, _("Appeal pages"));
  } catch (error) {
    fail(error);
  }
}

function appealItem(appeal) {
  const tag = appeal.hashtag ? appeal.hashtag.tag : _("hashtag {id}", { id: appeal.hashtag_id });
  const titleId = `appeal-${appeal.id}-title`;
  const [chipClass, chipText] = APPEAL_CHIP[appeal.status] || ["", appeal.status];
  const note = el("textarea", { id: `appeal-note-${appeal.id}`, rows: 2, maxlength: 2000 });
  const error = el("p", { class: "field-error", role: "alert" });
  const overturn = el("button", { type: "button", "aria-label": _("Overturn: approve #{tag}", { tag }) }, _("Overturn (approve)"));
  const uphold = el("button", { type: "button", class: "secondary", "aria-label": _("Uphold the rejection of #{tag}", { tag }) },
    _("Uphold the rejection"));
  const controls = { note, error, buttons: [overturn, uphold] };
  overturn.addEventListener("click", () => decideAppeal(appeal, "overturn", controls));
  uphold.addEventListener("click", () => decideAppeal(appeal, "uphold", controls));
  return el("li", { class: "card item", id: `appeal-${appeal.id}` },
    el("article", { "aria-labelledby": titleId },
      el("header", {}, el("h3", { id: titleId, tabindex: -1 }, `#${tag}`),
        el("span", { class: `chip ${chipClass}`, text: chipText })),
      appeal.hashtag && appeal.hashtag.reason && el("p", {}, _("Rejected: "), appeal.hashtag.reason),
      el("blockquote", { text: appeal.message }),
      el("dl", { class: "kv" },
        el("dt", { text: _("From") }), el("dd", { class: appeal.wallet ? "mono" : "muted", text: appeal.wallet || _("no wallet given") }),
        el("dt", { text: _("Received") }), el("dd", {}, timeEl(appeal.created_at)),
        appeal.decided_at && el("dt", { text: _("Decided") }), appeal.decided_at && el("dd", {}, timeEl(appeal.decided_at)),
        appeal.decision_note && el("dt", { text: _("Decision note") }),
        appeal.decision_note && el("dd", { text: appeal.decision_note })),
      appeal.status === "open" && el("form", { novalidate: true, onsubmit: (event) => event.preventDefault() },
        el("div", {}, el("label", { for: note.id, text: _("Note (optional; kept in the audit log)") }), note),
        el("div", { class: "row" }, overturn, uphold),
        error)));
}

async function decideAppeal(appeal, decision, controls) {
  controls.error.textContent = "";
  controls.buttons.forEach((b) => { b.disabled = true; });
  try {
    const decided = await session.call(`/api/moderation/appeals/${appeal.id}/decision/`,
      { method: "POST", body: { decision, note: controls.note.value.trim() || null } });
    const tag = decided.hashtag ? decided.hashtag.tag : appeal.hashtag_id;
    const audit = await session.call(`/api/moderation/audit/?hashtag_id=${appeal.hashtag_id}&per_page=1`);
    showChange(decision === "overturn" ? _("Appeal overturned: #{tag} is approved.", { tag })
      : _("Appeal upheld: #{tag} stays rejected.", { tag }),
      audit.items[0]);
    await loadAppeals();
    refreshCounts();
    const first = $("appeals-list").querySelector("h3");
    (first || $("appeal-status")).focus();
  } catch (error) {
    controls.buttons.forEach((b) => { b.disabled = false; });
    fail(error, controls.error);
    if (GONE.has(error.code)) loadAppeals();
  }
}

// -- the audit log ------------------------------------------------------------------------------------

async function loadAudit(page = state.audit) {
  const action = $("audit-action").value;
  const params = new URLSearchParams({ page, per_page: 50 });
  if (action) params.set("action", action);
  const body = $("audit-table").tBodies[0];
  try {
    const data = await busy(body, () => session.call(`/api/moderation/audit/?${params}`));
    state.audit = data.page;
    body.replaceChildren(...data.items.map(auditRow));
    $("audit-summary").textContent = data.total ? ngettext("{n} entry, newest first.", "{n} entries, newest first.", data.total)
      : _("No entries.");
    pager($("audit-pager"), data, loadAudit, _("Audit log pages"));
  } catch (error) {
    fail(error);
  }
}

function auditRow(entry) {
  const target = HASHTAG_ACTIONS.has(entry.action) ? `#${entry.target}` : entry.target;
  return el("tr", { class: entry.id === state.highlightAudit ? "highlight" : null, id: `audit-${entry.id}` },
    el("td", {}, timeEl(entry.created_at, { seconds: true })),
    el("td", { text: entry.moderator }),
    el("td", { text: ACTIONS[entry.action] || entry.action }),
    el("td", { text: target || "—" }),
    el("td", { text: entry.note || "—" }),
    el("td", { text: changeText(entry) }),
    el("td", { class: "num", text: entry.lexicon_version ?? "—" }));
}

function changeText(entry) {
  const details = entry.details || {};
  const word = (status) => STATUS_WORDS[status] || status.replace("_", " ");
  if (details.from && details.to) return `${word(details.from)} → ${word(details.to)}`;
  if (details.status) return `→ ${word(details.status)}`;
  if (details.severity) {
    return `${CATEGORY_WORDS[details.category] || details.category || ""} ${SEVERITY_WORDS[details.severity] || details.severity}, ${MODES[details.mode] || details.mode || ""}`.trim();
  }
  return "";
}

// -- terms ------------------------------------------------------------------------------------------

async function loadTerms(page = state.terms) {
  const params = new URLSearchParams({ page, per_page: 50 });
  const q = $("term-q").value.trim();
  const language = $("term-language").value;
  if (q) params.set("q", q);
  if (language) params.set("language", language);
  const body = $("terms-table").tBodies[0];
  try {
    const data = await busy(body, () => session.call(`/api/moderation/terms/?${params}`));
    if (!data.items.length && data.total && page > 1) return loadTerms(Math.ceil(data.total / 50));
    state.terms = data.page;
    body.replaceChildren(...data.items.map(termRow));
    $("terms-summary").textContent = ngettext("{n} term{filter}.", "{n} terms{filter}.", data.total,
      { filter: q ? " " + _("containing “{q}”", { q }) : "" });
    pager($("terms-pager"), data, loadTerms, _("Term pages"));
  } catch (error) {
    fail(error);
  }
}

function termRow(term) {
  return el("tr", { id: `term-${term.id}` },
    el("th", { scope: "row", text: term.term }),
    el("td", { text: LANGUAGES[term.language] || term.language }),
    el("td", { text: CATEGORY_WORDS[term.category] || term.category }),
    el("td", {}, el("span", { class: `chip ${term.severity === "high" ? "rejected" : "flagged"}`,
      text: SEVERITY_WORDS[term.severity] || term.severity })),
    el("td", { text: MODES[term.mode] || term.mode }),
    el("td", { text: SOURCE_WORDS[term.source] || term.source }),
    el("td", { text: term.note || "—" }),
    el("td", {}, el("div", { class: "row" },
      el("button", { type: "button", class: "secondary", "aria-label": _("Edit term {term}", { term: term.term }),
        onclick: () => editTerm(term) }, _("Edit")),
      el("button", { type: "button", class: "danger", "aria-label": _("Delete term {term}", { term: term.term }),
        onclick: (event) => deleteTerm(term, event.currentTarget) }, _("Delete…")))));
}

const termForm = $("term-form");

function resetTermForm() {
  termForm.reset();
  delete termForm.dataset.editing;
  $("term-term").readOnly = false;
  $("term-form-title").textContent = _("Add a term");
  $("term-submit").textContent = _("Add term");
  $("term-cancel").hidden = true;
  $("term-term-error").textContent = "";
  $("term-form-error").textContent = "";
  $("term-term").removeAttribute("aria-invalid");
}

function editTerm(term) {
  resetTermForm();
  termForm.dataset.editing = term.id;
  $("term-term").value = term.term;
  $("term-term").readOnly = true;
  $("term-category").value = term.category;
  $("term-severity").value = term.severity;
  $("term-mode").value = term.mode;
  $("term-note").value = term.note || "";
  $("term-form-title").textContent = _("Change the term “{term}”", { term: term.term });
  $("term-submit").textContent = _("Save changes");
  $("term-cancel").hidden = false;
  termForm.scrollIntoView({ block: "start" });
  $("term-category").focus();
}

$("term-cancel").addEventListener("click", () => {
  const editing = termForm.dataset.editing;
  resetTermForm();
  const back = editing && document.querySelector(`#term-${editing} button`);
  (back || $("term-term")).focus();
});

termForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const editing = termForm.dataset.editing;
  const fields = { category: $("term-category").value, severity: $("term-severity").value,
    mode: $("term-mode").value, note: $("term-note").value.trim() || null };
  $("term-term-error").textContent = "";
  $("term-form-error").textContent = "";
  $("term-term").removeAttribute("aria-invalid");
  const submit = $("term-submit");
  submit.disabled = true;
  try {
    const term = editing
      ? await session.call(`/api/moderation/terms/${editing}/`, { method: "PATCH", body: fields })
      : await session.call("/api/moderation/terms/", { method: "POST", body: { term: $("term-term").value.trim(), ...fields } });
    const lexicon = await session.call("/api/moderation/lexicon/");
    showLexicon(lexicon);
    const words = { term: term.term, severity: SEVERITY_WORDS[term.severity] || term.severity, mode: MODES[term.mode],
      version: lexicon.version };
    announce(statusRegion, editing
      ? _("Changed the term “{term}” ({severity} severity, {mode}). Lexicon version {version}; stored hashtags are re-checked in the background.", words)
      : _("Added the term “{term}” ({severity} severity, {mode}). Lexicon version {version}; stored hashtags are re-checked in the background.", words));
    resetTermForm();
    await loadTerms();
    $("term-term").focus();
  } catch (error) {
    unlessSignedOut(error, (problem) => {
      const fieldErrors = problem.problem && problem.problem.errors && problem.problem.errors.term;
      if (["invalid_term", "term_exists"].includes(problem.code) || fieldErrors) {
        $("term-term").setAttribute("aria-invalid", "true");
        $("term-term-error").textContent = MESSAGES[problem.code] || problem.message;
        $("term-term").focus();
      } else {
        $("term-form-error").textContent = problemText(problem, MESSAGES);
      }
      if (GONE.has(problem.code)) { resetTermForm(); loadTerms(); }
    });
  } finally {
    submit.disabled = false;
  }
});

$("term-filters").addEventListener("submit", (event) => { event.preventDefault(); loadTerms(1); });

async function deleteTerm(term, button) {
  const answer = await confirmAction({
    title: _("Delete the term “{term}”?", { term: term.term }),
    message: _("Hashtags containing it are no longer flagged for it. This makes a new lexicon version and re-checks stored hashtags."),
    confirmLabel: _("Delete term"), noteLabel: _("Why (optional; kept in the audit log)"),
  });
  if (!answer) {
    button.focus();
    return;
  }
  try {
    const query = answer.note ? `?${new URLSearchParams({ note: answer.note })}` : "";
    await session.call(`/api/moderation/terms/${term.id}/${query}`, { method: "DELETE" });
    const lexicon = await session.call("/api/moderation/lexicon/");
    showLexicon(lexicon);
    announce(statusRegion, _("Deleted the term “{term}”. Lexicon version {version}.", { term: term.term, version: lexicon.version }));
    await loadTerms();
    $("term-q").focus();
  } catch (error) {
    fail(error);
    if (GONE.has(error.code)) loadTerms();
  }
}

// -- allowlist --------------------------------------------------------------------------------------

async function loadStems(page = state.stems) {
  const params = new URLSearchParams({ page, per_page: 50 });
  const q = $("stem-q").value.trim();
  if (q) params.set("q", q);
  const body = $("stems-table").tBodies[0];
  try {
    const data = await busy(body, () => session.call(`/api/moderation/allowlist/?${params}`));
    if (!data.items.length && data.total && page > 1) return loadStems(Math.ceil(data.total / 50));
    state.stems = data.page;
    body.replaceChildren(...data.items.map(stemRow));
    $("stems-summary").textContent = ngettext("{n} allowlisted word{filter}.", "{n} allowlisted words{filter}.", data.total,
      { filter: q ? " " + _("containing “{q}”", { q }) : "" });
    pager($("stems-pager"), data, loadStems, _("Allowlist pages"));
  } catch (error) {
    fail(error);
  }
}

function stemRow(stem) {
  return el("tr", { id: `stem-${stem.id}` },
    el("th", { scope: "row", text: stem.stem }),
    el("td", { text: LANGUAGES[stem.language] || stem.language }),
    el("td", { text: SOURCE_WORDS[stem.source] || stem.source }),
    el("td", { text: stem.note || "—" }),
    el("td", {}, timeEl(stem.created_at)),
    el("td", {}, el("div", { class: "row" },
      el("button", { type: "button", class: "secondary", "aria-label": _("Edit the note of {word}", { word: stem.stem }),
        onclick: () => editStem(stem) }, _("Edit note")),
      el("button", { type: "button", class: "danger", "aria-label": _("Remove {word} from the allowlist", { word: stem.stem }),
        onclick: (event) => deleteStem(stem, event.currentTarget) }, _("Remove…")))));
}

const stemForm = $("stem-form");

function resetStemForm() {
  stemForm.reset();
  delete stemForm.dataset.editing;
  $("stem-stem").readOnly = false;
  $("stem-form-title").textContent = _("Allowlist a word");
  $("stem-submit").textContent = _("Add to the allowlist");
  $("stem-cancel").hidden = true;
  $("stem-stem-error").textContent = "";
  $("stem-form-error").textContent = "";
  $("stem-stem").removeAttribute("aria-invalid");
}

function editStem(stem) {
  resetStemForm();
  stemForm.dataset.editing = stem.id;
  $("stem-stem").value = stem.stem;
  $("stem-stem").readOnly = true;
  $("stem-note").value = stem.note || "";
  $("stem-form-title").textContent = _("Change the note of “{word}”", { word: stem.stem });
  $("stem-submit").textContent = _("Save note");
  $("stem-cancel").hidden = false;
  stemForm.scrollIntoView({ block: "start" });
  $("stem-note").focus();
}

$("stem-cancel").addEventListener("click", () => {
  const editing = stemForm.dataset.editing;
  resetStemForm();
  const back = editing && document.querySelector(`#stem-${editing} button`);
  (back || $("stem-stem")).focus();
});

stemForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const editing = stemForm.dataset.editing;
  const note = $("stem-note").value.trim() || null;
  $("stem-stem-error").textContent = "";
  $("stem-form-error").textContent = "";
  $("stem-stem").removeAttribute("aria-invalid");
  const submit = $("stem-submit");
  submit.disabled = true;
  try {
    const stem = editing
      ? await session.call(`/api/moderation/allowlist/${editing}/`, { method: "PATCH", body: { note } })
      : await session.call("/api/moderation/allowlist/", { method: "POST", body: { stem: $("stem-stem").value.trim(), note } });
    const lexicon = await session.call("/api/moderation/lexicon/");
    showLexicon(lexicon);
    announce(statusRegion, editing ? _("Saved the note of “{word}”.", { word: stem.stem })
      : _("Allowlisted “{word}”. Lexicon version {version}; stored hashtags are re-checked in the background.",
        { word: stem.stem, version: lexicon.version }));
    resetStemForm();
    await loadStems();
    $("stem-stem").focus();
  } catch (error) {
    unlessSignedOut(error, (problem) => {
      const fieldErrors = problem.problem && problem.problem.errors && problem.problem.errors.stem;
      if (["invalid_term", "allowlist_entry_exists"].includes(problem.code) || fieldErrors) {
        $("stem-stem").setAttribute("aria-invalid", "true");
        $("stem-stem-error").textContent = MESSAGES[problem.code] || problem.message;
        $("stem-stem").focus();
      } else {
        $("stem-form-error").textContent = problemText(problem, MESSAGES);
      }
      if (GONE.has(problem.code)) { resetStemForm(); loadStems(); }
    });
  } finally {
    submit.disabled = false;
  }
});

$("stem-filters").addEventListener("submit", (event) => { event.preventDefault(); loadStems(1); });

async function deleteStem(stem, button) {
  const answer = await confirmAction({
    title: _("Remove “{word}” from the allowlist?", { word: stem.stem }),
    message: _("Hashtags with this word can be flagged again. This makes a new lexicon version and re-checks stored hashtags."),
    confirmLabel: _("Remove"), noteLabel: _("Why (optional; kept in the audit log)"),
  });
  if (!answer) {
    button.focus();
    return;
  }
  try {
    const query = answer.note ? `?${new URLSearchParams({ note: answer.note })}` : "";
    await session.call(`/api/moderation/allowlist/${stem.id}/${query}`, { method: "DELETE" });
    const lexicon = await session.call("/api/moderation/lexicon/");
    showLexicon(lexicon);
    announce(statusRegion, _("Removed “{word}” from the allowlist. Lexicon version {version}.", { word: stem.stem, version: lexicon.version }));
    await loadStems();
    $("stem-q").focus();
  } catch (error) {
    fail(error);
    if (GONE.has(error.code)) loadStems();
  }
}

// -- moderators -------------------------------------------------------------------------------------
// GET /api/moderation/moderators/ answers every moderator; issuing and revoking answer 403
// moderator_admin_required to a plain one. The page finds its own row by the token's first characters
// (token_prefix, what the API keeps of an issued token; none match: the bootstrap token) to show the
// form to admins only; whatever it guessed, a 403 turns the panel read-only.

const TOKEN_KEY = "showreel.moderator-token";

function whoAmI(items) {
  const token = sessionStorage.getItem(TOKEN_KEY) || "";
  const issued = items.filter((m) => !m.is_bootstrap && !m.revoked_at && m.token_prefix && m.token_prefix.length > 4
    && token.startsWith(m.token_prefix));
  if (issued.length === 1) return issued[0];
  if (issued.length === 0) return items.find((m) => m.is_bootstrap && !m.revoked_at) || null;
  return null;
}

// Every live token minted under `id`, transitively: what revoking it revokes too.
function mintedUnder(id, items) {
  const children = new Map();
  for (const m of items) if (m.created_by) children.set(m.created_by, [...(children.get(m.created_by) || []), m]);
  const found = [];
  const pending = [id];
  const seen = new Set([id]);
  while (pending.length) {
    for (const child of children.get(pending.pop()) || []) {
      if (seen.has(child.id)) continue;
      seen.add(child.id);
      pending.push(child.id);
      if (!child.revoked_at) found.push(child);
    }
  }
  return found;
}

function setReadOnly(readOnly) {
  state.readOnly = readOnly;
  $("moderator-form").hidden = readOnly;
  $("moderators-readonly").hidden = !readOnly;
}

async function loadModerators() {
  const body = $("moderators-table").tBodies[0];
  try {
    const items = await busy(body, () => session.call("/api/moderation/moderators/"));
    const me = whoAmI(items);
    // Not sure who this is (two tokens begin alike): show the form and let the API answer.
    if (!state.readOnly) setReadOnly(Boolean(me) && me.role !== "admin");
    const byId = new Map(items.map((m) => [m.id, m]));
    body.replaceChildren(...items.map((m) => moderatorRow(m, byId, me, items)));
    const active = items.filter((m) => !m.revoked_at).length;
    $("moderators-summary").textContent = ngettext("{n} moderator token, {active} of them active, oldest first.",
      "{n} moderator tokens, {active} of them active, oldest first.", items.length, { active: formatNumber(active) }) +
      (me ? " " + _("You are signed in as {name} ({role}).", { name: me.name, role: ROLE_WORDS[me.role] || me.role }) : "");
    return items;
  } catch (error) {
    fail(error);
    return null;
  }
}

function moderatorRow(m, byId, me, items) {
  const minter = m.created_by ? byId.get(m.created_by) : null;
  const mintedBy = m.is_bootstrap ? _("the MODERATOR_TOKEN setting")
    : minter ? minter.name : m.created_by ? _("(unknown)") : _("the command line");
  const canRevoke = !state.readOnly && !m.is_bootstrap && !m.revoked_at;
  return el("tr", { id: `moderator-${m.id}`, class: m.revoked_at ? "revoked" : null },
    el("th", { scope: "row", tabindex: -1 }, m.name,
      me && me.id === m.id ? el("span", { class: "you", text: " " + _("(you)") }) : null),
    el("td", {}, el("span", { class: `chip ${m.role === "admin" ? "admin" : ""}`, text: ROLE_WORDS[m.role] || m.role })),
    el("td", { class: "mono", text: m.is_bootstrap ? "—" : `${m.token_prefix}…` }),
    el("td", { text: mintedBy }),
    el("td", {}, timeEl(m.created_at)),
    el("td", {}, m.revoked_at ? el("span", { class: "chip revoked" }, _("revoked"), " ", timeEl(m.revoked_at))
      : el("span", { class: "muted", text: _("active") })),
    el("td", {}, canRevoke
      ? el("button", { type: "button", class: "danger", "aria-label": _("Revoke the token of {name}", { name: m.name }),
        onclick: (event) => revokeModerator(m, items, me, event.currentTarget) }, _("Revoke…"))
      : null));
}

async function revokeModerator(m, items, me, button) {
  const cascade = mintedUnder(m.id, items);
  const names = cascade.map((c) => c.name).join(", ");
  const mine = me && (me.id === m.id || cascade.some((c) => c.id === me.id));
  const answer = await confirmAction({
    title: _("Revoke the token of {name}?", { name: m.name }),
    message: [
      _("{name} can no longer sign in or call the API with it. This cannot be undone: a new token has to be issued.", { name: m.name }),
      cascade.length ? ngettext("It also revokes {n} token minted under it: {names}.",
        "It also revokes {n} tokens minted under it: {names}.", cascade.length, { names }) : "",
      mine ? _("Your own token is among them: you will be signed out.") : "",
    ].filter(Boolean).join(" "),
    confirmLabel: _("Revoke the token of {name}", { name: m.name }),
  });
  if (!answer) {
    button.focus();
    return;
  }
  button.disabled = true;
  try {
    await session.call(`/api/moderation/moderators/${m.id}/`, { method: "DELETE" });
    announce(statusRegion, cascade.length
      ? ngettext("Revoked the token of {name} and {n} token minted under it.",
        "Revoked the token of {name} and {n} tokens minted under it.", cascade.length, { name: m.name })
      : _("Revoked the token of {name}.", { name: m.name }));
    if (await loadModerators()) {
      const row = $(`moderator-${m.id}`);
      if (row) row.querySelector("th").focus();
    }
  } catch (error) {
    button.disabled = false;
    unlessSignedOut(error, (problem) => {
      if (problem.code === "moderator_admin_required") setReadOnly(true);
      announce(statusRegion, problemText(problem, MESSAGES), "error");
      if (GONE.has(problem.code) || problem.code === "moderator_admin_required") loadModerators();
    });
  }
}

const moderatorForm = $("moderator-form");

function clearModeratorErrors() {
  $("moderator-name").removeAttribute("aria-invalid");
  $("moderator-name-error").textContent = "";
  $("moderator-form-error").textContent = "";
}

function nameError(text) {
  const input = $("moderator-name");
  input.setAttribute("aria-invalid", "true");
  $("moderator-name-error").textContent = text;
  input.focus();
}

moderatorForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearModeratorErrors();
  const name = $("moderator-name").value.trim();
  if (!name) {
    nameError(_("Enter the name of the token's holder."));
    return;
  }
  const admin = $("moderator-admin").checked;
  const submit = $("moderator-submit");
  submit.disabled = true;
  try {
    const issued = await session.call("/api/moderation/moderators/", { method: "POST", body: { name, admin } });
    moderatorForm.reset();
    showIssuedToken(issued);
    announce(statusRegion, admin
      ? _("Issued an admin token for {name}. Copy it now: it is shown only once.", { name: issued.name })
      : _("Issued a moderator token for {name}. Copy it now: it is shown only once.", { name: issued.name }));
    await loadModerators();
  } catch (error) {
    unlessSignedOut(error, (problem) => {
      const fieldErrors = problem.problem && problem.problem.errors && problem.problem.errors.name;
      if (problem.code === "moderator_exists" || fieldErrors) {
        nameError(MESSAGES[problem.code] || problemText(problem, MESSAGES));
      } else if (problem.code === "moderator_admin_required") {
        setReadOnly(true);
        announce(statusRegion, MESSAGES.moderator_admin_required, "error");
        loadModerators();
        $("moderators-readonly").focus();
      } else {
        $("moderator-form-error").textContent = problemText(problem, MESSAGES);
      }
    });
  } finally {
    submit.disabled = false;
  }
});

// The new token is in this box only (not in storage, not in the list): closing it forgets it.
function showIssuedToken(issued) {
  $("issued-token-title").textContent = _("The new token of {name}", { name: issued.name });
  $("issued-token-value").value = issued.token;
  $("issued-token-copied").textContent = "";
  $("issued-token").hidden = false;
  $("issued-token-value").focus();
  $("issued-token-value").select();
}

function closeIssuedToken() {
  $("issued-token-value").value = "";
  $("issued-token-copied").textContent = "";
  $("issued-token-title").textContent = "";
  $("issued-token").hidden = true;
}

$("issued-token-copy").addEventListener("click", async () => {
  const input = $("issued-token-value");
  let copied = false;
  try {
    await navigator.clipboard.writeText(input.value);
    copied = true;
  } catch {
    input.focus();
    input.select();
    try {
      copied = document.execCommand("copy");
    } catch {
      copied = false;
    }
  }
  $("issued-token-copied").textContent = copied ? _("Copied to the clipboard.")
    : _("The browser did not allow copying: the token is selected, press Ctrl+C (⌘C on a Mac) to copy it.");
  if (!copied) {
    input.focus();
    input.select();
  }
});

$("issued-token-done").addEventListener("click", () => {
  closeIssuedToken();
  $("moderator-name").focus();
});

// -- filters and start ------------------------------------------------------------------------------

$("queue-filters").addEventListener("submit", (event) => { event.preventDefault(); loadQueue(1); });
$("queue-status").addEventListener("change", () => loadQueue(1));
$("appeal-filters").addEventListener("submit", (event) => { event.preventDefault(); loadAppeals(1); });
$("appeal-status").addEventListener("change", () => loadAppeals(1));
$("audit-filters").addEventListener("submit", (event) => { event.preventDefault(); loadAudit(1); });
$("audit-action").addEventListener("change", () => loadAudit(1));

function emptyConsole() {
  clear(statusRegion);
  for (const id of ["queue-list", "appeals-list", "queue-pager", "appeals-pager", "audit-pager", "terms-pager",
    "stems-pager", "queue-summary", "appeals-summary", "audit-summary", "terms-summary", "stems-summary",
    "lexicon-info", "queue-count", "appeals-count", "moderators-summary"]) $(id).replaceChildren();
  for (const id of ["queue-count", "appeals-count"]) $(id).removeAttribute("aria-label");
  for (const id of ["audit-table", "terms-table", "stems-table", "moderators-table"]) $(id).tBodies[0].replaceChildren();
  resetTermForm();
  resetStemForm();
  moderatorForm.reset();
  clearModeratorErrors();
  closeIssuedToken();
  $("moderator-form").hidden = true;
  $("moderators-readonly").hidden = true;
  Object.assign(state, { queue: 1, appeals: 1, audit: 1, terms: 1, stems: 1, highlightAudit: null, readOnly: false });
}

startConsole({
  storageKey: TOKEN_KEY,
  messages: MESSAGES,
  onSignOut: emptyConsole,
  probe: async (call) => showLexicon(await call("/api/moderation/lexicon/")),
  onSignIn: (signedIn) => {
    session = signedIn;
    clear(statusRegion);
    view.start();
    refreshCounts();
    // Counts on the tabs stay roughly current while the tab is open (and not hidden).
    session.every(60_000, refreshCounts);
  },
});
