// The public profile (/p/<wallet>): GET /api/profiles/{wallet}/ drawn as a page. The API already
// hides what the public must not see (hashtags under review, name and link of incognito profiles).

import { api, describe, el, formatTime } from "./api.js";

const $ = (id) => document.getElementById(id);
const root = $("profile");
const wallet = root.dataset.wallet;
const AVATAR_SIZES = "(max-width: 600px) 96px, 160px";

const MESSAGES = {
  profile_not_found: "This wallet has no published profile yet. If you have just paid, it appears here as soon as processing is done.",
  invalid_wallet: "That is not a wallet address: it should be 0x followed by 40 hexadecimal digits.",
};

function srcset(outputs, names) {
  return names.filter((name) => outputs[name] && outputs[name].url)
    .map((name) => `${outputs[name].url} ${outputs[name].width}w`).join(", ");
}

// <picture>: WebP where the browser takes it, JPEG otherwise; the browser picks the size it needs.
function avatarPicture(outputs, label) {
  const jpeg = srcset(outputs, ["small", "medium", "large"]);
  if (!jpeg) return null;
  const fallback = outputs.medium || outputs.small || outputs.large;
  const img = el("img", { class: "avatar", src: fallback.url, srcset: jpeg, sizes: AVATAR_SIZES, alt: label,
    width: fallback.width, height: fallback.height });
  const webp = srcset(outputs, ["small_webp", "medium_webp", "large_webp"]);
  return el("picture", {}, webp ? el("source", { type: "image/webp", srcset: webp, sizes: AVATAR_SIZES }) : null, img);
}

function render(profile) {
  const name = profile.name || (profile.is_incognito ? "Incognito profile" : "Showreel profile");
  $("profile-name").textContent = name;
  document.title = `${name} · Showreel`;
  const picture = avatarPicture(profile.avatar || {}, profile.name ? `Picture of ${profile.name}` : "Profile picture");
  if (picture) $("avatar-slot").replaceChildren(picture);
  if (profile.url) {
    const link = $("profile-link");
    link.href = profile.url;
    link.textContent = profile.url.replace(/^https?:\/\//, "").replace(/\/$/, "");
    $("profile-link-line").hidden = false;
  }
  const outputs = profile.video || {};
  if (outputs.webm && outputs.webm.url) {
    const video = $("profile-video");
    if (outputs.poster && outputs.poster.url) video.poster = outputs.poster.url;
    if (outputs.webm.width && outputs.webm.height) { video.width = outputs.webm.width; video.height = outputs.webm.height; }
    video.append(el("source", { src: outputs.webm.url, type: "video/webm" }));
    $("video-section").hidden = false;
  }
  if (profile.activity_hobbies) {
    $("profile-about").textContent = profile.activity_hobbies;
    $("about-section").hidden = false;
  }
  const tags = profile.hashtags || [];
  if (tags.length) {
    $("profile-tags").replaceChildren(...tags.map((tag) => el("li", { class: "chip", text: `#${tag}` })));
    $("tags-section").hidden = false;
  }
  if (profile.published_at) {
    $("profile-published").textContent = `Published ${formatTime(profile.published_at)}`;
    $("profile-published").hidden = false;
  }
  $("profile-state").textContent = "";
}

async function start() {
  try {
    render(await api(`/api/profiles/${encodeURIComponent(wallet)}/`));
  } catch (err) {
    $("profile-name").textContent = err.code === "profile_not_found" ? "No profile here yet" : "This profile cannot be shown";
    const state = $("profile-state");
    state.replaceChildren(describe(err, MESSAGES), " ", el("a", { href: "/" }, "Publish a profile"));
    state.classList.add("alert", err.code === "profile_not_found" ? "info" : "error");
  } finally {
    root.setAttribute("aria-busy", "false");
  }
}

start();
