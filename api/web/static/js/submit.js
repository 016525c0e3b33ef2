// The visitor's page (/): the profile form with inline checks, the uploads, the wallet, the payment
// and the live timeline. State that must survive a reload (draft, upload ids, the submission and
// a sent-but-unrecorded transaction) lives in sessionStorage; the submission id is also in the URL.

import { api, describe, el, formatTime } from "./api.js";
import { _ } from "./i18n.js";
import { VISITOR_MESSAGES, fieldMessage, hashtagReason } from "./submit-messages.js";
import { MediaPicker } from "./submit-media.js";
import { keepsHash, postHash } from "./submit-payment.js";
import { Timeline } from "./submit-timeline.js";
import * as wallet from "./wallet.js";

const STORE = "showreel.visitor";
const TEXT_FIELDS = ["name", "url", "activity_hobbies", "hashtags"];
const VERDICT_WORDS = { approved: _("OK"), needs_review: _("needs review"), rejected: _("not allowed") };
const VERDICT_CLASS = { approved: "approved", needs_review: "flagged", rejected: "rejected" };
const CHAINS = { 1: "Ethereum", 11155111: _("Sepolia test network"), 31337: _("Local dev chain") };

const $ = (id) => document.getElementById(id);
const form = $("profile-form");
const payError = $("pay-error");
const walletStatus = $("wallet-status");

const state = {
  account: null, // what the wallet shares with the page
  signedIn: null, // the address of the session cookie
  submission: null, // {id, quote, status, wallet}
  resumeId: null, // a submission to pick up after signing in
  busy: false,
  touched: new Set(),
  showAll: false,
  validation: null,
};

// -- what survives a reload ---------------------------------------------------------------------

function stored() {
  try { return JSON.parse(sessionStorage.getItem(STORE)) || {}; } catch { return {}; }
}

function store(patch) {
  try { sessionStorage.setItem(STORE, JSON.stringify({ ...stored(), ...patch })); } catch { /* private mode: no resume */ }
}

function forget() {
  try { sessionStorage.removeItem(STORE); } catch { /* nothing stored */ }
}

// -- the form -----------------------------------------------------------------------------------

function formData() {
  return {
    name: $("name").value, url: $("url").value, activity_hobbies: $("activity_hobbies").value,
    hashtags: $("hashtags").value, is_incognito: $("is_incognito").checked,
  };
}

function fillForm(data) {
  for (const field of TEXT_FIELDS) {
    let value = data[field];
    if (Array.isArray(value)) value = value.map((tag) => `#${tag}`).join(" ");
    if (typeof value === "string") $(field).value = value;
  }
  $("is_incognito").checked = Boolean(data.is_incognito);
  $("name").required = !$("is_incognito").checked;
}

function setFieldError(field, message) {
  const input = $(field);
  const error = $(`${field}-error`);
  error.textContent = message || "";
  error.hidden = !message;
  input.setAttribute("aria-invalid", message ? "true" : "false");
}

// The browser's own constraints (required, maxlength, type=url) and the server's rules, through
// the constraint validation API: setCustomValidity holds the message, the page shows it inline.
function applyValidation(result) {
  for (const field of TEXT_FIELDS) {
    const input = $(field);
    input.setCustomValidity("");
    const server = ((result.errors && result.errors[field]) || []).map((text) => serverMessage(text, result));
    const message = server.join(" ") || (input.validity.valid ? "" : input.validationMessage);
    input.setCustomValidity(message);
    setFieldError(field, state.showAll || state.touched.has(field) ? message : "");
  }
  renderChips(result.hashtags || []);
}

// A server message in the visitor's language: a refused tag's reason from its verdict, others by pattern.
function serverMessage(text, result) {
  const refused = (result.hashtags || []).find((tag) => tag.verdict === "rejected" && text === `#${tag.tag}: ${tag.reason}`);
  return refused ? `#${refused.tag}: ${hashtagReason(refused)}` : fieldMessage(text);
}

let chipsKey = "";
function renderChips(tags) {
  const key = JSON.stringify(tags.map((tag) => [tag.tag, tag.verdict, tag.reason]));
  if (key === chipsKey) return;
  chipsKey = key;
  $("hashtag-chips").replaceChildren(...tags.map((tag) => {
    const reason = tag.verdict === "needs_review"
      ? _("{reason}. Until then it is hidden on your profile.", { reason: hashtagReason(tag) })
      : hashtagReason(tag);
    return el("li", { class: `chip ${VERDICT_CLASS[tag.verdict] || ""}`, "data-tag": tag.normalized, "data-verdict": tag.verdict },
      el("span", { class: "chip-tag", text: `#${tag.tag}` }),
      el("span", { class: "chip-verdict", text: VERDICT_WORDS[tag.verdict] || tag.verdict }),
      reason ? el("span", { class: "chip-reason", text: reason }) : null);
  }));
}

let validationRun = 0;
let validationTimer = null;

async function validate() {
  clearTimeout(validationTimer);
  const run = ++validationRun;
  let result;
  try {
    result = await api("/api/forms/validate/", { method: "POST", body: formData() });
  } catch (err) {
    if (run === validationRun) walletStatus.textContent = _("Your details could not be checked: {problem}", { problem: describe(err, VISITOR_MESSAGES) });
    return null;
  }
  if (run !== validationRun) return null;
  state.validation = result;
  applyValidation(result);
  return result;
}

function scheduleValidation() {
  clearTimeout(validationTimer);
  validationTimer = setTimeout(validate, 300);
}

function focusFirstInvalid() {
  const invalid = TEXT_FIELDS.map($).find((input) => input.getAttribute("aria-invalid") === "true");
  if (invalid) invalid.focus();
  return Boolean(invalid);
}

function lockForm(locked) {
  $("details").disabled = locked;
  avatar.lock(locked);
  video.lock(locked);
  let note = $("locked-note");
  if (locked && !note) {
    note = el("p", { id: "locked-note", class: "alert info" },
      _("Your details and files are fixed for this submission."), " ",
      el("a", { href: "/", "data-start-over": "" }, _("Start over to change them.")));
    form.prepend(note);
  }
  if (note) note.hidden = !locked;
}

// -- uploads ------------------------------------------------------------------------------------

function uploadsChanged() {
  store({ uploads: { image: avatar.upload && avatar.upload.id, video: video.upload && video.upload.id } });
  refreshButtons();
}

const avatar = new MediaPicker($("avatar-picker"), {
  kind: "image", label: _("Picture"), maxBytes: $("avatar-picker").dataset.maxBytes, onChange: uploadsChanged });
const video = new MediaPicker($("video-picker"), {
  kind: "video", label: _("Video"), maxBytes: $("video-picker").dataset.maxBytes, onChange: uploadsChanged });

// -- wallet, sign-in, payment -------------------------------------------------------------------

function showPayError(err) {
  if (!err) { payError.hidden = true; payError.textContent = ""; return; }
  let text = describe(err, VISITOR_MESSAGES);
  if (err.code === "wallet_error" && err.message && err.message !== "wallet_error") text += ` (${err.message})`;
  payError.textContent = text;
  payError.hidden = false;
}

function signedInHere() {
  return wallet.sameAddress(state.account, state.signedIn);
}

function refreshButtons() {
  const connect = $("connect");
  const signIn = $("sign-in");
  const pay = $("pay");
  connect.disabled = state.busy || Boolean(state.account);
  connect.textContent = state.account ? _("Wallet connected") : _("Connect wallet");
  $("wallet-account").textContent = state.account ? wallet.shortAddress(state.account) : "";
  $("wallet-account").title = state.account || "";
  signIn.disabled = state.busy || !state.account || signedInHere();
  signIn.textContent = signedInHere() ? _("Signed in") : _("Sign in with your wallet");
  $("signed-in-as").textContent = signedInHere() ? _("as {address}", { address: wallet.shortAddress(state.signedIn) }) : "";
  const status = state.submission && state.submission.status;
  pay.disabled = state.busy || !signedInHere() || Boolean(status && status !== "awaiting_payment");
  pay.textContent = status && status !== "awaiting_payment" ? _("Paid") : _("Pay and publish");
  $("pay-section").setAttribute("aria-busy", state.busy ? "true" : "false");
}

function setBusy(busy, message) {
  state.busy = busy;
  if (message !== undefined) walletStatus.textContent = message;
  refreshButtons();
}

function chainName(id) {
  const name = CHAINS[id] || _("Chain");
  return _("{name} (chain id {id})", { name, id });
}

function showQuote(quote) {
  if (!quote) return;
  $("quote-amount").textContent = `${wallet.formatEther(quote.amount_wei)} ETH`;
  $("quote-to").textContent = quote.to;
  $("quote-chain").textContent = chainName(quote.chain_id);
  $("quote-expires").textContent = formatTime(quote.expires_at);
  $("quote").hidden = false;
}

async function onConnect() {
  showPayError(null);
  if (!wallet.provider()) {
    $("wallet-missing").hidden = false;
    walletStatus.textContent = VISITOR_MESSAGES.wallet_missing;
    return;
  }
  setBusy(true, _("Choose an account in your wallet…"));
  try {
    state.account = await wallet.connect();
    setBusy(false, signedInHere() ? _("Connected and signed in as {address}.", { address: state.account })
      : _("Wallet connected. Now sign in: your wallet asks you to sign a message (it costs nothing)."));
  } catch (err) {
    setBusy(false, "");
    showPayError(err);
  }
}

async function onSignIn() {
  showPayError(null);
  setBusy(true, _("Sign the message in your wallet to prove this address is yours. It costs nothing."));
  try {
    const session = await wallet.signIn(state.account);
    state.signedIn = session.address;
    setBusy(false, _("Signed in as {address}.", { address: session.address }));
    if (state.resumeId) await resume(state.resumeId);
  } catch (err) {
    setBusy(false, "");
    showPayError(err);
  }
}

async function createSubmission() {
  state.showAll = true;
  const result = await validate();
  if (!result) throw Object.assign(new Error("not checked"), { code: "network_error" });
  if (!result.valid) {
    focusFirstInvalid();
    throw Object.assign(new Error("invalid"), { code: "validation_error" });
  }
  const missing = [avatar, video].find((picker) => !picker.upload || picker.busy);
  if (missing) {
    missing.input.focus();
    throw new Error(missing.busy ? _("Please wait until your files have finished uploading.")
      : _("Please add a profile picture and a video first."));
  }
  walletStatus.textContent = _("Fixing the price for your submission…");
  let created;
  try {
    created = await api("/api/submissions/", { method: "POST", body: {
      profile_data: formData(), image_upload_id: avatar.upload.id, video_upload_id: video.upload.id } });
  } catch (err) {
    const errors = (err.problem && err.problem.errors) || {};
    for (const field of TEXT_FIELDS) if (errors[field]) setFieldError(field, errors[field].map(fieldMessage).join(" "));
    if (err.code && err.code.startsWith("upload")) {
      const ids = stored().uploads || {};
      if (ids.image) await avatar.restore(ids.image);
      if (ids.video) await video.restore(ids.video);
    }
    if (err.status === 401) { state.signedIn = null; refreshButtons(); }
    focusFirstInvalid();
    throw err;
  }
  adoptSubmission({ id: created.id, quote: created.payment, status: created.status });
  timeline.follow(created.id);
}

function adoptSubmission(submission) {
  state.submission = submission;
  store({ submission: submission.id });
  const url = new URL(window.location.href);
  url.searchParams.set("submission", submission.id);
  history.replaceState(null, "", url);
  lockForm(true);
  showQuote(submission.quote);
  $("progress-section").hidden = false;
}

async function postPayment(hash) {
  walletStatus.textContent = _("Payment sent. Recording it…");
  try {
    const post = (txHash) => api(`/api/submissions/${state.submission.id}/payment/`, { method: "POST", body: { tx_hash: txHash } });
    const answer = await postHash(post, hash, {
      onRepost: () => { walletStatus.textContent = _("Payment sent. The server is busy recording it; trying again…"); },
    });
    store({ pendingTx: null });
    state.submission.status = answer.status;
    walletStatus.textContent = _("Payment received. Follow your submission below.");
    $("timeline-title").focus();
  } catch (err) {
    // A refusal means pay again; anything else may not have recorded the payment: keep it to post again.
    if (!keepsHash(err)) store({ pendingTx: null });
    throw err;
  }
}

async function onPay() {
  showPayError(null);
  setBusy(true, _("Checking your details…"));
  try {
    if (!state.submission) await createSubmission();
    const pending = stored().pendingTx;
    if (pending && pending.submission === state.submission.id) {
      await postPayment(pending.hash);
      return;
    }
    const quote = state.submission.quote;
    walletStatus.textContent = _("Switching your wallet to {chain}…", { chain: chainName(quote.chain_id) });
    await wallet.ensureChain(quote.chain_id);
    walletStatus.textContent = _("Confirm the payment of {amount} ETH in your wallet…", { amount: wallet.formatEther(quote.amount_wei) });
    const hash = await wallet.sendPayment(state.account, quote);
    store({ pendingTx: { submission: state.submission.id, hash } });
    await postPayment(hash);
  } catch (err) {
    walletStatus.textContent = "";
    showPayError(err.code ? err : { code: "", message: err.message });
  } finally {
    setBusy(false);
  }
}

// -- the live timeline --------------------------------------------------------------------------

function onTimeline(data) {
  if (data.pollError) return;
  if (!state.submission) return;
  state.submission.status = data.status;
  if (data.status === "awaiting_payment" && data.payment_error && !state.busy) showPayError(data.payment_error);
  if (data.status === "published") {
    const link = $("profile-link");
    link.href = `/p/${data.wallet || state.submission.wallet || state.signedIn}`;
    $("published").hidden = false;
    forget();
  }
  const retryable = data.status === "failed" && RETRYABLE_FAILURES.has(data.error && data.error.code);
  $("retry-processing").hidden = !retryable;
  if (data.status === "failed") {
    $("published").hidden = false;
    $("profile-link").hidden = true;
    if (!retryable) forget();
  }
  if (data.status === "rejected" || data.status === "expired") {
    // Keep what was typed: "start over" brings it back for a new submission (with new files).
    $("published").hidden = false;
    $("profile-link").hidden = true;
    $("start-over").textContent = _("Start over with these details");
    store({ submission: null, pendingTx: null, uploads: {} });
  }
  refreshButtons();
}

// Failures another run may fix; the server decides (409 submission_not_retryable otherwise).
const RETRYABLE_FAILURES = new Set(["retries_exhausted", "attempts_exhausted"]);

async function onRetryProcessing() {
  const button = $("retry-processing");
  button.disabled = true;
  try {
    const row = await api(`/api/submissions/${encodeURIComponent(state.submission.id)}/retry/`, { method: "POST" });
    button.hidden = true;
    $("published").hidden = true;
    $("profile-link").hidden = false;
    timeline.render(row);
    timeline.follow(row.id);
  } catch (err) {
    $("timeline-status").textContent = describe(err, VISITOR_MESSAGES);
  } finally {
    button.disabled = false;
  }
}

const timeline = new Timeline({ list: $("timeline"), status: $("timeline-status"), onUpdate: onTimeline });

// -- picking up after a reload ------------------------------------------------------------------

function note(message) {
  const box = $("resume-note");
  box.textContent = message;
  box.hidden = !message;
}

async function resume(id) {
  let row;
  try {
    row = await api(`/api/submissions/${encodeURIComponent(id)}/`);
  } catch (err) {
    if (err.status === 401) {
      state.resumeId = id;
      note(_("You have a submission in progress. Connect and sign in with the wallet you used to follow it."));
      return;
    }
    state.resumeId = null;
    forget();
    history.replaceState(null, "", window.location.pathname);
    note(_("{problem} You can start a new profile below.", { problem: describe(err, VISITOR_MESSAGES) }));
    return;
  }
  state.resumeId = null;
  note(_("Welcome back: here is the submission you started."));
  fillForm(row.profile_data || {});
  adoptSubmission({ id: row.id, quote: row.quote, status: row.status, wallet: row.wallet });
  const ids = stored().uploads || {};
  if (ids.image) avatar.restore(ids.image);
  if (ids.video) video.restore(ids.video);
  timeline.render(row);
  if (!["published", "failed", "rejected", "expired"].includes(row.status)) timeline.follow(row.id);
  const pending = stored().pendingTx;
  if (row.status === "awaiting_payment" && pending && pending.submission === row.id && signedInHere()) {
    setBusy(true);
    try {
      await postPayment(pending.hash);
    } catch (err) {
      showPayError(err);
    } finally {
      setBusy(false);
    }
  }
  refreshButtons();
}

// -- wiring -------------------------------------------------------------------------------------

function watchWallet() {
  const eth = wallet.provider();
  $("wallet-missing").hidden = Boolean(eth);
  if (!eth || !eth.on) return;
  eth.on("accountsChanged", (accounts) => {
    state.account = (accounts && accounts[0]) || null;
    if (state.account && state.signedIn && !signedInHere()) {
      walletStatus.textContent = _("Your wallet switched to another account: sign in again with it, or switch back.");
    }
    refreshButtons();
  });
}

async function start() {
  for (const field of TEXT_FIELDS) {
    const input = $(field);
    input.addEventListener("input", () => {
      if (field === "hashtags" || input.getAttribute("aria-invalid") === "true") state.touched.add(field);
      store({ draft: formData() });
      scheduleValidation();
    });
    input.addEventListener("blur", () => {
      if (input.value || state.touched.has(field)) { state.touched.add(field); scheduleValidation(); }
    });
  }
  $("is_incognito").addEventListener("change", () => {
    $("name").required = !$("is_incognito").checked;
    store({ draft: formData() });
    scheduleValidation();
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    state.showAll = true;
    validate().then(focusFirstInvalid);
  });
  $("connect").addEventListener("click", onConnect);
  $("sign-in").addEventListener("click", onSignIn);
  $("pay").addEventListener("click", onPay);
  $("retry-processing").addEventListener("click", onRetryProcessing);
  document.addEventListener("click", (event) => {
    // Starting over keeps the typed details; the files belong to the old submission.
    if (event.target.closest("[data-start-over]")) store({ submission: null, pendingTx: null, uploads: {} });
    else if (event.target.closest("#start-over") && state.submission && state.submission.status === "published") forget();
  });
  window.addEventListener("ethereum#initialized", () => { watchWallet(); refreshButtons(); }, { once: true });

  watchWallet();
  refreshButtons();
  const [account, signedIn] = await Promise.all([wallet.knownAccount(), wallet.signedInAddress().catch(() => null)]);
  // The buttons work while these answers are on their way: what the visitor did meanwhile (connected,
  // signed in) is newer than them and stays.
  state.account = state.account || account;
  state.signedIn = state.signedIn || signedIn;
  refreshButtons();

  const saved = stored();
  const id = new URLSearchParams(window.location.search).get("submission") || saved.submission;
  if (id) {
    await resume(id);
    return;
  }
  if (saved.draft) fillForm(saved.draft);
  const ids = saved.uploads || {};
  if (ids.image) avatar.restore(ids.image);
  if (ids.video) video.restore(ids.video);
  if (Object.values(formData()).some((value) => value && value !== true)) validate();
}

start();
