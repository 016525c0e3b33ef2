// The avatar and video pickers: upload with a progress bar, then a preview from the server's signed
// links (the video plays as uploaded). A file of one chunk (8 MiB) or less goes in one request
// (XMLHttpRequest: fetch reports no upload progress), which answers with the upload at once; a larger
// one goes resumably over tus (tus-js-client, api/web/static/vendor/): a dropped connection is retried,
// and after a reload the same file picked again continues from the server's offset (the fingerprint
// is in localStorage). Its last chunk is followed by a short wait while the server checks the file.

import { api, describe, ProblemError } from "./api.js";
import { _, fill, formatNumber, ngettext } from "./i18n.js";
import { VISITOR_MESSAGES } from "./submit-messages.js";

// A size in the page's language: "250 bytes" / "250 байт", "1.5 MB" / "1,5 МБ".
export function formatBytes(bytes) {
  let value = Number(bytes);
  if (value < 1024) return ngettext("{n} byte", "{n} bytes", value);
  let unit = 0;
  while (value >= 1024 * 1024 && unit < 2) { value /= 1024; unit += 1; }
  const size = formatNumber(value / 1024, { maximumFractionDigits: value < 10 * 1024 ? 1 : 0 });
  return [_("{size} KB", { size }), _("{size} MB", { size }), _("{size} GB", { size })][unit];
}

// Whole sentences per kind: Russian words agree with the noun (картинка загружена, видео загружено).
const WORDS = {
  image: { uploaded: _("Picture uploaded."), removed: _("Picture removed."),
    largest: _("The largest picture is {max}; this one is {size}.") },
  video: { uploaded: _("Video uploaded."), removed: _("Video removed."),
    largest: _("The largest video is {max}; this one is {size}.") },
};

export function uploadFile(file, kind, onProgress) {
  const xhr = new XMLHttpRequest();
  const promise = new Promise((resolve, reject) => {
    xhr.open("POST", "/api/uploads/");
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    });
    xhr.addEventListener("load", () => {
      let data = null;
      try { data = JSON.parse(xhr.responseText); } catch { data = null; }
      if (xhr.status >= 200 && xhr.status < 300 && data) return resolve(data);
      const error = new ProblemError(xhr.status, data || { code: `http_${xhr.status}` });
      error.retryAfter = xhr.getResponseHeader("Retry-After");
      reject(error);
    });
    xhr.addEventListener("error", () => reject(new ProblemError(0, { code: "network_error" })));
    xhr.addEventListener("abort", () => reject(new ProblemError(0, { code: "upload_aborted" })));
    const form = new FormData();
    form.append("kind", kind);
    form.append("file", file);
    xhr.send(form);
  });
  return { promise, abort: () => xhr.abort() };
}

// tus chunks: 8 MiB, above the server's 5 MiB minimum (Tus-Min-Chunk-Size, the S3 part minimum).
export const CHUNK_BYTES = 8 * 1024 * 1024;
const TUS_ENDPOINT = "/api/uploads/tus/";
// Retries of a failed chunk before the page asks for the file again (then it resumes, not restarts).
const RETRY_DELAYS = [0, 1000, 3000, 6000];

function sleep(ms) { return new Promise((resolve) => { setTimeout(resolve, ms); }); }

// The upload once the server has hashed and probed it: GET answers 202 while it is processing.
export async function waitUntilReady(id, { signal } = {}) {
  let delay = 300;
  for (;;) {
    const upload = await api(`/api/uploads/${encodeURIComponent(id)}/`, { signal });
    if (!upload.status || upload.status === "ready") return upload;
    // Bytes still missing: only the tus client that sends them can finish it (the file picked again).
    if (upload.status === "receiving") throw new ProblemError(0, { code: "upload_interrupted" });
    if (signal && signal.aborted) throw new ProblemError(0, { code: "upload_aborted" });
    await sleep(delay);
    delay = Math.min(delay * 1.5, 2000);
  }
}

// tus-js-client's error as the problem the server answered, or a dropped connection.
function tusProblem(error) {
  const response = error && error.originalResponse;
  const status = response ? response.getStatus() : 0;
  if (!status) return new ProblemError(0, { code: "upload_interrupted" });
  let data = null;
  try { data = JSON.parse(response.getBody()); } catch { data = null; }
  const problem = new ProblemError(status, data && data.code ? data : { code: `http_${status}` });
  problem.retryAfter = response.getHeader("Retry-After");
  return problem;
}

export function uploadResumably(file, kind, onProgress, onProcessing) {
  let upload = null;
  let fail = () => {};
  const waiting = new AbortController(); // aborted: the visitor cancelled
  const promise = new Promise((resolve, reject) => {
    fail = reject;
    upload = new window.tus.Upload(file, {
      endpoint: TUS_ENDPOINT,
      chunkSize: CHUNK_BYTES,
      retryDelays: RETRY_DELAYS,
      metadata: { filename: file.name, filetype: file.type || "application/octet-stream", kind },
      storeFingerprintForResuming: true,
      removeFingerprintOnSuccess: true,
      onProgress: (sent, total) => onProgress(sent / total),
      onError: (error) => reject(tusProblem(error)),
      onSuccess: () => {
        onProcessing();
        const id = new URL(upload.url, window.location.href).pathname.split("/").filter(Boolean).pop();
        waitUntilReady(id, { signal: waiting.signal }).then(resolve, reject);
      },
    });
    // The same file picked again after a reload or a failure: continue where the server's bytes end.
    upload.findPreviousUploads().then((previous) => {
      if (waiting.signal.aborted) return;
      if (previous.length) upload.resumeFromPreviousUpload(previous[0]);
      upload.start();
    }, () => { if (!waiting.signal.aborted) upload.start(); });
  });
  const abort = () => {
    waiting.abort();
    // A cancel by the visitor drops the server's bytes and the fingerprint (tus termination).
    if (upload) upload.abort(true).catch(() => {});
    fail(new ProblemError(0, { code: "upload_aborted" }));
  };
  return { promise, abort };
}

export class MediaPicker {
  // `root` holds: input[type=file], .upload-progress (progress, .progress-text, button.cancel),
  // .upload-status, .field-error, figure.preview (img or video), button.remove.
  constructor(root, { kind, label, maxBytes, onChange }) {
    this.root = root;
    this.kind = kind;
    this.label = label;
    this.maxBytes = Number(maxBytes) || Infinity;
    this.onChange = onChange || (() => {});
    this.upload = null;
    this.pending = null;
    this.input = root.querySelector("input[type=file]");
    this.progressBox = root.querySelector(".upload-progress");
    this.progress = root.querySelector("progress");
    this.progressText = root.querySelector(".progress-text");
    this.status = root.querySelector(".upload-status");
    this.error = root.querySelector(".field-error");
    this.figure = root.querySelector("figure.preview");
    this.media = this.figure.querySelector(kind === "image" ? "img" : "video");
    this.caption = this.figure.querySelector("figcaption");
    this.removeButton = root.querySelector("button.remove");
    this.input.addEventListener("change", () => this.choose(this.input.files[0]));
    root.querySelector("button.cancel").addEventListener("click", () => this.pending && this.pending.abort());
    this.removeButton.addEventListener("click", () => this.remove());
    // A file picked before this script ran (the page's scripts wait for the language catalogue)
    // fired its change event to no one: take it now. It wins over an upload kept from a reload.
    if (this.input.files.length) setTimeout(() => this.choose(this.input.files[0]));
    if (kind === "video") {
      this.media.addEventListener("error", () => {
        if (this.upload) this.caption.textContent = _("{details}. This browser cannot play this format here; it is converted to WebM after payment.", { details: this.describeUpload(this.upload) });
      });
    }
  }

  get busy() { return Boolean(this.pending); }

  setError(message) {
    this.error.textContent = message || "";
    this.error.hidden = !message;
    this.input.setAttribute("aria-invalid", message ? "true" : "false");
  }

  async choose(file) {
    if (!file) return;
    this.setError("");
    if (file.size === 0) return this.fail({ code: "empty_file" });
    if (file.size > this.maxBytes) {
      return this.fail({ code: "file_too_large" }, " " + fill(WORDS[this.kind].largest, { max: formatBytes(this.maxBytes), size: formatBytes(file.size) }));
    }
    if (this.upload) this.discard(this.upload.id);
    this.clearPreview();
    this.progress.value = 0;
    this.progressText.textContent = "0%";
    this.progressBox.hidden = false;
    this.status.textContent = _("Uploading {name}…", { name: file.name });
    const onProgress = (fraction) => {
      const percent = Math.floor(fraction * 100);
      this.progress.value = percent;
      this.progressText.textContent = `${percent}%`;
    };
    const resumable = file.size > CHUNK_BYTES && window.tus && window.tus.isSupported;
    this.pending = resumable
      ? uploadResumably(file, this.kind, onProgress, () => { this.status.textContent = _("Uploaded. Checking the file…"); })
      : uploadFile(file, this.kind, onProgress);
    this.onChange();
    try {
      const upload = await this.pending.promise;
      this.progress.value = 100;
      this.progressText.textContent = "100%";
      this.show(upload);
      this.status.textContent = WORDS[this.kind].uploaded;
    } catch (err) {
      this.fail(err);
    } finally {
      this.pending = null;
      this.progressBox.hidden = true;
      this.onChange();
    }
  }

  fail(error, extra = "") {
    this.status.textContent = "";
    this.input.value = "";
    this.setError(describe(error, VISITOR_MESSAGES) + extra);
    this.onChange();
  }

  describeUpload(upload) {
    const parts = [];
    if (upload.width && upload.height) parts.push(`${upload.width} × ${upload.height}`);
    if (upload.duration) parts.push(_("{seconds} s", { seconds: formatNumber(Number(upload.duration), { minimumFractionDigits: 1, maximumFractionDigits: 1 }) }));
    parts.push(formatBytes(upload.size));
    return parts.join(", ");
  }

  show(upload) {
    this.upload = upload;
    if (this.kind === "image") {
      this.media.src = upload.preview_url;
      if (upload.width && upload.height) { this.media.width = upload.width; this.media.height = upload.height; }
    } else {
      if (upload.poster_url) this.media.poster = upload.poster_url;
      this.media.src = upload.preview_url;
    }
    this.caption.textContent = this.describeUpload(upload);
    this.figure.hidden = false;
    this.removeButton.hidden = false;
    this.root.classList.add("has-upload");
  }

  clearPreview() {
    this.upload = null;
    this.figure.hidden = true;
    this.removeButton.hidden = true;
    this.root.classList.remove("has-upload");
    if (this.kind === "video") { this.media.pause(); this.media.removeAttribute("poster"); }
    this.media.removeAttribute("src");
    if (this.kind === "video") this.media.load();
  }

  // An upload made before a reload: fresh preview links, or nothing when it is gone.
  async restore(id) {
    if (this.pending) return;  // a file being picked now wins
    try {
      this.show(await waitUntilReady(id));
      this.status.textContent = WORDS[this.kind].uploaded;
    } catch {
      this.clearPreview();
    }
    this.onChange();
  }

  discard(id) {
    api(`/api/uploads/${encodeURIComponent(id)}/`, { method: "DELETE" }).catch(() => {});
  }

  remove() {
    if (this.upload) this.discard(this.upload.id);
    this.clearPreview();
    this.input.value = "";
    this.status.textContent = WORDS[this.kind].removed;
    this.onChange();
    this.input.focus();
  }

  lock(locked) {
    this.input.disabled = locked;
    this.removeButton.disabled = locked;
  }
}
