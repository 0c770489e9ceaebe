// The gate: scan a benefit code (camera or hand scanner), allow or deny, large. Online the server
// decides (POST /gate/verify); without a network the gate decides with its offline kit and keeps
// a journal it uploads when the network returns (gate-offline.js). Its service worker (gate-sw.js)
// keeps the page itself for when the network is gone.

import {
  $,
  ApiFailure,
  api,
  beforeLogOut,
  beforeSessionEnds,
  clearNotices,
  closeCamera,
  codeField,
  openCamera,
  report,
  say,
  scanVideo,
  sessionClaims,
  show,
  start,
  t,
  warn,
  watchConnection,
} from "./console.js";
import { checkOffline, refreshKit, upload } from "./gate-offline.js";
import * as store from "./gate-store.js";

const SHOW_ALLOW_MS = 4000; // then back to scanning, or at a tap
const SHOW_DENY_MS = 6000;
const OUT_OF_VIEW_MS = 1500; // no code seen this long: the one decided has left the camera
const SYNC_EVERY_MS = 5 * 60 * 1000;

if ("serviceWorker" in navigator) {
  navigator.serviceWorker.register("/gate/sw.js", { scope: "/gate/" }).catch((error) => console.error(error));
}

const video = $("#camera-video");
const input = $("#code-input");
let owner = null; // the device logged in ("device:12"): its kit and its journal
let kit = null;
let camera = null; // AbortController of the camera loop
let lastDecided = null; // the code the camera loop must not send again while it stays in view
let verdictTimer = null;
let decisions = Promise.resolve(); // one decision at a time, in the order scanned

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const verdictShown = () => !$("#verdict").hidden;

// ------------------------------------------------------------------ the verdict

function showVerdict({ allow, name, message, offline }) {
  clearTimeout(verdictTimer);
  const word = $("#verdict-word");
  word.textContent = allow ? t("allow") : t("deny");
  word.className = `verdict ${allow ? "allow" : "deny"}`;
  $("#verdict-name").textContent = name ? t("holder", { name }) : "";
  $("#verdict-name").hidden = !name;
  $("#verdict-reason").textContent = message;
  $("#verdict-mode").hidden = !offline;
  $("#verdict").hidden = false;
  $("#verdict").scrollIntoView({ block: "nearest" });
  verdictTimer = setTimeout(hideVerdict, allow ? SHOW_ALLOW_MS : SHOW_DENY_MS);
}

function hideVerdict() {
  clearTimeout(verdictTimer);
  $("#verdict").hidden = true;
}

async function offlineVerdict(code) {
  if (!kit) return { allow: false, message: t("kit_missing"), offline: true };
  const reason = await checkOffline(code, kit, owner);
  if (reason === "allowed") refreshState();
  return { allow: reason === "allowed", message: t(`reason_${reason}`), offline: true };
}

async function decide(code) {
  lastDecided = code;
  clearNotices();
  say(t("checking"));
  let verdict;
  try {
    if (navigator.onLine) {
      try {
        const answer = await api("/api/v1/gate/verify", { method: "POST", body: { code } });
        verdict = { allow: answer.decision === "allow", name: answer.name, message: answer.message };
      } catch (failure) {
        if (!(failure instanceof ApiFailure && failure.code === "network")) throw failure;
        verdict = await offlineVerdict(code); // the network is gone though the browser thinks not
      }
    } else {
      verdict = await offlineVerdict(code);
    }
    say("");
    showVerdict(verdict);
  } catch (failure) {
    report(failure);
  }
}

function enqueue(code) {
  decisions = decisions.then(() => decide(code));
  return decisions;
}

// ------------------------------------------------------------------ the camera

async function cameraLoop(signal) {
  while (!signal.aborted) {
    if (verdictShown()) {
      await sleep(200);
      continue;
    }
    const seen = await scanVideo(video, ["QRCode"], AbortSignal.any([signal, AbortSignal.timeout(OUT_OF_VIEW_MS)]));
    if (signal.aborted) break;
    if (seen === null) {
      lastDecided = null; // nothing in view: the same code shown again is a new, deliberate scan
    } else if (seen === lastDecided || verdictShown()) {
      await sleep(300);
    } else {
      await enqueue(seen);
    }
  }
}

async function startCamera({ quietly = false } = {}) {
  if (camera) return;
  try {
    await openCamera(video);
  } catch (failure) {
    if (!quietly) report(failure);
    return;
  }
  camera = new AbortController();
  $("#camera").hidden = false;
  $("#camera-start").hidden = true;
  $("#camera-stop").hidden = false;
  say(t("scanning"));
  cameraLoop(camera.signal).catch((failure) => {
    stopCamera();
    report(failure);
  });
}

function stopCamera() {
  camera?.abort();
  camera = null;
  closeCamera(video);
  $("#camera").hidden = true;
  $("#camera-start").hidden = false;
  $("#camera-stop").hidden = true;
}

// ------------------------------------------------------------------ offline kit and journal

async function refreshState() {
  const count = owner ? (await store.waiting(owner)).length : 0;
  const lines = [];
  if (!navigator.onLine) lines.push(t("offline_working"));
  if (count > 0) lines.push(t("uses_waiting", { count }));
  if (!kit) lines.push(t("kit_missing"));
  else if (navigator.onLine && count === 0) {
    const until = new Date(Date.parse(kit.valid_until)).toLocaleString(document.documentElement.lang, {
      timeZone: "Asia/Shanghai",
      timeZoneName: "short",
    });
    lines.push(t("kit_ready", { until }));
  }
  $("#gate-state").textContent = lines.join(" ");
  return count;
}

/** Online: renew the kit (and the clock offset) and upload what waits. */
async function sync() {
  if (!navigator.onLine || !owner) return;
  try {
    kit = await refreshKit(owner);
    if ((await store.waiting(owner)).length > 0) {
      say(t("uploading"));
      const left = await upload(kit, owner);
      say(left === 0 ? t("uses_uploaded") : "");
    }
  } catch (failure) {
    say("");
    if (failure instanceof ApiFailure && failure.code === "network") say(t("upload_failed"));
    else report(failure);
  }
  await refreshState();
}

// ------------------------------------------------------------------ the page

async function ready() {
  owner = sessionClaims().sub;
  kit = (await store.readKit(owner)) ?? null;
  show("scan-screen");
  input.focus();
  watchConnection(() => {
    refreshState();
    sync();
  });
  setInterval(sync, SYNC_EVERY_MS);
  await startCamera({ quietly: true });
}

codeField(input, enqueue);
$("#code-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const code = input.value.trim();
  input.value = "";
  input.focus();
  if (code) enqueue(code);
});
$("#next-code").addEventListener("click", () => {
  hideVerdict();
  input.focus();
});
$("#camera-start").addEventListener("click", () => startCamera());
$("#camera-stop").addEventListener("click", stopCamera);

beforeSessionEnds(stopCamera);
beforeLogOut(async () => {
  if (!owner) return true;
  let count = (await store.waiting(owner)).length;
  if (count > 0 && navigator.onLine) {
    try {
      say(t("uploading"));
      count = await upload(kit, owner);
    } catch {
      count = (await store.waiting(owner)).length;
    }
    say("");
  }
  if (count > 0) {
    warn(t("logout_blocked", { count }), navigator.onLine ? t("advice_network") : t("advice_kit"));
    await refreshState();
    return false;
  }
  await store.forget(owner);
  return true;
});

start(ready);
