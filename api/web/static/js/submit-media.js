// The avatar and video pickers: upload with a progress bar (XMLHttpRequest: fetch reports no
// upload progress), then a preview from the server's signed links (the video plays as uploaded).

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
    this.pending = uploadFile(file, this.kind, (fraction) => {
      const percent = Math.floor(fraction * 100);
      this.progress.value = percent;
      this.progressText.textContent = `${percent}%`;
    });
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
    try {
      this.show(await api(`/api/uploads/${encodeURIComponent(id)}/`));
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
