// The live timeline of a submission: Server-Sent Events (GET /api/submissions/{id}/events/, the
// browser resumes with Last-Event-ID by itself), with polling when the stream is refused.

import { api, describe, el } from "./api.js";
import { _, formatDateTime, ngettext } from "./i18n.js";
import { VISITOR_MESSAGES } from "./submit-messages.js";

const STAGES = [
  { id: "payment_pending", label: _("Payment sent"), active: _("Payment sent: waiting for the chain to confirm it") },
  { id: "paid", label: _("Payment confirmed"), active: _("Payment confirmed") },
  { id: "convert", label: _("Video converted"), active: _("Converting your video") },
  { id: "preview", label: _("Poster, preview clip and picture sizes made"), active: _("Making the poster, the preview clip and the picture sizes") },
  { id: "upload", label: _("Files stored"), active: _("Storing your files") },
  { id: "published", label: _("Published"), active: _("Publishing your profile") },
];
const ORDER = ["awaiting_payment", "payment_pending", "paid", "processing", "published"];
const FINAL = new Set(["published", "failed", "rejected", "expired"]);
const STATE_WORDS = { todo: _("not started"), active: _("in progress"), done: _("done"), failed: _("stopped") };
const POLL_MS = 3000;

function stepState(steps, name) {
  const value = steps && steps[name];
  return typeof value === "object" && value !== null ? value.state : value || "pending";
}

// {stage id: todo | active | done | failed} for a status payload (an event or GET /api/submissions/{id}/).
export function stageStates(data) {
  const at = ORDER.indexOf(data.status);
  const states = {
    payment_pending: at >= 2 ? "done" : data.status === "payment_pending" ? "active" : "todo",
    paid: at >= 2 ? "done" : "todo",
  };
  for (const step of ["convert", "preview", "upload"]) {
    const state = stepState(data.steps, step);
    states[step] = state === "done" ? "done" : state === "running" ? "active" : "todo";
  }
  states.published = data.status === "published" ? "done" : stepState(data.steps, "persist") === "running" ? "active" : "todo";
  if (data.status === "published") for (const key of Object.keys(states)) states[key] = "done";
  if (data.status === "failed" || data.status === "rejected" || data.status === "expired") {
    const stopped = STAGES.find((stage) => states[stage.id] !== "done");
    if (stopped) states[stopped.id] = "failed";
  }
  return states;
}

export function statusSentence(data) {
  const problem = (value) => describe(value || {}, VISITOR_MESSAGES);
  switch (data.status) {
    case "awaiting_payment":
      return data.payment_error ? _("Your payment was refused: {problem}", { problem: problem(data.payment_error) })
        : _("Waiting for your payment.");
    case "payment_pending": {
      const confirmations = data.payment && data.payment.confirmations;
      return confirmations
        ? ngettext("Payment sent. Waiting for the chain to confirm it ({n} confirmation so far)…",
          "Payment sent. Waiting for the chain to confirm it ({n} confirmations so far)…", confirmations)
        : _("Payment sent. Waiting for the chain to confirm it…");
    }
    case "paid":
      return _("Payment confirmed. Processing starts…");
    case "processing": {
      const running = STAGES.find((stage) => ["convert", "preview", "upload"].includes(stage.id) && stepState(data.steps, stage.id) === "running");
      return running ? `${running.active}…` : _("Processing your files…");
    }
    case "published":
      return _("Published! Your profile is live.");
    case "expired":
      return _("This submission expired. {problem}", { problem: problem({ code: "quote_expired" }) });
    case "rejected":
      return _("This submission was refused. {problem}", { problem: problem(data.payment_error || data.error) });
    case "failed":
      return _("Processing stopped. {problem}", { problem: problem(data.error) });
    default:
      return "";
  }
}

export class Timeline {
  constructor({ list, status, onUpdate }) {
    this.list = list;
    this.status = status;
    this.onUpdate = onUpdate || (() => {});
    this.items = {};
    this.version = -1;
    this.source = null;
    this.pollTimer = null;
    list.replaceChildren(...STAGES.map((stage) => {
      const state = el("span", { class: "visually-hidden stage-state", text: ` (${STATE_WORDS.todo})` });
      const time = el("time", { class: "stage-time" });
      const item = el("li", { class: "stage", "data-stage": stage.id, "data-state": "todo" },
        el("span", { class: "stage-label", text: stage.label }), state, time);
      this.items[stage.id] = { item, state, time };
      return item;
    }));
  }

  render(data) {
    if (typeof data.version === "number") {
      if (data.version < this.version) return;
      this.version = data.version;
    }
    const states = stageStates(data);
    for (const stage of STAGES) {
      const { item, state, time } = this.items[stage.id];
      const value = states[stage.id];
      if (item.dataset.state === value) continue;
      item.dataset.state = value;
      state.textContent = ` (${STATE_WORDS[value]})`;
      item.querySelector(".stage-label").textContent = value === "active" ? `${stage.active}…` : stage.label;
      if (value === "done") {
        const now = new Date();
        time.dateTime = now.toISOString();
        time.textContent = formatDateTime(now, { timeStyle: "medium" });
      }
      if (value === "active") item.setAttribute("aria-current", "step");
      else item.removeAttribute("aria-current");
    }
    const sentence = statusSentence(data);
    if (this.status.textContent !== sentence) this.status.textContent = sentence;
    this.onUpdate(data);
    if (FINAL.has(data.status)) this.stop();
  }

  follow(submissionId) {
    this.stop();
    this.stopped = false;
    this.submissionId = submissionId;
    const source = new EventSource(`/api/submissions/${encodeURIComponent(submissionId)}/events/`);
    this.source = source;
    source.addEventListener("status", (event) => {
      try { this.render(JSON.parse(event.data)); } catch { /* a malformed event: the next one carries the full state */ }
    });
    source.addEventListener("error", () => {
      // CONNECTING: the browser reconnects by itself (Last-Event-ID); CLOSED: the server refused
      // the stream (503 too_many_streams, 401 ...): poll instead.
      if (source.readyState === EventSource.CLOSED && this.source === source) {
        this.source = null;
        this.poll();
      }
    });
  }

  async poll() {
    if (!this.submissionId || this.source || this.stopped) return;
    try {
      this.render(await api(`/api/submissions/${encodeURIComponent(this.submissionId)}/`));
    } catch (err) {
      this.onUpdate({ pollError: err });
      if (err.status === 401 || err.status === 403 || err.status === 404) return;
    }
    if (!this.stopped) this.pollTimer = setTimeout(() => this.poll(), POLL_MS);
  }

  stop() {
    this.stopped = true;
    if (this.source) { this.source.close(); this.source = null; }
    clearTimeout(this.pollTimer);
    this.pollTimer = null;
  }
}
