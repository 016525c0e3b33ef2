// The scripts' words in the page's language. The page names its catalogue (<meta name="i18n-catalogue">,
// served as JSON by the app from api/web/translations/<lang>/LC_MESSAGES/js.po); English is the source,
// so a missing catalogue or message falls back to the English msgid. Top-level await: every module
// importing this one runs once the catalogue is here, so messages may be looked up at module level.

export const lang = document.documentElement.lang || "en";

async function load() {
  const meta = document.querySelector('meta[name="i18n-catalogue"]');
  if (!meta) return null;
  try {
    const response = await fetch(meta.content, { credentials: "same-origin", headers: { Accept: "application/json" } });
    return response.ok ? await response.json() : null;
  } catch {
    return null; // offline or refused: English words rather than no page
  }
}

const catalogue = (await load()) || { messages: {}, plural: { one: 0, other: 1 } };
const rules = new Intl.PluralRules(lang);
const numbers = new Intl.NumberFormat(lang);

export function fill(text, params) {
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole));
}

// _("Signed in as {address}.", { address }) -> the translation with {address} filled in.
export function _(msgid, params = {}) {
  const text = catalogue.messages[msgid];
  return fill(typeof text === "string" && text ? text : msgid, params);
}

// ngettext("{n} hashtag", "{n} hashtags", n): the language's plural form (Russian one/few/many through
// Intl.PluralRules and the catalogue's category -> form map); {n} is n formatted for the language.
export function ngettext(singular, plural, n, params = {}) {
  const forms = catalogue.messages[singular];
  let text;
  if (Array.isArray(forms) && forms.length) {
    const index = catalogue.plural[rules.select(n)] ?? forms.length - 1;
    text = forms[Math.min(index, forms.length - 1)];
  }
  if (!text) text = n === 1 ? singular : plural;
  return fill(text, { n: numbers.format(n), ...params });
}

export function formatNumber(value, options) {
  return new Intl.NumberFormat(lang, options).format(value);
}

export function formatDateTime(date, options = { dateStyle: "medium", timeStyle: "short" }) {
  return new Intl.DateTimeFormat(lang, options).format(date);
}
