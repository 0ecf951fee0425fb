// sw-core.js: the service worker shared by /verify/ and /wallet/. The page's
// own sw.js sets self.EPERMIT_SW = {name, shell, networkFirst, never} and
// imports this file.
//
//   - the app shell (shell) is precached on install and served cache-first,
//     so the app starts with the network off after the first visit; at most
//     every few hours, when online, a navigation refreshes the whole shell
//     in the background (it takes effect on the next start);
//   - networkFirst URLs (the verifier's config.json) come from the network
//     and fall back to the last good copy;
//   - never URLs (trust list, status lists, the issuer's endpoints) are not
//     touched: the apps keep their own checked copies in IndexedDB.
/* global self, caches, clients */
"use strict";

const cfg = self.EPERMIT_SW;
const CACHE = "epermit-" + cfg.name + "-v1";
const abs = (u) => new URL(u, self.location).href;
const SHELL = cfg.shell.map(abs);
const INDEX = abs("./");
const NETWORK_FIRST = new Set((cfg.networkFirst || []).map(abs));
const META = abs("./__epermit_sw_refreshed");
const REFRESH_EVERY_MS = 6 * 3600 * 1000;

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches.open(CACHE)
      .then(async (c) => {
        await c.addAll(SHELL.map((u) => new Request(u, { cache: "reload" })));
        // Best effort: a first copy of the network-first documents, so that
        // they are there offline even if the page fetched them before it
        // was controlled.
        await Promise.all([...NETWORK_FIRST].map((u) =>
          fetch(u, { cache: "no-store" }).then((r) => (r.ok ? c.put(u, r) : null), () => null)));
      })
      .then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const k of await caches.keys()) {
      if (k.startsWith("epermit-" + cfg.name + "-") && k !== CACHE) await caches.delete(k);
    }
    await (await caches.open(CACHE)).put(META, new Response(String(Date.now())));
    await clients.claim();
  })());
});

async function refreshShell() {
  const c = await caches.open(CACHE);
  const m = await c.match(META);
  const last = m ? Number(await m.text()) : 0;
  if (Date.now() - last < REFRESH_EVERY_MS) return;
  await c.put(META, new Response(String(Date.now())));
  // Fetch everything first, then replace: never a half-updated shell
  // unless the cache itself fails mid-way.
  const fresh = await Promise.all(SHELL.map((u) => fetch(u, { cache: "no-cache" })));
  if (fresh.some((r) => !r.ok)) return;
  await Promise.all(fresh.map((r, i) => c.put(SHELL[i], r)));
}

async function cacheFirst(req, key) {
  const c = await caches.open(CACHE);
  const hit = await c.match(key, { ignoreSearch: key === INDEX });
  if (hit) return hit;
  const r = await fetch(req);
  if (r.ok && SHELL.includes(key)) await c.put(key, r.clone());
  return r;
}

async function networkFirst(req) {
  const c = await caches.open(CACHE);
  try {
    const r = await fetch(req, { cache: "no-store" });
    if (r.ok) await c.put(req.url, r.clone());
    return r;
  } catch (e) {
    const hit = await c.match(req.url);
    if (hit) return hit;
    throw e;
  }
}

self.addEventListener("fetch", (event) => {
  const req = event.request;
  if (req.method !== "GET") return;
  const url = new URL(req.url);
  if (url.origin !== self.location.origin) return;
  const bare = url.origin + url.pathname;
  if (NETWORK_FIRST.has(bare)) {
    event.respondWith(networkFirst(req));
    return;
  }
  let key = null;
  if (req.mode === "navigate" && (bare === INDEX || bare === abs("./index.html"))) key = INDEX;
  else if (SHELL.includes(bare) && url.search === "") key = bare;
  if (key === null) return; // the network, untouched
  event.respondWith(cacheFirst(req, key));
  if (req.mode === "navigate") event.waitUntil(refreshShell().catch(() => {}));
});
