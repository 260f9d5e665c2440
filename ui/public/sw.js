// The offline shell: the app's files are cached so field mode opens without a network.
// The API is never cached (reports are queued by the page, not here). Web Push: the node's
// notices (a warning to this agent, a sector bulletin) shown as notifications.
const CACHE = "dronewatch-shell-v1";

self.addEventListener("install", (e) => {
  e.waitUntil(
    caches.open(CACHE).then(async (c) => {
      await c.addAll(["/", "/index.html", "/manifest.webmanifest", "/icon.svg"]);
      // The bundle's hashed files, as the page names them: cached now, so the app opens
      // offline after its first visit (that visit's own requests came before this worker).
      const html = await (await fetch("/index.html")).text();
      const assets = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1]);
      await c.addAll(assets);
    }),
  );
  self.skipWaiting();
});

self.addEventListener("activate", (e) => {
  e.waitUntil(
    caches.keys().then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k)))).then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (e) => {
  const url = new URL(e.request.url);
  if (e.request.method !== "GET" || url.origin !== location.origin || url.pathname.startsWith("/api/")) return;
  // Network first (a new build shows at once), the cache when offline.
  e.respondWith(
    fetch(e.request)
      .then((r) => {
        if (r.ok) {
          const copy = r.clone();
          caches.open(CACHE).then((c) => c.put(e.request, copy));
        }
        return r;
      })
      .catch(() => caches.match(e.request).then((r) => r || caches.match("/index.html"))),
  );
});

self.addEventListener("push", (e) => {
  let n;
  try {
    n = e.data ? e.data.json() : {};
  } catch {
    n = { title: "dronewatch", body: e.data ? e.data.text() : "" };
  }
  const critical = n.level === "critical";
  e.waitUntil(
    self.registration.showNotification(n.title || "dronewatch", {
      body: n.body || "",
      tag: n.tag,
      renotify: Boolean(n.tag),
      // A critical warning and a bulletin stay until the agent acts on them.
      requireInteraction: critical || n.type === "bulletin",
      vibrate: critical ? [500, 150, 500, 150, 500] : [250, 100, 250],
      icon: "/icon.svg",
      badge: "/icon.svg",
    }),
  );
});

self.addEventListener("notificationclick", (e) => {
  e.notification.close();
  e.waitUntil(
    self.clients.matchAll({ type: "window", includeUncontrolled: true }).then((open) => {
      const field = open.find((c) => new URL(c.url).hash.startsWith("#/field")) || open[0];
      return field ? field.focus() : self.clients.openWindow("/#/field");
    }),
  );
});
