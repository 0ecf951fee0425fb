// verify.js: the officials' offline verifier. Verification itself is the
// project's Go verifier running as WebAssembly (window.epermitReady); this
// file does the camera/photo/text input, keeps the trust data in IndexedDB
// and shows the result.
//
// Trust data: config.json (the root key pin), the root-signed trust list and
// every status list it names are stored in IndexedDB with their fetch time
// and ETag. On start they are loaded into the WebAssembly verifier before
// any network request. A sync fetches them again (If-None-Match); a new
// trust list must pass epermit.checkTrust against the pin and the held
// version (no rollback) and a new status list must pass
// epermit.addStatusList, otherwise the old copies stay in use.

import { open } from "../app/idb.js";
import { Camera, decodePhoto } from "../app/scan.js";
import { ethnicityName, loadNames, placeName } from "../app/names.js";
import { applyText, el, formatAge, formatDate, lang, registerWorker, setLang, text, translator } from "../app/ui.js";

// The default policy's status_max_age; the WebAssembly side does not expose
// the policy's durations, the verifier's own warnings cover other policies.
const STATUS_MAX_AGE_MS = 24 * 3600 * 1000;
const AUTO_SYNC_EVERY_MS = 15 * 60 * 1000;
const FIRST_SYNC_WAIT_MS = 10000;
// Result warnings that mean the trust data should be synced.
const STALE_CODES = new Set(["trust_data_old", "status_list_stale", "status_list_missing", "trust_list_in_grace",
  "trust_list_expired", "trust_missing"]);

const t = translator({
  title: { zh: "居住证核验", en: "Residence permit verifier" },
  sync: { zh: "立即同步", en: "Sync now" },
  syncing: { zh: "同步中…", en: "Syncing…" },
  scanTitle: { zh: "扫描二维码", en: "Scan a code" },
  purpose: { zh: "核验用途", en: "Purpose of the check" },
  cameraStart: { zh: "打开相机", en: "Start camera" },
  cameraStop: { zh: "关闭相机", en: "Stop camera" },
  photo: { zh: "选择照片", en: "Choose photo" },
  codePlaceholder: { zh: "粘贴二维码内容，或用扫码枪扫描", en: "Paste the code's text, or use a USB scanner" },
  check: { zh: "核验", en: "Check" },
  loading: { zh: "信任数据：加载中…", en: "Trust data: loading…" },
  noTrust: { zh: "无信任数据：请联网同步", en: "No trust data: connect and sync" },
  age: { zh: (a) => `信任数据：${a}同步`, en: (a) => `Trust data: synced ${a}` },
  ageOld: { zh: (a) => `信任数据已过期（${a}同步），请同步`, en: (a) => `Trust data is out of date (synced ${a}): sync now` },
  syncFailed: { zh: (m) => `同步失败：${m}`, en: (m) => `Sync failed: ${m}` },
  offline: { zh: "离线", en: "offline" },
  unreachable: { zh: "无法连接服务器", en: "the server cannot be reached" },
  pinChanged: { zh: "服务器的根密钥与本设备保存的不一致，已拒绝更新", en: "the server's root key differs from the one this device holds; update refused" },
  valid: { zh: "有效", en: "VALID" },
  invalid: { zh: "无效", en: "NOT VALID" },
  live: { zh: "实时二维码", en: "live code" },
  notLive: { zh: "非实时二维码（可能是截图）", en: "not a live code (may be a screenshot)" },
  bound: { zh: "已绑定持证设备", en: "bound to the holder's device" },
  notBound: { zh: "未绑定持证设备", en: "not bound to the holder's device" },
  name: { zh: "姓名", en: "Name" },
  maskedId: { zh: "身份证号", en: "Citizen ID" },
  citizenId: { zh: "公民身份号码", en: "Citizen ID (full)" },
  ethnicity: { zh: "民族", en: "Ethnicity" },
  region: { zh: "居住地", en: "Residence region" },
  validUntil: { zh: "有效期至", en: "Valid until" },
  permitNo: { zh: "居住证号", en: "Permit no." },
  issuer: { zh: "签发机关", en: "Issued by" },
  status: { zh: "状态", en: "Status" },
  residenceAddress: { zh: "居住地址", en: "Residence address" },
  householdAddress: { zh: "户籍地址", en: "Household registration" },
  residenceSince: { zh: "居住起始", en: "Resident since" },
  basis: { zh: "申领依据", en: "Basis" },
  statusValid: { zh: "正常", en: "valid" },
  statusRevoked: { zh: "已注销", en: "revoked" },
  statusSuspended: { zh: "暂停使用", en: "suspended" },
  checkedAt: { zh: (s) => `核验时间：${s}`, en: (s) => `Checked at ${s}` },
  reading: { zh: "正在识别…", en: "Reading…" },
  noCode: { zh: "照片中未找到二维码", en: "No code found in the photo" },
  multiple: { zh: "画面中有多个二维码，请只对准一个", en: "More than one code in view: aim at one" },
  cameraError: { zh: (m) => `无法打开相机：${m}`, en: (m) => `Cannot start the camera: ${m}` },
  wasmError: { zh: (m) => `核验模块加载失败：${m}`, en: (m) => `The verification module did not load: ${m}` },
  badInput: { zh: (m) => `无法核验：${m}`, en: (m) => `Cannot check: ${m}` },
  refused: { zh: "此用途不接受居住证：", en: "A residence permit is refused for this purpose: " },
  portrait: { zh: "持证人照片", en: "Holder's photo" },
  portraitChecking: { zh: "正在获取并核对照片…", en: "Fetching and checking the photo…" },
  portraitOk: { zh: "照片与证照签名摘要一致", en: "Photo matches the signed digest" },
  portraitMismatch: { zh: "签发机关返回的照片与证照签名的摘要不符，不予显示，请人工核实身份", en: "The photo from the issuer does not match the credential's signed digest: not shown; check identity by other means" },
  portraitOffline: { zh: "离线：无法获取并核对持证人照片，请人工核实身份", en: "Offline: the holder's photo could not be fetched and checked; check identity by other means" },
  portraitLogin: { zh: "需登录窗口工作台（民警账号）才能查看照片", en: "Log in to the officers' console (officer's token) to see the photo" },
  portraitUnavailable: { zh: (m) => `无法获取照片：${m}`, en: (m) => `The photo cannot be had: ${m}` },
  portraitNone: { zh: "证照中没有照片摘要，无法核对照片", en: "The credential carries no photo digest: no photo can be checked" },
});

// Purposes for which the verifier shows the holder's photo: those where the
// official must establish that the person is the holder. The photo comes
// from the issuer under the official's console session, and is shown only
// when its SHA-256 equals the digest signed in the credential (claim ph of
// the identity disclosure). Each read is audited by the issuer.
const PORTRAIT_PURPOSES = new Set(["police-check"]);

const $ = (id) => document.getElementById(id);
const db = open("epermit-verify", ["kv", "status"]);

const state = {
  ep: null,
  purposes: [],
  trust: null, // {fetched, version, expiresAt, statusFetched} of what the verifier has loaded
  lastText: "",
  lastResult: null,
  lastCheckedAt: 0,
  syncing: null,
  syncError: "",
  portrait: null, // {key, state, url, detail} of the holder's photo on screen
};

// ---- trust data --------------------------------------------------------

class SyncError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

/** loadIntoVerifier makes the stored copies the verifier's trust data; returns the loadTrust result. */
function loadIntoVerifier(pin, trust, statuses) {
  const r = state.ep.loadTrust(trust.token, pin, trust.fetched);
  if (!r || !r.ok) return r || { ok: false, error: "loadTrust returned nothing" };
  let statusFetched = Infinity;
  const kept = [];
  for (const s of statuses) {
    const a = state.ep.addStatusList(s.token, s.fetched);
    if (a && a.ok) {
      kept.push(s);
      statusFetched = Math.min(statusFetched, s.fetched);
    } else {
      console.warn("status list", s.uri, a && a.error);
    }
  }
  state.trust = { fetched: trust.fetched, version: r.version, expiresAt: r.expiresAt,
    statusFetched: kept.length ? statusFetched : null, issuers: r.issuers || [] };
  return { ...r, kept };
}

async function loadStored() {
  const [config, trust, statuses] = await Promise.all([db.get("kv", "config"), db.get("kv", "trust"), db.all("status")]);
  if (!config || !config.pin || !trust) return false;
  const r = loadIntoVerifier(config.pin, trust, statuses || []);
  if (!r.ok) {
    state.syncError = r.error || r.code || "stored trust data did not load";
    return false;
  }
  return true;
}

async function fetchConditional(url, etag) {
  const headers = {};
  if (etag) headers["If-None-Match"] = etag;
  return fetch(url, { cache: "no-store", headers });
}

function statusURIs(issuers) {
  const set = new Set();
  for (const i of issuers || []) for (const u of i.statusLists || []) set.add(u);
  return [...set];
}

async function doSync() {
  const problems = [];
  let netFailures = 0;
  const netFail = (what, e) => {
    if (e instanceof TypeError) netFailures++; // fetch: no network or no server
    problems.push(what + ": " + (e && e.message || e));
  };
  // 1. The configuration (root key pin). Once a pin is held it is kept.
  const heldConfig = await db.get("kv", "config");
  let config = heldConfig;
  try {
    const r = await fetch("config.json", { cache: "no-store" });
    if (!r.ok) throw new Error("config.json: HTTP " + r.status);
    const c = await r.json();
    if (!c || typeof c.pin !== "string" || !c.pin) throw new Error("config.json has no pin");
    if (heldConfig && heldConfig.pin && heldConfig.pin !== c.pin) throw new SyncError("pin_changed", t("pinChanged"));
    config = { pin: c.pin, trust_list: c.trust_list || "/trust-list", issuer: c.issuer || "", fetched: Date.now() };
  } catch (e) {
    if (e instanceof SyncError || !heldConfig) throw e;
    netFail("config.json", e);
  }

  // 2. The trust list, checked against the pin and the held version.
  const heldTrust = await db.get("kv", "trust");
  let trust = heldTrust;
  let trustChanged = false;
  try {
    const url = new URL(config.trust_list, location.href).href;
    const r = await fetchConditional(url, heldTrust && heldTrust.etag);
    const now = Date.now();
    if (r.status === 304 && heldTrust) {
      trust = { ...heldTrust, fetched: now };
    } else if (r.ok) {
      const token = (await r.text()).trim();
      const etag = r.headers.get("ETag") || "";
      if (heldTrust && token === heldTrust.token) {
        trust = { ...heldTrust, fetched: now, etag };
      } else {
        const chk = state.ep.checkTrust(token, config.pin, heldTrust ? heldTrust.version || 0 : 0);
        if (!chk || !chk.ok) throw new SyncError(chk && chk.code || "bad_trust_list", "trust list: " + (chk && chk.error || "refused"));
        trust = { token, fetched: now, etag, version: chk.version };
        trustChanged = true;
      }
    } else {
      throw new Error("trust list: HTTP " + r.status);
    }
  } catch (e) {
    if (e instanceof SyncError || !heldTrust) throw e;
    netFail("trust list", e);
  }
  const info = state.ep.checkTrust(trust.token, config.pin, 0);
  if (!info || !info.ok) throw new SyncError(info && info.code || "bad_trust_list", "trust list: " + (info && info.error || "refused"));

  // 3. Every status list the trust list names.
  const uris = statusURIs(info.issuers);
  const held = new Map(((await db.all("status")) || []).map((s) => [s.uri, s]));
  const got = await Promise.all(uris.map(async (uri) => {
    const old = held.get(uri) || null;
    try {
      const r = await fetchConditional(uri, old && old.etag);
      const fetched = Date.now();
      if (r.status === 304 && old) return { uri, old, token: old.token, etag: old.etag, fetched };
      if (!r.ok) return { uri, old, error: "HTTP " + r.status };
      return { uri, old, token: (await r.text()).trim(), etag: r.headers.get("ETag") || "", fetched };
    } catch (e) {
      return { uri, old, error: e.message || String(e), network: e instanceof TypeError };
    }
  }));

  // 4. Load everything into the verifier in one synchronous step (no
  // verification can run half-way), keeping old copies where new ones fail.
  const lt = state.ep.loadTrust(trust.token, config.pin, trust.fetched);
  if (!lt || !lt.ok) {
    await loadStored();
    throw new SyncError(lt && lt.code || "bad_trust_list", "trust list: " + (lt && lt.error || "refused"));
  }
  const keep = [];
  let statusFetched = Infinity;
  for (const g of got) {
    let stored = null;
    if (g.token) {
      const a = state.ep.addStatusList(g.token, g.fetched);
      if (a && a.ok && g.old && g.old.issuedAt && a.issuedAt < g.old.issuedAt) {
        // An older list than the one held (a replay after a revocation, say):
        // refused, the held one is loaded again below.
        problems.push(g.uri + ": older than the list held (rollback)");
      } else if (a && a.ok) {
        stored = { uri: g.uri, token: g.token, etag: g.etag, fetched: g.fetched, issuedAt: a.issuedAt };
      } else {
        problems.push(g.uri + ": " + (a && a.error || "refused"));
      }
    } else {
      problems.push(g.uri + ": " + g.error);
      if (g.network) netFailures++;
    }
    if (!stored && g.old && g.old.token !== g.token) {
      const a = state.ep.addStatusList(g.old.token, g.old.fetched);
      if (a && a.ok) stored = g.old;
    }
    if (stored) {
      keep.push(stored);
      statusFetched = Math.min(statusFetched, stored.fetched);
    }
  }
  state.trust = { fetched: trust.fetched, version: lt.version, expiresAt: lt.expiresAt,
    statusFetched: keep.length ? statusFetched : null, issuers: lt.issuers || [] };

  // 5. Persist what was checked.
  await db.put("kv", "config", config);
  await db.put("kv", "trust", trust);
  const gone = [...held.keys()].filter((u) => !uris.includes(u));
  await db.batch("status", keep.map((s) => [s.uri, s]), gone);
  if (problems.length && netFailures === problems.length) throw new SyncError("unreachable", t("unreachable"));
  if (problems.length) throw new SyncError("partial", problems.join("; "));
  return { trustChanged, statusLists: keep.length };
}

/** sync fetches fresh trust data; concurrent calls share one run. */
function sync() {
  if (state.syncing) return state.syncing;
  document.body.dataset.sync = "running";
  $("sync").disabled = true;
  $("sync").textContent = t("syncing");
  state.syncing = doSync().then((r) => {
    state.syncError = "";
    document.body.dataset.sync = "ok";
    return r;
  }, (e) => {
    console.warn("sync:", e);
    state.syncError = navigator.onLine === false ? t("offline")
      : e instanceof TypeError ? t("unreachable") : (e && e.message) || String(e);
    document.body.dataset.sync = "error";
    return null;
  }).finally(() => {
    state.syncing = null;
    $("sync").disabled = false;
    $("sync").textContent = t("sync");
    renderAge();
  });
  return state.syncing;
}

function dataAgeMs() {
  if (!state.trust) return null;
  const oldest = Math.min(state.trust.fetched, state.trust.statusFetched ?? state.trust.fetched);
  return Date.now() - oldest;
}

function renderAge() {
  const bar = $("trust-bar"), out = $("data-age");
  const age = dataAgeMs();
  const warned = (state.lastResult && (state.lastResult.warnings || []).concat(state.lastResult.reasons || [])
    .some((w) => STALE_CODES.has(w.code)));
  let msg;
  if (age === null) {
    msg = t("noTrust");
    bar.dataset.missing = "true";
    bar.dataset.stale = "true";
    out.removeAttribute("data-age-s");
  } else {
    const stale = age > STATUS_MAX_AGE_MS || warned || (state.trust.statusFetched === null && statusURIs(state.trust.issuers).length > 0);
    msg = stale ? t("ageOld", formatAge(age)) : t("age", formatAge(age));
    bar.dataset.missing = "false";
    bar.dataset.stale = String(stale);
    out.dataset.ageS = String(Math.round(age / 1000));
    out.dataset.fetched = String(Math.min(state.trust.fetched, state.trust.statusFetched ?? state.trust.fetched));
  }
  if (state.syncError) msg += " · " + t("syncFailed", state.syncError);
  out.textContent = msg;
}

// ---- verification ------------------------------------------------------

function selectedPurpose() {
  return state.purposes.find((p) => p.id === $("purpose").value) || null;
}

function renderPurposes() {
  const sel = $("purpose");
  const current = sel.value;
  sel.replaceChildren(...state.purposes.map((p) =>
    el("option", { value: p.id }, text(p.title) + (p.allowed ? "" : (lang() === "en" ? " (refused)" : "（不接受）")))));
  if (state.purposes.some((p) => p.id === current)) sel.value = current;
  renderPurposeNote();
}

function renderPurposeNote() {
  const p = selectedPurpose(), note = $("purpose-note");
  if (p && !p.allowed) {
    note.textContent = t("refused") + text(p.refusal);
    note.hidden = false;
  } else {
    note.hidden = true;
  }
}

function verifyText(raw) {
  const code = String(raw || "").trim();
  if (!code || !state.ep) return null;
  state.lastText = code;
  const now = Date.now();
  let r;
  try {
    r = state.ep.verify(code, $("purpose").value, now);
  } catch (e) {
    r = { ok: false, error: String(e && e.message || e) };
  }
  if (!r || typeof r.valid !== "boolean") {
    r = { valid: false, reasons: [{ code: (r && r.code) || "malformed", zh: t("badInput", r && r.error), en: t("badInput", r && r.error) }], warnings: [] };
  }
  state.lastResult = r;
  state.lastCheckedAt = now;
  renderResult();
  renderAge();
  return r;
}

function statusText(s) {
  return { valid: t("statusValid"), revoked: t("statusRevoked"), suspended: t("statusSuspended") }[s] || "";
}

function renderResult() {
  const r = state.lastResult;
  if (!r) return;
  const c = r.claims || {};
  const v = $("verdict");
  v.dataset.valid = String(r.valid === true);
  v.replaceChildren(el("span", { class: "big" }, (r.valid ? "✓ " : "✗ ") + t(r.valid ? "valid" : "invalid")));
  if (c.name) v.append(el("span", { class: "name" }, c.name));

  const live = $("live"), hb = $("holder-bound");
  live.dataset.on = String(r.fresh === true);
  live.textContent = (r.fresh ? "● " : "○ ") + t(r.fresh ? "live" : "notLive");
  hb.dataset.on = String(r.holder_bound === true);
  hb.textContent = (r.holder_bound ? "● " : "○ ") + t(r.holder_bound ? "bound" : "notBound");

  const issuerName = r.issuer ? (lang() === "en" ? r.issuer.name_en || r.issuer.name_zh : r.issuer.name_zh || r.issuer.name_en) || r.issuer.iss : "";
  const rows = [
    ["name", c.name], ["maskedId", c.masked_id], ["citizenId", c.citizen_id], ["ethnicity", c.ethnicity && ethnicityName(c.ethnicity)],
    ["region", c.region && placeName(c.region)], ["validUntil", formatDate(c.expires ?? c.valid_until)], ["permitNo", c.permit_no],
    ["residenceAddress", c.residence_address], ["householdAddress", c.household_address],
    ["residenceSince", c.residence_since], ["basis", Array.isArray(c.basis) ? c.basis.join(", ") : c.basis],
    ["issuer", issuerName], ["status", statusText(r.status)],
  ];
  const dl = $("fields");
  dl.replaceChildren();
  for (const [k, val] of rows) {
    if (val === undefined || val === null || val === "") continue;
    dl.append(el("dt", {}, t(k)), el("dd", { "data-field": k }, String(val)));
  }

  const ul = $("reasons");
  ul.replaceChildren();
  const add = (list, kind) => {
    for (const x of list || []) {
      const words = (lang() === "en" ? x.en || x.zh : x.zh || x.en) || x.code;
      ul.append(el("li", { "data-code": x.code, "data-kind": kind }, words, x.detail ? el("small", {}, x.detail) : null));
    }
  };
  add(r.reasons, "reason");
  add(r.warnings, "warning");

  renderPortrait(r);
  $("checked-at").textContent = t("checkedAt", new Date(state.lastCheckedAt).toLocaleTimeString(lang() === "en" ? "en-GB" : "zh-CN"));
  $("result").hidden = false;
  $("result").scrollIntoView({ block: "nearest", behavior: "smooth" });
}

// ---- the holder's portrait ---------------------------------------------

function b64url(buf) {
  let s = "";
  for (const b of new Uint8Array(buf)) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/**
 * loadPortrait fetches the photo of permit no from the issuer under the
 * official's console session and keeps it only if its SHA-256 is digest.
 */
async function loadPortrait(p, no, digest) {
  const set = (st, extra = {}) => {
    if (state.portrait !== p) return; // another code is on screen
    Object.assign(p, { state: st }, extra);
    if (state.lastResult) renderPortrait(state.lastResult);
  };
  let r;
  try {
    r = await fetch("/v1/permits/" + encodeURIComponent(no) + "/photo", { credentials: "same-origin", cache: "no-store" });
  } catch {
    set("offline");
    return;
  }
  if (r.status === 401 || r.status === 403) {
    set("login");
    return;
  }
  if (!r.ok) {
    let words = "HTTP " + r.status;
    try {
      const b = await r.json();
      words = text({ zh: b.message_zh, en: b.message }) || b.error || words;
    } catch { /* not JSON */ }
    set("unavailable", { detail: words });
    return;
  }
  const body = await r.arrayBuffer();
  const sum = b64url(await crypto.subtle.digest("SHA-256", body));
  if (sum !== digest) {
    set("mismatch");
    return;
  }
  const url = URL.createObjectURL(new Blob([body], { type: r.headers.get("Content-Type") || "image/jpeg" }));
  if (state.portrait !== p) {
    URL.revokeObjectURL(url);
    return;
  }
  set("ok", { url });
}

function renderPortrait(r) {
  const fig = $("portrait"), img = $("portrait-img"), note = $("portrait-note");
  const c = r.claims || {};
  const wanted = PORTRAIT_PURPOSES.has(r.purpose) && !!c.permit_no;
  const key = wanted ? `${c.permit_no} ${c.photo_sha256 || ""}` : "";
  if (!state.portrait || state.portrait.key !== key) {
    if (state.portrait && state.portrait.url) URL.revokeObjectURL(state.portrait.url);
    state.portrait = key ? { key, state: "checking" } : null;
    if (key && !c.photo_sha256) state.portrait.state = "none";
    else if (key && navigator.onLine === false) state.portrait.state = "offline";
    else if (key) loadPortrait(state.portrait, c.permit_no, c.photo_sha256);
  }
  const p = state.portrait;
  // Offline or a wrong photo: the verdict itself says the portrait is unchecked.
  const v = $("verdict");
  v.querySelector(".portrait-warning")?.remove();
  if (p && (p.state === "offline" || p.state === "mismatch")) {
    v.append(el("span", { class: "portrait-warning" }, "⚠ " + t(p.state === "offline" ? "portraitOffline" : "portraitMismatch")));
  }
  fig.hidden = !p;
  if (!p) {
    img.hidden = true;
    img.removeAttribute("src");
    return;
  }
  fig.dataset.state = p.state;
  img.hidden = p.state !== "ok";
  if (p.state === "ok") {
    img.src = p.url;
    img.alt = t("portrait");
  } else img.removeAttribute("src");
  note.textContent = {
    checking: t("portraitChecking"), ok: t("portraitOk"), mismatch: t("portraitMismatch"), offline: t("portraitOffline"),
    login: t("portraitLogin"), unavailable: t("portraitUnavailable", p.detail || ""), none: t("portraitNone"),
  }[p.state] || "";
  if (p.state === "login") note.append(" ", el("a", { href: "../officer/", target: "_blank", rel: "noopener" }, "→"));
}

// Back from logging in at the console (another tab): fetch the photo again.
window.addEventListener("focus", () => {
  if (state.portrait && (state.portrait.state === "login" || state.portrait.state === "offline") && state.lastResult) {
    state.portrait.key = "";
    renderResult();
  }
});

// ---- inputs ------------------------------------------------------------

let camera = null;

function setScanStatus(msg) {
  $("scan-status").textContent = msg || "";
}

async function toggleCamera() {
  const btn = $("camera");
  if (camera && camera.running) {
    camera.stop();
    return;
  }
  camera = camera || new Camera(state.ep, $("video"), (code) => {
    setScanStatus("");
    if (navigator.vibrate) navigator.vibrate(60);
    verifyText(code);
  }, (s) => {
    if (s === "running") btn.textContent = t("cameraStop");
    if (s === "stopped") btn.textContent = t("cameraStart");
    if (s === "multiple_codes") setScanStatus(t("multiple"));
    btn.dataset.state = s === "multiple_codes" ? "running" : s;
  });
  try {
    await camera.start();
  } catch (e) {
    setScanStatus(t("cameraError", e && e.message || String(e)));
  }
}

async function onPhoto(ev) {
  const file = ev.target.files && ev.target.files[0];
  if (!file) return;
  setScanStatus(t("reading"));
  const r = await decodePhoto(state.ep, file);
  ev.target.value = "";
  if (!r.ok) {
    setScanStatus(r.code === "multiple_codes" ? t("multiple") : r.code === "no_code" ? t("noCode") : t("badInput", r.error || r.code));
    document.body.dataset.photo = r.code || "error";
    return;
  }
  setScanStatus("");
  document.body.dataset.photo = "ok";
  verifyText(r.text);
}

function bindUI() {
  $("lang").addEventListener("click", () => {
    setLang(lang() === "zh" ? "en" : "zh");
    renderText();
  });
  $("sync").addEventListener("click", () => sync());
  $("camera").addEventListener("click", toggleCamera);
  $("photo").addEventListener("change", onPhoto);
  $("code-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const input = $("code-text");
    const r = verifyText(input.value);
    if (r) input.value = "";
    input.focus();
  });
  $("purpose").addEventListener("change", () => {
    renderPurposeNote();
    // The same code, judged for the newly chosen purpose.
    if (state.lastText) verifyText(state.lastText);
  });
  window.addEventListener("online", () => sync());
  setInterval(renderAge, 15000);
  setInterval(() => { if (navigator.onLine !== false) sync(); }, AUTO_SYNC_EVERY_MS);
}

function renderText() {
  applyText(t);
  $("lang").textContent = lang() === "zh" ? "EN" : "中文";
  $("lang").setAttribute("aria-label", lang() === "zh" ? "English" : "中文");
  if (camera && camera.running) $("camera").textContent = t("cameraStop");
  if (state.ep) renderPurposes();
  renderResult();
  renderAge();
}

async function main() {
  setLang(lang());
  bindUI();
  renderText();
  $("data-age").textContent = t("loading");
  registerWorker();
  loadNames().then(() => renderResult());
  try {
    state.ep = await window.epermitReady;
  } catch (e) {
    const p = $("load-error");
    p.textContent = t("wasmError", e && e.message || String(e));
    p.hidden = false;
    document.body.dataset.ready = "error";
    return;
  }
  let stored = false;
  try {
    stored = await loadStored();
  } catch (e) {
    console.warn("stored trust data:", e);
  }
  state.purposes = state.ep.purposes() || [];
  renderPurposes();
  renderAge();
  if (!stored && navigator.onLine !== false) {
    // First visit: wait (a little) for the first sync so the app is usable at once.
    await Promise.race([sync(), new Promise((r) => setTimeout(r, FIRST_SYNC_WAIT_MS))]);
    state.purposes = state.ep.purposes() || state.purposes;
    renderPurposes();
  } else if (navigator.onLine !== false) {
    sync().then(() => {
      state.purposes = state.ep.purposes() || state.purposes;
      renderPurposes();
    });
  }
  document.body.dataset.ready = "true";
  $("code-text").focus();
}

window.epermitVerifier = { sync, verify: verifyText, state };
main();
