// Checking benefit codes without a network, as rewards/codes.py does on the server and
// scripts/gate_offline_verify.py at a gate: the Ed25519 signature (WebCrypto) against the kit's
// public keys, the type and algorithm, expiry with the kit's clock allowance, region, the
// benefit's letter, and the local journal of codes admitted here. Time is the server's, never
// the tablet's: the kit's `server_time` gives the offset from this device's clock at download.

import { api } from "./console.js";
import * as store from "./gate-store.js";

const TOKEN_TYPE = "benefit+jwt";
const ALGORITHM = "EdDSA";
const MAX_CODE_LENGTH = 1024;
const ascii = new TextEncoder();

function fromBase64url(segment) {
  const padded = segment.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (segment.length % 4)) % 4);
  return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
}

const asJson = (segment) => JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(fromBase64url(segment)));

/** The server's time now, in milliseconds, as the kit's offset puts it. */
export function serverNow(kit) {
  return Date.now() + kit.offset;
}

/** Download this device's kit and keep it, with the offset of this device's clock. */
export async function refreshKit(owner) {
  const sent = Date.now();
  const kit = await api("/api/v1/gate/offline-kit");
  const received = Date.now();
  const offset = Date.parse(kit.server_time) - (sent + received) / 2;
  const kept = { ...kit, offset };
  await store.saveKit(owner, kept);
  return kept;
}

const keyCache = new Map();
async function publicKey(kit, kid) {
  const cacheKey = `${kid} ${kit.server_time}`;
  if (!keyCache.has(cacheKey)) {
    const jwk = (kit.jwks.keys || []).find((k) => k.kid === kid && k.kty === "OKP" && k.crv === "Ed25519");
    if (!jwk) return null;
    const key = await crypto.subtle.importKey("jwk", { kty: "OKP", crv: "Ed25519", x: jwk.x }, { name: "Ed25519" }, false, [
      "verify",
    ]);
    keyCache.set(cacheKey, key);
  }
  return keyCache.get(cacheKey);
}

/** The code's claims when it is ours, intact and unexpired at `now` (seconds); or a reason. */
async function verified(code, kit, now) {
  if (code.length > MAX_CODE_LENGTH) return { reason: "code_invalid" };
  const parts = code.split(".");
  if (parts.length !== 3) return { reason: "code_invalid" };
  const [header, payload, signature] = parts;
  let claims;
  try {
    const head = asJson(header);
    if (head.alg !== ALGORITHM || head.typ !== TOKEN_TYPE) return { reason: "code_invalid" };
    const key = await publicKey(kit, head.kid);
    if (!key) return { reason: "code_invalid" };
    const intact = await crypto.subtle.verify("Ed25519", key, fromBase64url(signature), ascii.encode(`${header}.${payload}`));
    if (!intact) return { reason: "code_invalid" };
    claims = asJson(payload);
  } catch {
    return { reason: "code_invalid" };
  }
  const { sub, rg, bk, jti, exp } = claims ?? {};
  if (!Number.isInteger(exp) || ![sub, rg, bk, jti].every((value) => typeof value === "string")) {
    return { reason: "code_invalid" };
  }
  if (exp + kit.clock_skew < now) return { reason: "code_expired" };
  return { claims: { sub, rg, bk, jti, exp } };
}

/**
 * Check a code with the kit alone: "allowed" (the use is in the journal before this returns),
 * or why not: code_invalid, code_expired, wrong_region, wrong_kind, replayed, kit_expired.
 */
export async function checkOffline(code, kit, owner) {
  const nowMs = serverNow(kit);
  if (nowMs > Date.parse(kit.valid_until)) return "kit_expired";
  const { reason, claims } = await verified(code, kit, nowMs / 1000);
  if (reason) return reason;
  if (claims.rg !== kit.region) return "wrong_region";
  if (!claims.bk.includes(kit.token_code)) return "wrong_kind";
  const entry = {
    key: `${claims.sub} ${claims.jti}`,
    owner,
    code,
    used_at: new Date(nowMs).toISOString(),
    exp: claims.exp,
  };
  return (await store.admit(entry)) ? "allowed" : "replayed";
}

let uploading = null;

/**
 * Send the journal's waiting uses (POST /gate/offline-uses, in batches within the server's
 * limit) and mark each batch answered once the server has answered it. Sending a batch again
 * records nothing twice, so a failure midway loses nothing: what was not marked goes next time.
 * Resolves with the number still waiting; throws the ApiFailure that stopped it.
 */
export function upload(kit, owner) {
  uploading ??= (async () => {
    const batch = Math.max(1, kit?.batch_max || 100);
    const entries = await store.waiting(owner);
    for (let start = 0; start < entries.length; start += batch) {
      const part = entries.slice(start, start + batch);
      const answer = await api("/api/v1/gate/offline-uses", {
        method: "POST",
        body: { uses: part.map(({ code, used_at }) => ({ code, used_at })) },
      });
      const outcomes = part.map((_, index) => answer.results.find((r) => r.index === index)?.outcome);
      await store.markAnswered(part, outcomes);
    }
    if (kit) await store.prune(serverNow(kit) / 1000, kit.clock_skew);
    return (await store.waiting(owner)).length;
  })().finally(() => {
    uploading = null;
  });
  return uploading;
}
