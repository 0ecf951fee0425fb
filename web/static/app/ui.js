// ui.js: small helpers shared by the verifier and the wallet pages:
// language switching, dates and ages, and service worker registration.

const LANG_KEY = "epermit.lang";

/** lang returns the chosen language, "zh" (the default) or "en". */
export function lang() {
  try {
    return localStorage.getItem(LANG_KEY) === "en" ? "en" : "zh";
  } catch {
    return "zh";
  }
}

/** setLang remembers the language and marks the document with it. */
export function setLang(l) {
  try { localStorage.setItem(LANG_KEY, l); } catch { /* private mode */ }
  document.documentElement.lang = l === "en" ? "en" : "zh-CN";
}

/**
 * translator returns t(key, ...args) over a dictionary {key: {zh, en}}; a
 * value may be a function of args. Missing keys fall back to the key.
 */
export function translator(dict) {
  return (key, ...args) => {
    const e = dict[key];
    if (!e) return key;
    const v = e[lang()] ?? e.zh;
    return typeof v === "function" ? v(...args) : v;
  };
}

/** applyText fills every [data-i18n] element (and [data-i18n-placeholder]) under root. */
export function applyText(t, root = document) {
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll("[data-i18n-placeholder]")) el.placeholder = t(el.dataset.i18nPlaceholder);
  for (const el of root.querySelectorAll("[data-i18n-label]")) el.setAttribute("aria-label", t(el.dataset.i18nLabel));
}

/** text picks the current language from a {zh, en} pair (either may be missing). */
export function text(pair) {
  if (!pair) return "";
  return (lang() === "en" ? pair.en || pair.zh : pair.zh || pair.en) || "";
}

/** toDate reads milliseconds since the epoch or an RFC 3339 string; null when neither. */
export function toDate(v) {
  if (v === undefined || v === null || v === "") return null;
  const d = typeof v === "number" ? new Date(v) : new Date(String(v));
  return isNaN(d.getTime()) ? null : d;
}

/** formatDate shows a calendar date in China Standard Time. */
export function formatDate(v) {
  const d = toDate(v);
  if (!d) return "";
  return d.toLocaleDateString(lang() === "en" ? "en-CA" : "zh-CN",
    { timeZone: "Asia/Shanghai", year: "numeric", month: "2-digit", day: "2-digit" });
}

/** formatAge says how long ago ms milliseconds is, in words of the current language. */
export function formatAge(ms) {
  const s = Math.max(0, Math.round(ms / 1000));
  const en = lang() === "en";
  if (s < 60) return en ? "just now" : "刚刚";
  const m = Math.floor(s / 60);
  if (m < 60) return en ? `${m} min ago` : `${m} 分钟前`;
  const h = Math.floor(m / 60);
  if (h < 48) return en ? `${h} h ${m % 60} min ago` : `${h} 小时 ${m % 60} 分钟前`;
  const d = Math.floor(h / 24);
  return en ? `${d} days ago` : `${d} 天前`;
}

/** el creates an element with attributes and children (strings become text). */
export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") e.className = v;
    else if (k.startsWith("data-") || k === "role" || k.startsWith("aria-")) e.setAttribute(k, String(v));
    else e[k] = v;
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

/** registerWorker registers the page's service worker (sw.js next to the page). */
export function registerWorker() {
  if (!("serviceWorker" in navigator)) return;
  navigator.serviceWorker.register("sw.js").catch((e) => console.warn("service worker:", e));
}
