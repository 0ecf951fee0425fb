// wallet.js: the resident's web wallet. It accepts a credential offer
// (OpenID4VCI pre-authorized code flow) from an issuer the trust list of
// its own site names (checked against the root key's pin, kept from first
// use), keeps the permits (by issuer and permit number) and a
// non-extractable WebCrypto device key in IndexedDB, and shows the permit
// as a live QR code re-signed every 30 seconds. The device key is Ed25519
// where the browser has it, and ECDSA P-256 otherwise; the page says which.
// Signing, checking and QR encoding are the project's Go code running as
// WebAssembly (window.epermitReady).

import { open } from "../app/idb.js";
import { Camera, decodePhoto } from "../app/scan.js";
import { applyText, el, formatDate, lang, registerWorker, setLang, text, translator } from "../app/ui.js";

const REFRESH_S = 30;
const PRE_AUTH_GRANT = "urn:ietf:params:oauth:grant-type:pre-authorized_code";
const MAX_RESPONSE = 1 << 20;

const t = translator({
  title: { zh: "电子居住证", en: "e-Residence Permit" },
  permitTitle: { zh: "居住证", en: "Residence permit" },
  choosePermit: { zh: "选择居住证", en: "Choose a permit" },
  presentTitle: { zh: "出示二维码", en: "Show the code" },
  purpose: { zh: "出示用途", en: "Purpose" },
  discloses: { zh: "此用途将出示：", en: "This purpose shows:" },
  showCode: { zh: "同意出示并显示二维码", en: "Agree and show the code" },
  qrLabel: { zh: "居住证二维码", en: "Residence permit QR code" },
  countdownPre: { zh: "", en: "New code in " },
  countdownPost: { zh: " 秒后刷新", en: " s" },
  offerTitle: { zh: "领取居住证", en: "Receive a permit" },
  offerHelp: { zh: "扫描窗口出示的领取二维码，或打开领取链接。", en: "Scan the offer code shown at the counter, or open the offer link." },
  cameraStart: { zh: "扫描领取码", en: "Scan offer code" },
  cameraStop: { zh: "关闭相机", en: "Stop camera" },
  photo: { zh: "选择照片", en: "Choose photo" },
  offerPlaceholder: { zh: "或粘贴领取链接", en: "or paste the offer link" },
  accept: { zh: "领取", en: "Receive" },
  refused: { zh: "不能出示：", en: "Cannot be shown: " },
  name: { zh: "姓名", en: "Name" },
  id: { zh: "身份证号", en: "Citizen ID" },
  showId: { zh: "显示完整号码", en: "show full number" },
  hideId: { zh: "隐藏", en: "hide" },
  region: { zh: "居住地", en: "Residence region" },
  permitNo: { zh: "居住证号", en: "Permit no." },
  validUntil: { zh: "有效期至", en: "Valid until" },
  issuer: { zh: "签发机关", en: "Issued by" },
  daysUntil: { zh: (n) => `距年度签注还有 ${n} 天`, en: (n) => `${n} days until the yearly endorsement` },
  inWindow: { zh: (d) => `签注期已开始，请在 ${d} 前签注`, en: (d) => `Endorsement is due: endorse before ${d}` },
  overdue: { zh: "已逾期未签注：居住证暂停使用，签注后恢复", en: "Endorsement overdue: the permit is suspended until endorsed" },
  stepMeta: { zh: "读取签发机关信息…", en: "Reading the issuer's metadata…" },
  stepToken: { zh: "兑换领取码…", en: "Redeeming the offer code…" },
  stepKey: { zh: "生成设备密钥…", en: "Creating the device key…" },
  stepProof: { zh: "证明持有设备密钥…", en: "Proving possession of the device key…" },
  stepCredential: { zh: "领取居住证…", en: "Receiving the permit…" },
  stepCheck: { zh: "核对签发机关签名…", en: "Checking the issuer's signature…" },
  done: { zh: (n) => `已领取居住证 ${n}`, en: (n) => `Permit ${n} received` },
  failed: { zh: (m) => `领取失败：${m}`, en: (m) => `Could not receive the permit: ${m}` },
  notOffer: { zh: "这不是居住证领取码", en: "This is not a permit offer" },
  noCode: { zh: "照片中未找到二维码", en: "No code found in the photo" },
  cameraError: { zh: (m) => `无法打开相机：${m}`, en: (m) => `Cannot start the camera: ${m}` },
  wasmError: { zh: (m) => `模块加载失败：${m}`, en: (m) => `The module did not load: ${m}` },
  noDeviceKey: { zh: "此浏览器无法生成设备密钥", en: "This browser cannot create a device key" },
  deviceKey: { zh: "设备密钥", en: "Device key" },
  keyDesc: { zh: (a) => `${a}（不可导出，仅存于本设备）`, en: (a) => `${a} (non-extractable, on this device only)` },
  stepTrust: { zh: "核对信任列表…", en: "Checking the trust list…" },
  noTrust: { zh: (m) => `无法取得本站的信任列表：${m}`, en: (m) => `Cannot get this site's trust list: ${m}` },
  pinChanged: { zh: "本站的根密钥与首次使用时不同，拒绝领取", en: "This site's root key differs from the one first seen: refused" },
  untrusted: { zh: (i) => `签发机关 ${i} 不在本站的信任列表中，拒绝领取（可能是钓鱼链接）`, en: (i) => `The issuer ${i} is not in this site's trust list: refused (this may be a phishing link)` },
  otherIssuer: { zh: "已持有其他签发机关签发的同号居住证，拒绝领取", en: "A permit with this number from another issuer is held already: refused" },
  presentError: { zh: (m) => `无法生成二维码：${m}`, en: (m) => `Cannot make the code: ${m}` },
  txCode: { zh: "请输入窗口提供的交易码", en: "Enter the transaction code given at the counter" },
});

const $ = (id) => document.getElementById(id);
const db = open("epermit-wallet", ["kv", "creds"]);

const state = {
  ep: null,
  purposes: [],
  device: null, // {keyPair, publicRaw: Uint8Array, alg: "Ed25519" | "ECDSA P-256"}
  creds: [], // [{permit_no, credential, entry, iss, jwks, added}], kept under [iss, permit_no]
  current: null, // credId of the permit shown
  consented: "", // purpose id the resident agreed to show
  showFullId: false,
  qr: { generatedAt: 0, seq: 0, timer: 0, purpose: "" },
};

const api = { lastPresentation: "", state, accept: acceptOffer };
window.epermitWallet = api;

// ---- device key --------------------------------------------------------

/** keyAlg names the algorithm of a stored key pair. */
function keyAlg(keyPair) {
  const a = keyPair && keyPair.privateKey && keyPair.privateKey.algorithm;
  return a && a.name === "ECDSA" ? "ECDSA " + a.namedCurve : "Ed25519";
}

async function deviceKey(create) {
  if (state.device) return state.device;
  const held = await db.get("kv", "device");
  if (held && held.keyPair && held.publicRaw) {
    state.device = { keyPair: held.keyPair, publicRaw: new Uint8Array(held.publicRaw), alg: keyAlg(held.keyPair) };
    return state.device;
  }
  if (!create) return null;
  const keyPair = await newKeyPair();
  const publicRaw = new Uint8Array(await crypto.subtle.exportKey("raw", keyPair.publicKey));
  await db.put("kv", "device", { keyPair, publicRaw, created: Date.now() });
  state.device = { keyPair, publicRaw, alg: keyAlg(keyPair) };
  return state.device;
}

/**
 * newKeyPair makes the non-extractable device key: Ed25519 where the
 * browser has it, and otherwise ECDSA P-256, which every browser has and
 * which is the key phones keep in secure hardware.
 */
async function newKeyPair() {
  try {
    return await crypto.subtle.generateKey({ name: "Ed25519" }, false, ["sign", "verify"]);
  } catch (e) {
    console.info("no Ed25519 WebCrypto keys here; the device key is ECDSA P-256:", e && e.message || e);
  }
  try {
    return await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign", "verify"]);
  } catch (e) {
    throw new Error(t("noDeviceKey") + " (" + (e && e.message || e) + ")");
  }
}

// ---- trust -------------------------------------------------------------

/**
 * siteTrust loads the trust list of the site this wallet was served from
 * into the WebAssembly session, verified against the site's root key pin.
 * The pin is kept from first use, so that a site that later names another
 * root (a compromised or impersonated server) is refused; a list older
 * than the one held is refused as a rollback. It resolves to the trust
 * list's info.
 */
async function siteTrust() {
  let conf, jwt;
  try {
    conf = await call("/verify/config.json");
    if (typeof conf.pin !== "string" || !conf.pin || typeof conf.trust_list !== "string") throw new Error("no pin or trust list in /verify/config.json");
    const r = await fetch(new URL(conf.trust_list, location.href), { cache: "no-store" });
    if (!r.ok) throw new Error("HTTP " + r.status);
    jwt = (await r.text()).trim();
  } catch (e) {
    throw new Error(t("noTrust", e && e.message || String(e)));
  }
  const held = (await db.get("kv", "trust")) || {};
  if (held.pin && held.pin !== conf.pin) throw new Error(t("pinChanged"));
  const chk = state.ep.checkTrust(jwt, conf.pin, held.version || 0);
  if (!chk || !chk.ok) throw new Error(t("noTrust", (chk && (chk.error || chk.code)) || "?"));
  const info = state.ep.loadTrust(jwt, conf.pin, Date.now());
  if (!info || !info.ok) throw new Error(t("noTrust", (info && (info.error || info.code)) || "?"));
  await db.put("kv", "trust", { pin: conf.pin, version: info.version, jwt, fetched: Date.now() });
  return info;
}

/** loadHeldTrust loads the trust list kept from the last accept, for the purpose policy when offline. */
async function loadHeldTrust() {
  const held = await db.get("kv", "trust");
  if (held && held.jwt && held.pin) state.ep.loadTrust(held.jwt, held.pin, held.fetched || Date.now());
}

/** credId identifies a stored permit: its issuer and its number. */
function credId(c) {
  return c.iss + " " + c.permit_no;
}

// ---- the offer ---------------------------------------------------------

/** offerURI finds an offer URI in scanned or pasted text: the offer itself or a wallet link carrying ?offer=. */
function offerURI(s) {
  s = String(s || "").trim();
  if (/[?&]credential_offer(_uri)?=/.test(s)) return s;
  try {
    const u = new URL(s, location.href);
    const inner = u.searchParams.get("offer");
    if (inner && /[?&]credential_offer(_uri)?=/.test(inner)) return inner;
  } catch { /* not a URL */ }
  return "";
}

function parseOffer(uri) {
  const q = uri.slice(uri.indexOf("?") + 1).split("#")[0];
  const params = new URLSearchParams(q);
  if (params.has("credential_offer_uri")) throw new Error("offers by reference are not supported");
  const raw = params.getAll("credential_offer");
  if (raw.length !== 1) throw new Error("no credential_offer in the link");
  let o;
  try { o = JSON.parse(raw[0]); } catch { throw new Error("the offer is not JSON"); }
  const iss = o && o.credential_issuer;
  let u;
  try { u = new URL(iss); } catch { throw new Error("credential_issuer is not a URL"); }
  if ((u.protocol !== "https:" && u.protocol !== "http:") || u.search || u.hash || u.username) {
    throw new Error("credential_issuer " + JSON.stringify(iss) + " is not an https URL");
  }
  // This wallet takes offers from the service that serves it, and no other:
  // a link to someone else's "issuer" would otherwise put a credential of
  // theirs in place of the resident's.
  if (u.origin !== location.origin) {
    throw new Error("this wallet accepts offers from " + location.origin + " only, not " + u.origin);
  }
  const ids = o.credential_configuration_ids;
  if (!Array.isArray(ids) || ids.length === 0 || ids.some((x) => typeof x !== "string" || !x)) {
    throw new Error("credential_configuration_ids is empty");
  }
  const g = o.grants && o.grants[PRE_AUTH_GRANT];
  if (!g || typeof g["pre-authorized_code"] !== "string" || !g["pre-authorized_code"]) {
    throw new Error("no pre-authorized code in the offer");
  }
  return { iss, configurationId: ids[0], code: g["pre-authorized_code"], txCode: g.tx_code || null };
}

/** wellKnown builds a metadata URL as RFC 8414 §3 does: /.well-known/<suffix> before the issuer's path. */
function wellKnown(iss, suffix) {
  const u = new URL(iss);
  return u.origin + "/.well-known/" + suffix + u.pathname.replace(/\/$/, "");
}

async function call(url, init = {}) {
  const u = new URL(url, location.href);
  if (u.protocol !== "https:" && u.protocol !== "http:") throw new Error(JSON.stringify(url) + " is not an http(s) URL");
  const r = await fetch(u, { cache: "no-store", ...init });
  const body = await r.text();
  if (body.length > MAX_RESPONSE) throw new Error(u.pathname + ": answer too large");
  let json = null;
  try { json = JSON.parse(body); } catch { /* not JSON */ }
  if (!r.ok) {
    if (json && json.error) throw new Error(json.error + (json.error_description ? ": " + json.error_description : ""));
    if (json && json.message) throw new Error(json.message);
    throw new Error(u.pathname + ": HTTP " + r.status);
  }
  if (json === null) throw new Error(u.pathname + ": the answer is not JSON");
  return json;
}

function setOfferStatus(msg, s) {
  const p = $("offer-status");
  p.textContent = msg;
  p.dataset.state = s;
}

let accepting = null;

/** acceptOffer runs the whole pre-authorized code flow and stores the permit. */
function acceptOffer(input) {
  if (accepting) return accepting;
  accepting = doAccept(input).then((entry) => {
    setOfferStatus(t("done", entry.permit_no), "done");
    return entry;
  }, (e) => {
    console.warn("accept:", e);
    setOfferStatus(t("failed", e && e.message || String(e)), "error");
    return null;
  }).finally(() => { accepting = null; });
  return accepting;
}

async function doAccept(input) {
  const uri = offerURI(input);
  if (!uri) throw new Error(t("notOffer"));
  const o = parseOffer(uri);

  // The issuer must be one the trust list of this site names; its keys
  // there, not any it publishes itself, check the credential.
  setOfferStatus(t("stepTrust"), "working");
  await siteTrust();
  const ik = state.ep.issuerKeys(o.iss, Date.now());
  if (!ik || !ik.ok) throw new Error(t("untrusted", o.iss));

  setOfferStatus(t("stepMeta"), "working");
  const [meta, as] = await Promise.all([
    call(wellKnown(o.iss, "openid-credential-issuer")),
    call(wellKnown(o.iss, "oauth-authorization-server")),
  ]);
  if (meta.credential_issuer !== o.iss || as.issuer !== o.iss || !meta.credential_endpoint || !as.token_endpoint) {
    throw new Error("the issuer's metadata is published for another issuer than " + o.iss);
  }

  setOfferStatus(t("stepToken"), "working");
  const form = new URLSearchParams({ grant_type: PRE_AUTH_GRANT, "pre-authorized_code": o.code });
  if (o.txCode) {
    const tx = window.prompt(t("txCode") + (o.txCode.description ? "\n" + o.txCode.description : ""));
    if (!tx) throw new Error("no transaction code");
    form.set("tx_code", tx);
  }
  const tok = await call(as.token_endpoint, {
    method: "POST", headers: { "Content-Type": "application/x-www-form-urlencoded" }, body: form.toString() });
  if (!tok.access_token) throw new Error("the token endpoint gave no access token");

  setOfferStatus(t("stepKey"), "working");
  const dev = await deviceKey(true);

  setOfferStatus(t("stepProof"), "working");
  // The contract says a string; accept a {ok, jwt} result object as well.
  const pr = await state.ep.proof(dev.keyPair.privateKey, dev.publicRaw, o.iss, tok.c_nonce || "", Date.now());
  const proof = typeof pr === "string" ? pr : (pr && pr.ok && pr.jwt) || "";
  if (!proof) throw new Error("cannot sign the proof: " + (pr && (pr.error || pr.code) || "no proof"));

  setOfferStatus(t("stepCredential"), "working");
  const cr = await call(meta.credential_endpoint, {
    method: "POST",
    headers: { "Content-Type": "application/json", Authorization: "Bearer " + tok.access_token },
    body: JSON.stringify({ credential_configuration_id: o.configurationId, proofs: { jwt: [proof] } }),
  });
  const creds = Array.isArray(cr.credentials) ? cr.credentials : [];
  if (creds.length !== 1 || typeof creds[0].credential !== "string") {
    throw new Error(`${creds.length} credentials in the answer, want 1`);
  }
  const credential = creds[0].credential;

  setOfferStatus(t("stepCheck"), "working");
  const jwks = ik.jwks;
  const ins = state.ep.inspect(credential, jwks, dev.publicRaw, Date.now());
  if (!ins || !ins.ok) throw new Error((ins && (ins.error || ins.code)) || "the credential did not check");
  // The trust list's names of the authority, else those of its metadata.
  const names = { zh: ik.nameZH || "", en: ik.nameEN || "" };
  for (const d of Array.isArray(meta.display) ? meta.display : []) {
    const k = String(d && d.locale || "").startsWith("en") ? "en" : "zh";
    if (d && typeof d.name === "string" && !names[k]) names[k] = d.name;
  }
  if (ins.entry.issuer !== o.iss) throw new Error("the credential was issued by " + ins.entry.issuer + ", not by " + o.iss);
  // Permits are kept by issuer and number, and never replaced across
  // issuers: a phishing issuer's copy of the resident's number is refused.
  if (state.creds.some((c) => c.permit_no === ins.entry.permit_no && c.iss !== o.iss)) throw new Error(t("otherIssuer"));
  const rec = { permit_no: ins.entry.permit_no, credential, entry: ins.entry, iss: o.iss, issuerNames: names, jwks, added: Date.now() };
  await db.put("creds", [rec.iss, rec.permit_no], rec);
  state.creds = state.creds.filter((c) => credId(c) !== credId(rec)).concat(rec);
  state.current = credId(rec);
  try { localStorage.setItem("epermit.wallet.current", state.current); } catch { /* ignore */ }
  renderAll();
  return ins.entry;
}

// ---- the permit --------------------------------------------------------

function currentCred() {
  return state.creds.find((c) => credId(c) === state.current) || state.creds[0] || null;
}

/** fullID reads the holder's own full citizen ID from the credential's identity disclosure, for display only. */
function fullID(credential) {
  for (const part of credential.split("~").slice(1)) {
    if (!part) continue;
    try {
      const b64 = part.replace(/-/g, "+").replace(/_/g, "/");
      const bin = atob(b64 + "===".slice((b64.length + 3) % 4));
      const arr = JSON.parse(new TextDecoder().decode(Uint8Array.from(bin, (ch) => ch.charCodeAt(0))));
      if (Array.isArray(arr) && arr.length === 3 && arr[1] === "idn" && arr[2] && typeof arr[2].id === "string") return arr[2].id;
    } catch { /* not a disclosure */ }
  }
  return "";
}

function renderPermit() {
  const c = currentCred();
  const card = $("permit-card");
  if (!c) {
    card.hidden = true;
    $("present").hidden = true;
    return;
  }
  card.hidden = false;
  $("present").hidden = false;
  card.dataset.permitNo = c.permit_no;
  const e = c.entry;

  const sel = $("permit-select");
  sel.hidden = state.creds.length < 2;
  sel.replaceChildren(...state.creds.map((x) => el("option", { value: credId(x) }, `${x.entry.name} · ${x.permit_no}`)));
  sel.value = credId(c);

  const full = fullID(c.credential);
  const idDD = el("dd", { "data-field": "id" }, state.showFullId && full ? full : e.masked_id);
  if (full) {
    idDD.append(" ", el("button", { type: "button", class: "link", id: "toggle-id", onclick: () => {
      state.showFullId = !state.showFullId;
      renderPermit();
    } }, t(state.showFullId ? "hideId" : "showId")));
  }
  $("permit-fields").replaceChildren(
    el("dt", {}, t("name")), el("dd", { "data-field": "name" }, e.name),
    el("dt", {}, t("id")), idDD,
    el("dt", {}, t("region")), el("dd", { "data-field": "region" }, e.region),
    el("dt", {}, t("permitNo")), el("dd", { "data-field": "permit_no" }, e.permit_no),
    el("dt", {}, t("validUntil")), el("dd", { "data-field": "expires" }, formatDate(e.expires)),
    el("dt", {}, t("issuer")), el("dd", { "data-field": "issuer" }, issuerName(c)),
    el("dt", {}, t("deviceKey")), el("dd", { "data-field": "device_key", "data-alg": state.device ? state.device.alg : "" },
      state.device ? t("keyDesc", state.device.alg) : ""),
  );

  const p = $("endorsement");
  p.dataset.days = String(e.days_until_window ?? "");
  if (e.overdue) {
    p.className = "note bad";
    p.textContent = t("overdue");
  } else if (e.in_window) {
    p.className = "note warn";
    p.textContent = t("inWindow", formatDate(e.expires));
  } else {
    p.className = "note ok";
    p.textContent = t("daysUntil", e.days_until_window);
  }
}

function issuerName(c) {
  return text(c.issuerNames) || c.entry.issuer || c.iss || "";
}

// ---- presenting --------------------------------------------------------

function selectedPurpose() {
  return state.purposes.find((p) => p.id === $("purpose").value) || null;
}

function renderPurposes() {
  const sel = $("purpose");
  const current = sel.value || "";
  sel.replaceChildren(...state.purposes.map((p) =>
    el("option", { value: p.id }, text(p.title) + (p.allowed ? "" : (lang() === "en" ? " (not allowed)" : "（不可用）")))));
  if (state.purposes.some((p) => p.id === current)) sel.value = current;
}

/** needsConsent reports whether a purpose discloses more than the fields always shown. */
function needsConsent(p) {
  return (p.required || []).length > 0;
}

function renderPresent() {
  const p = selectedPurpose();
  const cred = currentCred();
  const fields = p ? ((p.fields && (p.fields[lang()] || p.fields.zh)) || []) : [];
  $("disclosed-fields").replaceChildren(...fields.map((f) => el("li", {}, f)));
  const refusal = $("refusal"), btn = $("show-code");
  if (!p || !cred) {
    stopQR();
    return;
  }
  if (!p.allowed) {
    refusal.textContent = t("refused") + text(p.refusal);
    refusal.hidden = false;
    btn.hidden = true;
    stopQR();
    return;
  }
  refusal.hidden = true;
  if (needsConsent(p) && state.consented !== p.id) {
    btn.hidden = false;
    stopQR();
    return;
  }
  btn.hidden = true;
  if (state.qr.purpose !== p.id + "|" + credId(cred) || !state.qr.timer) startQR();
}

function stopQR() {
  clearInterval(state.qr.timer);
  state.qr.timer = 0;
  state.qr.purpose = "";
  state.qr.seq++;
  $("qr").replaceChildren();
  $("qr-card").hidden = true;
  api.lastPresentation = "";
}

function startQR() {
  stopQR();
  const p = selectedPurpose(), cred = currentCred();
  if (!p || !cred) return;
  state.qr.purpose = p.id + "|" + credId(cred);
  $("qr-card").hidden = false;
  generate();
  state.qr.timer = setInterval(tick, 1000);
}

function tick() {
  if (document.hidden) return;
  const left = REFRESH_S - Math.floor((Date.now() - state.qr.generatedAt) / 1000);
  if (left <= 0) {
    generate();
    return;
  }
  showCountdown(left);
}

function showCountdown(left) {
  const c = $("countdown");
  c.textContent = String(left);
  c.dataset.seconds = String(left);
  $("countdown-bar").style.width = (100 * left / REFRESH_S) + "%";
}

async function generate() {
  const seq = ++state.qr.seq;
  const p = selectedPurpose(), cred = currentCred();
  if (!p || !cred || !state.device) return;
  state.qr.generatedAt = Date.now();
  showCountdown(REFRESH_S);
  let r;
  try {
    r = await state.ep.present(state.device.keyPair.privateKey, state.device.publicRaw, cred.credential, p.id, "", "", Date.now());
  } catch (e) {
    r = { ok: false, error: String(e && e.message || e) };
  }
  if (seq !== state.qr.seq) return; // superseded
  if (!r || !r.ok) {
    $("qr").replaceChildren(el("p", { class: "note bad" }, t("presentError", r && (r.error || r.code))));
    api.lastPresentation = "";
    return;
  }
  const q = state.ep.encodeQR(r.text, true);
  if (!q || !q.ok) {
    $("qr").replaceChildren(el("p", { class: "note bad" }, t("presentError", q && (q.error || q.code))));
    api.lastPresentation = "";
    return;
  }
  $("qr").innerHTML = q.svg;
  const svg = $("qr").querySelector("svg");
  if (svg) svg.setAttribute("aria-hidden", "true");
  $("qr").dataset.generated = String(state.qr.generatedAt);
  api.lastPresentation = r.text;
  state.qr.generatedAt = Date.now();
  showCountdown(REFRESH_S);
}

// ---- inputs and start --------------------------------------------------

let camera = null;

async function toggleCamera() {
  const btn = $("scan-offer");
  if (camera && camera.running) {
    camera.stop();
    return;
  }
  camera = camera || new Camera(state.ep, $("video"), (code) => {
    if (!offerURI(code)) {
      setOfferStatus(t("notOffer"), "error");
      return;
    }
    camera.stop();
    acceptOffer(code);
  }, (s) => {
    if (s === "running") btn.textContent = t("cameraStop");
    if (s === "stopped") btn.textContent = t("cameraStart");
  });
  try {
    await camera.start();
  } catch (e) {
    setOfferStatus(t("cameraError", e && e.message || String(e)), "error");
  }
}

async function onPhoto(ev) {
  const file = ev.target.files && ev.target.files[0];
  if (!file) return;
  const r = await decodePhoto(state.ep, file);
  ev.target.value = "";
  if (!r.ok) {
    setOfferStatus(r.code === "no_code" ? t("noCode") : t("failed", r.error || r.code), "error");
    return;
  }
  acceptOffer(r.text);
}

function renderAll() {
  applyText(t);
  $("lang").textContent = lang() === "zh" ? "EN" : "中文";
  $("lang").setAttribute("aria-label", lang() === "zh" ? "English" : "中文");
  if (camera && camera.running) $("scan-offer").textContent = t("cameraStop");
  if (!state.ep) return;
  renderPurposes();
  renderPermit();
  renderPresent();
}

function bindUI() {
  $("lang").addEventListener("click", () => {
    setLang(lang() === "zh" ? "en" : "zh");
    renderAll();
  });
  $("purpose").addEventListener("change", () => {
    renderPresent();
  });
  $("show-code").addEventListener("click", () => {
    const p = selectedPurpose();
    if (p) state.consented = p.id;
    renderPresent();
  });
  $("permit-select").addEventListener("change", () => {
    state.current = $("permit-select").value;
    state.showFullId = false;
    try { localStorage.setItem("epermit.wallet.current", state.current); } catch { /* ignore */ }
    renderPermit();
    renderPresent();
  });
  $("scan-offer").addEventListener("click", toggleCamera);
  $("offer-photo").addEventListener("change", onPhoto);
  $("offer-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const v = $("offer-text").value;
    acceptOffer(v).then((e) => { if (e) $("offer-text").value = ""; });
  });
  document.addEventListener("visibilitychange", () => {
    // A code older than its 30 s is replaced as soon as the page shows again.
    if (!document.hidden && state.qr.timer) tick();
  });
}

async function loadStored() {
  await deviceKey(false);
  try {
    await loadHeldTrust();
  } catch (e) {
    console.warn("held trust list:", e);
  }
  // Permits stored before they were kept by issuer were keyed by their
  // number alone: move them under [issuer, number].
  const ids = (await db.keys("creds")) || [];
  const puts = [], dels = [];
  for (const k of ids) {
    if (typeof k !== "string") continue;
    const r = await db.get("creds", k);
    if (r && r.iss && r.permit_no) puts.push([[r.iss, r.permit_no], r]);
    dels.push(k);
  }
  if (dels.length) await db.batch("creds", puts, dels);
  const recs = (await db.all("creds")) || [];
  for (const r of recs) {
    // Refresh the entry (days until endorsement) with the stored keys.
    if (state.device) {
      const ins = state.ep.inspect(r.credential, r.jwks, state.device.publicRaw, Date.now());
      if (ins && ins.ok) r.entry = ins.entry;
    }
  }
  state.creds = recs.sort((a, b) => a.added - b.added);
  let cur = null;
  try { cur = localStorage.getItem("epermit.wallet.current"); } catch { /* ignore */ }
  // A number alone was stored before permits were kept by issuer.
  const byCur = state.creds.find((c) => credId(c) === cur) || state.creds.find((c) => c.permit_no === cur);
  state.current = byCur ? credId(byCur) : (state.creds[0] && credId(state.creds[0])) || null;
}

async function main() {
  setLang(lang());
  bindUI();
  renderAll();
  registerWorker();
  try {
    state.ep = await window.epermitReady;
  } catch (e) {
    const p = $("load-error");
    p.textContent = t("wasmError", e && e.message || String(e));
    p.hidden = false;
    document.body.dataset.ready = "error";
    return;
  }
  try {
    await loadStored();
  } catch (e) {
    console.warn("stored permits:", e);
  }
  state.purposes = state.ep.purposes() || [];
  renderPurposes(); // starts at the policy's first purpose, the one that shows least
  renderPermit();
  renderPresent();
  document.body.dataset.ready = "true";

  const offer = new URLSearchParams(location.search).get("offer");
  if (offer) {
    // Drop the one-time code from the address so a reload does not reuse it.
    history.replaceState(null, "", location.pathname);
    await acceptOffer(offer);
  }
}

main();
