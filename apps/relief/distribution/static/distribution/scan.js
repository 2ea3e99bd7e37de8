// The scanning station: camera (jsQR) or USB keyboard-wedge input, verdict from the server or, with no
// network, from the event's manifest (Ed25519 verified here), hand-overs queued in localStorage and synced.
import * as ed from "./vendor/noble-ed25519/index.js";
import { sha512 } from "./vendor/noble-hashes/sha2.js";

ed.hashes.sha512 = sha512;

const T = JSON.parse(document.getElementById("scan-strings").textContent);
const $ = (id) => document.getElementById(id);
const API = "/api/v1";
const QUEUE_KEY = "relief.scan.queue";
const REPEAT_MS = 3000; // the same card held in front of the camera is read once

const state = { event: null, manifest: null, current: null, lastCode: "", lastAt: 0, busy: false, stream: null };

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
function decodeToken(code, keys) {
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
function saveQueue(q) { localStorage.setItem(QUEUE_KEY, JSON.stringify(q)); $("queue-count").textContent = q.length; }

function offlineVerify(code) {
  const m = state.manifest;
  if (!m) return { verdict: "invalid", reason: "no_manifest", message: T.no_manifest, household: null, entitlements: [] };
  let claims;
  try { claims = decodeToken(code, m.keys); }
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
    return { verdict: "already_collected", household, entitlements: [],
             message: fmt(T.collected_at, { when: new Date(collected.at).toLocaleString(), lane: collected.lane }) };
  }
  if (card.e.length === 0) return { verdict: "not_entitled", message: T.verdicts.not_entitled, household, entitlements: [] };
  return { verdict: "entitled", household, message: T.verdicts.entitled, serial: claims.serial,
           collectors: card.a || [],
           entitlements: card.e.map(([item, qty]) => ({ item, qty, name: m.items[item] || item })) };
}

// ---- the screen ----------------------------------------------------------------------------------------

function show(result, { offline = false } = {}) {
  const box = $("verdict");
  box.className = "verdict " + result.verdict;
  $("verdict-title").textContent = T.titles[result.verdict] || result.verdict;
  $("verdict-message").textContent = (result.message || "") + (offline ? " · " + T.offline_check : "");
  const h = result.household;
  $("household").textContent = h ? fmt(T.household_line, { number: h.number, size: h.size, block: h.block || "—", initials: h.head_initials || "—" }) : "";
  const form = $("handover");
  form.hidden = result.verdict !== "entitled";
  if (result.verdict !== "entitled") return;
  const lines = $("lines");
  lines.innerHTML = "";
  for (const e of result.entitlements) {
    const tr = document.createElement("tr");
    tr.innerHTML = `<td></td><td><input type="number" min="0" max="${e.qty}" value="${e.qty}" data-item=""></td><td><select hidden></select></td>`;
    tr.cells[0].textContent = `${e.name} (${e.item})`;
    const input = tr.querySelector("input");
    input.dataset.item = e.item;
    input.dataset.full = e.qty;
    const reason = tr.querySelector("select");
    for (const [value, label] of T.reasons) reason.add(new Option(label, value));
    input.addEventListener("input", () => { reason.hidden = Number(input.value) >= e.qty; });
    lines.appendChild(tr);
  }
  const who = $("collector");
  who.innerHTML = "";
  who.add(new Option(T.head, "head"));
  for (const c of result.collectors || []) who.add(new Option(`${c.initials} (${c.relationship})`, String(c.id)));
  $("confirm").focus();
}

function ready() {
  state.current = null;
  $("handover").hidden = true;
  $("verdict").className = "verdict idle";
  $("verdict-title").textContent = T.titles.ready;
  $("verdict-message").textContent = "";
  $("household").textContent = "";
  $("code").value = "";
  $("code").focus();
}

async function onCode(code) {
  code = code.trim();
  if (!code || state.busy || !state.event) return;
  const now = Date.now();
  if (code === state.lastCode && now - state.lastAt < REPEAT_MS) return;
  state.lastCode = code; state.lastAt = now;
  state.busy = true;
  try {
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
    state.current = { code, result, offline };
    show(result, { offline });
  } finally {
    state.busy = false;
  }
}

function handoverBody() {
  const lines = [];
  let partial = false;
  for (const tr of $("lines").rows) {
    const input = tr.querySelector("input");
    const qty = Math.max(0, Math.min(Number(input.value) || 0, Number(input.dataset.full)));
    const reason = tr.querySelector("select").value;
    if (qty < Number(input.dataset.full)) partial = true;
    lines.push({ item: input.dataset.item, qty, reason: qty < Number(input.dataset.full) ? reason : "" });
  }
  const collector = $("collector").value;
  return { lines: partial ? lines : null, collector: collector === "head" ? "head" : Number(collector) };
}

async function confirm(ev) {
  ev.preventDefault();
  const current = state.current;
  if (!current || current.result.verdict !== "entitled" || state.busy) return;
  state.busy = true;
  const body = { code: current.code, event: state.event, client_id: uuid(), lane: Number($("lane").value) || 1,
                 ...handoverBody() };
  try {
    let done = false;
    if (!current.offline) {
      try {
        const resp = await api("POST", "/scan/redeem", body);
        setNet(true);
        show(resp.data.verdict ? resp.data : { verdict: "invalid", message: resp.data.detail });
        if (resp.data.verdict === "redeemed") markCollected(current.code, body.lane);
        done = true;
      } catch { setNet(false); }
    }
    if (!done) {
      const claims = decodeToken(current.code, state.manifest.keys);
      const q = queue();
      q.push({ ...body, serial: claims.serial, scanned_at: new Date().toISOString() });
      saveQueue(q);
      show({ verdict: "queued", message: T.queued, household: current.result.household, entitlements: [] });
    }
  } finally {
    state.busy = false;
  }
  setTimeout(ready, 1200);
}

// So that a scan made offline right after this hand-over still sees it, before the next manifest.
function markCollected(code, lane) {
  if (!state.manifest) return;
  try {
    const claims = decodeToken(code, state.manifest.keys);
    const card = state.manifest.cards[claims.serial];
    if (card) { card.c = { at: new Date().toISOString(), lane }; card.e = []; }
  } catch { /* the server accepted it; the local list simply stays as it was */ }
}

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
    if (resp.status !== 200) return;
    const done = new Set();
    for (const r of resp.data.results) {
      done.add(r.client_id);
      const li = document.createElement("li");
      li.textContent = `${new Date().toLocaleTimeString()} ${T.sync_status[r.status] || r.status}${r.reason ? " — " + r.reason : ""}`;
      $("sync-log").prepend(li);
    }
    saveQueue(queue().filter((x) => !done.has(x.client_id)));
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
  $("manifest-info").textContent = state.manifest
    ? fmt(T.manifest_info, { cards: Object.keys(state.manifest.cards).length, at: new Date(state.manifest.generated_at).toLocaleTimeString() })
    : T.no_manifest;
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
    if (video.readyState >= 2 && !state.busy && !(state.current && state.current.result.verdict === "entitled")) {
      const scale = Math.min(1, 800 / video.videoWidth);
      canvas.width = Math.round(video.videoWidth * scale);
      canvas.height = Math.round(video.videoHeight * scale);
      ctx.drawImage(video, 0, 0, canvas.width, canvas.height);
      const img = ctx.getImageData(0, 0, canvas.width, canvas.height);
      const found = window.jsQR(img.data, img.width, img.height, { inversionAttempts: "dontInvert" });
      if (found && found.data) onCode(found.data);
    }
    setTimeout(() => requestAnimationFrame(tick), 120);
  };
  tick();
}

// ---- wiring -------------------------------------------------------------------------------------------------

function init() {
  const select = $("event");
  const saved = localStorage.getItem("relief.scan.event");
  if (saved && [...select.options].some((o) => o.value === saved)) select.value = saved;
  $("lane").value = localStorage.getItem("relief.scan.lane") || "1";
  state.event = Number(select.value) || null;
  select.addEventListener("change", () => {
    state.event = Number(select.value) || null;
    localStorage.setItem("relief.scan.event", select.value);
    loadManifest();
  });
  $("lane").addEventListener("change", () => localStorage.setItem("relief.scan.lane", $("lane").value));
  $("wedge").addEventListener("submit", (ev) => { ev.preventDefault(); state.lastCode = ""; onCode($("code").value); });
  $("handover").addEventListener("submit", confirm);
  $("cancel").addEventListener("click", ready);
  $("camera").addEventListener("click", startCamera);
  $("sync").addEventListener("click", sync);
  $("language").addEventListener("change", (ev) => ev.target.form.submit());
  window.addEventListener("online", sync);
  setInterval(sync, 30000);
  saveQueue(queue());
  loadManifest().then(sync);
  ready();
  document.body.dataset.ready = "1";
}

init();
