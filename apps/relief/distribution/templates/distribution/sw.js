// The scanning station's service worker (scope /scan/): after one online visit the page opens with no network,
// from the copy kept here. The page itself verifies and queues offline (scan.js); this only keeps its files.
// Rendered by Django: CACHE changes whenever the list of files (or their hashed names) changes.
const CACHE = {{ cache_name_json|safe }};
const PAGE = {{ page_url_json|safe }};
const FILES = {{ files_json|safe }};

self.addEventListener("install", (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    await cache.addAll(FILES);
    // The page as this user last saw it (an authenticated copy; logging out clears it).
    const page = await fetch(PAGE, { credentials: "same-origin" });
    if (page.ok && !page.redirected) await cache.put(PAGE, page);
    await self.skipWaiting();
  })());
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith("relief-scan-") && name !== CACHE) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  if (request.mode === "navigate" && url.pathname === PAGE) {
    // Network first, so a fresh page (new events, a new CSRF token) wins whenever there is a network.
    event.respondWith((async () => {
      try {
        const fresh = await fetch(request);
        if (fresh.ok && !fresh.redirected) (await caches.open(CACHE)).put(PAGE, fresh.clone());
        return fresh;
      } catch {
        const kept = await caches.match(PAGE);
        return kept || Response.error();
      }
    })());
    return;
  }
  if (FILES.includes(url.pathname)) {
    event.respondWith((async () => (await caches.match(url.pathname)) || fetch(request))());
  }
  // Everything else (the API above all) goes to the network; the page handles its absence.
});
