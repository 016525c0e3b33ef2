// The ops console: schedules (next run, cron edits, run now), the run history with what each run did,
// queue depths and dead letters with re-drive. Everything goes through /api/ops/ with the ops token.

import { el, formatSeconds } from "./api.js";
import { _, formatNumber, ngettext } from "./i18n.js";
import {
  announce, clear, confirmAction, formatBytes, problemText, startConsole, tabs, timeEl,
  unlessSignedOut, zoneName,
} from "./staff.js";

const MESSAGES = {
  invalid_ops_token: _("That ops token was not accepted. Check that you copied all of it and try again."),
  ops_token_required: _("Enter your ops token."),
  empty: _("Enter your ops token."),
  ops_token_not_configured: _("The ops console is off on this server: OPS_TOKEN is not set and no ops token was issued (flask ops tokens create)."),
  schedule_not_found: _("That schedule does not exist (any more). The list was refreshed."),
  run_not_found: _("That run is gone."),
  invalid_timezone: _("Not a time zone name. Use an IANA name such as UTC or Europe/Berlin."),
  service_unavailable: _("Redis cannot be reached, so queues and dead letters cannot be read. Try again in a moment."),
  invalid_params: _("The server did not accept a parameter; see the field."),
};
const FINAL = new Set(["succeeded", "failed"]);
const STATUS_WORDS = { queued: _("queued"), running: _("running"), succeeded: _("succeeded"), failed: _("failed") };
const TRIGGER_WORDS = { schedule: _("schedule"), manual: _("manual") };
const statusWord = (status) => STATUS_WORDS[status] || status;
const FIRST_100 = _(", the first 100");
const NO_REASON = _("no reason recorded");
const RUN_POLL_MS = 1000;
const QUEUES_REFRESH_MS = 15_000;
const SCHEDULES_REFRESH_MS = 60_000;

const $ = (id) => document.getElementById(id);
const statusRegion = $("status");
const state = { schedules: new Map(), following: new Map(), highlightRun: null, olderLoaded: false, runsTimer: false };
let session = null;

const view = tabs($("tabs"), (name) => LOADERS[name]());
const LOADERS = { schedules: () => loadSchedules(), runs: () => loadRuns(), queues: () => loadQueues(),
  dead: () => loadDead() };

function fail(error, where = null) {
  unlessSignedOut(error, (problem) => {
    if (where) where.textContent = problemText(problem, MESSAGES);
    else announce(statusRegion, problemText(problem, MESSAGES), "error");
  });
}

const shortId = (id) => String(id).slice(0, 8);

// -- what a run did, in words ----------------------------------------------------------------------------

const COUNT_KEYS = /(removed|expired|deleted|redriven|resent|found|orphans|submissions|nonces|sessions|dramatiq|events|total)$/;
const NOT_COUNTS = new Set(["retention_hours", "min_age_hours", "would_delete_at_least"]);

function flatten(value, prefix = "") {
  const out = [];
  for (const [key, item] of Object.entries(value || {})) {
    const name = prefix ? `${prefix} › ${key}` : key;
    if (item && typeof item === "object" && !Array.isArray(item)) out.push(...flatten(item, name));
    else out.push([name, key, item]);
  }
  return out;
}

function valueText(key, value) {
  if (typeof value === "number" && key.includes("bytes")) {
    return ngettext("{size} ({count} byte)", "{size} ({count} bytes)", value, { size: formatBytes(value), count: value });
  }
  if (typeof value === "boolean") return value ? _("yes") : _("no");
  if (value === null || value === undefined) return "—";
  return String(value);
}

function runSummary(run) {
  if (run.status === "queued") return _("Waiting for a worker…");
  if (run.status === "running") return _("Running…");
  if (run.status === "failed") return _("Failed: {error}", { error: run.error || NO_REASON });
  const stats = run.stats || {};
  const dry = Boolean(stats.dry_run);
  const parts = [];
  if ("files_removed" in stats) {
    const gone = [ngettext("{n} file ({size})", "{n} files ({size})", stats.files_removed, { size: formatBytes(stats.bytes_removed) })];
    if (stats.links_removed) gone.push(ngettext("{n} link", "{n} links", stats.links_removed));
    if (stats.dirs_removed) gone.push(ngettext("{n} empty folder", "{n} empty folders", stats.dirs_removed));
    parts.push(dry ? _("{what} would be removed", { what: gone.join(", ") }) : _("{what} removed", { what: gone.join(", ") }));
    if (stats.entries_in_use) parts.push(ngettext("{n} in use kept", "{n} in use kept", stats.entries_in_use));
  } else {
    for (const [name, key, value] of flatten(stats)) {
      if (typeof value !== "number" || !value || NOT_COUNTS.has(key) || !COUNT_KEYS.test(key)) continue;
      parts.push(`${name.replaceAll("_", " ")}: ${key.includes("bytes") ? formatBytes(value) : value}`);
    }
    if (Array.isArray(stats.not_found) && stats.not_found.length) {
      parts.push(ngettext("{n} not found", "{n} not found", stats.not_found.length));
    }
  }
  const errors = Array.isArray(stats.errors) ? stats.errors.length : 0;
  if (errors) parts.push(ngettext("{n} error", "{n} errors", errors));
  const text = parts.length ? parts.join(", ") : _("Nothing to do");
  return dry ? _("Dry run: {text}", { text }) : text;
}

function runReport(run) {
  const stats = run.stats || {};
  const rows = [];
  const lists = [];
  for (const [name, key, value] of flatten(stats)) {
    if (Array.isArray(value)) {
      if (value.length) lists.push([name, value]);
      continue;
    }
    rows.push(el("dt", { text: name.replaceAll("_", " ") }), el("dd", { text: valueText(key, value) }));
  }
  const params = Object.entries(run.params || {}).map(([k, v]) => `${k}: ${JSON.stringify(v)}`).join(", ");
  return el("div", { class: "report" },
    el("dl", { class: "kv" },
      el("dt", { text: _("Run") }), el("dd", { class: "mono", text: run.id }),
      el("dt", { text: _("Parameters") }), el("dd", { text: params || _("none") }),
      el("dt", { text: _("Started") }), el("dd", {}, timeEl(run.started_at, { seconds: true })),
      el("dt", { text: _("Finished") }), el("dd", {}, timeEl(run.finished_at, { seconds: true })),
      run.deliveries > 1 && el("dt", { text: _("Deliveries") }), run.deliveries > 1 && el("dd", { text: run.deliveries }),
      run.error && el("dt", { text: _("Error") }), run.error && el("dd", { text: run.error }),
      ...rows),
    lists.map(([name, items]) => el("div", {},
      el("h4", { text: `${name.replaceAll("_", " ")} (${formatNumber(items.length)}${items.length >= 100 ? FIRST_100 : ""})` }),
      el("ul", { class: "mono" }, items.map((item) => el("li", { text: typeof item === "string" ? item : JSON.stringify(item) }))))));
}

// Follow a run until it ends: `onUpdate(run)` on every read, `onDone(run)` once at the end.
function followRun(runId, { owner = true, onUpdate = () => {}, onDone = () => {} } = {}) {
  if (state.following.has(runId)) return;
  state.following.set(runId, owner);
  const tick = async () => {
    let run;
    try {
      run = await session.call(`/api/ops/runs/${runId}/`);
    } catch (error) {
      state.following.delete(runId);
      fail(error);
      return;
    }
    onUpdate(run);
    updateRunRow(run);
    if (FINAL.has(run.status)) {
      state.following.delete(runId);
      onDone(run);
    } else {
      session.later(RUN_POLL_MS, tick);
    }
  };
  tick();
}

// -- schedules ----------------------------------------------------------------------------------------

async function loadSchedules() {
  try {
    const data = await session.call("/api/ops/schedules/");
    const list = $("schedule-list");
    const names = data.schedules.map((s) => s.name);
    for (const schedule of data.schedules) {
      state.schedules.set(schedule.name, schedule);
      if (!$(`schedule-${schedule.name}`)) list.append(scheduleCard(schedule));
      updateCard(schedule);
    }
    for (const card of [...list.children]) if (!names.includes(card.dataset.name)) card.remove();
    fillScheduleFilter(names);
  } catch (error) {
    fail(error);
  }
}

async function refreshSchedule(name) {
  try {
    const schedule = await session.call(`/api/ops/schedules/${encodeURIComponent(name)}/`);
    state.schedules.set(name, schedule);
    updateCard(schedule);
  } catch (error) {
    fail(error);
  }
}

function fillScheduleFilter(names) {
  const select = $("run-schedule");
  const current = select.value;
  select.replaceChildren(el("option", { value: "", text: _("All schedules") }),
    ...names.map((name) => el("option", { value: name, text: name })));
  select.value = names.includes(current) ? current : "";
}

const slug = (name) => name.replace(/[^a-z0-9-]/gi, "_");

function scheduleCard(schedule) {
  const id = slug(schedule.name);
  const titleId = `schedule-${id}-title`;
  const dryRun = schedule.accepts.some((p) => p.name === "dry_run" && p.type === "bool");
  const runButton = el("button", { type: "button", id: `run-${id}`, "aria-label": _("Run {name} now", { name: schedule.name }) }, _("Run now"));
  const editButton = el("button", { type: "button", class: "secondary", id: `edit-button-${id}`, "aria-expanded": "false",
    "aria-controls": `edit-${id}`, "aria-label": _("Edit the schedule of {name}", { name: schedule.name }) }, _("Edit schedule"));
  runButton.addEventListener("click", () => runNow(schedule.name));
  editButton.addEventListener("click", () => toggleEdit(schedule.name));
  return el("li", { class: "card item", id: `schedule-${schedule.name}`, "data-name": schedule.name },
    el("article", { "aria-labelledby": titleId },
      el("header", {}, el("h3", { id: titleId, text: schedule.name }),
        el("span", { class: "chip", "data-field": "enabled" })),
      el("p", { text: schedule.description }),
      el("dl", { class: "kv" },
        el("dt", { text: _("Cron") }), el("dd", { "data-field": "cron" }),
        el("dt", { text: _("Next run") }), el("dd", { "data-field": "next" }),
        el("dt", { text: _("Last run") }), el("dd", { "data-field": "last" }),
        el("dt", { text: _("Parameters") }), el("dd", { "data-field": "params" }),
        el("dt", { text: _("Changed") }), el("dd", { "data-field": "changed" })),
      el("div", { class: "row" },
        runButton,
        dryRun && el("label", { class: "checkbox", for: `dry-${id}` },
          el("input", { type: "checkbox", id: `dry-${id}`, "aria-describedby": titleId,
            checked: Boolean(schedule.params.dry_run) }), _("dry run (remove nothing)")),
        editButton),
      el("p", { class: "run-result", id: `result-${id}`, "aria-live": "polite" }),
      editForm(schedule, id)));
}

function editForm(schedule, id) {
  const cronError = el("p", { class: "field-error", id: `cron-error-${id}` });
  const tzError = el("p", { class: "field-error", id: `tz-error-${id}` });
  const formError = el("p", { class: "field-error", role: "alert", id: `edit-error-${id}` });
  const params = schedule.accepts.filter((p) => ["bool", "int", "str", "list"].includes(p.type)).map((param) => {
    const inputId = `param-${id}-${param.name}`;
    if (param.type === "bool") {
      return el("label", { class: "checkbox", for: inputId },
        el("input", { type: "checkbox", id: inputId, "data-param": param.name, "data-type": "bool" }),
        `${param.name}: ${param.description}`);
    }
    const errorId = `param-error-${id}-${param.name}`;
    const label = el("label", { for: inputId, text: `${param.name}: ${param.description}` });
    const error = el("p", { class: "field-error", id: errorId, "data-param-error": param.name });
    if (param.type === "list") {
      // A list of strings, one item a line: ids pasted from the dead letters table or a log keep their form.
      const hintId = `param-hint-${id}-${param.name}`;
      return el("div", {}, label,
        el("textarea", { id: inputId, "data-param": param.name, "data-type": "list", class: "mono", rows: 4,
          autocomplete: "off", spellcheck: "false", "aria-describedby": `${hintId} ${errorId}` }),
        el("p", { class: "hint", id: hintId, text: _("One item a line; spaces around an item and blank lines are dropped. Empty means an empty list.") }),
        error);
    }
    return el("div", {}, label,
      el("input", { type: "text", id: inputId, "data-param": param.name, "data-type": param.type,
        inputmode: param.type === "int" ? "numeric" : null, autocomplete: "off", "aria-describedby": errorId }),
      error);
  });
  const form = el("form", { id: `edit-${id}`, hidden: true, novalidate: true, "aria-label": _("Edit {name}", { name: schedule.name }) },
    el("div", {},
      el("label", { for: `cron-${id}`, text: _("Cron line") }),
      el("input", { type: "text", id: `cron-${id}`, class: "mono", autocomplete: "off", spellcheck: "false",
        maxlength: 100, "aria-describedby": `cron-hint-${id} cron-error-${id}` }),
      el("p", { class: "hint", id: `cron-hint-${id}` }, _("Five fields: minute hour day-of-month month weekday, e.g."), " ",
        el("code", { text: "0 0 * * *" }), " ", _("is every day at midnight."), " ", _("Default:"), " ",
        el("code", { text: schedule.default_cron }), "."),
      cronError),
    el("div", {},
      el("label", { for: `tz-${id}`, text: _("Time zone (IANA name, e.g. UTC or Europe/Berlin)") }),
      el("input", { type: "text", id: `tz-${id}`, autocomplete: "off", spellcheck: "false", maxlength: 64,
        "aria-describedby": `tz-error-${id}` }),
      tzError),
    el("label", { class: "checkbox", for: `enabled-${id}` }, el("input", { type: "checkbox", id: `enabled-${id}` }),
      _("Enabled (the scheduler runs it)")),
    params,
    formError,
    el("div", { class: "row" },
      el("button", { type: "submit" }, _("Save")),
      el("button", { type: "button", class: "secondary", onclick: () => toggleEdit(schedule.name, false) }, _("Cancel")),
      el("button", { type: "button", class: "secondary",
        onclick: () => { $(`cron-${id}`).value = state.schedules.get(schedule.name).default_cron; $(`cron-${id}`).focus(); } },
      _("Use the default cron"))));
  form.addEventListener("submit", (event) => { event.preventDefault(); saveSchedule(schedule.name); });
  return form;
}

function updateCard(schedule) {
  const card = $(`schedule-${schedule.name}`);
  if (!card) return;
  const field = (name) => card.querySelector(`[data-field=${name}]`);
  const chip = field("enabled");
  chip.className = `chip ${schedule.enabled ? "enabled" : "disabled"}`;
  chip.textContent = schedule.enabled ? _("on") : _("off");
  field("cron").replaceChildren(el("code", { text: schedule.cron }), " ", _("in {zone}", { zone: schedule.timezone }),
    schedule.cron !== schedule.default_cron ? el("span", { class: "muted" }, " (", _("default"), " ",
      el("code", { text: schedule.default_cron }), ")") : "");
  field("next").replaceChildren(schedule.next_run_at ? timeEl(schedule.next_run_at, { relative: true })
    : el("span", { class: "muted", text: _("none: the schedule is off") }));
  const last = schedule.last_run;
  field("last").replaceChildren(last
    ? el("span", {}, el("span", { class: `chip ${last.status}`, text: statusWord(last.status) }), " ",
      timeEl(last.finished_at || last.created_at), ` (${TRIGGER_WORDS[last.trigger] || last.trigger})`)
    : el("span", { class: "muted", text: _("never") }));
  const params = Object.entries(schedule.params || {});
  field("params").textContent = params.length ? params.map(([k, v]) => `${k}: ${JSON.stringify(v)}`).join(", ") : _("none");
  field("changed").replaceChildren(schedule.customized && schedule.updated_at
    ? el("span", {}, _("by {who},", { who: schedule.updated_by || "ops" }), " ", timeEl(schedule.updated_at))
    : el("span", { class: "muted", text: _("never: the defaults in code apply") }));
  if (last && !FINAL.has(last.status)) followSchedule(schedule.name, last.id);
  else if (![...state.following.values()].includes(schedule.name)) setRunning(schedule.name, false);
}

function setRunning(name, running) {
  const button = $(`run-${slug(name)}`);
  if (!button) return;
  button.disabled = running;
  button.textContent = running ? _("Running…") : _("Run now");
}

function followSchedule(name, runId) {
  if (state.following.has(runId)) return;
  setRunning(name, true);
  const result = $(`result-${slug(name)}`);
  followRun(runId, {
    owner: name,
    onUpdate: (run) => {
      result.replaceChildren(el("span", { class: `chip ${run.status}`, text: statusWord(run.status) }),
        " " + _("Run {id}: {summary}", { id: shortId(run.id), summary: runSummary(run) }));
    },
    onDone: async (run) => {
      setRunning(name, false);
      announce(statusRegion, `${name} ${statusWord(run.status)}: ${runSummary(run)}`, run.status === "failed" ? "error" : "success");
      result.append(" ", el("button", { type: "button", class: "secondary",
        onclick: () => { state.highlightRun = run.id; view.select("runs", { focus: true }); } }, _("See it in the run history")));
      await refreshSchedule(name);
      if (view.current() === "runs") loadRuns();
    },
  });
}

async function runNow(name) {
  const id = slug(name);
  const dry = $(`dry-${id}`);
  const result = $(`result-${id}`);
  // A task that runs as a dry run unless told otherwise (orphan-objects) removes for real only on purpose.
  if (dry && !dry.checked && state.schedules.get(name).params.dry_run) {
    const answer = await confirmAction({
      title: _("Run {name} for real?", { name }),
      message: _("This schedule is set to a dry run. Without it, this run removes what it finds, and that cannot be undone."),
      confirmLabel: _("Run and remove"),
    });
    if (!answer) {
      $(`run-${id}`).focus();
      return;
    }
  }
  setRunning(name, true);
  result.textContent = _("Requesting a run…");
  try {
    const body = dry ? { params: { dry_run: dry.checked } } : {};
    const accepted = await session.call(`/api/ops/schedules/${encodeURIComponent(name)}/run/`, { method: "POST", body });
    state.highlightRun = accepted.run_id;
    result.textContent = _("Run {id} queued.", { id: shortId(accepted.run_id) });
    followSchedule(name, accepted.run_id);
    if (view.current() === "runs") loadRuns();
  } catch (error) {
    setRunning(name, false);
    result.textContent = "";
    fail(error, result);
  }
}

function toggleEdit(name, open = null) {
  const id = slug(name);
  const form = $(`edit-${id}`);
  const button = $(`edit-button-${id}`);
  const show = open === null ? form.hidden : open;
  if (show) {
    const schedule = state.schedules.get(name);
    $(`cron-${id}`).value = schedule.cron;
    $(`tz-${id}`).value = schedule.timezone;
    $(`enabled-${id}`).checked = schedule.enabled;
    for (const input of form.querySelectorAll("[data-param]")) {
      const value = schedule.params[input.dataset.param];
      if (input.dataset.type === "bool") input.checked = Boolean(value);
      else if (input.dataset.type === "list") input.value = (Array.isArray(value) ? value : []).join("\n");
      else input.value = value ?? "";
    }
    clearEditErrors(id);
  }
  form.hidden = !show;
  button.setAttribute("aria-expanded", String(show));
  (show ? $(`cron-${id}`) : button).focus();
}

function clearEditErrors(id) {
  for (const name of ["cron", "tz"]) {
    $(`${name}-${id}`).removeAttribute("aria-invalid");
    $(`${name}-error-${id}`).textContent = "";
  }
  $(`edit-error-${id}`).textContent = "";
  for (const input of $(`edit-${id}`).querySelectorAll("[data-param]")) input.removeAttribute("aria-invalid");
  for (const error of $(`edit-${id}`).querySelectorAll("[data-param-error]")) error.textContent = "";
}

// The lines of a list parameter's field: trimmed, blank ones left out.
function listItems(text) {
  return text.split(/\r?\n/).map((line) => line.trim()).filter(Boolean);
}

async function saveSchedule(name) {
  const id = slug(name);
  const schedule = state.schedules.get(name);
  clearEditErrors(id);
  const params = { ...schedule.params };
  for (const input of $(`edit-${id}`).querySelectorAll("[data-param]")) {
    const key = input.dataset.param;
    if (input.dataset.type === "bool") params[key] = input.checked;
    else if (input.dataset.type === "int") params[key] = input.value.trim() === "" ? null : Number(input.value);
    else if (input.dataset.type === "list") params[key] = listItems(input.value);
    else params[key] = input.value;
  }
  const body = { cron: $(`cron-${id}`).value.trim(), timezone: $(`tz-${id}`).value.trim(),
    enabled: $(`enabled-${id}`).checked };
  if (JSON.stringify(params) !== JSON.stringify(schedule.params)) body.params = params;
  const submit = $(`edit-${id}`).querySelector("button[type=submit]");
  submit.disabled = true;
  try {
    const saved = await session.call(`/api/ops/schedules/${encodeURIComponent(name)}/`, { method: "PUT", body });
    state.schedules.set(name, saved);
    updateCard(saved);
    toggleEdit(name, false);
    statusRegion.className = "alert success";
    statusRegion.replaceChildren(_("Saved {name}:", { name }), " ", el("code", { text: saved.cron }), " ",
      _("in {zone},", { zone: saved.timezone }), " ", saved.enabled ? _("on. Next run:") + " " : _("off."),
      saved.next_run_at ? timeEl(saved.next_run_at, { relative: true }) : "",
      saved.enabled ? ". " + _("The scheduler applies it within a few seconds.") : "");
  } catch (error) {
    unlessSignedOut(error, (problem) => {
      const errors = (problem.problem && problem.problem.errors) || {};
      if (problem.code === "invalid_cron" || errors.cron) {
        const input = $(`cron-${id}`);
        input.setAttribute("aria-invalid", "true");
        $(`cron-error-${id}`).textContent = _("Not a valid cron line: {problem}", { problem: [].concat(errors.cron || problem.message).join(" ") });
        input.focus();
      } else if (problem.code === "invalid_timezone" || errors.timezone) {
        const input = $(`tz-${id}`);
        input.setAttribute("aria-invalid", "true");
        $(`tz-error-${id}`).textContent = MESSAGES.invalid_timezone;
        input.focus();
      } else if (!paramErrors(id, errors)) {
        $(`edit-error-${id}`).textContent = problemText(problem, MESSAGES);
      } else {
        $(`edit-error-${id}`).textContent = MESSAGES.invalid_params;
      }
    });
  } finally {
    submit.disabled = false;
  }
}

// The API's reasons under the parameters it refused (422 invalid_params); false when none is a field here.
function paramErrors(id, errors) {
  const form = $(`edit-${id}`);
  let first = null;
  for (const [name, reasons] of Object.entries(errors)) {
    const input = [...form.querySelectorAll("[data-param]")].find((node) => node.dataset.param === name);
    const error = [...form.querySelectorAll("[data-param-error]")].find((node) => node.dataset.paramError === name);
    if (!input || !error) continue;
    input.setAttribute("aria-invalid", "true");
    error.textContent = _("Not accepted: {problem}", { problem: [].concat(reasons).join(" ") });
    first = first || input;
  }
  if (first) first.focus();
  return Boolean(first);
}

// -- run history ------------------------------------------------------------------------------------

function runQuery(before = null) {
  const params = new URLSearchParams({ limit: 25 });
  if ($("run-schedule").value) params.set("schedule", $("run-schedule").value);
  if ($("run-status").value) params.set("status", $("run-status").value);
  if (before) params.set("before", before);
  return `/api/ops/runs/?${params}`;
}

async function loadRuns() {
  const body = $("runs-table").tBodies[0];
  try {
    if (!state.schedules.size) await loadSchedules();
    const data = await session.call(runQuery());
    state.olderLoaded = false;
    body.replaceChildren(...data.runs.map(runRow));
    $("runs-summary").textContent = data.runs.length
      ? ngettext("The {n} latest run, newest first.", "The {n} latest runs, newest first.", data.runs.length) : _("No runs yet.");
    showOlder(data.next_before);
    const highlighted = state.highlightRun && $(`run-${state.highlightRun}`);
    if (highlighted) highlighted.scrollIntoView({ block: "nearest" });
    // The history refreshes by itself while a run in it has not ended.
    if (data.runs.some((run) => !FINAL.has(run.status)) && !state.runsTimer) {
      state.runsTimer = true;
      session.later(2 * RUN_POLL_MS, () => {
        state.runsTimer = false;
        if (view.current() === "runs" && !state.olderLoaded) loadRuns();
      });
    }
  } catch (error) {
    fail(error);
  }
}

function showOlder(before) {
  const button = $("runs-older");
  button.hidden = !before;
  button.dataset.before = before || "";
}

$("runs-older").addEventListener("click", async () => {
  const button = $("runs-older");
  try {
    const data = await session.call(runQuery(button.dataset.before));
    state.olderLoaded = true;
    $("runs-table").tBodies[0].append(...data.runs.map(runRow));
    showOlder(data.next_before);
  } catch (error) {
    fail(error);
  }
});

function runRow(run) {
  return el("tr", { id: `run-${run.id}`, class: run.id === state.highlightRun ? "highlight" : null,
    "data-schedule": run.schedule, "data-status": run.status },
  el("td", {}, timeEl(run.created_at, { seconds: true })),
  el("th", { scope: "row", text: run.schedule }),
  el("td", {}, el("span", { class: `chip ${run.status}`, text: statusWord(run.status) })),
  el("td", { text: TRIGGER_WORDS[run.trigger] || run.trigger }),
  el("td", { class: "num", text: run.duration_seconds == null ? "—"
    : _("{seconds} s", { seconds: formatNumber(run.duration_seconds, { minimumFractionDigits: 2, maximumFractionDigits: 2 }) }) }),
  el("td", {}, FINAL.has(run.status)
    ? el("details", {}, el("summary", { text: runSummary(run) }), runReport(run))
    : el("span", { text: runSummary(run) })),
  el("td", { text: run.requested_by || (run.trigger === "schedule" ? _("scheduler") : "—") }));
}

function updateRunRow(run) {
  const row = $(`run-${run.id}`);
  if (row && row.dataset.status !== run.status) row.replaceWith(runRow(run));
}

$("run-filters").addEventListener("submit", (event) => { event.preventDefault(); loadRuns(); });
$("run-schedule").addEventListener("change", () => loadRuns());
$("run-status").addEventListener("change", () => loadRuns());

// -- queues -----------------------------------------------------------------------------------------

function groupText(g) {
  const lag = g.lag == null ? _("lag unknown") : _("{count} not delivered", { count: formatNumber(g.lag) });
  const consumers = ngettext("{n} consumer", "{n} consumers", g.consumers);
  return _("{group}: {pending} pending, {lag}, {consumers}", { group: g.group, pending: formatNumber(g.pending), lag, consumers });
}

async function loadQueues() {
  try {
    const data = await session.call("/api/ops/queues/");
    $("queues-table").tBodies[0].replaceChildren(...data.queues.map((q) => el("tr", {},
      el("th", { scope: "row", text: q.queue }),
      el("td", { class: "num", text: q.ready }), el("td", { class: "num", text: q.in_progress }),
      el("td", { class: "num", text: q.delayed }),
      el("td", { class: "num" }, q.dead ? el("span", { class: "chip failed", text: q.dead }) : "0"),
      el("td", { class: "num", text: q.oldest_age_seconds == null ? "—" : formatSeconds(q.oldest_age_seconds) }))));
    $("streams-table").tBodies[0].replaceChildren(...data.streams.map((s) => el("tr", {},
      el("th", { scope: "row", class: "mono", text: s.stream }),
      el("td", { class: "num", text: s.length }),
      el("td", { text: s.groups.length ? s.groups.map(groupText).join("; ") : _("no consumer group") }))));
    const outbox = data.outbox;
    $("outbox-info").textContent = outbox.unpublished
      ? ngettext("{n} event waiting to be published, the oldest for {age}.", "{n} events waiting to be published, the oldest for {age}.",
        outbox.unpublished, { age: formatSeconds(outbox.oldest_age_seconds) })
      : _("Every event is published.");
    $("queues-updated").replaceChildren(_("Updated"), " ", timeEl(new Date().toISOString(), { seconds: true }), "; ",
      _("refreshes every {duration} while this tab is open.", { duration: formatSeconds(QUEUES_REFRESH_MS / 1000) }));
  } catch (error) {
    fail(error);
  }
}

$("queues-refresh").addEventListener("click", () => loadQueues());

// -- dead letters -----------------------------------------------------------------------------------

async function loadDead() {
  const source = $("dead-source").value;
  try {
    const data = await session.call(`/api/ops/dead-letters/?${new URLSearchParams({ source, limit: 200 })}`);
    showDeadCounts(data.counts);
    $("dead-table").tBodies[0].replaceChildren(...data.dead_letters.map(deadRow));
    const total = data.dead_letters.length;
    $("dead-summary").textContent = total ? ngettext("{n} dead letter shown, newest first.", "{n} dead letters shown, newest first.", total)
      : _("No dead letters: nothing has failed after every retry.");
    $("redrive-all").disabled = total === 0;
    $("redrive-all").dataset.count = String(sourceTotal(data.counts, source));
    $("redrive-all").textContent = _("Re-drive all ({count})", { count: formatNumber(sourceTotal(data.counts, source)) });
    selectionChanged();
  } catch (error) {
    fail(error);
  }
}

function sourceTotal(counts, source) {
  return Object.entries(counts).filter(([key]) => source === "all" || key.split(":")[0] === source)
    .reduce((sum, [, n]) => sum + n, 0);
}

function showDeadCounts(counts) {
  const total = sourceTotal(counts, "all");
  const node = $("dead-count");
  node.textContent = total ? String(total) : "";
  node.setAttribute("aria-label", total ? ngettext("{n} waiting", "{n} waiting", total) : "");
}

async function refreshDeadCount() {
  try {
    showDeadCounts((await session.call("/api/ops/dead-letters/?limit=1")).counts);
  } catch (error) {
    // The count on the tab is a hint; the tab itself says what went wrong when opened.
    unlessSignedOut(error, () => {});
  }
}

function deadRow(item) {
  const events = item.source === "events";
  return el("tr", { id: `dead-${item.id}` },
    el("td", {}, el("input", { type: "checkbox", class: "dead-select", value: item.id,
      "aria-label": _("Select dead letter {id}", { id: item.id }), onchange: selectionChanged })),
    el("td", {}, timeEl(item.died_at, { seconds: true })),
    el("td", { text: events ? item.source_stream || _("events") : _("{queue} queue", { queue: item.queue }) }),
    el("td", { text: (events ? item.type : item.actor) || "—" }),
    el("td", { class: "mono", text: events ? item.event_id || "—" : JSON.stringify(item.args ?? []) }),
    el("td", { class: "num", text: item.retries ?? "—" }),
    el("td", { text: (events ? item.reason : item.error) || "—" }));
}

function selected() {
  return [...document.querySelectorAll(".dead-select:checked")].map((box) => box.value);
}

function selectionChanged() {
  const ids = selected();
  const button = $("redrive-selected");
  button.disabled = ids.length === 0;
  button.textContent = ids.length ? _("Re-drive selected ({count})", { count: formatNumber(ids.length) }) : _("Re-drive selected");
}

const AGAIN = _("If the cause is not fixed, they fail again and come back here.");

async function redrive(ids) {
  const source = $("dead-source").value;
  const count = ids ? ids.length : Number($("redrive-all").dataset.count || 0);
  const back = ids || source === "all" ? _("They go back to their queue or stream and run again.")
    : source === "dramatiq" ? _("They go back to their queue or stream from the work queues and run again.")
      : _("They go back to their queue or stream from the event streams and run again.");
  const answer = await confirmAction({
    title: ngettext("Re-drive {n} dead letter?", "Re-drive {n} dead letters?", count),
    message: `${back} ${AGAIN}`,
    confirmLabel: _("Re-drive {count}", { count: formatNumber(count) }), danger: false,
  });
  const button = ids ? $("redrive-selected") : $("redrive-all");
  if (!answer) {
    button.focus();
    return;
  }
  const result = $("redrive-result");
  result.textContent = _("Requesting the re-drive…");
  $("redrive-selected").disabled = true;
  $("redrive-all").disabled = true;
  try {
    const body = ids ? { source: "all", ids } : { source };
    const accepted = await session.call("/api/ops/dead-letters/redrive/", { method: "POST", body });
    followRun(accepted.run_id, {
      onUpdate: (run) => { result.textContent = _("Re-drive run {id}: {summary}", { id: shortId(run.id), summary: runSummary(run) }); },
      onDone: async (run) => {
        const stats = run.stats || {};
        const text = run.status === "succeeded"
          ? _("Re-driven: {total} (work queues {dramatiq}, events {events}).",
            { total: stats.redriven ?? 0, dramatiq: stats.dramatiq ?? 0, events: stats.events ?? 0 }) +
            (stats.not_found && stats.not_found.length ? " " + _("Not found any more: {ids}.", { ids: stats.not_found.join(", ") }) : "")
          : _("The re-drive failed: {error}.", { error: run.error || NO_REASON });
        result.textContent = text;
        announce(statusRegion, text, run.status === "succeeded" ? "success" : "error");
        await loadDead();
        $("dead-source").focus();
      },
    });
  } catch (error) {
    result.textContent = "";
    fail(error, result);
    selectionChanged();
    $("redrive-all").disabled = false;
  }
}

$("redrive-selected").addEventListener("click", () => redrive(selected()));
$("redrive-all").addEventListener("click", () => redrive(null));
$("dead-filters").addEventListener("submit", (event) => { event.preventDefault(); loadDead(); });
$("dead-source").addEventListener("change", () => loadDead());

// -- start ------------------------------------------------------------------------------------------

$("zone-info").textContent = _("Signed in. Times are in your time zone ({zone}); hover a time to see it in UTC.", { zone: zoneName() });

function emptyConsole() {
  clear(statusRegion);
  for (const id of ["schedule-list", "runs-summary", "queues-updated", "outbox-info", "dead-summary", "dead-count",
    "redrive-result"]) $(id).replaceChildren();
  for (const id of ["dead-count"]) $(id).removeAttribute("aria-label");
  for (const id of ["runs-table", "queues-table", "streams-table", "dead-table"]) $(id).tBodies[0].replaceChildren();
  $("runs-older").hidden = true;
  state.schedules.clear();
  state.following.clear();
  Object.assign(state, { highlightRun: null, olderLoaded: false, runsTimer: false });
}

startConsole({
  storageKey: "showreel.ops-token",
  messages: MESSAGES,
  onSignOut: emptyConsole,
  probe: (call) => call("/api/ops/schedules/"),
  onSignIn: (signedIn) => {
    session = signedIn;
    state.following.clear();
    state.runsTimer = false;
    clear(statusRegion);
    view.start();
    refreshDeadCount();
    session.every(QUEUES_REFRESH_MS, () => { if (view.current() === "queues") loadQueues(); });
    session.every(SCHEDULES_REFRESH_MS, () => {
      if (view.current() === "schedules") loadSchedules();
      refreshDeadCount();
    });
  },
});
