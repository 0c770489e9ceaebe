// What every console page shares: its texts, the session (login, refresh, logout), calls to the
// JSON API in its one error shape, notices, and the camera (barcodes and face bursts).
// Pages import what they need: `import { api, start, show } from "./console.js";`

const texts = JSON.parse(document.getElementById("console-texts").textContent);
const body = document.body;
const SESSION_KEY = "console.session";
const FLASH_KEY = "console.flash"; // a text key shown once after a reload (never personal data)
let ended = false; // the session ends once: the page reloads
let loggingOut = false; // a request refused while the logout is under way is its doing, not expiry

export const $ = (selector, root = document) => root.querySelector(selector);
export const $$ = (selector, root = document) => [...root.querySelectorAll(selector)];

/** A text in the reader's language, `{name}` filled from `values`. */
export function t(key, values = {}) {
  const text = texts[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in values ? String(values[name]) : whole));
}

export function hasText(key) {
  return key in texts;
}

// ------------------------------------------------------------------ notices

/** A calm notice, read out by screen readers when it changes. */
export function say(message) {
  $("#notice").textContent = message;
}

/** A refusal or a problem: the message, and what to do next, in the alert region. */
export function warn(message, advice) {
  const alert = $("#alert");
  alert.replaceChildren();
  const line = document.createElement("p");
  line.textContent = message;
  alert.append(line);
  if (advice) {
    const next = document.createElement("p");
    next.className = "advice";
    next.textContent = t("what_next", { advice });
    alert.append(next);
  }
  alert.hidden = false;
}

export function clearNotices() {
  $("#notice").textContent = "";
  $("#alert").hidden = true;
  $("#alert").replaceChildren();
}

/** Show one screen (a `section.screen`) and move the focus to its heading. */
export function show(id) {
  for (const screen of $$("main > .screen")) screen.hidden = screen.id !== id;
  const heading = $(`#${id} h2`);
  if (heading) {
    heading.tabIndex = -1;
    heading.focus();
  }
}

// ------------------------------------------------------------------ the API

/** A refusal from the API (its error shape), or no answer at all (`code` "network"). */
export class ApiFailure extends Error {
  constructor(status, code, message, errors = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.errors = errors || {};
  }

  /** What to do next: the page's advice for this code, else the advice for its status. */
  get advice() {
    if (hasText(`advice_${this.code}`)) return t(`advice_${this.code}`);
    if (this.code === "network") return t("advice_network");
    return hasText(`advice_${this.status}`) ? t(`advice_${this.status}`) : "";
  }

  /** The message with the first field message, e.g. "…: 献血码已过期". */
  get fullMessage() {
    const first = Object.values(this.errors).flat(Infinity).find((m) => typeof m === "string");
    return first && first !== this.message ? `${this.message} ${first}` : this.message;
  }
}

function stored() {
  try {
    return JSON.parse(sessionStorage.getItem(SESSION_KEY)) || null;
  } catch {
    return null;
  }
}

function claimsOf(token) {
  try {
    const payload = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const bytes = Uint8Array.from(atob(payload), (c) => c.charCodeAt(0));
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return {};
  }
}

function keep(pair) {
  const claims = claimsOf(pair.access_token);
  const refreshClaims = claimsOf(pair.refresh_token);
  // Lifetimes are taken as durations from now: the tablet's clock may differ from the server's.
  const refreshLife = (refreshClaims.exp - refreshClaims.iat) * 1000 || 0;
  const session = {
    access: pair.access_token,
    refresh: pair.refresh_token,
    role: claims.role,
    endsAt: Date.now() + refreshLife,
  };
  sessionStorage.setItem(SESSION_KEY, JSON.stringify(session));
  scheduleEnd(session);
  return session;
}

let endTimer = null;
function scheduleEnd(session) {
  clearTimeout(endTimer);
  const left = session.endsAt - Date.now();
  if (left > 0 && left < 2 ** 31) endTimer = setTimeout(() => endSession("session_expired"), left);
}

export function currentRole() {
  return stored()?.role ?? null;
}

export function loggedIn() {
  return stored() !== null;
}

/** The current access token's claims (`sub` names who is logged in, e.g. "device:12"). */
export function sessionClaims() {
  const session = stored();
  return session ? claimsOf(session.access) : {};
}

async function send(path, { method, body, headers, token }) {
  const init = { method, headers: { Accept: "application/json", ...headers } };
  if (token) init.headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  try {
    return await fetch(path, init);
  } catch {
    throw new ApiFailure(0, "network", t("network_down"));
  }
}

async function failureFrom(response) {
  let shape = {};
  try {
    shape = await response.json();
  } catch {
    // not the error shape: a proxy's page, say
  }
  return new ApiFailure(
    response.status,
    shape.code || `http_${response.status}`,
    shape.message || t("unexpected"),
    shape.errors,
  );
}

let refreshing = null;
async function refreshTokens() {
  const session = stored();
  if (!session) return false;
  refreshing ??= (async () => {
    const response = await send("/api/v1/auth/refresh", { method: "POST", token: session.refresh });
    if (!response.ok) return false;
    keep(await response.json());
    return true;
  })().finally(() => {
    refreshing = null;
  });
  return refreshing;
}

/**
 * Call the API: the parsed JSON body, or an ApiFailure. An expired access token is refreshed
 * once; when that fails the session ends (as the API's tokens do) and the login shows again.
 * `as: "blob"` returns the body as a Blob (a QR image, a CSV).
 */
export async function api(path, { method = "GET", body, headers = {}, as = "json" } = {}) {
  let session = stored();
  let response = await send(path, { method, body, headers, token: session?.access });
  if (response.status === 401 && session) {
    let renewed = false;
    try {
      renewed = await refreshTokens();
    } catch (failure) {
      if (failure.code === "network") throw failure;
    }
    if (!renewed) {
      if (!loggingOut) endSession("session_expired");
      throw await failureFrom(response);
    }
    session = stored();
    response = await send(path, { method, body, headers, token: session.access });
  }
  if (!response.ok) throw await failureFrom(response);
  if (as === "blob") return response.blob();
  if (response.status === 204) return null;
  return response.json();
}

/** Mark the fields an API refusal names (`errors` keyed by field), and clear the others. */
export function markFields(form, failure) {
  for (const input of $$("input, select, textarea", form)) input.removeAttribute("aria-invalid");
  if (!(failure instanceof ApiFailure)) return;
  for (const name of Object.keys(failure.errors)) {
    const input = form.elements.namedItem(name);
    if (input instanceof Element) input.setAttribute("aria-invalid", "true");
  }
}

/** A button pressed: disabled, and `text` in the status region, until the returned `done()`. */
export function busy(button, text = t("working")) {
  button.disabled = true;
  say(text);
  return () => {
    button.disabled = false;
  };
}

/**
 * Show an ApiFailure (or any error) in the alert region with what to do next; with `form`, mark
 * the fields it names. The form keeps what was typed.
 */
export function report(failure, form = null) {
  say("");
  if (form) markFields(form, failure);
  if (failure instanceof ApiFailure) {
    warn(failure.fullMessage, failure.advice);
  } else {
    console.error(failure);
    warn(t("unexpected"));
  }
}

/** A fresh Idempotency-Key for one entry: the same key is sent again when it is retried. */
export function newEntryKey() {
  return crypto.randomUUID();
}

// ------------------------------------------------------------------ login and logout

const endHooks = [];
const logOutChecks = [];

/**
 * Ask `check()` (async) before the logout button logs out: when it resolves false the session
 * stays, and the check has said why (a gate with uses not yet uploaded, say).
 */
export function beforeLogOut(check) {
  logOutChecks.push(check);
}

/** Run `hook` before the session's data is wiped (stop the camera, drop object URLs). */
export function beforeSessionEnds(hook) {
  endHooks.push(hook);
}

/** Wipe everything this session kept in the browser and start again at the login (once). */
export function endSession(flash) {
  if (ended) return;
  ended = true;
  for (const hook of endHooks) {
    try {
      hook();
    } catch (error) {
      console.error(error);
    }
  }
  sessionStorage.clear();
  if (flash) sessionStorage.setItem(FLASH_KEY, flash);
  location.replace(location.pathname); // a fresh page: nothing of the last screen stays in memory
}

async function logOut() {
  for (const check of logOutChecks) if (!(await check())) return;
  loggingOut = true;
  try {
    await api("/api/v1/auth/logout", { method: "POST" });
  } catch {
    // the tokens stop working at their expiry anyway; the browser forgets them now
  }
  endSession("logged_out");
}

async function logIn(form) {
  clearNotices();
  const fields = Object.fromEntries(new FormData(form));
  const path = body.dataset.login === "staff" ? "/api/v1/auth/staff-login" : "/api/v1/auth/device-token";
  const button = $("button[type=submit]", form);
  button.disabled = true;
  say(t("logging_in"));
  try {
    const pair = await api(path, { method: "POST", body: fields });
    const session = keep(pair);
    if (!body.dataset.roles.split(",").includes(session.role)) {
      await api("/api/v1/auth/logout", { method: "POST" }).catch(() => {});
      sessionStorage.clear();
      warn(t("wrong_role"));
      return null;
    }
    form.reset();
    say("");
    return session;
  } catch (failure) {
    report(failure);
    say("");
    return null;
  } finally {
    button.disabled = false;
  }
}

/**
 * Start the page: the login until someone is logged in (with the right role), then `onReady()`.
 * `onReady` shows the page's first screen.
 */
export function start(onReady) {
  const flash = sessionStorage.getItem(FLASH_KEY);
  sessionStorage.removeItem(FLASH_KEY);
  if (flash) say(t(flash));
  $("#logout").addEventListener("click", logOut);
  const ready = async () => {
    $("#logout").hidden = false;
    await onReady();
  };
  const session = stored();
  if (session && body.dataset.roles.split(",").includes(session.role)) {
    scheduleEnd(session);
    ready();
    return;
  }
  sessionStorage.removeItem(SESSION_KEY);
  show("login-screen");
  $("#login-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    if (await logIn(event.target)) ready();
  });
}

// ------------------------------------------------------------------ the camera

let zxingReady = null;
function zxing() {
  if (!globalThis.ZXingWASM) return null;
  if (!zxingReady) {
    const wasm = body.dataset.zxingWasm;
    ZXingWASM.prepareZXingModule({
      overrides: { locateFile: (path, prefix) => (path.endsWith(".wasm") ? wasm : prefix + path) },
    });
    zxingReady = true;
  }
  return ZXingWASM;
}

/** The tablet's camera in a <video>; the back camera where there is one. */
export async function openCamera(video) {
  if (!navigator.mediaDevices?.getUserMedia) throw new ApiFailure(0, "camera", t("camera_unavailable"));
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({
      audio: false,
      video: { facingMode: "environment", width: { ideal: 640 }, height: { ideal: 480 } },
    });
  } catch (error) {
    const denied = error?.name === "NotAllowedError";
    throw new ApiFailure(0, "camera", t(denied ? "camera_denied" : "camera_unavailable"));
  }
  video.srcObject = stream;
  video.muted = true;
  video.playsInline = true;
  await video.play();
  return stream;
}

export function closeCamera(video) {
  const stream = video.srcObject;
  if (stream) for (const track of stream.getTracks()) track.stop();
  video.srcObject = null;
}

/**
 * Read barcodes from a <video> until one of `formats` ("QRCode", "Code128") is found; resolves
 * with its text. `signal` (an AbortSignal) stops the search.
 */
export async function scanVideo(video, formats, signal) {
  const reader = zxing();
  if (!reader) throw new ApiFailure(0, "scanner", t("scanner_unavailable"));
  const canvas = document.createElement("canvas");
  const context = canvas.getContext("2d", { willReadFrequently: true });
  while (!signal?.aborted) {
    if (video.videoWidth) {
      canvas.width = video.videoWidth;
      canvas.height = video.videoHeight;
      context.drawImage(video, 0, 0);
      const image = context.getImageData(0, 0, canvas.width, canvas.height);
      const found = await reader.readBarcodes(image, { formats, tryHarder: true, maxNumberOfSymbols: 1 });
      const readable = found.find((result) => result.isValid && result.text);
      if (readable) return readable.text;
    }
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
  return null;
}

/**
 * About `count` frames from a <video>, `every` ms apart, as base64 JPEG at most 640 pixels on
 * the long side: the burst the face check reads a blink from.
 */
export async function captureBurst(video, { count = 15, every = 100 } = {}) {
  const scale = Math.min(1, 640 / Math.max(video.videoWidth, video.videoHeight));
  const canvas = document.createElement("canvas");
  canvas.width = Math.round(video.videoWidth * scale);
  canvas.height = Math.round(video.videoHeight * scale);
  const context = canvas.getContext("2d");
  const frames = [];
  for (let index = 0; index < count; index += 1) {
    context.drawImage(video, 0, 0, canvas.width, canvas.height);
    frames.push(canvas.toDataURL("image/jpeg", 0.85).split(",")[1]);
    await new Promise((resolve) => setTimeout(resolve, every));
  }
  return frames;
}

/**
 * A field a hand scanner types into (it ends with Enter), or a person types a code in:
 * `onCode(text)` with the trimmed text, then the field is emptied for the next one.
 */
export function codeField(input, onCode) {
  input.addEventListener("keydown", (event) => {
    if (event.key !== "Enter") return;
    event.preventDefault();
    const text = input.value.trim();
    input.value = "";
    if (text) onCode(text);
  });
}

/** Online or offline, in the header; `onChange(online)` is told of every change. */
export function watchConnection(onChange) {
  const badge = $("#connection");
  const update = () => {
    badge.hidden = false;
    badge.textContent = navigator.onLine ? t("online") : t("offline");
    badge.classList.toggle("offline", !navigator.onLine);
    onChange?.(navigator.onLine);
  };
  addEventListener("online", update);
  addEventListener("offline", update);
  update();
}
