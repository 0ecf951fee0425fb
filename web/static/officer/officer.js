// officer.js: the officers' console. Plain DOM, no framework; everything it
// shows comes from permitd's officials' API (/v1/…) under a console session.
//
// Login: the official pastes the token once; POST /v1/session exchanges it
// for an HttpOnly, SameSite=Strict cookie and answers with the session's CSRF
// token, which every request that changes anything sends as X-CSRF-Token.
// The page keeps the token nowhere: the field is cleared as the request
// leaves, and only the CSRF token lives in memory (a reload asks GET
// /v1/session for it again). The session ends after idle_seconds without a
// request; the header counts down, and a request after the end shows the
// login again.
//
// Screens (hash routes, never a citizen ID in a URL): #/queue, #/search,
// #/app/ID, #/permit/NO, #/audit. Personal data read from the service is
// kept in memory for the screen shown and dropped when leaving it.

import { ethnicityName, loadNames, placeName } from "../app/names.js";
import { applyText, el, lang, setLang, text, toDate, translator } from "../app/ui.js";

const t = translator({
  title: { zh: "居住证窗口工作台", en: "Residence permit console" },
  logout: { zh: "退出", en: "Log out" },
  queue: { zh: "待审队列", en: "Queue" },
  search: { zh: "查询", en: "Search" },
  audit: { zh: "审计日志", en: "Audit log" },
  loginTitle: { zh: "登录", en: "Log in" },
  loginHelp: {
    zh: "请粘贴管理员发给您的工作人员令牌。令牌只用于换取本次登录，本页面不会保存它。",
    en: "Paste the official's token your administrator gave you. It is exchanged for this session only; this page does not keep it.",
  },
  token: { zh: "工作人员令牌", en: "Official's token" },
  login: { zh: "登录", en: "Log in" },
  loggedOut: { zh: "已退出登录。", en: "You are logged out." },
  sessionEnded: { zh: "长时间未操作，登录已失效，请重新登录。", en: "The session ended after a time without use; log in again." },
  idle: { zh: (s) => `${s} 后自动退出`, en: (s) => `logs out in ${s}` },
  who: { zh: (n, r) => `${n}（${r}）`, en: (n, r) => `${n} (${r})` },
  network: { zh: "无法连接服务，请检查网络后重试", en: "The service cannot be reached; check the network and try again" },
  loading: { zh: "加载中…", en: "Loading…" },
  cancel: { zh: "取消", en: "Cancel" },
  // Roles.
  role_officer: { zh: "窗口民警", en: "officer" },
  role_revoker: { zh: "注销审批", en: "revoker" },
  role_auditor: { zh: "审计员", en: "auditor" },
  role_admin: { zh: "管理员", en: "administrator" },
  // Queue.
  queueTitle: { zh: "待审申请", en: "Pending applications" },
  authority: { zh: "发证机关", en: "Issuing authority" },
  order: { zh: "排序", en: "Order" },
  oldest: { zh: "最早提交在前", en: "Oldest first" },
  newest: { zh: "最新提交在前", en: "Newest first" },
  refresh: { zh: "刷新", en: "Refresh" },
  emptyQueue: { zh: "没有待审申请。", en: "No pending applications." },
  pageInfo: { zh: (p, n) => `第 ${p} 页，本页 ${n} 条`, en: (p, n) => `Page ${p}, ${n} on this page` },
  prev: { zh: "上一页", en: "Previous" },
  next: { zh: "下一页", en: "Next" },
  first: { zh: "第一页", en: "First page" },
  submitted: { zh: "提交", en: "Submitted" },
  eligible: { zh: "符合条件", en: "Eligible" },
  ineligible: { zh: "不符合条件", en: "Not eligible" },
  noPhotoShort: { zh: "无照片", en: "no photo" },
  notOfficer: { zh: "您的角色不能审批申请；请用查询找到居住证。", en: "Your role cannot decide applications; use Search to find a permit." },
  // Search.
  searchTitle: { zh: "查询记录", en: "Find a record" },
  searchBy: { zh: "查询条件", en: "Search by" },
  byPermit: { zh: "居住证号", en: "Permit number" },
  byApp: { zh: "申请编号", en: "Application id" },
  byCitizen: { zh: "公民身份号码（完整）", en: "Citizen ID (full number)" },
  searchValue: { zh: "号码", en: "Number" },
  searchGo: { zh: "查询", en: "Search" },
  citizenNote: { zh: "身份号码只在请求正文中发送，不出现在网址或日志中。", en: "The ID number is sent in the request body only, never in a URL or a log." },
  noHits: { zh: "没有找到记录。", en: "No record found." },
  kind_permit: { zh: "居住证", en: "Permit" },
  kind_application: { zh: "申请", en: "Application" },
  // Application.
  application: { zh: "申请", en: "Application" },
  back: { zh: "← 返回", en: "← Back" },
  name: { zh: "姓名", en: "Name" },
  sex: { zh: "性别", en: "Sex" },
  ethnicity: { zh: "民族", en: "Ethnicity" },
  birth: { zh: "出生日期", en: "Date of birth" },
  citizenId: { zh: "公民身份号码", en: "Citizen ID" },
  maskedId: { zh: "身份号码（遮蔽）", en: "Citizen ID (masked)" },
  household: { zh: "户籍地址", en: "Household registration" },
  residence: { zh: "居住地址", en: "Residence address" },
  residenceSince: { zh: "居住起始日期", en: "Resident since" },
  basis: { zh: "申领依据", en: "Basis" },
  guardian: { zh: "监护人", en: "Guardian" },
  state: { zh: "状态", en: "State" },
  decidedBy: { zh: "审批人", en: "Decided by" },
  rejectReasons: { zh: "驳回理由", en: "Reasons for rejection" },
  permitNo: { zh: "居住证号", en: "Permit number" },
  conditions: { zh: "申领条件", en: "Conditions" },
  flags: { zh: "需要核实", en: "To check" },
  photo: { zh: "照片", en: "Photo" },
  noPhoto: { zh: "未提交照片，请现场采集", en: "No photo sent: take one at the counter" },
  photoOfficers: { zh: "照片仅窗口民警可查看", en: "Only officers see the photo" },
  photoError: { zh: "照片无法读取", en: "The photo cannot be read" },
  approve: { zh: "批准并签发", en: "Approve and issue" },
  reject: { zh: "驳回", en: "Reject" },
  approveTitle: { zh: "批准此申请？", en: "Approve this application?" },
  approveText: { zh: (n) => `将为 ${n} 签发居住证，并生成供其手机扫描的领取二维码。`, en: (n) => `A residence permit will be issued to ${n}, with a code for their phone to scan.` },
  rejectTitle: { zh: "驳回此申请？", en: "Reject this application?" },
  rejectText: { zh: "驳回后申请人的个人信息将被删除。请写明理由（每行一条），申请人会看到。", en: "Rejecting deletes the applicant's personal data. Give the reasons, one a line; the applicant sees them." },
  reasons: { zh: "理由", en: "Reasons" },
  reasonRequired: { zh: "请填写理由", en: "A reason is required" },
  app_pending: { zh: "待审", en: "pending" },
  app_ineligible: { zh: "不符合条件", en: "not eligible" },
  app_approved: { zh: "已批准", en: "approved" },
  app_rejected: { zh: "已驳回", en: "rejected" },
  basis_employment: { zh: "合法稳定就业", en: "stable employment" },
  basis_residence: { zh: "合法稳定住所", en: "stable residence" },
  basis_study: { zh: "连续就读", en: "continuous study" },
  sex_M: { zh: "男", en: "male" },
  sex_F: { zh: "女", en: "female" },
  // Permit.
  permit: { zh: "居住证", en: "Residence permit" },
  permitState: { zh: "证件状态", en: "Permit state" },
  st_active: { zh: "有效", en: "active" },
  st_suspended: { zh: "暂停使用", en: "suspended" },
  st_revoked: { zh: "已注销", en: "revoked" },
  endorsement: { zh: "签注", en: "Endorsement" },
  en_valid: { zh: "有效期内", en: "in force" },
  en_endorsement_due: { zh: "签注期内，请办理签注", en: "endorsement due" },
  en_overdue: { zh: "逾期未签注，使用功能中止", en: "overdue: use suspended until endorsed" },
  en_not_yet_valid: { zh: "尚未生效", en: "not yet valid" },
  window: { zh: (a, b) => `签注期：${a} 至 ${b}`, en: (a, b) => `Endorsement window: ${a} to ${b}` },
  issueDate: { zh: "首次签发", en: "First issued" },
  validUntil: { zh: "有效期至", en: "Valid until" },
  region: { zh: "居住地", en: "Residence region" },
  credentials: { zh: "已签发的电子证照", en: "Credentials issued" },
  noCredentials: { zh: "尚未领取到手机。", en: "Not yet taken into a wallet." },
  credential: { zh: (n) => `第 ${n} 份`, en: (n) => `No. ${n}` },
  cs_current: { zh: "当前有效", en: "current" },
  cs_superseded: { zh: "已被新证照取代", en: "superseded" },
  cs_suspended: { zh: "暂停使用", en: "suspended" },
  cs_revoked: { zh: "已注销", en: "revoked" },
  issued: { zh: "签发", en: "Issued" },
  via_issue: { zh: "首次领取", en: "first issue" },
  via_reissue: { zh: "重新签发", en: "re-issue" },
  via_endorse: { zh: "签注", en: "endorsement" },
  via_refresh: { zh: "手机自动更新", en: "wallet refresh" },
  deviceKey: { zh: "设备密钥", en: "Device key" },
  history: { zh: "办理记录", en: "History" },
  ev_approve: { zh: "批准签发", en: "approved" },
  ev_endorse: { zh: "签注", en: "endorsed" },
  ev_reissue_offer: { zh: "重新签发二维码", en: "re-issue offer" },
  ev_credential: { zh: "证照领取到手机", en: "credential taken into a wallet" },
  ev_revoke: { zh: "注销", en: "revoked" },
  ev_suspend: { zh: "暂停", en: "suspended" },
  ev_reinstate: { zh: "恢复", en: "reinstated" },
  ev_shred: { zh: "个人信息已删除", en: "personal data deleted" },
  shredded: { zh: "该记录的个人信息已依法删除。", en: "The record's personal data was deleted." },
  endorse: { zh: "签注", en: "Endorse" },
  reissue: { zh: "重新签发到新手机", en: "Re-issue to a new phone" },
  suspend: { zh: "暂停", en: "Suspend" },
  reinstate: { zh: "恢复", en: "Reinstate" },
  revoke: { zh: "注销", en: "Revoke" },
  endorseTitle: { zh: "办理签注？", en: "Endorse this permit?" },
  endorseText: { zh: "有效期延长一年，并生成新证照的领取二维码。", en: "The permit is extended by a year, with a code for the endorsed credential." },
  reissueTitle: { zh: "重新签发？", en: "Re-issue this permit?" },
  reissueText: { zh: "生成新的领取二维码。新手机领取后，旧手机上的证照即被取代，不能再使用。", en: "A new code is made. Once the new phone takes it, the old phone's credential is superseded and no longer accepted." },
  suspendTitle: { zh: "暂停使用此居住证？", en: "Suspend this permit?" },
  suspendText: { zh: "核验时将被拒绝，直到恢复。请写明理由。", en: "Verifiers refuse it until it is reinstated. Give the reason." },
  reinstateTitle: { zh: "恢复此居住证？", en: "Reinstate this permit?" },
  reinstateText: { zh: "请写明理由。", en: "Give the reason." },
  revokeTitle: { zh: "注销此居住证？", en: "Revoke this permit?" },
  revokeText: { zh: "注销不可撤销：持证人须重新申领。请写明理由。", en: "Revocation is final: the holder must apply again. Give the reason." },
  done: { zh: "已完成。", en: "Done." },
  refusedAction: { zh: "操作被拒绝：", en: "Refused: " },
  // Offer.
  offerTitle: { zh: "请持证人用手机扫描领取", en: "Holder: scan with your phone" },
  offerHelp: { zh: "打开“居住证”钱包，扫描此二维码即可领取电子居住证。二维码只能使用一次。", en: "Open the residence permit wallet and scan this code to take the permit. The code works once." },
  offerExpires: { zh: (s) => `剩余 ${s}`, en: (s) => `${s} left` },
  offerExpired: { zh: "二维码已过期，请重新签发", en: "The code has expired: re-issue" },
  offerLink: { zh: "领取链接", en: "Offer link" },
  print: { zh: "打印", en: "Print" },
  close: { zh: "关闭", en: "Close" },
  openPermit: { zh: "查看居住证", en: "Open the permit" },
  offer_issue: { zh: "首次领取", en: "first issue" },
  offer_reissue: { zh: "重新签发", en: "re-issue" },
  offer_endorse: { zh: "签注后领取", en: "endorsed credential" },
  printFoot: { zh: (no, exp) => `居住证号 ${no} · 二维码有效至 ${exp}`, en: (no, exp) => `Permit ${no} · code valid until ${exp}` },
  // Audit.
  auditTitle: { zh: "审计日志", en: "Audit log" },
  auditFrom: { zh: "从序号之后", en: "After sequence no." },
  auditAction: { zh: "操作", en: "Action" },
  auditText: { zh: "操作人或对象包含", en: "Actor or subject contains" },
  auditAll: { zh: "全部", en: "all" },
  auditShown: { zh: (n, m) => `本页 ${m} 条，符合筛选 ${n} 条`, en: (n, m) => `${m} on this page, ${n} match the filter` },
  auditEmpty: { zh: "没有更多记录。", en: "No more entries." },
  latest: { zh: "最新", en: "Latest" },
  show: { zh: "显示", en: "Show" },
});

// The conditions of the Regulations an application is decided on, as
// package permit states them (permit.Decide): the checklist of the
// application view shows each as met, or the service's unmet conditions.
const REQUIREMENTS = [
  { code: "not_left_household_city", article: "Art. 2", zh: "离开常住户口所在城市，到其他城市居住", en: "lives in a city other than the city of household registration" },
  { code: "residence_under_six_months", article: "Art. 2", zh: "在居住地居住满半年", en: "has lived in the city of residence for at least six months" },
  { code: "no_basis", article: "Art. 2", zh: "有合法稳定就业、合法稳定住所、连续就读条件之一，并提供证明材料", en: "has lawful stable employment, a lawful stable residence or continuous study, with a reference to the evidence" },
  { code: "minor_needs_guardian", article: "Art. 9", zh: "未满十六周岁的，由监护人代为申领", en: "an applicant under 16 applies through a guardian", guardian: true },
  { code: "guardian_invalid", article: "Art. 9", zh: "代办人提供合法有效身份证件", en: "the guardian is identified by a valid identity document", guardian: true },
  { code: "invalid_application", article: "Art. 4", zh: "申领信息完整准确", en: "the application is complete and correct" },
];
const ARTICLE_ZH = { "Art. 2": "第二条", "Art. 4": "第四条", "Art. 9": "第九条", "Art. 10": "第十条" };
const QUEUE_PAGE = 50;
const AUDIT_PAGE = 200;

const $ = (id) => document.getElementById(id);

const state = {
  session: null, // GET /v1/session: {csrf, name, role, authorities, idle_seconds, …}
  deadline: 0, // ms: when the session ends without another request
  route: "",
  notice: null, // {msg, tone} of the message above the screen
  view: null, // {kind, …data} of the screen shown
  offer: null, // {uri, kind, expires, qr_png, permit} of the offer on screen
  photoURL: "", // object URL of the photo on screen
  photoFor: "", // the path it came from
  queue: { authority: "", order: "oldest", cursors: [""], page: 0 },
  audit: { after: "0", action: "", text: "", stack: [] },
};

// ---- the API ---------------------------------------------------------------

/** ApiError is a refusal of the service: its code and bilingual message. */
class ApiError extends Error {
  constructor(status, body) {
    const b = body || {};
    super(b.message || `HTTP ${status}`);
    this.status = status;
    this.code = b.error || `http_${status}`;
    this.zh = b.message_zh || "";
    this.en = b.message || "";
  }
  words() {
    return text({ zh: this.zh, en: this.en }) || this.code;
  }
}

/**
 * api sends a request to the service under the session and returns the
 * decoded answer (or the Response itself for raw). A 401 ends the session on
 * the page too.
 */
async function api(method, path, body, raw = false) {
  const headers = {};
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET" && state.session && state.session.csrf) headers["X-CSRF-Token"] = state.session.csrf;
  let r;
  try {
    r = await fetch(path, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin", cache: "no-store", referrerPolicy: "no-referrer",
    });
  } catch {
    throw new ApiError(0, { error: "network", message: t("network") });
  }
  if (r.status !== 401 && state.session) touch();
  if (r.ok) {
    if (raw) return r;
    return r.status === 204 ? null : r.json();
  }
  let b = null;
  try { b = await r.json(); } catch { /* not JSON */ }
  const err = new ApiError(r.status, b);
  if (r.status === 401 && state.session) {
    endSession(err.code === "session_expired" ? "sessionEnded" : err.words());
  }
  throw err;
}

// ---- session and idle timeout ---------------------------------------------

function can(role) {
  const r = state.session && state.session.role;
  return r === role || r === "admin";
}

function touch() {
  state.deadline = Date.now() + (state.session.idle_seconds || 900) * 1000;
  renderIdle();
}

function renderIdle() {
  const idle = $("idle");
  if (!state.session) {
    idle.hidden = true;
    return;
  }
  const left = Math.max(0, Math.round((state.deadline - Date.now()) / 1000));
  const mm = String(Math.floor(left / 60)).padStart(2, "0"), ss = String(left % 60).padStart(2, "0");
  idle.hidden = false;
  idle.textContent = t("idle", `${mm}:${ss}`);
  idle.dataset.seconds = String(left);
  idle.dataset.warn = String(left < 120);
  if (left === 0) endSession("sessionEnded");
}

function startSession(s) {
  state.session = s;
  touch();
  document.body.dataset.auth = "in";
  $("login").hidden = true;
  $("tabs").hidden = false;
  $("logout").hidden = false;
  $("tab-audit").hidden = !can("auditor");
  renderWho();
}

function renderWho() {
  const s = state.session, who = $("who");
  if (!s) {
    who.hidden = true;
    return;
  }
  who.hidden = false;
  who.textContent = t("who", s.name, t("role_" + s.role));
}

/** endSession forgets the session on the page and shows the login with msg. */
function endSession(msg) {
  state.session = null;
  state.view = null;
  clearPhoto();
  state.offer = null;
  document.body.dataset.auth = "out";
  $("tabs").hidden = true;
  $("logout").hidden = true;
  $("view").replaceChildren();
  renderWho();
  renderIdle();
  $("login").hidden = false;
  notice(msg || "", "warn");
  $("token").focus();
}

async function login(ev) {
  ev.preventDefault();
  const input = $("token"), err = $("login-error");
  const token = input.value.trim();
  // The token leaves the page with this request and is kept nowhere.
  input.value = "";
  err.hidden = true;
  if (!token) return;
  try {
    const s = await api("POST", "/v1/session", { token });
    startSession(s);
    notice("");
    route();
  } catch (e) {
    err.textContent = e.words();
    err.hidden = false;
    input.focus();
  }
}

async function logout() {
  try {
    await api("DELETE", "/v1/session");
  } catch { /* the cookie goes anyway when it expires */ }
  endSession("loggedOut");
  history.replaceState(null, "", "#/queue");
}

// ---- helpers -----------------------------------------------------------------

/**
 * notice shows a message above the screen: a key of the dictionary (shown
 * again in the other language after a switch) or the service's words.
 */
function notice(msg, tone = "ok") {
  state.notice = { msg, tone };
  const n = $("notice"), words = msg ? t(msg) : "";
  n.textContent = words;
  n.className = "note " + tone;
  n.hidden = !words;
}

/** ymd shows the calendar date of an instant in China Standard Time, 2026-12-04 in both languages. */
function ymd(d) {
  return d.toLocaleDateString("en-CA", { timeZone: "Asia/Shanghai", year: "numeric", month: "2-digit", day: "2-digit" });
}

/** formatTime shows an instant as a date and hh:mm in China Standard Time. */
function formatTime(v) {
  const d = toDate(v);
  if (!d) return "";
  const hm = d.toLocaleTimeString("en-GB", { timeZone: "Asia/Shanghai", hour: "2-digit", minute: "2-digit", hour12: false });
  return `${ymd(d)} ${hm}`;
}

/** paren puts words in brackets of the current language. */
function paren(words) {
  return lang() === "en" ? ` (${words})` : `（${words}）`;
}

function articleText(a) {
  return lang() === "en" ? a : ARTICLE_ZH[a] || a;
}

function tr(prefix, v) {
  const k = prefix + v, s = t(k);
  return s === k ? String(v) : s;
}

function fields(rows) {
  const dl = el("dl", { class: "fields" });
  for (const [k, v, attrs] of rows) {
    if (v === undefined || v === null || v === "") continue;
    dl.append(el("dt", {}, t(k)), el("dd", Object.assign({ "data-field": k }, attrs || {}), v));
  }
  return dl;
}

function badge(words, tone, attrs = {}) {
  return el("span", Object.assign({ class: "badge", "data-tone": tone }, attrs), words);
}

function clearPhoto() {
  if (state.photoURL) URL.revokeObjectURL(state.photoURL);
  state.photoURL = "";
  state.photoFor = "";
}

/** photo loads an officer's photo endpoint into an <img>, or says why not. */
function photoBox(path, has) {
  const box = el("div", { class: "no-photo", id: "photo-box", "data-state": "none" }, t("noPhoto"));
  if (!has) return box;
  if (!can("officer")) {
    box.textContent = t("photoOfficers");
    return box;
  }
  // Each read of a photo is audited: read it once for the screen shown.
  const img = () => el("img", { class: "portrait", id: "photo", alt: t("photo"), src: state.photoURL });
  if (state.photoURL && state.photoFor === path) return img();
  box.dataset.state = "loading";
  box.textContent = t("loading");
  api("GET", path, undefined, true).then(async (r) => {
    clearPhoto();
    state.photoURL = URL.createObjectURL(await r.blob());
    state.photoFor = path;
    box.replaceWith(img());
  }, (e) => {
    box.dataset.state = "error";
    box.textContent = t("photoError") + (e instanceof ApiError ? "：" + e.words() : "");
  });
  return box;
}

// ---- the dialog --------------------------------------------------------------

/**
 * ask shows the dialog: title, text, and a reason field when reasonLabel is
 * given. It resolves to the reason ("" without a field), or null when
 * cancelled. Reasons are required when asked for.
 */
function ask({ title, body, reasonLabel, ok, danger }) {
  const d = $("dialog");
  $("dialog-title").textContent = title;
  $("dialog-text").textContent = body || "";
  $("dialog-reason-field").hidden = !reasonLabel;
  $("dialog-reason-label").textContent = reasonLabel || "";
  $("dialog-reason").value = "";
  $("dialog-error").hidden = true;
  const okBtn = $("dialog-ok");
  okBtn.textContent = ok;
  okBtn.className = danger ? "danger" : "";
  return new Promise((resolve) => {
    const finish = (v) => {
      $("dialog-form").onsubmit = null;
      $("dialog-cancel").onclick = null;
      d.onclose = null;
      if (d.open) d.close();
      resolve(v);
    };
    $("dialog-form").onsubmit = (ev) => {
      ev.preventDefault();
      const reason = $("dialog-reason").value.trim();
      if (reasonLabel && !reason) {
        $("dialog-error").textContent = t("reasonRequired");
        $("dialog-error").hidden = false;
        $("dialog-reason").focus();
        return;
      }
      finish(reasonLabel ? reason : "");
    };
    $("dialog-cancel").onclick = () => finish(null);
    d.onclose = () => finish(null);
    d.showModal();
    (reasonLabel ? $("dialog-reason") : okBtn).focus();
  });
}

// ---- router -------------------------------------------------------------------

function route() {
  if (!state.session) return;
  const h = location.hash.replace(/^#/, "") || "/queue";
  const [, kind, arg] = h.split("/");
  state.route = kind;
  for (const a of document.querySelectorAll(".tabs a")) {
    if (a.getAttribute("href") === "#/" + kind) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  clearPhoto();
  state.offer = null;
  state.view = null;
  notice("");
  switch (kind) {
    case "search": return showSearch();
    case "app": return showApplication(decodeURIComponent(arg || ""));
    case "permit": return showPermit(decodeURIComponent(arg || ""));
    case "audit": return showAudit();
    case "queue": return showQueue();
    default: return can("officer") ? showQueue() : showSearch();
  }
}

function loadingView() {
  $("view").replaceChildren(el("p", { class: "muted" }, t("loading")));
}

function errorView(e, retry) {
  const p = el("p", { class: "note bad", id: "view-error", role: "alert", "data-code": e.code || "" }, e instanceof ApiError ? e.words() : String(e));
  $("view").replaceChildren(p, retry ? el("div", { class: "actions" }, el("button", { type: "button", onclick: retry }, t("refresh"))) : "");
}

/** render draws the screen shown again (after a change of language). */
function render() {
  const v = state.view;
  if (!v) return;
  ({ queue: renderQueue, search: renderSearch, app: renderApplication, permit: renderPermit, audit: renderAudit })[v.kind]?.();
}

// ---- queue --------------------------------------------------------------------

async function showQueue() {
  const q = state.queue, s = state.session;
  const auths = s.authorities || [];
  if (!q.authority || !auths.some((a) => a.slug === q.authority)) q.authority = s.authority || (auths[0] && auths[0].slug) || "";
  if (!can("officer")) {
    state.view = { kind: "queue", items: null };
    renderQueue();
    return;
  }
  loadingView();
  try {
    const params = new URLSearchParams({ authority: q.authority, order: q.order, limit: String(QUEUE_PAGE) });
    if (q.cursors[q.page]) params.set("after", q.cursors[q.page]);
    const r = await api("GET", "/v1/applications?" + params);
    q.cursors.length = q.page + 1;
    if (r.next) q.cursors.push(r.next);
    state.view = { kind: "queue", items: r.applications || [], next: r.next || "" };
    renderQueue();
  } catch (e) {
    errorView(e, showQueue);
  }
}

function restartQueue() {
  state.queue.cursors = [""];
  state.queue.page = 0;
  showQueue();
}

function renderQueue() {
  const v = state.view, q = state.queue, s = state.session;
  const card = el("section", { class: "card", id: "queue-view" }, el("h2", {}, t("queueTitle")));
  if (!v.items) {
    card.append(el("p", { class: "muted" }, t("notOfficer")));
    $("view").replaceChildren(card);
    return;
  }
  const controls = el("div", { class: "row" });
  if ((s.authorities || []).length > 1) {
    const sel = el("select", { id: "queue-authority" },
      s.authorities.map((a) => el("option", { value: a.slug, selected: a.slug === q.authority }, (lang() === "en" ? a.name_en || a.name_zh : a.name_zh || a.name_en) || a.slug)));
    sel.addEventListener("change", () => { q.authority = sel.value; restartQueue(); });
    controls.append(el("label", { class: "field" }, el("span", {}, t("authority")), sel));
  }
  const order = el("select", { id: "queue-order" },
    el("option", { value: "oldest", selected: q.order === "oldest" }, t("oldest")),
    el("option", { value: "newest", selected: q.order === "newest" }, t("newest")));
  order.addEventListener("change", () => { q.order = order.value; restartQueue(); });
  controls.append(el("label", { class: "field" }, el("span", {}, t("order")), order),
    el("button", { type: "button", class: "secondary", id: "queue-refresh", onclick: () => showQueue() }, t("refresh")));
  card.append(controls);

  if (v.items.length === 0) {
    card.append(el("p", { class: "muted", id: "queue-empty" }, t("emptyQueue")));
  } else {
    const ul = el("ul", { class: "records", id: "queue" });
    for (const a of v.items) ul.append(queueItem(a));
    card.append(ul);
  }
  const pager = el("div", { class: "pager" },
    el("span", { class: "muted", id: "queue-page" }, t("pageInfo", q.page + 1, v.items.length)));
  if (q.page > 0) {
    pager.append(el("button", { type: "button", class: "secondary", onclick: () => { q.page = 0; showQueue(); } }, t("first")),
      el("button", { type: "button", class: "secondary", id: "queue-prev", onclick: () => { q.page--; showQueue(); } }, t("prev")));
  }
  if (v.next) pager.append(el("button", { type: "button", id: "queue-next", onclick: () => { q.page++; showQueue(); } }, t("next")));
  card.append(pager);
  $("view").replaceChildren(card);
}

function queueItem(a) {
  const d = a.decision || {};
  const unmet = d.unmet || [];
  const li = el("li", { "data-id": a.id, "data-eligible": String(!!d.eligible) });
  const link = el("a", { class: "open", href: "#/app/" + encodeURIComponent(a.id) },
    el("div", { class: "head" },
      el("strong", {}, a.name || a.masked_id),
      badge(d.eligible ? t("eligible") : t("ineligible"), d.eligible ? "ok" : "bad", { "data-verdict": String(!!d.eligible) }),
      a.has_photo ? null : badge(t("noPhotoShort"), "warn"),
      (a.flags || []).length ? badge("⚠ " + t("flags") + " " + a.flags.length, "warn", { "data-flags": String(a.flags.length) }) : null),
    el("div", { class: "facts" },
      el("span", {}, a.masked_id),
      el("span", {}, placeName(a.residence_division)),
      el("span", {}, t("submitted") + " " + formatTime(a.submitted)),
      el("span", { class: "mono" }, a.id)));
  li.append(link);
  if (unmet.length) li.append(el("ul", { class: "plain" }, unmet.map((c) => el("li", { "data-code": c.code }, text(c)))));
  for (const f of a.flags || []) li.append(el("div", { class: "flag", "data-code": f.code }, text(f)));
  return li;
}

// ---- search -------------------------------------------------------------------

function showSearch() {
  state.view = { kind: "search", hits: null, by: "permit_no", error: null };
  renderSearch();
}

function renderSearch() {
  const v = state.view;
  const sel = el("select", { id: "search-by" },
    [["permit_no", "byPermit"], ["application_id", "byApp"], ["citizen_id", "byCitizen"]].map(([val, k]) =>
      el("option", { value: val, selected: v.by === val }, t(k))));
  const input = el("input", { id: "search-value", type: "search", autocomplete: "off", spellcheck: false, autocapitalize: "off", required: true });
  const form = el("form", { id: "search-form", autocomplete: "off" },
    el("div", { class: "row" },
      el("label", { class: "field" }, el("span", {}, t("searchBy")), sel),
      el("label", { class: "field" }, el("span", {}, t("searchValue")), input)),
    el("p", { class: "muted", id: "citizen-note", hidden: v.by !== "citizen_id" }, t("citizenNote")),
    el("div", { class: "actions" }, el("button", { type: "submit" }, t("searchGo"))));
  sel.addEventListener("change", () => {
    v.by = sel.value;
    $("citizen-note").hidden = v.by !== "citizen_id";
  });
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const value = input.value.trim();
    if (!value) return;
    v.by = sel.value;
    try {
      // In the body: a citizen ID never goes into a URL.
      const r = await api("POST", "/v1/search", { [v.by]: value });
      v.hits = r.hits || [];
      v.error = null;
    } catch (e) {
      v.hits = null;
      v.error = e;
    }
    drawHits();
    // A single record opens at once.
    if (v.hits && v.hits.length === 1) location.hash = hitHref(v.hits[0]);
  });
  const results = el("div", { id: "search-results" });
  $("view").replaceChildren(el("section", { class: "card", id: "search-view" }, el("h2", {}, t("searchTitle")), form, results));
  drawHits();
  input.focus();
}

function hitHref(h) {
  return (h.kind === "permit" ? "#/permit/" : "#/app/") + encodeURIComponent(h.id);
}

function drawHits() {
  const v = state.view, box = $("search-results");
  if (!box) return;
  if (v.error) {
    box.replaceChildren(el("p", { class: "note bad", role: "alert", "data-code": v.error.code }, v.error.words()));
    return;
  }
  if (!v.hits) {
    box.replaceChildren();
    return;
  }
  if (v.hits.length === 0) {
    box.replaceChildren(el("p", { class: "muted", id: "no-hits" }, t("noHits")));
    return;
  }
  box.replaceChildren(el("ul", { class: "records", id: "hits" }, v.hits.map((h) =>
    el("li", { "data-kind": h.kind, "data-id": h.id },
      el("a", { class: "open", href: hitHref(h) },
        el("div", { class: "head" }, el("strong", {}, t("kind_" + h.kind) + " " + h.id),
          badge(h.kind === "permit" ? tr("st_", h.state) : tr("app_", h.state), stateTone(h.state))),
        el("div", { class: "facts" }, el("span", {}, h.masked_id)))))));
}

function stateTone(s) {
  return { active: "ok", approved: "ok", pending: "warn", suspended: "warn", revoked: "bad", rejected: "bad", ineligible: "bad" }[s] || "";
}

// ---- application ------------------------------------------------------------------

async function showApplication(id) {
  loadingView();
  try {
    const a = await api("GET", "/v1/applications/" + encodeURIComponent(id));
    state.view = { kind: "app", a, error: null };
    renderApplication();
  } catch (e) {
    errorView(e, () => showApplication(id));
  }
}

function renderApplication() {
  const { a } = state.view;
  const p = a.particulars || {};
  const d = a.decision || { unmet: [] };
  const card = el("section", { class: "card", id: "app-view", "data-id": a.id, "data-state": a.state });
  card.append(el("a", { href: "#/queue", class: "no-print" }, t("back")),
    el("h2", { class: "title" }, t("application") + " " + a.id + " ",
      badge(tr("app_", a.state), stateTone(a.state), { id: "app-state", "data-state": a.state })));

  const guardian = p.guardian ? `${p.guardian.name}${paren(p.guardian.relation)} ${p.guardian.citizen_id || ""}` : "";
  const info = fields([
    ["name", p.name], ["sex", p.sex ? tr("sex_", p.sex) : ""], ["ethnicity", p.ethnicity ? ethnicityName(p.ethnicity) : ""],
    ["birth", p.birth_date], ["citizenId", p.citizen_id, { class: "mono" }], ["maskedId", p.citizen_id ? "" : a.masked_id],
    ["household", p.household_address ? p.household_address + paren(placeName(p.household_division)) : ""],
    ["residence", p.residence_address ? p.residence_address + paren(placeName(p.residence_division || a.division)) : placeName(a.division)],
    ["residenceSince", p.residence_since],
    ["basis", (p.basis || []).length ? el("ul", { class: "plain" }, p.basis.map((b) => el("li", {}, `${tr("basis_", b.kind)}：${b.evidence}`))) : ""],
    ["guardian", guardian], ["submitted", formatTime(a.submitted)], ["decidedBy", a.decided_by],
    ["permitNo", a.permit_no ? el("a", { href: "#/permit/" + encodeURIComponent(a.permit_no) }, a.permit_no) : ""],
    ["rejectReasons", (a.reject_reasons || []).length ? el("ul", { class: "plain" }, a.reject_reasons.map((r) => el("li", {}, r))) : ""],
  ]);
  const record = el("div", { class: "record" });
  if (a.state === "pending") record.append(photoBox("/v1/applications/" + encodeURIComponent(a.id) + "/photo", a.has_photo));
  record.append(info);
  card.append(record);

  // The conditions: each met, or the service's words for what is unmet.
  const checks = el("ul", { class: "checks", id: "conditions" });
  const unmet = d.unmet || [];
  for (const r of REQUIREMENTS) {
    const mine = unmet.filter((c) => c.code === r.code);
    if (r.guardian && !p.guardian && mine.length === 0) continue;
    if (mine.length) {
      for (const c of mine) checks.append(el("li", { "data-code": r.code, "data-met": "false" }, "✗ " + text(c)));
    } else {
      checks.append(el("li", { "data-code": r.code, "data-met": "true" },
        "✓ " + text(r) + paren(articleText(r.article))));
    }
  }
  for (const c of unmet.filter((c) => !REQUIREMENTS.some((r) => r.code === c.code))) {
    checks.append(el("li", { "data-code": c.code, "data-met": "false" }, "✗ " + text(c)));
  }
  card.append(el("h3", {}, t("conditions") + " ",
    badge(d.eligible ? t("eligible") : t("ineligible"), d.eligible ? "ok" : "bad", { id: "eligibility", "data-eligible": String(!!d.eligible) })), checks);
  if ((a.flags || []).length) {
    card.append(el("h3", {}, "⚠ " + t("flags")), ...a.flags.map((f) => {
      const to = f.permit_no ? "#/permit/" + encodeURIComponent(f.permit_no) : f.application_id ? "#/app/" + encodeURIComponent(f.application_id) : "";
      return el("div", { class: "flag", "data-code": f.code }, text(f), to ? " " : "", to ? el("a", { href: to }, "→") : "");
    }));
  }
  const err = el("p", { class: "note bad", id: "action-error", role: "alert", hidden: true });
  if (a.state === "pending" && can("officer")) {
    card.append(el("div", { class: "actions no-print" },
      el("button", { type: "button", id: "approve", onclick: () => approve(a) }, t("approve")),
      el("button", { type: "button", id: "reject", class: "danger", onclick: () => reject(a) }, t("reject"))));
  }
  card.append(err);
  const nodes = [card];
  if (state.offer) nodes.push(offerCard());
  $("view").replaceChildren(...nodes);
  if (state.offer) $("offer").scrollIntoView({ block: "start" });
}

function actionError(e) {
  const p = $("action-error");
  if (!p) return;
  p.textContent = t("refusedAction") + (e instanceof ApiError ? e.words() : String(e));
  p.dataset.code = e.code || "";
  p.hidden = false;
}

async function approve(a) {
  const name = (a.particulars && a.particulars.name) || a.masked_id;
  if (await ask({ title: t("approveTitle"), body: t("approveText", name), ok: t("approve") }) === null) return;
  try {
    const r = await api("POST", "/v1/applications/" + encodeURIComponent(a.id) + "/approve");
    state.view.a = Object.assign({}, a, { state: "approved", permit_no: r.number, particulars: a.particulars });
    state.offer = Object.assign({ permit: r.number }, r.offer);
    renderApplication();
  } catch (e) {
    actionError(e);
  }
}

async function reject(a) {
  const reason = await ask({ title: t("rejectTitle"), body: t("rejectText"), reasonLabel: t("reasons"), ok: t("reject"), danger: true });
  if (reason === null) return;
  try {
    const reasons = reason.split("\n").map((s) => s.trim()).filter(Boolean);
    await api("POST", "/v1/applications/" + encodeURIComponent(a.id) + "/reject", { reasons });
    clearPhoto();
    await showApplication(a.id);
    notice("done");
  } catch (e) {
    actionError(e);
  }
}

// ---- the offer ------------------------------------------------------------------

let offerTimer = 0;

function offerCard() {
  const o = state.offer;
  const card = el("section", { class: "card", id: "offer", "data-state": "live", "data-kind": o.kind || "" },
    el("h2", { class: "title" }, t("offerTitle")),
    el("p", { class: "muted" }, tr("offer_", o.kind) + " · " + t("permitNo") + " " + o.permit),
    el("img", { class: "qr", id: "offer-qr", alt: t("offerTitle"), src: "data:image/png;base64," + o.qr_png }),
    el("p", { id: "offer-countdown", role: "timer" }),
    el("p", {}, t("offerHelp")),
    el("p", { class: "print-only" }, t("printFoot", o.permit, formatTime(o.expires))),
    el("details", { class: "no-print" }, el("summary", {}, t("offerLink")), el("p", { class: "uri", id: "offer-link" }, o.uri)),
    el("div", { class: "actions no-print", style: "justify-content:center" },
      el("button", { type: "button", id: "offer-print", onclick: () => window.print() }, t("print")),
      el("a", { class: "button secondary", id: "offer-permit", href: "#/permit/" + encodeURIComponent(o.permit) }, t("openPermit"))));
  clearInterval(offerTimer);
  const tick = () => {
    const c = $("offer-countdown");
    if (!c || !state.offer) {
      clearInterval(offerTimer);
      return;
    }
    const left = Math.max(0, Math.round((new Date(state.offer.expires).getTime() - Date.now()) / 1000));
    c.dataset.seconds = String(left);
    if (left === 0) {
      $("offer").dataset.state = "expired";
      c.textContent = t("offerExpired");
      clearInterval(offerTimer);
      return;
    }
    c.textContent = t("offerExpires", `${Math.floor(left / 60)}:${String(left % 60).padStart(2, "0")}`);
  };
  offerTimer = setInterval(tick, 1000);
  setTimeout(tick, 0);
  return card;
}

// ---- permit -----------------------------------------------------------------------

async function showPermit(no) {
  loadingView();
  try {
    const p = await api("GET", "/v1/permits/" + encodeURIComponent(no));
    state.view = { kind: "permit", p };
    renderPermit();
  } catch (e) {
    errorView(e, () => showPermit(no));
  }
}

function renderPermit() {
  const { p } = state.view;
  const pp = p.particulars || {};
  const card = el("section", { class: "card", id: "permit-view", "data-number": p.number, "data-state": p.state });
  card.append(el("a", { href: "#/search", class: "no-print" }, t("back")),
    el("h2", { class: "title" }, t("permit") + " " + p.number + " ",
      badge(tr("st_", p.state), stateTone(p.state), { id: "permit-state", "data-state": p.state })));
  if (p.shredded) card.append(el("p", { class: "note warn" }, t("shredded")));
  const endorsement = el("span", {}, badge(tr("en_", p.endorsement_state), p.endorsement_state === "valid" ? "ok" : p.endorsement_state === "endorsement_due" ? "warn" : "bad",
    { id: "endorsement-state", "data-state": p.endorsement_state }), " ", t("window", p.endorsement_window_opens, p.valid_until));
  const info = fields([
    ["name", pp.name], ["sex", pp.sex ? tr("sex_", pp.sex) : ""], ["ethnicity", pp.ethnicity ? ethnicityName(pp.ethnicity) : ""],
    ["birth", pp.birth_date], ["citizenId", pp.citizen_id, { class: "mono" }], ["maskedId", pp.citizen_id ? "" : p.masked_id],
    ["region", placeName(p.residence_division)], ["residence", pp.residence_address],
    ["household", pp.household_address ? pp.household_address + paren(placeName(pp.household_division)) : ""],
    ["residenceSince", p.residence_since], ["basis", (pp.basis || []).map((b) => tr("basis_", b)).join(lang() === "en" ? ", " : "、")],
    ["issueDate", p.issue_date], ["validUntil", p.valid_until], ["endorsement", endorsement],
    ["application", el("a", { href: "#/app/" + encodeURIComponent(p.application) }, p.application)],
  ]);
  const record = el("div", { class: "record" });
  record.append(photoBox("/v1/permits/" + encodeURIComponent(p.number) + "/photo", p.has_photo), info);
  card.append(record);

  // Actions by role; the service refuses those the state forbids, with its reason.
  const actions = el("div", { class: "actions no-print", id: "permit-actions" });
  if (!p.shredded && can("officer")) {
    actions.append(el("button", { type: "button", id: "act-endorse", onclick: () => permitOffer(p, "endorse") }, t("endorse")),
      el("button", { type: "button", id: "act-reissue", onclick: () => permitOffer(p, "offers") }, t("reissue")));
  }
  if (!p.shredded && can("revoker")) {
    actions.append(el("button", { type: "button", id: "act-suspend", class: "secondary", onclick: () => setStatus(p, "suspend") }, t("suspend")),
      el("button", { type: "button", id: "act-reinstate", class: "secondary", onclick: () => setStatus(p, "reinstate") }, t("reinstate")),
      el("button", { type: "button", id: "act-revoke", class: "danger", onclick: () => setStatus(p, "revoke") }, t("revoke")));
  }
  if (actions.childElementCount) card.append(actions);
  card.append(el("p", { class: "note bad", id: "action-error", role: "alert", hidden: true }));

  const creds = p.credentials || [];
  card.append(el("h3", {}, t("credentials")));
  if (creds.length === 0) card.append(el("p", { class: "muted", id: "no-credentials" }, t("noCredentials")));
  else {
    card.append(el("ul", { class: "records", id: "credentials" }, [...creds].reverse().map((c) =>
      el("li", { "data-n": String(c.n), "data-status": c.status },
        el("div", { class: "head" }, el("strong", {}, t("credential", c.n)),
          badge(tr("cs_", c.status), c.status === "current" ? "ok" : c.status === "superseded" || c.status === "suspended" ? "warn" : "bad")),
        el("div", { class: "facts" },
          el("span", {}, t("issued") + " " + formatTime(c.issued)), el("span", {}, tr("via_", c.via)),
          el("span", {}, t("validUntil") + " " + c.valid_until),
          c.superseded ? el("span", {}, tr("cs_", "superseded") + " " + formatTime(c.superseded)) : null,
          el("span", { class: "mono", title: c.holder_kid }, t("deviceKey") + " " + String(c.holder_kid || "").slice(0, 12) + "…"))))));
  }
  card.append(el("h3", {}, t("history")), el("ul", { class: "records", id: "history" }, [...(p.history || [])].reverse().map((h) =>
    el("li", { "data-action": h.action },
      el("div", { class: "head" }, el("strong", {}, tr("ev_", h.action)), el("span", { class: "muted" }, formatTime(h.time))),
      el("div", { class: "facts" }, el("span", {}, h.actor), h.reason ? el("span", {}, h.action === "credential" ? tr("via_", h.reason) : h.reason) : null)))));
  const nodes = [card];
  if (state.offer) nodes.unshift(offerCard());
  $("view").replaceChildren(...nodes);
  if (state.offer) window.scrollTo(0, 0);
}

async function permitOffer(p, what) {
  const k = what === "endorse" ? "endorse" : "reissue";
  if (await ask({ title: t(k + "Title"), body: t(k + "Text"), ok: t(k) }) === null) return;
  try {
    const r = await api("POST", "/v1/permits/" + encodeURIComponent(p.number) + "/" + what);
    state.offer = Object.assign({ permit: p.number }, r.offer);
    // The answer holds the record without its particulars: read it again.
    const fresh = await api("GET", "/v1/permits/" + encodeURIComponent(p.number));
    state.view.p = fresh;
    renderPermit();
  } catch (e) {
    actionError(e);
  }
}

async function setStatus(p, action) {
  const reason = await ask({ title: t(action + "Title"), body: t(action + "Text"), reasonLabel: t("reasons"), ok: t(action), danger: action !== "reinstate" });
  if (reason === null) return;
  try {
    await api("POST", "/v1/permits/" + encodeURIComponent(p.number) + "/" + action, { reason });
    state.view.p = await api("GET", "/v1/permits/" + encodeURIComponent(p.number));
    state.offer = null;
    renderPermit();
    notice("done");
  } catch (e) {
    actionError(e);
  }
}

// ---- audit --------------------------------------------------------------------------

async function showAudit(after) {
  const a = state.audit;
  if (after !== undefined) a.after = String(after);
  loadingView();
  try {
    const r = await api("GET", "/v1/audit?" + new URLSearchParams({ after: a.after, limit: String(AUDIT_PAGE) }));
    state.view = { kind: "audit", entries: r.entries || [] };
    renderAudit();
  } catch (e) {
    errorView(e, () => showAudit());
  }
}

async function auditLatest() {
  try {
    const cp = await api("GET", "/v1/audit/checkpoint");
    state.audit.stack = [];
    await showAudit(Math.max(0, (cp.seq || 0) - AUDIT_PAGE));
  } catch (e) {
    errorView(e, () => showAudit());
  }
}

function renderAudit() {
  const a = state.audit, entries = state.view.entries;
  const actions = [...new Set(entries.map((e) => e.action))].sort();
  if (a.action && !actions.includes(a.action)) actions.unshift(a.action);
  const from = el("input", { id: "audit-after", type: "number", min: "0", value: a.after, inputmode: "numeric" });
  const sel = el("select", { id: "audit-action" }, el("option", { value: "" }, t("auditAll")),
    actions.map((x) => el("option", { value: x, selected: x === a.action }, x)));
  const q = el("input", { id: "audit-text", type: "search", value: a.text, autocomplete: "off" });
  const form = el("form", { id: "audit-form", autocomplete: "off" },
    el("div", { class: "row" },
      el("label", { class: "field" }, el("span", {}, t("auditFrom")), from),
      el("label", { class: "field" }, el("span", {}, t("auditAction")), sel),
      el("label", { class: "field" }, el("span", {}, t("auditText")), q)),
    el("div", { class: "actions" }, el("button", { type: "submit" }, t("show")),
      el("button", { type: "button", class: "secondary", id: "audit-latest", onclick: auditLatest }, t("latest"))));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    a.action = sel.value;
    a.text = q.value.trim();
    const n = String(Math.max(0, parseInt(from.value, 10) || 0));
    if (n !== a.after) {
      a.stack = [];
      showAudit(n);
    } else renderAudit();
  });
  sel.addEventListener("change", () => { a.action = sel.value; renderAudit(); });
  const needle = a.text.toLowerCase();
  const shown = entries.filter((e) => (!a.action || e.action === a.action) &&
    (!needle || `${e.actor} ${e.subject} ${Object.values(e.detail || {}).join(" ")}`.toLowerCase().includes(needle)));
  const list = el("ul", { class: "records", id: "audit-entries" }, shown.map((e) =>
    el("li", { "data-seq": String(e.seq), "data-action": e.action },
      el("div", { class: "head" }, el("strong", { class: "mono" }, e.action), el("span", { class: "muted" }, `#${e.seq} · ${formatTime(e.time)}`)),
      el("div", { class: "facts" }, el("span", {}, e.actor + paren(tr("role_", e.role))), el("span", { class: "mono" }, e.subject),
        ...Object.entries(e.detail || {}).map(([k, v]) => el("span", { class: "mono" }, `${k}=${v}`))))));
  const last = entries.length ? entries[entries.length - 1].seq : null;
  const pager = el("div", { class: "pager" }, el("span", { class: "muted", id: "audit-count" }, t("auditShown", shown.length, entries.length)));
  if (a.stack.length) {
    pager.append(el("button", { type: "button", class: "secondary", id: "audit-prev", onclick: () => showAudit(a.stack.pop()) }, t("prev")));
  }
  if (last !== null && entries.length === AUDIT_PAGE) {
    pager.append(el("button", { type: "button", id: "audit-next", onclick: () => { a.stack.push(a.after); showAudit(last); } }, t("next")));
  }
  $("view").replaceChildren(el("section", { class: "card", id: "audit-view" }, el("h2", {}, t("auditTitle")), form,
    entries.length ? list : el("p", { class: "muted" }, t("auditEmpty")), pager));
}

// ---- start ------------------------------------------------------------------------

function renderText() {
  applyText(t);
  $("lang").textContent = lang() === "zh" ? "EN" : "中文";
  $("lang").setAttribute("aria-label", lang() === "zh" ? "English" : "中文");
  document.title = t("title") + " · e-permit";
  renderWho();
  renderIdle();
  if (state.notice) notice(state.notice.msg, state.notice.tone);
  render();
}

async function main() {
  setLang(lang());
  $("lang").addEventListener("click", () => {
    setLang(lang() === "zh" ? "en" : "zh");
    renderText();
  });
  $("login-form").addEventListener("submit", login);
  $("logout").addEventListener("click", logout);
  window.addEventListener("hashchange", route);
  setInterval(renderIdle, 1000);
  renderText();
  await loadNames();
  try {
    startSession(await api("GET", "/v1/session"));
  } catch (e) {
    endSession(e.status === 401 || e.status === 403 ? "" : e.words());
  }
  renderText();
  route();
  document.body.dataset.ready = "true";
}

window.epermitOfficer = { state, requirements: REQUIREMENTS };
main();
