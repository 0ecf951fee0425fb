// wallet.js: the resident's web wallet. It accepts a credential offer
// (OpenID4VCI pre-authorized code flow) from an issuer the trust list of
// its own site names (checked against the root key's pin, kept from first
// use), keeps the permits (by issuer and permit number) and a
// non-extractable WebCrypto device key in IndexedDB, and shows the permit
// as a live QR code re-signed every 30 seconds. The device key is Ed25519
// where the browser has it, and ECDSA P-256 otherwise; the page says which.
//
// When online it reads each permit's entry in its issuer's status list
// (checked with the issuer's keys from the trust list) and keeps what it
// learnt with the time: a revoked or superseded permit shows no code and
// says what to do; a suspended one, or one overdue for its endorsement,
// says that verifiers refuse it and how it is restored. In the endorsement
// window, or when a newer credential exists, an "update" button fetches the
// endorsed credential (POST /credential/refresh with a proof of the device
// key) and replaces the one held. Every message is in Chinese and English.
// Signing, checking and QR encoding are the project's Go code running as
// WebAssembly (window.epermitReady).

import { open } from "../app/idb.js";
import { loadNames, placeName } from "../app/names.js";
import { Camera, decodePhoto } from "../app/scan.js";
import { applyText, el, formatAge, lang, registerWorker, setLang, text, toDate, translator } from "../app/ui.js";

const REFRESH_S = 30;
const PRE_AUTH_GRANT = "urn:ietf:params:oauth:grant-type:pre-authorized_code";
const MAX_RESPONSE = 1 << 20;
const MAX_STATUS_LIST = 8 << 20;
// How often the status is checked again while the page is open and online.
const RECHECK_MS = 10 * 60 * 1000;

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
  region: { zh: "居住地", en: "Residence" },
  permitNo: { zh: "居住证号", en: "Permit no." },
  validUntil: { zh: "有效期至", en: "Valid until" },
  issuer: { zh: "签发机关", en: "Issued by" },
  deviceKey: { zh: "设备密钥", en: "Device key" },
  keyDesc: { zh: (a) => `${a}（不可导出，仅存于本设备）`, en: (a) => `${a} (non-extractable, on this device only)` },

  // The permit's standing: a title and what to do.
  stValid: { zh: "有效", en: "Valid" },
  stDue: { zh: "请办理年度签注", en: "Endorsement due" },
  stOverdue: { zh: "逾期未签注，暂停使用", en: "Endorsement overdue: suspended" },
  stSuspended: { zh: "已暂停使用", en: "Suspended" },
  stRevoked: { zh: "已注销", en: "Revoked" },
  stSuperseded: { zh: "已被新证照取代", en: "Superseded" },
  stNotYet: { zh: "请检查设备时间", en: "Check the device clock" },
  daysUntil: {
    zh: (d, n) => `年度签注期自 ${d} 开始（还有 ${n} 天）。`,
    en: (d, n) => `The endorsement window opens on ${d} (in ${n} ${n === 1 ? "day" : "days"}).`,
  },
  inWindow: {
    zh: (d, n) => `年度签注期已开始：请在 ${d} 前到签发机关窗口办理签注（还有 ${n} 天），签注后点“更新居住证”。`,
    en: (d, n) => `The endorsement window is open: have the permit endorsed at the issuing authority's counter before ${d} (${n} ${n === 1 ? "day" : "days"} left), then press “Update the permit”.`,
  },
  overdue: {
    zh: (d) => `年度签注已于 ${d} 到期，居住证暂停使用，办理逾期签注后恢复（《居住证暂行条例》第十条）。核验时会被拒绝；请到签发机关窗口办理签注，签注后点“更新居住证”。`,
    en: (d) => `The yearly endorsement was due on ${d}: the permit is suspended until a late endorsement restores it (Art. 10 of the Interim Regulations), and verifiers refuse it. Have it endorsed at the issuing authority's counter, then press “Update the permit”.`,
  },
  suspended: {
    zh: "签发机关已暂停此居住证的使用，核验时会被拒绝，直到签发机关恢复。请联系签发机关了解原因。二维码仍可出示，供窗口查询。",
    en: "The issuing authority suspended the permit: verifiers refuse it until the authority reinstates it. Contact the issuing authority to learn why. The code can still be shown, for the counter to find the permit.",
  },
  notYet: {
    zh: (d) => `居住证签发于 ${d}，晚于本机日期：请检查设备时间。`,
    en: (d) => `The permit was issued on ${d}, after this device's date: check the device clock.`,
  },
  noCode: { zh: (w) => `不显示二维码：此居住证${w}，核验时会被拒绝（见上方说明）。`, en: (w) => `No code is shown: the permit is ${w} and verifiers refuse it (see above).` },
  codeWarning: { zh: "出示时会被核验拒绝：", en: "Verifiers refuse this code: " },

  // Where the status comes from.
  status: { zh: "状态", en: "Status" },
  stWord_valid: { zh: "有效", en: "valid" },
  stWord_revoked: { zh: "已注销", en: "revoked" },
  stWord_suspended: { zh: "已暂停使用", en: "suspended" },
  stWord_superseded: { zh: "已被新证照取代", en: "superseded" },
  stWord_unknown: { zh: "未知", en: "unknown" },
  checkedAt: { zh: (w, at, age) => `状态：${w}（${at} 查询，${age}）`, en: (w, at, age) => `Status: ${w} (checked ${at}, ${age})` },
  offlineSince: { zh: (w, at) => `状态：${w}（截至 ${at}；此后离线，未能查询）`, en: (w, at) => `Status: ${w} (as of ${at}; offline since then)` },
  neverChecked: { zh: "状态：尚未查询（需要联网）", en: "Status: not checked yet (needs the network)" },
  checking: { zh: "正在查询状态…", en: "Checking the status…" },
  checkStatus: { zh: "查询状态", en: "Check status" },

  // Refreshing the credential.
  refresh: { zh: "更新居住证", en: "Update the permit" },
  refreshing: { zh: "正在向签发机关查询…", en: "Asking the issuer…" },
  refreshed: { zh: (d) => `已更新：电子居住证有效期至 ${d}。`, en: (d) => `Updated: the permit is valid until ${d}.` },
  upToDate: { zh: "已向签发机关查询：尚未签注，电子居住证已是最新。", en: "Asked the issuer: not endorsed since; the permit is up to date." },
  refreshFailed: { zh: (m) => `更新失败：${m}`, en: (m) => `Not updated: ${m}` },
  refreshOther: { zh: "签发机关返回了另一张居住证，未采用。", en: "The issuer answered with another permit: not taken." },

  // Receiving a permit.
  stepMeta: { zh: "读取签发机关信息…", en: "Reading the issuer's metadata…" },
  stepToken: { zh: "兑换领取码…", en: "Redeeming the offer code…" },
  stepKey: { zh: "生成设备密钥…", en: "Creating the device key…" },
  stepProof: { zh: "证明持有设备密钥…", en: "Proving possession of the device key…" },
  stepCredential: { zh: "领取居住证…", en: "Receiving the permit…" },
  stepCheck: { zh: "核对签发机关签名…", en: "Checking the issuer's signature…" },
  stepTrust: { zh: "核对信任列表…", en: "Checking the trust list…" },
  done: { zh: (n) => `已领取居住证 ${n}`, en: (n) => `Permit ${n} received` },
  failed: { zh: (m) => `领取失败：${m}`, en: (m) => `Could not receive the permit: ${m}` },
  txCode: { zh: "请输入窗口提供的交易码", en: "Enter the transaction code given at the counter" },

  // What can go wrong.
  notOffer: { zh: "这不是居住证领取码。", en: "This is not a permit offer." },
  offerByRef: { zh: "此领取码需要另行下载领取信息，本钱包不支持。", en: "This offer must be fetched by reference, which this wallet does not support." },
  offerBad: { zh: "领取码内容不完整或有误。", en: "The offer is incomplete or malformed." },
  offerOrigin: {
    zh: (o) => `本钱包只接受 ${o} 签发的领取码，已拒绝（可能是钓鱼链接）。`,
    en: (o) => `This wallet accepts offers from ${o} only: refused (this may be a phishing link).`,
  },
  metaOther: { zh: "签发机关公布的信息与领取码不符，已拒绝。", en: "The issuer's published metadata does not match the offer: refused." },
  badAnswer: { zh: "签发机关的回答不完整，请稍后再试。", en: "The issuer's answer was incomplete: try again later." },
  noTx: { zh: "未输入交易码。", en: "No transaction code was entered." },
  noCodeInPhoto: { zh: "照片中未找到二维码。", en: "No code was found in the photo." },
  manyCodes: { zh: "照片中有不止一个二维码，请只拍领取码。", en: "The photo holds more than one code: photograph the offer code alone." },
  photoTooLarge: { zh: "照片太大，请换一张较小的照片。", en: "The photo is too large: choose a smaller one." },
  cameraError: { zh: (m) => `无法打开相机：${m}`, en: (m) => `Cannot start the camera: ${m}` },
  wasmError: { zh: (m) => `模块加载失败，请刷新页面：${m}`, en: (m) => `The module did not load; reload the page: ${m}` },
  noDeviceKey: { zh: "此浏览器无法生成设备密钥。", en: "This browser cannot create a device key." },
  noTrust: { zh: "无法取得本站的信任列表，请检查网络后重试。", en: "Cannot get this site's trust list: check the network and try again." },
  pinChanged: { zh: "本站的根密钥与首次使用时不同，已拒绝。", en: "This site's root key differs from the one first seen: refused." },
  untrusted: {
    zh: (i) => `签发机关 ${i} 不在本站的信任列表中，已拒绝（可能是钓鱼链接）。`,
    en: (i) => `The issuer ${i} is not in this site's trust list: refused (this may be a phishing link).`,
  },
  otherIssuer: { zh: "已持有其他签发机关签发的同号居住证，已拒绝。", en: "A permit with this number from another issuer is held already: refused." },
  presentError: { zh: (m) => `无法生成二维码：${m}`, en: (m) => `Cannot make the code: ${m}` },
  network: { zh: "无法连接签发机关，请检查网络后重试。", en: "The issuer could not be reached: check the network and try again." },
  httpError: { zh: (s) => `签发机关暂时无法处理（HTTP ${s}），请稍后再试。`, en: (s) => `The issuer could not answer (HTTP ${s}): try again later.` },
  issuerRefused: { zh: (c) => `签发机关拒绝了请求（${c}）。`, en: (c) => `The issuer refused the request (${c}).` },
  statusUnread: { zh: "状态列表核验未通过。", en: "The status list did not verify." },
  statusOlder: { zh: "收到的状态列表比已有的旧，未采用。", en: "The status list received is older than the one read before: not taken." },
  unexpected: { zh: (m) => `出现意外错误：${m}`, en: (m) => `Something unexpected went wrong: ${m}` },
});

const $ = (id) => document.getElementById(id);
const db = open("epermit-wallet", ["kv", "creds"]);

const state = {
  ep: null,
  purposes: [],
  device: null, // {keyPair, publicRaw: Uint8Array, alg: "Ed25519" | "ECDSA P-256"}
  // [{permit_no, credential, entry, iss, issuerNames, jwks, added,
  //   status: {uri, idx, status, listIssued, checked} | null}], kept under [iss, permit_no]
  creds: [],
  current: null, // credId of the permit shown
  consented: "", // purpose id the resident agreed to show
  showFullId: false,
  qr: { generatedAt: 0, seq: 0, timer: 0, purpose: "" },
  statusErr: {}, // credId → message of the last failed status check (not stored)
  checking: null, // the status check under way
  offerMsg: null, // {say, state} of the offer section, said again after a language switch
  refreshMsg: null, // {say, state, id} of the refresh
  refreshing: null,
  issuerDate: 0, // the issuer's clock in its last answer (ms), 0 before one
};

const api = { lastPresentation: "", state, accept: acceptOffer, refresh: () => refreshCred(currentCred()), checkStatus };
window.epermitWallet = api;

// ---- messages ----------------------------------------------------------

/**
 * Messages are kept as "say" functions that give the words in the current
 * language, so that a language switch says them again; an error carries
 * one as err.say.
 */
function fail(key, ...args) {
  const e = new Error(t(key, ...args));
  e.say = () => t(key, ...args);
  return e;
}

/** pairError is an error in the issuer's (or Go's) own two languages. */
function pairError(pair, code) {
  const e = new Error(pair.en || code);
  e.say = () => text(pair);
  e.code = code;
  return e;
}

/** codeWords are the wallet's words for an error code (package wallet's, through the module), or null. */
function codeWords(code) {
  const w = code && state.ep ? state.ep.walletText(code) : null;
  return w && w.ok ? { zh: w.zh, en: w.en } : null;
}

/** goError turns a failed result of the module into an error with words for its code. */
function goError(r) {
  const code = (r && r.code) || "internal";
  const pair = codeWords(code);
  if (pair) return pairError(pair, code);
  const e = fail("unexpected", (r && (r.error || r.code)) || "?");
  e.code = code;
  return e;
}

/** describe returns the say function for any error. */
function describe(e) {
  if (e && e.say) return e.say;
  if (e instanceof TypeError) return () => t("network"); // what fetch throws offline
  const m = String((e && e.message) || e);
  return () => t("unexpected", m);
}

// ---- dates -------------------------------------------------------------

/** ymd shows the calendar date of an instant in China time: 2027-11-27, in both languages. */
function ymd(v) {
  const d = toDate(v);
  return d ? d.toLocaleDateString("en-CA", { timeZone: "Asia/Shanghai", year: "numeric", month: "2-digit", day: "2-digit" }) : "";
}

/** ymdhm shows an instant as its date and hh:mm in China time. */
function ymdhm(v) {
  const d = toDate(v);
  if (!d) return "";
  return `${ymd(d)} ${d.toLocaleTimeString("en-GB", { timeZone: "Asia/Shanghai", hour: "2-digit", minute: "2-digit", hour12: false })}`;
}

/** issuerTime is the issuer's clock as its last answer gave it, else the device's: proofs are judged by the issuer's. */
function issuerTime() {
  return state.issuerDate || Date.now();
}

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
    console.warn("no device key:", e);
    throw fail("noDeviceKey");
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
    console.warn("trust list:", e);
    throw fail("noTrust");
  }
  const held = (await db.get("kv", "trust")) || {};
  if (held.pin && held.pin !== conf.pin) throw fail("pinChanged");
  const chk = state.ep.checkTrust(jwt, conf.pin, held.version || 0);
  const info = chk && chk.ok ? state.ep.loadTrust(jwt, conf.pin, Date.now()) : chk;
  if (!info || !info.ok) {
    console.warn("trust list:", info);
    throw fail("noTrust");
  }
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

/** keep stores a permit's record and puts it in the list in place of the one it replaces. */
async function keep(rec) {
  await db.put("creds", [rec.iss, rec.permit_no], rec);
  state.creds = state.creds.filter((c) => credId(c) !== credId(rec)).concat(rec).sort((a, b) => a.added - b.added);
}

// ---- talking to the issuer ---------------------------------------------

/**
 * call fetches a JSON answer. A refusal becomes an error with words for the
 * resident: the service's own in both languages (message_zh), else the
 * wallet's for its OAuth code; err.code and err.status say which.
 */
async function call(url, init = {}) {
  const u = new URL(url, location.href);
  if (u.protocol !== "https:" && u.protocol !== "http:") throw fail("badAnswer");
  const r = await fetch(u, { cache: "no-store", ...init });
  const date = Date.parse(r.headers.get("Date") || "");
  if (!isNaN(date)) state.issuerDate = date;
  const body = await r.text();
  if (body.length > MAX_RESPONSE) throw fail("badAnswer");
  let json = null;
  try { json = JSON.parse(body); } catch { /* not JSON */ }
  if (!r.ok) {
    let e;
    if (json && typeof json.message_zh === "string" && json.message_zh) {
      e = pairError({ zh: json.message_zh, en: json.message || json.error }, json.error);
    } else if (json && typeof json.error === "string") {
      const words = codeWords(json.error);
      e = words ? pairError(words, json.error) : fail("issuerRefused", json.error);
      e.code = json.error;
    } else {
      e = fail("httpError", r.status);
    }
    e.status = r.status;
    console.warn(u.pathname, r.status, json || body.slice(0, 200));
    throw e;
  }
  if (json === null) throw fail("badAnswer");
  return json;
}

function setOfferStatus(say, s) {
  state.offerMsg = say ? { say, state: s } : null;
  const p = $("offer-status");
  p.textContent = say ? say() : "";
  p.dataset.state = s;
}

/** step says where the offer flow is. */
function step(key) {
  setOfferStatus(() => t(key), "working");
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
  if (params.has("credential_offer_uri")) throw fail("offerByRef");
  const raw = params.getAll("credential_offer");
  if (raw.length !== 1) throw fail("offerBad");
  let o;
  try { o = JSON.parse(raw[0]); } catch { throw fail("offerBad"); }
  const iss = o && o.credential_issuer;
  let u;
  try { u = new URL(iss); } catch { throw fail("offerBad"); }
  if ((u.protocol !== "https:" && u.protocol !== "http:") || u.search || u.hash || u.username) throw fail("offerBad");
  // This wallet takes offers from the service that serves it, and no other:
  // a link to someone else's "issuer" would otherwise put a credential of
  // theirs in place of the resident's.
  if (u.origin !== location.origin) throw fail("offerOrigin", location.origin);
  const ids = o.credential_configuration_ids;
  if (!Array.isArray(ids) || ids.length === 0 || ids.some((x) => typeof x !== "string" || !x)) throw fail("offerBad");
  const g = o.grants && o.grants[PRE_AUTH_GRANT];
  if (!g || typeof g["pre-authorized_code"] !== "string" || !g["pre-authorized_code"]) throw fail("offerBad");
  return { iss, configurationId: ids[0], code: g["pre-authorized_code"], txCode: g.tx_code || null };
}

/** wellKnown builds a metadata URL as RFC 8414 §3 does: /.well-known/<suffix> before the issuer's path. */
function wellKnown(iss, suffix) {
  const u = new URL(iss);
  return u.origin + "/.well-known/" + suffix + u.pathname.replace(/\/$/, "");
}

/** sign makes the OpenID4VCI proof of the device key over nonce, dated by the issuer's clock. */
async function sign(dev, iss, nonce) {
  // The contract says a string; accept a {ok, jwt} result object as well.
  let pr;
  try {
    pr = await state.ep.proof(dev.keyPair.privateKey, dev.publicRaw, iss, nonce || "", issuerTime());
  } catch (e) {
    throw goError(e);
  }
  const proof = typeof pr === "string" ? pr : (pr && pr.ok && pr.jwt) || "";
  if (!proof) throw goError(pr);
  return proof;
}

let accepting = null;

/** acceptOffer runs the whole pre-authorized code flow and stores the permit. */
function acceptOffer(input) {
  if (accepting) return accepting;
  accepting = doAccept(input).then((entry) => {
    setOfferStatus(() => t("done", entry.permit_no), "done");
    checkStatus();
    return entry;
  }, (e) => {
    console.warn("accept:", e);
    const why = describe(e);
    setOfferStatus(() => t("failed", why()), "error");
    return null;
  }).finally(() => { accepting = null; });
  return accepting;
}

async function doAccept(input) {
  const uri = offerURI(input);
  if (!uri) throw fail("notOffer");
  const o = parseOffer(uri);

  // The issuer must be one the trust list of this site names; its keys
  // there, not any it publishes itself, check the credential.
  step("stepTrust");
  await siteTrust();
  const ik = state.ep.issuerKeys(o.iss, Date.now());
  if (!ik || !ik.ok) throw fail("untrusted", o.iss);

  step("stepMeta");
  const [meta, as] = await Promise.all([
    call(wellKnown(o.iss, "openid-credential-issuer")),
    call(wellKnown(o.iss, "oauth-authorization-server")),
  ]);
  if (meta.credential_issuer !== o.iss || as.issuer !== o.iss || !meta.credential_endpoint || !as.token_endpoint) throw fail("metaOther");

  step("stepToken");
  const form = new URLSearchParams({ grant_type: PRE_AUTH_GRANT, "pre-authorized_code": o.code });
  if (o.txCode) {
    const tx = window.prompt(t("txCode") + (o.txCode.description ? "\n" + o.txCode.description : ""));
    if (!tx) throw fail("noTx");
    form.set("tx_code", tx);
  }
  const tok = await call(as.token_endpoint, {
    method: "POST", headers: { "Content-Type": "application/x-www-form-urlencoded" }, body: form.toString() });
  if (!tok.access_token) throw fail("badAnswer");

  step("stepKey");
  const dev = await deviceKey(true);

  step("stepProof");
  const proof = await sign(dev, o.iss, tok.c_nonce);

  step("stepCredential");
  const cr = await call(meta.credential_endpoint, {
    method: "POST",
    headers: { "Content-Type": "application/json", Authorization: "Bearer " + tok.access_token },
    body: JSON.stringify({ credential_configuration_id: o.configurationId, proofs: { jwt: [proof] } }),
  });
  const credential = oneCredential(cr);

  step("stepCheck");
  const jwks = ik.jwks;
  const ins = state.ep.inspect(credential, jwks, dev.publicRaw, Date.now());
  if (!ins || !ins.ok) throw goError(ins);
  // The trust list's names of the authority, else those of its metadata.
  const names = { zh: ik.nameZH || "", en: ik.nameEN || "" };
  for (const d of Array.isArray(meta.display) ? meta.display : []) {
    const k = String(d && d.locale || "").startsWith("en") ? "en" : "zh";
    if (d && typeof d.name === "string" && !names[k]) names[k] = d.name;
  }
  if (ins.entry.issuer !== o.iss) throw fail("metaOther");
  // Permits are kept by issuer and number, and never replaced across
  // issuers: a phishing issuer's copy of the resident's number is refused.
  if (state.creds.some((c) => c.permit_no === ins.entry.permit_no && c.iss !== o.iss)) throw fail("otherIssuer");
  const rec = { permit_no: ins.entry.permit_no, credential, entry: ins.entry, iss: o.iss, issuerNames: names, jwks, added: Date.now(), status: null };
  await keep(rec);
  state.current = credId(rec);
  try { localStorage.setItem("epermit.wallet.current", state.current); } catch { /* ignore */ }
  renderAll();
  return ins.entry;
}

/** oneCredential takes the credential out of a credential response. */
function oneCredential(cr) {
  const creds = cr && Array.isArray(cr.credentials) ? cr.credentials : [];
  if (creds.length !== 1 || typeof creds[0].credential !== "string") throw fail("badAnswer");
  return creds[0].credential;
}

// ---- status ------------------------------------------------------------

/** heldStatus is the status kept for a permit, "" when none. */
function heldStatus(c) {
  return (c.status && c.status.status) || "";
}

/**
 * standing asks the module where a permit stands now: its entry (dates,
 * endorsement figures), status, whether to show a code and whether to
 * offer a refresh.
 */
function standing(c) {
  if (!state.ep || !state.device) return null;
  const r = state.ep.walletStatus(c.credential, c.jwks, state.device.publicRaw, "", heldStatus(c), Date.now());
  return r && r.ok ? r : null;
}

/**
 * checkStatus reads the status list of every permit held, when online:
 * it refreshes the site's trust list first (its keys check the lists),
 * then keeps what each list says with the time. Offline, what was known
 * stays, with when it was learnt.
 */
function checkStatus() {
  if (!state.ep || !state.device || state.creds.length === 0) return Promise.resolve();
  if (state.checking) return state.checking;
  $("status-line").dataset.checking = "true";
  state.checking = (async () => {
    renderPermit(); // "checking…" until it is known
    try {
      await siteTrust();
    } catch (e) {
      console.info("status: the held trust list checks the lists:", e.message);
    }
    for (const c of [...state.creds]) await checkOne(c);
  })().catch((e) => console.warn("status:", e)).finally(() => {
    state.checking = null;
    delete $("status-line").dataset.checking;
    renderPermit();
    renderPresent();
  });
  return state.checking;
}

/** checkOne reads the status list of one permit and keeps what it says. */
async function checkOne(c) {
  const id = credId(c);
  const base = state.ep.walletStatus(c.credential, c.jwks, state.device.publicRaw, "", heldStatus(c), Date.now());
  if (!base || !base.uri) return;
  let token;
  try {
    const u = new URL(base.uri, location.href);
    if (u.protocol !== "https:" && u.protocol !== "http:") throw fail("badAnswer");
    const r = await fetch(u, { cache: "no-store", headers: { Accept: "application/statuslist+jwt" } });
    if (!r.ok) throw fail("httpError", r.status);
    token = (await r.text()).trim();
    if (token.length > MAX_STATUS_LIST) throw fail("badAnswer");
  } catch (e) {
    state.statusErr[id] = describe(e);
    return;
  }
  const res = state.ep.walletStatus(c.credential, c.jwks, state.device.publicRaw, token, heldStatus(c), Date.now());
  if (!res || !res.ok) {
    console.warn("status list:", res);
    state.statusErr[id] = () => t("statusUnread");
    return;
  }
  const held = c.status;
  if (held && held.uri === res.uri && held.idx === res.idx && res.listIssuedAt < held.listIssued) {
    // An older copy of the list (a replay) does not hide what a newer said.
    state.statusErr[id] = () => t("statusOlder");
    return;
  }
  delete state.statusErr[id];
  // The record as stored now: a refresh may have replaced it meanwhile.
  const now = state.creds.find((x) => credId(x) === id);
  if (!now || now.credential !== c.credential) return;
  now.status = { uri: res.uri, idx: res.idx, status: res.status, listIssued: res.listIssuedAt, checked: Date.now() };
  await keep(now);
}

// ---- refresh -----------------------------------------------------------

/**
 * refreshCred asks the issuer for the permit's current credential, as
 * after an endorsement: a c_nonce from its nonce endpoint, a proof of the
 * device key over it (dated by the issuer's clock), and POST
 * /credential/refresh. A newer credential is checked with the keys the
 * trust list gives the issuer and replaces the one held, in place.
 */
function refreshCred(c) {
  if (!c) return Promise.resolve(null);
  if (state.refreshing) return state.refreshing;
  const id = credId(c);
  const say = (s, st) => {
    state.refreshMsg = { say: s, state: st, id };
    renderRefresh();
  };
  say(() => t("refreshing"), "working");
  state.refreshing = doRefresh(c).then((r) => {
    if (r === "up_to_date") say(() => t("upToDate"), "up_to_date");
    else say(() => t("refreshed", ymd(r.expires)), "refreshed");
    return r;
  }, (e) => {
    console.warn("refresh:", e);
    const why = describe(e);
    say(() => t("refreshFailed", why()), "error");
    return null;
  }).finally(() => {
    state.refreshing = null;
    renderAll();
  });
  return state.refreshing;
}

async function doRefresh(c) {
  const dev = await deviceKey(false);
  if (!dev) throw fail("noDeviceKey");
  try {
    await siteTrust();
  } catch (e) {
    console.info("refresh: the held trust list checks the new credential:", e.message);
  }
  const meta = await call(wellKnown(c.iss, "openid-credential-issuer"));
  if (meta.credential_issuer !== c.iss || !meta.credential_endpoint || !meta.nonce_endpoint) throw fail("metaOther");
  const n = await call(meta.nonce_endpoint, { method: "POST" });
  if (typeof n.c_nonce !== "string" || !n.c_nonce) throw fail("badAnswer");
  const proof = await sign(dev, c.iss, n.c_nonce);
  let cr;
  try {
    cr = await call(meta.credential_endpoint.replace(/\/$/, "") + "/refresh", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ permit_no: c.permit_no, proof: { proof_type: "jwt", jwt: proof } }),
    });
  } catch (e) {
    if (e.code === "up_to_date") return "up_to_date";
    throw e;
  }
  const credential = oneCredential(cr);
  // The trust list is judged at the issuer's time, as the proof was.
  const ik = state.ep.issuerKeys(c.iss, issuerTime());
  if (!ik || !ik.ok) throw fail("untrusted", c.iss);
  const ins = state.ep.inspect(credential, ik.jwks, dev.publicRaw, Date.now());
  if (!ins || !ins.ok) throw goError(ins);
  if (ins.entry.permit_no !== c.permit_no || ins.entry.issuer !== c.iss) throw fail("refreshOther");
  const rec = { ...c, credential, entry: ins.entry, jwks: ik.jwks, status: null, refreshed: Date.now() };
  await keep(rec);
  delete state.statusErr[credId(rec)];
  await checkOne(rec);
  return ins.entry;
}

function renderRefresh() {
  const c = currentCred(), m = state.refreshMsg, p = $("refresh-status");
  const shown = m && c && m.id === credId(c);
  p.hidden = !shown;
  p.textContent = shown ? m.say() : "";
  p.dataset.state = shown ? m.state : "";
  $("refresh").disabled = !!state.refreshing;
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

/**
 * notice is what the card says of a permit: its standing word, the tone,
 * the words (title, advice), and whether a code is shown with a warning.
 */
function notice(c, s) {
  const e = (s && s.entry) || c.entry;
  const st = s ? s.status : heldStatus(c) || "unknown";
  const due = ymd(e.expires);
  const daysLeft = Math.max(1, Math.ceil((toDate(e.expires) - Date.now()) / 86400000));
  const goWords = (code) => { const w = codeWords(code); return w ? text(w) : ""; };
  if (st === "revoked") return { word: "revoked", tone: "bad", title: t("stRevoked"), advice: goWords("revoked") };
  if (st === "superseded") return { word: "superseded", tone: "bad", title: t("stSuperseded"), advice: goWords("superseded") };
  if (st === "suspended") {
    return { word: "suspended", tone: "bad", title: t("stSuspended"), advice: t("suspended") + (e.overdue ? " " + t("overdue", due) : ""), warn: true };
  }
  if (e.overdue) return { word: "overdue", tone: "bad", title: t("stOverdue"), advice: t("overdue", due), warn: true };
  if (e.in_window) return { word: "endorsement_due", tone: "warn", title: t("stDue"), advice: t("inWindow", due, daysLeft) };
  if (Date.now() < toDate(e.issued_at) - 86400000) return { word: "not_yet_valid", tone: "warn", title: t("stNotYet"), advice: t("notYet", ymd(e.issued_at)) };
  return { word: "valid", tone: "ok", title: t("stValid"), advice: t("daysUntil", ymd(e.window_opens), Math.max(0, e.days_until_window)) };
}

/** statusLine says what the status list said and since when the wallet knows. */
function statusLine(c) {
  const h = c.status, err = state.statusErr[credId(c)];
  if (!h || !h.checked) return !err && $("status-line").dataset.checking ? t("checking") : t("neverChecked");
  const w = t("stWord_" + h.status) || h.status;
  if (err) return t("offlineSince", w, ymdhm(h.checked));
  return t("checkedAt", w, ymdhm(h.checked), formatAge(Date.now() - h.checked));
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
  const s = standing(c);
  const e = (s && s.entry) || c.entry;

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
    el("dt", {}, t("region")), el("dd", { "data-field": "region", "data-code": e.region }, placeName(e.region)),
    el("dt", {}, t("permitNo")), el("dd", { "data-field": "permit_no" }, e.permit_no),
    el("dt", {}, t("validUntil")), el("dd", { "data-field": "expires" }, ymd(e.expires)),
    el("dt", {}, t("issuer")), el("dd", { "data-field": "issuer" }, issuerName(c)),
    el("dt", {}, t("deviceKey")), el("dd", { "data-field": "device_key", "data-alg": state.device ? state.device.alg : "" },
      state.device ? t("keyDesc", state.device.alg) : ""),
  );

  const n = notice(c, s);
  card.dataset.status = s ? s.status : heldStatus(c) || "unknown";
  card.dataset.standing = n.word;
  const box = $("standing");
  box.className = "note " + n.tone;
  box.dataset.standing = n.word;
  box.dataset.days = String(e.days_until_window ?? "");
  $("standing-title").textContent = n.title;
  $("standing-text").textContent = n.advice;
  $("status-line").textContent = statusLine(c);
  $("refresh").hidden = !(s && s.refresh);
  renderRefresh();
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
  const refusal = $("refusal"), btn = $("show-code"), noCode = $("no-code"), warning = $("code-warning");
  noCode.hidden = true;
  warning.hidden = true;
  $("present-controls").hidden = false;
  if (!p || !cred) {
    stopQR();
    return;
  }
  // A revoked or superseded permit shows no code: every verifier refuses it.
  const s = standing(cred);
  const n = notice(cred, s);
  if (s && !s.liveCode) {
    noCode.textContent = t("noCode", t("stWord_" + n.word));
    noCode.hidden = false;
    $("present-controls").hidden = true;
    refusal.hidden = true;
    btn.hidden = true;
    stopQR();
    return;
  }
  if (n.warn) {
    warning.textContent = t("codeWarning") + n.title;
    warning.hidden = false;
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
  if (state.qr.purpose !== qrKey(p, cred) || !state.qr.timer) startQR();
}

/** qrKey names what the code shows: a new one is made when the purpose, the permit or its credential changes. */
function qrKey(p, cred) {
  return p.id + "|" + credId(cred) + "|" + cred.credential.slice(-24);
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
  state.qr.purpose = qrKey(p, cred);
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
  const q = r && r.ok ? state.ep.encodeQR(r.text, true) : r;
  if (!q || !q.ok) {
    const why = describe(goError(q));
    $("qr").replaceChildren(el("p", { class: "note bad" }, t("presentError", why())));
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
      setOfferStatus(() => t("notOffer"), "error");
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
    const m = e && e.message || String(e);
    setOfferStatus(() => t("cameraError", m), "error");
  }
}

async function onPhoto(ev) {
  const file = ev.target.files && ev.target.files[0];
  if (!file) return;
  const r = await decodePhoto(state.ep, file);
  ev.target.value = "";
  if (!r.ok) {
    const key = { no_code: "noCodeInPhoto", multiple_codes: "manyCodes", too_large: "photoTooLarge" }[r.code];
    if (key) setOfferStatus(() => t(key), "error");
    else {
      const why = describe(goError(r));
      setOfferStatus(() => t("failed", why()), "error");
    }
    return;
  }
  acceptOffer(r.text);
}

function renderAll() {
  applyText(t);
  $("lang").textContent = lang() === "zh" ? "EN" : "中文";
  $("lang").setAttribute("aria-label", lang() === "zh" ? "English" : "中文");
  if (camera && camera.running) $("scan-offer").textContent = t("cameraStop");
  if (state.offerMsg) setOfferStatus(state.offerMsg.say, state.offerMsg.state);
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
  $("refresh").addEventListener("click", () => refreshCred(currentCred()));
  $("check-status").addEventListener("click", () => checkStatus());
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
    if (!document.hidden && Date.now() - lastCheck() > RECHECK_MS) checkStatus();
  });
  window.addEventListener("online", () => checkStatus());
  setInterval(() => {
    if (!document.hidden && navigator.onLine !== false && Date.now() - lastCheck() > RECHECK_MS) checkStatus();
  }, 60 * 1000);
}

/** lastCheck is when the status was last read, for any permit (ms). */
function lastCheck() {
  return Math.min(...state.creds.map((c) => (c.status && c.status.checked) || 0), Date.now());
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
  const names = loadNames();
  try {
    state.ep = await window.epermitReady;
  } catch (e) {
    const p = $("load-error"), m = e && e.message || String(e);
    p.textContent = t("wasmError", m);
    p.hidden = false;
    document.body.dataset.ready = "error";
    return;
  }
  try {
    await loadStored();
  } catch (e) {
    console.warn("stored permits:", e);
  }
  await names;
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
  } else {
    checkStatus();
  }
}

main();
