// The moderation console: the review queue with its context, decisions with a note, appeals, the audit
// log, and the term and allowlist editors. Everything goes through /api/moderation/ with the token.

import { el } from "./api.js";
import {
  announce, clear, confirmAction, pager, plural, problemText, startConsole, tabs, timeEl, unlessSignedOut,
} from "./staff.js";

const MESSAGES = {
  invalid_moderator_token: "That moderator token was not accepted. Check that you copied all of it and try again.",
  moderator_token_required: "Enter your moderator token.",
  empty: "Enter your moderator token.",
  hashtag_not_found: "That hashtag is no longer stored. The list was refreshed.",
  appeal_needs_another_moderator: "This hashtag was decided by you, or by a token minted with or for yours, so a moderator outside that chain has to decide its appeal.",
  decision_needs_another_moderator: "This hashtag's decision was appealed against you, or against a token minted with or for yours, so a moderator outside that chain decides it now.",
  appeal_already_decided: "This appeal was decided already. The list was refreshed.",
  appeal_not_found: "That appeal is gone. The list was refreshed.",
  term_exists: "That term is on the list already.",
  allowlist_entry_exists: "That word is on the allowlist already.",
  term_not_found: "That term was removed meanwhile. The list was refreshed.",
  allowlist_entry_not_found: "That allowlist entry was removed meanwhile. The list was refreshed.",
};
const GONE = new Set(["hashtag_not_found", "appeal_already_decided", "appeal_not_found", "term_not_found",
  "allowlist_entry_not_found"]);
const STATUS_CHIP = { needs_review: ["flagged", "needs review"], approved: ["approved", "approved"],
  rejected: ["rejected", "rejected"] };
const APPEAL_CHIP = { open: ["flagged", "open"], upheld: ["rejected", "upheld"], overturned: ["approved", "overturned"] };
const VIEWS = { plain: "as written", normalized: "once look-alikes, leetspeak and separators are undone",
  translit: "read as transliterated Russian", lookalike: "read as Cyrillic look-alike letters",
  translit_en: "read as transliterated English" };
const MODES = { sub: "anywhere in a tag", start: "at the start of a word", word: "whole word only" };
const LANGUAGES = { en: "English", ru: "Russian" };
const ACTIONS = { approve: "approved", reject: "rejected", flagged: "flagged by the check", rechecked: "re-checked",
  appeal_opened: "appeal opened", appeal_overturned: "appeal overturned", appeal_upheld: "appeal upheld",
  term_added: "term added", term_updated: "term changed", term_removed: "term removed",
  allowlist_added: "allowlist entry added", allowlist_updated: "allowlist entry changed",
  allowlist_removed: "allowlist entry removed", moderator_bootstrapped: "moderator bootstrapped",
  moderator_issued: "moderator token issued", moderator_revoked: "moderator token revoked" };
const HASHTAG_ACTIONS = new Set(["approve", "reject", "flagged", "rechecked", "appeal_opened", "appeal_overturned",
  "appeal_upheld"]);
const PER_PAGE = 20;

const $ = (id) => document.getElementById(id);
const statusRegion = $("status");
const state = { queue: 1, appeals: 1, audit: 1, terms: 1, stems: 1, highlightAudit: null };
let session = null;

const view = tabs($("tabs"), (name) => LOADERS[name]());
const LOADERS = { queue: () => loadQueue(), appeals: () => loadAppeals(), audit: () => loadAudit(),
  terms: () => loadTerms(), allowlist: () => loadStems() };

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
  const terms = Object.entries(lexicon.terms || {}).map(([lang, n]) => `${n} ${LANGUAGES[lang] || lang}`).join(" + ");
  $("lexicon-info").textContent =
    `Signed in. Lexicon version ${lexicon.version}: ${terms} terms, ${plural(lexicon.allowlist, "allowlisted word")}.`;
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
    setCount("queue-count", queue.total, "waiting");
    setCount("appeals-count", appeals.total, "open");
  } catch (error) {
    fail(error);
  }
}

function setCount(id, total, word) {
  const node = $(id);
  node.textContent = total ? String(total) : "";
  node.setAttribute("aria-label", total ? `${total} ${word}` : "");
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
    if (status === "needs_review" && !q) setCount("queue-count", data.total, "waiting");
    pager($("queue-pager"), data, loadQueue, "Queue pages");
  } catch (error) {
    fail(error);
  }
}

function queueSummary(status, q, total) {
  const filter = q ? ` containing “${q}”` : "";
  if (status === "needs_review") {
    return total ? `${plural(total, "hashtag")}${filter} waiting for review, oldest first.`
      : `Nothing${filter} is waiting for review.`;
  }
  return `${plural(total, `${status} hashtag`)}${filter}.`;
}

function hashtagItem(item) {
  const titleId = `hashtag-${item.id}-title`;
  const [chipClass, chipText] = STATUS_CHIP[item.status] || ["", item.status];
  const note = el("textarea", { id: `note-${item.id}`, rows: 2, maxlength: 2000 });
  const feed = el("input", { type: "checkbox", id: `feed-${item.id}` });
  const error = el("p", { class: "field-error", role: "alert" });
  const approve = el("button", { type: "button", "aria-label": `Approve #${item.tag}` }, "Approve");
  const reject = el("button", { type: "button", class: "danger", "aria-label": `Reject #${item.tag}` }, "Reject…");
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
        el("dt", { text: "Matched" }),
        el("dd", {}, item.reasons && item.reasons.length ? reasonsList(item.reasons) : "no listed term"),
        el("dt", { text: "Normalized" }), el("dd", { class: "mono", text: item.normalized }),
        el("dt", { text: "First seen" }), el("dd", {}, timeEl(item.created_at)),
        item.decided_at && el("dt", { text: "Decided" }), item.decided_at && el("dd", {}, timeEl(item.decided_at)),
        el("dt", { text: "Lexicon" }), el("dd", { text: `version ${item.lexicon_version}` })),
      el("h4", { text: profiles.length ? `Used on ${plural(profiles.length, "published profile")}`
        : "Not on a published profile yet" }),
      profiles.length ? el("ul", {}, profiles.map(profileRef))
        : el("p", { class: "muted", text: "It was seen in a submission that is not published yet." }),
      el("form", { class: "decision", novalidate: true, onsubmit: (event) => event.preventDefault() },
        el("div", {}, el("label", { for: note.id, text: "Note (optional; kept in the audit log, shown to the owner on a rejection)" }), note),
        el("label", { class: "checkbox", for: feed.id }, feed,
          "Also update the lists (approve: allowlist this word; reject: ban it as a term)"),
        el("div", { class: "row" }, approve, reject),
        error)));
}

function reasonsList(reasons) {
  return el("ul", {}, reasons.map((reason) => el("li", {},
    el("strong", { text: `“${reason.term}”` }),
    ` ${reason.category}, ${reason.severity} severity, ${VIEWS[reason.view] || reason.view}`)));
}

function profileRef(profile) {
  return el("li", {},
    el("a", { href: `/p/${profile.wallet}` }, profile.name || "(no name)"),
    profile.is_incognito ? " (incognito: name hidden publicly) " : " ",
    el("span", { class: "mono muted", text: profile.wallet }),
    profile.published_at ? el("span", { class: "muted" }, ", published ", timeEl(profile.published_at)) : null);
}

async function decide(item, decision, controls, button) {
  controls.error.textContent = "";
  const note = controls.note.value.trim() || null;
  if (decision === "reject") {
    const profiles = (item.profiles || []).length;
    const answer = await confirmAction({
      title: `Reject #${item.tag}?`,
      message: `It stays hidden on ${plural(profiles, "profile")} and submissions carrying it are refused. ` +
        (note ? `The owner sees your note: “${note}”.` : "You gave no note: the owner sees “rejected by a moderator”."),
      confirmLabel: `Reject #${item.tag}`,
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
    showChange(`${decision === "approve" ? "Approved" : "Rejected"} #${decided.tag}.`, audit.items[0]);
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
    el("strong", { text }), " Audit log: ",
    el("span", { class: "audit-entry" }, `“${ACTIONS[entry.action] || entry.action}” by ${entry.moderator}, `,
      timeEl(entry.created_at, { seconds: true }), entry.note ? `, note: “${entry.note}”` : ", no note", ". "),
    el("button", { type: "button", class: "secondary", onclick: () => view.select("audit", { focus: true }) },
      "Open the audit log"));
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
    const label = status === "all" ? "appeal" : `${status} appeal`;
    $("appeals-summary").textContent = data.total ? `${plural(data.total, label)}, newest first.` : `No ${label}s.`;
    if (status === "open") setCount("appeals-count", data.total, "open");
    pager($("appeals-pager"), data, loadAppeals, "Appeal pages");
  } catch (error) {
    fail(error);
  }
}

function appealItem(appeal) {
  const tag = appeal.hashtag ? appeal.hashtag.tag : `hashtag ${appeal.hashtag_id}`;
  const titleId = `appeal-${appeal.id}-title`;
  const [chipClass, chipText] = APPEAL_CHIP[appeal.status] || ["", appeal.status];
  const note = el("textarea", { id: `appeal-note-${appeal.id}`, rows: 2, maxlength: 2000 });
  const error = el("p", { class: "field-error", role: "alert" });
  const overturn = el("button", { type: "button", "aria-label": `Overturn: approve #${tag}` }, "Overturn (approve)");
  const uphold = el("button", { type: "button", class: "secondary", "aria-label": `Uphold the rejection of #${tag}` },
    "Uphold the rejection");
  const controls = { note, error, buttons: [overturn, uphold] };
  overturn.addEventListener("click", () => decideAppeal(appeal, "overturn", controls));
  uphold.addEventListener("click", () => decideAppeal(appeal, "uphold", controls));
  return el("li", { class: "card item", id: `appeal-${appeal.id}` },
    el("article", { "aria-labelledby": titleId },
      el("header", {}, el("h3", { id: titleId, tabindex: -1 }, `#${tag}`),
        el("span", { class: `chip ${chipClass}`, text: `appeal ${chipText}` })),
      appeal.hashtag && appeal.hashtag.reason && el("p", {}, "Rejected: ", appeal.hashtag.reason),
      el("blockquote", { text: appeal.message }),
      el("dl", { class: "kv" },
        el("dt", { text: "From" }), el("dd", { class: appeal.wallet ? "mono" : "muted", text: appeal.wallet || "no wallet given" }),
        el("dt", { text: "Received" }), el("dd", {}, timeEl(appeal.created_at)),
        appeal.decided_at && el("dt", { text: "Decided" }), appeal.decided_at && el("dd", {}, timeEl(appeal.decided_at)),
        appeal.decision_note && el("dt", { text: "Decision note" }),
        appeal.decision_note && el("dd", { text: appeal.decision_note })),
      appeal.status === "open" && el("form", { novalidate: true, onsubmit: (event) => event.preventDefault() },
        el("div", {}, el("label", { for: note.id, text: "Note (optional; kept in the audit log)" }), note),
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
    showChange(decision === "overturn" ? `Appeal overturned: #${tag} is approved.` : `Appeal upheld: #${tag} stays rejected.`,
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
    $("audit-summary").textContent = data.total ? `${plural(data.total, "entry", "entries")}, newest first.`
      : "No entries.";
    pager($("audit-pager"), data, loadAudit, "Audit log pages");
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
  if (details.from && details.to) return `${details.from.replace("_", " ")} → ${details.to.replace("_", " ")}`;
  if (details.status) return `→ ${details.status.replace("_", " ")}`;
  if (details.severity) return `${details.category || ""} ${details.severity}, ${MODES[details.mode] || details.mode || ""}`.trim();
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
    $("terms-summary").textContent = `${plural(data.total, "term")}${q ? ` containing “${q}”` : ""}.`;
    pager($("terms-pager"), data, loadTerms, "Term pages");
  } catch (error) {
    fail(error);
  }
}

function termRow(term) {
  return el("tr", { id: `term-${term.id}` },
    el("th", { scope: "row", text: term.term }),
    el("td", { text: LANGUAGES[term.language] || term.language }),
    el("td", { text: term.category }),
    el("td", {}, el("span", { class: `chip ${term.severity === "high" ? "rejected" : "flagged"}`, text: term.severity })),
    el("td", { text: MODES[term.mode] || term.mode }),
    el("td", { text: term.source }),
    el("td", { text: term.note || "—" }),
    el("td", {}, el("div", { class: "row" },
      el("button", { type: "button", class: "secondary", "aria-label": `Edit term ${term.term}`,
        onclick: () => editTerm(term) }, "Edit"),
      el("button", { type: "button", class: "danger", "aria-label": `Delete term ${term.term}`,
        onclick: (event) => deleteTerm(term, event.currentTarget) }, "Delete…"))));
}

const termForm = $("term-form");

function resetTermForm() {
  termForm.reset();
  delete termForm.dataset.editing;
  $("term-term").readOnly = false;
  $("term-form-title").textContent = "Add a term";
  $("term-submit").textContent = "Add term";
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
  $("term-form-title").textContent = `Change the term “${term.term}”`;
  $("term-submit").textContent = "Save changes";
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
    announce(statusRegion, `${editing ? "Changed" : "Added"} the term “${term.term}” (${term.severity} severity, ` +
      `${MODES[term.mode]}). Lexicon version ${lexicon.version}; stored hashtags are re-checked in the background.`);
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
    title: `Delete the term “${term.term}”?`,
    message: "Hashtags containing it are no longer flagged for it. This makes a new lexicon version and re-checks stored hashtags.",
    confirmLabel: "Delete term", noteLabel: "Why (optional; kept in the audit log)",
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
    announce(statusRegion, `Deleted the term “${term.term}”. Lexicon version ${lexicon.version}.`);
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
    $("stems-summary").textContent = `${plural(data.total, "allowlisted word")}${q ? ` containing “${q}”` : ""}.`;
    pager($("stems-pager"), data, loadStems, "Allowlist pages");
  } catch (error) {
    fail(error);
  }
}

function stemRow(stem) {
  return el("tr", { id: `stem-${stem.id}` },
    el("th", { scope: "row", text: stem.stem }),
    el("td", { text: LANGUAGES[stem.language] || stem.language }),
    el("td", { text: stem.source }),
    el("td", { text: stem.note || "—" }),
    el("td", {}, timeEl(stem.created_at)),
    el("td", {}, el("div", { class: "row" },
      el("button", { type: "button", class: "secondary", "aria-label": `Edit the note of ${stem.stem}`,
        onclick: () => editStem(stem) }, "Edit note"),
      el("button", { type: "button", class: "danger", "aria-label": `Remove ${stem.stem} from the allowlist`,
        onclick: (event) => deleteStem(stem, event.currentTarget) }, "Remove…"))));
}

const stemForm = $("stem-form");

function resetStemForm() {
  stemForm.reset();
  delete stemForm.dataset.editing;
  $("stem-stem").readOnly = false;
  $("stem-form-title").textContent = "Allowlist a word";
  $("stem-submit").textContent = "Add to the allowlist";
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
  $("stem-form-title").textContent = `Change the note of “${stem.stem}”`;
  $("stem-submit").textContent = "Save note";
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
    announce(statusRegion, editing ? `Saved the note of “${stem.stem}”.`
      : `Allowlisted “${stem.stem}”. Lexicon version ${lexicon.version}; stored hashtags are re-checked in the background.`);
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
    title: `Remove “${stem.stem}” from the allowlist?`,
    message: "Hashtags with this word can be flagged again. This makes a new lexicon version and re-checks stored hashtags.",
    confirmLabel: "Remove", noteLabel: "Why (optional; kept in the audit log)",
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
    announce(statusRegion, `Removed “${stem.stem}” from the allowlist. Lexicon version ${lexicon.version}.`);
    await loadStems();
    $("stem-q").focus();
  } catch (error) {
    fail(error);
    if (GONE.has(error.code)) loadStems();
  }
}

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
    "lexicon-info", "queue-count", "appeals-count"]) $(id).replaceChildren();
  for (const id of ["queue-count", "appeals-count"]) $(id).removeAttribute("aria-label");
  for (const id of ["audit-table", "terms-table", "stems-table"]) $(id).tBodies[0].replaceChildren();
  resetTermForm();
  resetStemForm();
  Object.assign(state, { queue: 1, appeals: 1, audit: 1, terms: 1, stems: 1, highlightAudit: null });
}

startConsole({
  storageKey: "showreel.moderator-token",
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
