"""Text contrast (WCAG 2.x AA) and labels on every page, measured in Chromium on the rendered page."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import MODERATOR_TOKEN, OPS_TOKEN

# For every visible element with its own text: its colour, the first opaque background behind it
# (walking up the tree), its font size and weight. Alpha is blended onto that background.
TEXT_COLOURS = """() => {
  const parse = (value) => (value.match(/[\\d.]+/g) || []).map(Number);
  const background = (node) => {
    for (let el = node; el; el = el.parentElement) {
      const [r, g, b, a = 1] = parse(getComputedStyle(el).backgroundColor);
      if (a > 0.5) return [r, g, b];
    }
    return [255, 255, 255];
  };
  const found = [];
  for (const el of document.querySelectorAll("body *")) {
    const own = [...el.childNodes].some((n) => n.nodeType === Node.TEXT_NODE && n.textContent.trim());
    if (!own || !el.checkVisibility({ visibilityProperty: true, opacityProperty: true })) continue;
    const rect = el.getBoundingClientRect();
    if (rect.width < 2 || rect.height < 2) continue;  // visually hidden
    const style = getComputedStyle(el);
    const [r, g, b, a = 1] = parse(style.color);
    const bg = background(el);
    const fg = [r, g, b].map((c, i) => c * a + bg[i] * (1 - a));
    found.push({ text: el.textContent.trim().slice(0, 40), tag: el.tagName, fg, bg,
                 size: parseFloat(style.fontSize), bold: Number(style.fontWeight) >= 700,
                 disabled: el.closest("button:disabled, [aria-disabled=true]") !== null });
  }
  return found;
}"""

UNLABELLED = """() => [...document.querySelectorAll("input, select, textarea")]
  .filter((el) => el.type !== "hidden" && el.checkVisibility() && !el.labels.length
          && !el.getAttribute("aria-label") && !el.getAttribute("aria-labelledby"))
  .map((el) => el.id || el.name || el.outerHTML.slice(0, 60))"""


def _luminance(rgb) -> float:
    def channel(c: float) -> float:
        c /= 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(fg, bg) -> float:
    light, dark = sorted((_luminance(fg), _luminance(bg)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def low_contrast(page) -> list[str]:
    """Text under AA: 4.5:1, or 3:1 for large text (24 px, or 18.66 px bold); disabled controls are exempt."""
    failures = []
    texts = page.evaluate(TEXT_COLOURS)
    assert len(texts) > 5, f"only {len(texts)} texts found: is the page there?"
    for item in texts:
        large = item["size"] >= 24 or (item["bold"] and item["size"] >= 18.66)
        ratio = contrast(item["fg"], item["bg"])
        if not item["disabled"] and ratio < (3 if large else 4.5):
            failures.append(f"{item['tag']} {item['text']!r}: {ratio:.2f}:1")
    return failures


def test_the_contrast_checker_tells_good_from_bad():
    assert contrast((0, 0, 0), (255, 255, 255)) == pytest.approx(21)
    assert contrast((119, 119, 119), (255, 255, 255)) < 4.5 < contrast((118, 118, 118), (255, 255, 255))


def _form_with_verdicts(page, base):
    page.goto(base + "/")
    page.fill("#name", "Ann Lee")
    page.fill("#url", "not a link")
    page.fill("#hashtags", "#travel #damn #fuck")
    expect(page.locator('#hashtag-chips li[data-tag="fuck"]')).to_be_visible()
    expect(page.locator("#url-error")).not_to_be_empty()


def _console(path, token):
    def open_console(page, base):
        page.goto(base + path)
        page.fill("#token", token)
        page.click("#signin-form button[type=submit]")
        expect(page.locator("#console")).to_be_visible()
        page.wait_for_load_state("networkidle")
    return open_console


def _plain(path):
    def open_page(page, base):
        page.goto(base + path)
        page.wait_for_load_state("networkidle")
    return open_page


@pytest.mark.parametrize("name, open_page", [
    ("form with verdicts and errors", _form_with_verdicts),
    ("profile not found", _plain("/p/0x0000000000000000000000000000000000000001")),
    ("moderation sign-in", _plain("/moderation")),
    ("moderation console", _console("/moderation", MODERATOR_TOKEN)),
    ("moderation moderators tab", _console("/moderation#moderators", MODERATOR_TOKEN)),
    ("ops console", _console("/ops", OPS_TOKEN)),
])
def test_text_meets_aa_contrast_and_every_field_has_a_label(system, context_factory, name, open_page):
    page = context_factory().new_page()
    open_page(page, system.base)
    assert page.evaluate(UNLABELLED) == [], f"{name}: fields without a label"
    assert low_contrast(page) == [], f"{name}: text under WCAG AA contrast"
