// The gate's service worker (served at /gate/sw.js, scope /gate/): it keeps the page shell, our
// scripts and styles and the barcode reader, so the gate page loads with no network. Our files
// are fetched fresh whenever the network answers (a fix reaches the gate at its next load) and
// the kept copy serves when it does not; the vendor files' addresses carry their version, so a
// kept copy is always right. Calls to the API are never kept: they go to the network or fail.

const SHELL = "gate-shell-v1";
const PAGE = "/gate/";
const OWN = [
  PAGE,
  "/console/static/console.css",
  "/console/static/gate.css",
  "/console/static/console.js",
  "/console/static/gate.js",
  "/console/static/gate-offline.js",
  "/console/static/gate-store.js",
];
const VENDOR = /\/console\/vendor\/[^"'\s<>]+/g; // the page names its vendor files

self.addEventListener("install", (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(SHELL);
      await cache.addAll(OWN);
      const page = await (await cache.match(PAGE)).text();
      await cache.addAll([...new Set(page.match(VENDOR) ?? [])]);
      await self.skipWaiting();
    })(),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) if (name !== SHELL) await caches.delete(name);
      await self.clients.claim();
    })(),
  );
});

async function networkFirst(request, key) {
  const cache = await caches.open(SHELL);
  try {
    const response = await fetch(request);
    if (response.ok) await cache.put(key, response.clone());
    return response;
  } catch (error) {
    const kept = await cache.match(key);
    if (kept) return kept;
    throw error;
  }
}

async function cacheFirst(request) {
  const cache = await caches.open(SHELL);
  const kept = await cache.match(request);
  if (kept) return kept;
  const response = await fetch(request);
  if (response.ok) await cache.put(request, response.clone());
  return response;
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  if (url.pathname.startsWith("/api/")) return; // never kept
  if (url.pathname === PAGE) {
    event.respondWith(networkFirst(request, PAGE));
  } else if (OWN.includes(url.pathname)) {
    event.respondWith(networkFirst(request, url.pathname));
  } else if (url.pathname.startsWith("/console/vendor/")) {
    event.respondWith(cacheFirst(request));
  }
});
