// The scanning station: camera (jsQR) or USB keyboard-wedge input, verdict from the server or, with no
// network, from the event's manifest (Ed25519 verified here), hand-overs queued in localStorage and synced.
import * as ed from "./vendor/noble-ed25519/index.js";
import { sha512 } from "./vendor/noble-hashes/sha2.js";

ed.hashes.sha512 = sha512;

const T = JSON.parse(document.getElementById("scan-strings").textContent);
const $ = (id) => document.getElementById(id);
const API = "/api/v1";
const QUEUE_KEY = "relief.scan.queue";
const CONFIG = JSON.parse(document.getElementById("scan-config").textContent);
// A card the camera has just judged is not read again for this long (site config scan_repeat_seconds).
const REPEAT_MS = CONFIG.repeat_seconds * 1000;
// A household this device served this recently, seen again, is "handed over just now", not a refusal.
const JUST_NOW_MS = Math.max(REPEAT_MS, 5 * 60 * 1000);
// An offline list older than this is shown as out of date.
const STALE_MS = CONFIG.stale_minutes * 60 * 1000;

const state = {
  event: null, manifest: null, current: null, seq: 0, pending: null, verifying: false, confirming: false,
  cameraCode: "", cameraAt: 0, handed: new Map(), stream: null,
};

// ---- small helpers ------------------------------------------------------------------------------------

function uuid() {
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

function fmt(template, values) {
  return template.replace(/%\((\w+)\)s/g, (_, k) => (values[k] ?? ""));
}

async function api(method, path, body) {
  const resp = await fetch(API + path, {
    method, credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRFToken": document.body.dataset.csrf },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  let data = null;
  try { data = await resp.json(); } catch { data = null; }
  if (resp.status >= 500) throw new TypeError(`server ${resp.status}`);
  return { status: resp.status, data };
}

function setNet(online) {
  const el = $("net");
  el.textContent = online ? T.online : T.offline;
  el.className = "net " + (online ? "online" : "offline");
}

// ---- the card token: RC1: + base45(COSE_Sign1) -----------------------------------------------------

const B45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";

function base45(text) {
  const out = [];
  for (let i = 0; i < text.length; i += 3) {
    const chunk = text.slice(i, i + 3);
    const v = [...chunk].map((c) => B45.indexOf(c));
    if (v.includes(-1) || chunk.length === 1) throw new Error("base45");
    if (chunk.length === 3) {
      const n = v[0] + v[1] * 45 + v[2] * 2025;
      if (n > 0xffff) throw new Error("base45");
      out.push(n >> 8, n & 0xff);
    } else {
      const n = v[0] + v[1] * 45;
      if (n > 0xff) throw new Error("base45");
      out.push(n);
    }
  }
  return new Uint8Array(out);
}

// A strict CBOR reader for the few types a card token uses.
function cbor(bytes) {
  let pos = 0;
  const need = (n) => { if (pos + n > bytes.length) throw new Error("cbor"); };
  const arg = (info) => {
    if (info < 24) return info;
    const size = { 24: 1, 25: 2, 26: 4, 27: 8 }[info];
    if (!size) throw new Error("cbor");
    need(size);
    let n = 0;
    for (let i = 0; i < size; i++) n = n * 256 + bytes[pos++];
    return n;
  };
  const item = (depth) => {
    if (depth > 4) throw new Error("cbor");
    need(1);
    const b = bytes[pos++], major = b >> 5, info = b & 31;
    const n = arg(info);
    switch (major) {
      case 0: return n;
      case 1: return -1 - n;
      case 2: need(n); pos += n; return bytes.slice(pos - n, pos);
      case 3: need(n); pos += n; return new TextDecoder("utf-8", { fatal: true }).decode(bytes.slice(pos - n, pos));
      case 4: { if (n > 8) throw new Error("cbor"); const a = []; for (let i = 0; i < n; i++) a.push(item(depth + 1)); return a; }
      case 5: {
        if (n > 8) throw new Error("cbor");
        const m = new Map();
        for (let i = 0; i < n; i++) { const k = item(depth + 1); m.set(k, item(depth + 1)); }
        return m;
      }
      case 6: return { tag: n, value: item(depth + 1) };
      default: throw new Error("cbor");
    }
  };
  const value = item(0);
  if (pos !== bytes.length) throw new Error("cbor");
  return value;
}

function bstrHead(len) {
  if (len < 24) return [0x40 + len];
  if (len < 256) return [0x58, len];
  return [0x59, len >> 8, len & 0xff];
}

function sigStructure(protectedBytes, payload) {
  const ctx = new TextEncoder().encode("Signature1");
  return new Uint8Array([0x84, 0x60 + ctx.length, ...ctx, ...bstrHead(protectedBytes.length), ...protectedBytes,
    0x40, ...bstrHead(payload.length), ...payload]);
}

const hex = (b) => [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
const fromB64 = (s) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));

// Returns claims or throws {reason}.
// ``retired``: key ids the manifest lists as retired (a leaked key): what they signed is invalid, retired_key.
function decodeToken(code, keys, retired = []) {
  const fail = (reason) => { throw { reason }; };
  code = code.trim();
  if (code.length > 512) fail("oversized");
  if (!code.startsWith("RC1:")) fail("unreadable");
  let raw;
  try { raw = base45(code.slice(4)); } catch { fail("unreadable"); }
  let prot, payload, sig, kid;
  try {
    const env = cbor(raw);
    if (env.tag !== 18 || !Array.isArray(env.value) || env.value.length !== 4) throw 0;
    [prot, , payload, sig] = env.value;
    if (!(env.value[1] instanceof Map) || env.value[1].size !== 0 || sig.length !== 64) throw 0;
    const header = cbor(prot);
    kid = header.get(4);
    if (header.size !== 2 || header.get(1) !== -8 || !(kid instanceof Uint8Array) || kid.length !== 8) throw 0;
  } catch (e) { if (e && e.reason) throw e; fail("malformed"); }
  if (retired.includes(hex(kid))) fail("retired_key");
  const key = keys[hex(kid)];
  if (!key) fail("unknown_key");
  if (!ed.verify(sig, sigStructure(prot, payload), fromB64(key), { zip215: false })) fail("bad_signature");
  try {
    const c = cbor(payload);
    if (c.get(-1) !== 1) throw 0;
    return { site: c.get(1), serial: c.get(-2), generation: c.get(-3), household: c.get(-4) };
  } catch { fail("malformed"); }
}

// ---- offline verdicts from the manifest ---------------------------------------------------------------

function queue() { return JSON.parse(localStorage.getItem(QUEUE_KEY) || "[]"); }
function saveQueue(q) {
  localStorage.setItem(QUEUE_KEY, JSON.stringify(q));
  $("queue-count").textContent = q.length;
  const refused = q.filter((x) => x.refused).length;
  $("queue-refused").hidden = refused === 0;
  $("queue-refused").textContent = fmt(T.refused_count, { n: refused });
  showServed();
}

function offlineVerify(code) {
  const m = state.manifest;
  if (!m) return { verdict: "invalid", reason: "no_manifest", message: T.no_manifest, household: null, entitlements: [] };
  let claims;
  try { claims = decodeToken(code, m.keys, m.retired); }
  catch (e) { return { verdict: "invalid", reason: e.reason || "malformed", message: T.invalid[e.reason] || T.invalid.malformed, household: null, entitlements: [] }; }
  if (m.revoked.includes(claims.serial)) return { verdict: "revoked", message: T.verdicts.revoked, household: null, entitlements: [] };
  if (claims.site !== m.event.site) return { verdict: "wrong_event", message: T.verdicts.wrong_event, household: null, entitlements: [] };
  const card = m.cards[claims.serial];
  if (!card) return { verdict: "not_entitled", message: T.verdicts.not_entitled, household: null, entitlements: [] };
  if (card.h !== claims.household || card.g !== claims.generation) {
    return { verdict: "invalid", reason: "unknown_card", message: T.invalid.unknown_card, household: null, entitlements: [] };
  }
  const household = { number: card.h, size: card.s, block: card.b, head_initials: card.i };
  const local = queue().find((q) => q.serial === claims.serial && q.event === m.event.id);
  const collected = local ? { at: local.scanned_at, lane: local.lane } : card.c;
  if (local || (card.e.length === 0 && card.c)) {
    return { verdict: "already_collected", household, entitlements: [], serial: claims.serial,
             message: fmt(T.collected_at, { when: new Date(collected.at).toLocaleString(), lane: collected.lane }) };
  }
  if (card.e.length === 0) return { verdict: "not_entitled", message: T.verdicts.not_entitled, household, entitlements: [] };
  return { verdict: "entitled", household, message: T.verdicts.entitled, serial: claims.serial,
           collectors: card.a || [],
           entitlements: card.e.map(([item, qty, owed]) => ({ item, qty, owed: Boolean(owed), name: m.items[item] || item })) };
}

// ---- served so far: from the manifest (every lane's hand-overs) and this device's queue ------------------

function showServed() {
  const m = state.manifest;
  const lane = Number($("lane").value) || 1;
  let event = 0, here = 0;
  const seen = new Set();
  if (m && m.event.id === state.event) {
    for (const [serial, card] of Object.entries(m.cards)) {
      if (!card.c) continue;
      seen.add(serial);
      event += 1;
      if (card.c.lane === lane) here += 1;
    }
  }
  for (const q of queue()) {
    if (q.event !== state.event || q.refused || seen.has(q.serial)) continue;
    seen.add(q.serial);
    event += 1;
    if (q.lane === lane) here += 1;
  }
  $("served").textContent = fmt(T.served, { lane: here, event });
}

// ---- the screen ----------------------------------------------------------------------------------------

// The "record feedback" link on the verdict (accountability's feedback desk) carries this event and household.
function feedbackLink(h) {
  const link = $("feedback");
  if (!link) return;
  const query = new URLSearchParams({ channel: "table", event: $("event").value });
  if (h) query.set("household", h.number);
  link.href = link.dataset.base + "?" + query.toString();
}

function show(result, { offline = false } = {}) {
  const box = $("verdict");
  box.className = "verdict " + result.verdict;
  $("verdict-title").textContent = T.titles[result.verdict] || result.verdict;
  $("verdict-message").textContent = (result.message || "") + (offline ? " · " + T.offline_check : "");
  const h = result.household;
  $("household").textContent = h ? fmt(T.household_line, { number: h.number, size: h.size, block: h.block || "—", initials: h.head_initials || "—" }) : "";
  feedbackLink(h);
  const form = $("handover");
  form.hidden = result.verdict !== "entitled";
  if (result.verdict !== "entitled") return;
  const lines = $("lines");
  lines.innerHTML = "";
  for (const e of result.entitlements) {
    const tr = document.createElement("tr");
    tr.innerHTML = `<td></td><td><input type="number" inputmode="numeric" min="0"></td><td><select hidden></select></td>`;
    const label = `${e.name} (${e.item})` + (e.owed ? ` · ${T.owed}` : "");
    const hold = e.available === undefined || e.available === null ? e.qty : Math.min(e.qty, e.available);
    tr.cells[0].textContent = hold < e.qty ? `${label} · ${fmt(T.point_holds, { n: e.available })}` : label;
    const input = tr.querySelector("input");
    input.max = e.qty;
    input.value = hold;
    input.dataset.item = e.item;
    input.dataset.full = e.qty;
    const reason = tr.querySelector("select");
    for (const [value, text] of T.reasons) reason.add(new Option(text, value));
    reason.hidden = hold >= e.qty;
    input.addEventListener("input", () => { reason.hidden = Number(input.value) >= e.qty; });
    lines.appendChild(tr);
  }
  const who = $("collector");
  who.innerHTML = "";
  who.add(new Option(T.head, "head"));
  for (const c of result.collectors || []) who.add(new Option(`${c.initials} (${c.relationship})`, String(c.id)));
}

function ready() {
  state.current = null;
  $("handover").hidden = true;
  $("verdict").className = "verdict idle";
  $("verdict-title").textContent = T.titles.ready;
  $("verdict-message").textContent = "";
  $("household").textContent = "";
  feedbackLink(null);
  focusCode();
}

function focusCode() {
  const code = $("code");
  if (document.activeElement !== code) code.focus({ preventScroll: true });
}

// A scan — from the wedge (a whole line ended by Enter) or the camera. Whatever verdict is on screen is
// dropped unrecorded: a hand-over is recorded only by its own confirmation, never by the next card.
async function onScan(raw, source) {
  const code = raw.trim();
  if (!code || !state.event) return;
  const now = Date.now();
  if (source === "camera") {
    // The card just judged is still in front of the camera: not read again for a while.
    if (code === state.cameraCode && now - state.cameraAt < REPEAT_MS) return;
    if (state.current && state.current.code === code) return;
    state.cameraCode = code; state.cameraAt = now;
  }
  state.seq += 1;
  state.current = null;
  $("handover").hidden = true;
  if (state.verifying) { state.pending = { code, source }; return; }
  state.verifying = true;
  try {
    let next = { code, source };
    while (next) {
      state.pending = null;
      await judge(next.code);
      next = state.pending;
    }
  } finally {
    state.verifying = false;
  }
}

async function judge(code) {
  const seq = state.seq;
  let result, offline = false;
  try {
    const resp = await api("POST", "/scan/verify", { code, event: state.event });
    if (resp.status !== 200) throw new TypeError(String(resp.status));
    result = resp.data;
    // An answer from the server is the truth; a local queue entry means this device handed it over too.
    if (result.verdict === "entitled" && queue().some((q) => q.code === code && q.event === state.event)) {
      result = offlineVerify(code);
    }
    setNet(true);
  } catch {
    setNet(false);
    offline = true;
    result = offlineVerify(code);
  }
  if (seq !== state.seq && state.pending) return; // a newer card is waiting: its verdict is the one to show
  const handed = state.handed.get(code);
  if (result.verdict === "already_collected" && handed && Date.now() - handed < JUST_NOW_MS) {
    // The household this lane has just served, seen again: not a refusal.
    result = { ...result, verdict: "handed_just_now", message: T.handed_just_now };
  }
  state.current = { code, result, offline, clientId: uuid() };
  show(result, { offline });
  focusCode();
}

function handoverBody() {
  const lines = [];
  let partial = false;
  for (const tr of $("lines").rows) {
    const input = tr.querySelector("input");
    const qty = Math.max(0, Math.min(Math.floor(Number(input.value)) || 0, Number(input.dataset.full)));
    const reason = tr.querySelector("select").value;
    if (qty < Number(input.dataset.full)) partial = true;
    lines.push({ item: input.dataset.item, qty, reason: qty < Number(input.dataset.full) ? reason : "" });
  }
  const collector = $("collector").value;
  return { lines: partial ? lines : null, collector: collector === "head" ? "head" : Number(collector) };
}

// The deliberate act: the Confirm button (pointer) or F2. Never an Enter.
async function confirm() {
  const current = state.current;
  if (!current || current.result.verdict !== "entitled" || state.confirming) return;
  state.confirming = true;
  state.current = null; // confirmed once: a second press records nothing more
  $("handover").hidden = true;
  const seq = state.seq;
  const body = { code: current.code, event: state.event, client_id: current.clientId,
                 lane: Number($("lane").value) || 1, ...handoverBody() };
  let shown;
  try {
    let done = false;
    if (!current.offline) {
      try {
        const resp = current.exception
          ? await api("POST", "/scan/exception", { ...body, ...approval(), household: current.exception })
          : await api("POST", "/scan/redeem", body);
        setNet(true);
        shown = resp.data && resp.data.verdict ? resp.data : { verdict: "invalid", message: (resp.data || {}).detail };
        if (current.exception && resp.status === 422 && !(resp.data || {}).verdict) {
          // Refused before anything was recorded (no approval, a wrong PIN): the same hand-over may be confirmed
          // again once the supervisor has approved.
          state.current = current;
          $("handover").hidden = false;
          $("verdict-message").textContent = (resp.data || {}).detail || "";
          return;
        }
        if (shown.verdict === "redeemed") markCollected(current.code, body.lane);
        done = true;
      } catch { setNet(false); }
    }
    if (!done && current.exception) return; // the exception lane needs the server: nothing is queued
    if (!done) {
      const claims = decodeToken(current.code, state.manifest.keys, state.manifest.retired);
      const q = queue();
      q.push({ ...body, serial: claims.serial, scanned_at: new Date().toISOString() });
      saveQueue(q);
      state.handed.set(current.code, Date.now());
      shown = { verdict: "queued", message: T.queued, household: current.result.household, entitlements: [] };
    }
  } finally {
    state.confirming = false;
  }
  showServed();
  if (seq !== state.seq) return; // a new card was scanned meanwhile: its verdict stays on screen
  show(shown);
  focusCode();
  setTimeout(() => { if (seq === state.seq) ready(); }, 1200);
}

// So that a scan made offline right after this hand-over still sees it, before the next manifest.
function markCollected(code, lane) {
  state.handed.set(code, Date.now());
  if (!state.manifest) return;
  try {
    const claims = decodeToken(code, state.manifest.keys, state.manifest.retired);
    const card = state.manifest.cards[claims.serial];
    if (card) { card.c = { at: new Date().toISOString(), lane }; card.e = []; }
  } catch { /* the server accepted it; the local list simply stays as it was */ }
}

// The server judges an upload entry by entry. What it recorded (the hand-over, or its conflict or rejection,
// kept on the event page for follow-up) leaves the queue; what it did not accept stays: "invalid" marked with
// its reason for the team to see, "deferred" (over the batch limit) simply sent again. One bad entry never
// strands the others.
const SETTLED = new Set(["accepted", "duplicate", "conflict", "rejected"]);

async function sync() {
  const q = queue();
  if (!q.length) { if (navigator.onLine) await loadManifest(); return; }
  const byEvent = {};
  for (const item of q) (byEvent[item.event] ||= []).push(item);
  for (const [event, items] of Object.entries(byEvent)) {
    let resp;
    try {
      resp = await api("POST", `/events/${event}/sync`, { redemptions: items.map(({ client_id, code, scanned_at, lane, collector, lines }) => ({ client_id, code, scanned_at, lane, collector, lines })) });
    } catch { setNet(false); return; }
    setNet(true);
    const results = resp.data && Array.isArray(resp.data.results) ? resp.data.results : null;
    if (!results) continue; // refused as a whole (rate limit, not allowed): everything stays for the next try
    const answers = new Map(results.filter((r) => r && r.client_id).map((r) => [r.client_id, r]));
    for (const r of answers.values()) {
      const li = document.createElement("li");
      const why = r.reason || (r.errors ? JSON.stringify(r.errors) : "");
      li.textContent = `${new Date().toLocaleTimeString()} ${T.sync_status[r.status] || r.status}${why ? " — " + why : ""}`;
      $("sync-log").prepend(li);
    }
    saveQueue(queue().flatMap((x) => {
      const r = answers.get(x.client_id);
      if (!r) return [x];
      if (SETTLED.has(r.status)) return [];
      return [r.status === "invalid" ? { ...x, refused: r.reason || r.status } : x];
    }));
  }
  await loadManifest();
}

async function loadManifest() {
  if (!state.event) return;
  const key = `relief.scan.manifest.${state.event}`;
  try {
    const resp = await api("GET", `/events/${state.event}/manifest`);
    if (resp.status === 200) {
      localStorage.setItem(key, JSON.stringify(resp.data));
      setNet(true);
    }
  } catch { setNet(false); }
  state.manifest = JSON.parse(localStorage.getItem(key) || "null");
  showManifestAge();
  showServed();
}

// The offline list ages: past STALE_MS without a fresh copy the page says so plainly.
function showManifestAge() {
  const info = $("manifest-info");
  const m = state.manifest;
  if (!m) { info.textContent = T.no_manifest; info.className = "stale"; return; }
  const at = new Date(m.generated_at);
  const stale = Date.now() - at.getTime() > STALE_MS;
  info.textContent = fmt(stale ? T.manifest_stale : T.manifest_info,
                         { cards: Object.keys(m.cards).length, at: at.toLocaleString() });
  info.className = stale ? "stale" : "";
}

// ---- camera ----------------------------------------------------------------------------------------------

function stopCamera() {
  for (const track of state.stream.getTracks()) track.stop();
  state.stream = null;
  $("video").srcObject = null;
  $("camera").textContent = T.camera_start;
}

async function startCamera() {
  if (state.stream) { stopCamera(); return; }
  try {
    state.stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment", width: { ideal: 1280 } } });
  } catch {
    $("verdict-message").textContent = T.no_camera;
    return;
  }
  $("camera").textContent = T.camera_stop;
  const video = $("video");
  video.srcObject = state.stream;
  await video.play();
  const canvas = $("frame");
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  const tick = () => {
    if (!state.stream) return;
    if (video.readyState >= 2 && !state.verifying && !state.confirming) {
      const scale = Math.min(1, 800 / video.videoWidth);
      canvas.width = Math.round(video.videoWidth * scale);
      canvas.height = Math.round(video.videoHeight * scale);
      ctx.drawImage(video, 0, 0, canvas.width, canvas.height);
      const img = ctx.getImageData(0, 0, canvas.width, canvas.height);
      const found = window.jsQR(img.data, img.width, img.height, { inversionAttempts: "dontInvert" });
      if (found && found.data) onScan(found.data, "camera");
    }
    setTimeout(() => requestAnimationFrame(tick), 120);
  };
  tick();
}

// ---- the exception lane: find a household, a supervisor approves ---------------------------------------------

function approval() {
  return {
    reason: $("exc-reason").value, note: $("exc-note").value.trim(),
    approver: { username: $("exc-user").value.trim(), pin: $("exc-pin").value, token: $("exc-token").value.trim() },
  };
}

async function lookup(ev) {
  ev.preventDefault();
  const q = $("lookup-q").value.trim();
  const list = $("lookup-results");
  list.innerHTML = "";
  $("exception-message").textContent = "";
  if (q.startsWith("RC1:")) { $("lookup-q").value = ""; onScan(q, "wedge"); return; } // a scan landed here
  if (!q || !state.event) return;
  let resp;
  try { resp = await api("GET", `/scan/lookup?event=${state.event}&q=${encodeURIComponent(q)}`); setNet(true); }
  catch { setNet(false); $("exception-message").textContent = T.offline; return; }
  const found = (resp.data && resp.data.households) || [];
  if (!found.length) { $("exception-message").textContent = resp.status === 200 ? T.exception.none_found : (resp.data || {}).detail || ""; return; }
  for (const h of found) {
    const li = document.createElement("li");
    const verdict = h.verdict ? (T.titles[h.verdict.verdict] || h.verdict.verdict) : T.exception.no_card;
    const text = document.createElement("span");
    const initials = (h.verdict && h.verdict.household && h.verdict.household.head_initials) || "—";
    text.textContent = `${fmt(T.household_line, { number: h.number, size: h.size, block: h.block || "—", initials })}`
      + ` · ${h.card || "—"} · ${verdict}`;
    li.appendChild(text);
    if (h.verdict && h.verdict.verdict === "entitled") {
      li.appendChild(button(T.exception.hand_over, "exc-hand-over", () => {
        state.seq += 1;
        state.current = { code: "", exception: h.number, result: h.verdict, offline: false, clientId: uuid() };
        show({ ...h.verdict, message: `${h.verdict.message} · ${T.exception.by_exception}` });
      }));
    }
    if (h.card) {
      li.appendChild(button(T.exception.replace_lost, "exc-replace-lost", () => replaceCard(h.number, "lost")));
      li.appendChild(button(T.exception.replace_damaged, "exc-replace-damaged", () => replaceCard(h.number, "damaged")));
    }
    list.appendChild(li);
  }
}

function button(label, cls, onClick) {
  const b = document.createElement("button");
  b.type = "button"; b.className = cls; b.textContent = label;
  b.addEventListener("click", onClick);
  return b;
}

async function replaceCard(household, reason) {
  const { approver } = approval();
  let resp;
  try { resp = await api("POST", "/scan/replace-card", { event: state.event, household, reason, approver }); }
  catch { setNet(false); return; }
  const msg = $("exception-message");
  if (resp.status !== 201) { msg.textContent = (resp.data || {}).detail || String(resp.status); return; }
  const url = `${resp.data.print}?size=${$("print-size").value}`;
  msg.textContent = fmt(T.exception.replaced, { serial: resp.data.card }) + " ";
  const link = document.createElement("a");
  link.href = url; link.target = "_blank"; link.id = "print-card"; link.textContent = T.exception.print_again;
  msg.appendChild(link);
  window.open(url, "_blank");
  loadManifest(); // the old serial is in the revoked list from now on, offline too
}

// ---- offline from a cold start: the service worker keeps the page and its files ---------------------------

function installOffline() {
  // Service workers need a secure context (HTTPS, or localhost): on plain HTTP the page still works once open.
  if (!("serviceWorker" in navigator)) return;
  navigator.serviceWorker.register(document.body.dataset.sw, { scope: "./" }).catch(() => {});
  // Logging out removes this user's copy of the page; the queue stays (it belongs to the event, and syncs).
  $("logout").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      for (const name of await caches.keys()) if (name.startsWith("relief-scan-")) await caches.delete(name);
      for (const r of await navigator.serviceWorker.getRegistrations()) await r.unregister();
    } finally { ev.target.submit(); }
  });
}

// ---- wiring -------------------------------------------------------------------------------------------------

const PRINTABLE = /^.$/u;

function init() {
  const select = $("event");
  const saved = localStorage.getItem("relief.scan.event");
  if (saved && [...select.options].some((o) => o.value === saved)) select.value = saved;
  $("lane").value = localStorage.getItem("relief.scan.lane") || "1";
  state.event = Number(select.value) || null;
  select.addEventListener("change", () => {
    state.event = Number(select.value) || null;
    localStorage.setItem("relief.scan.event", select.value);
    ready();
    loadManifest();
  });
  $("lane").addEventListener("change", () => { localStorage.setItem("relief.scan.lane", $("lane").value); showServed(); });
  const code = $("code");
  // The wedge's Enter ends a scan; the box is emptied at once so the next card never joins this one.
  code.addEventListener("keydown", (ev) => {
    if (ev.key !== "Enter") return;
    ev.preventDefault();
    const text = code.value;
    code.value = "";
    onScan(text, "wedge");
  });
  // Keys typed anywhere else (a quantity box, a menu, the page) that cannot belong there go to the code box:
  // a scan starting while the team edits a quantity still arrives whole. Enter elsewhere never confirms.
  document.addEventListener("keydown", (ev) => {
    if (ev.key === "F2") { ev.preventDefault(); confirm(); return; }
    if (ev.target === code || ev.ctrlKey || ev.metaKey || ev.altKey) return;
    // Typing a search or an approval; a scan typed there is caught by the search (it starts with RC1:).
    if (ev.target.matches && ev.target.matches("#exception input, #exception select")) return;
    const inQty = ev.target.matches && ev.target.matches("#lines input, #lane");
    if (ev.key === "Enter") { ev.preventDefault(); focusCode(); return; }
    if (!PRINTABLE.test(ev.key) || (inQty && /[0-9]/.test(ev.key))) return;
    ev.preventDefault();
    code.value += ev.key;
    focusCode();
  }, true);
  const confirmButton = $("confirm");
  // Pressing the button must not take the focus from the code box, and only a real press counts.
  confirmButton.addEventListener("mousedown", (ev) => ev.preventDefault());
  confirmButton.addEventListener("click", (ev) => { if (ev.detail !== 0) confirm(); });
  $("cancel").addEventListener("mousedown", (ev) => ev.preventDefault());
  $("cancel").addEventListener("click", () => { state.seq += 1; ready(); });
  $("camera").addEventListener("click", startCamera);
  $("lookup").addEventListener("submit", lookup);
  $("sync").addEventListener("click", sync);
  $("language").addEventListener("change", (ev) => ev.target.form.submit());
  window.addEventListener("online", sync);
  setInterval(sync, 30000);
  setInterval(showManifestAge, 60000);
  saveQueue(queue());
  loadManifest().then(sync);
  installOffline();
  ready();
  document.body.dataset.ready = "1";
}

init();
