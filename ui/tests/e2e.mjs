// The UI in a real browser (Playwright driving the system Chromium) against a running
// node: log in, see live tracks, open a track, acknowledge an alert, and report a sighting
// from field mode with the network cut and restored (stored once). The node is started by
// scripts/ui-test.sh; this script sets up users through the API and feeds a drone on a
// collision course with an agent over the HTTP sensor interface.
//
//   DRONEWATCH_URL=http://127.0.0.1:PORT DRONEWATCH_ADMIN_PASSWORD=... node tests/e2e.mjs
//   SCREENSHOT_DIR=../docs/screenshots  also saves a picture of each main view.

import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";
import { join } from "node:path";

const BASE = process.env.DRONEWATCH_URL ?? "http://127.0.0.1:8080";
const ADMIN_PASSWORD = process.env.DRONEWATCH_ADMIN_PASSWORD;
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const SHOTS = process.env.SCREENSHOT_DIR || null;
const STEP_MS = 30_000;

const failures = [];
/// Prints the node's picture when a step fails.
let diagnose = null;
let step = "setup";

function log(msg) {
  console.log(`[ui e2e] ${msg}`);
}

async function api(method, path, token, body) {
  const r = await fetch(`${BASE}/api/v1${path}`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body !== undefined ? { "content-type": "application/json" } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

async function login(name, password) {
  return (await api("POST", "/auth/login", null, { username: name, password })).access_token;
}

// A point `north_m`, `east_m` from `p` (flat Earth: metres of error at these distances).
function offset(p, north_m, east_m) {
  const dLat = north_m / 111_320;
  const dLon = east_m / (111_320 * Math.cos((p.lat_deg * Math.PI) / 180));
  return { lat_deg: p.lat_deg + dLat, lon_deg: p.lon_deg + dLon, h_m: p.h_m ?? 0 };
}

/// A drone seen by radar `sensorId` four times a second at `positionAt(seconds since the
/// start)`, posted over the HTTP sensor interface until `stop()`.
function flyDrone(token, sensorId, radarPos, positionAt) {
  const start = Date.now();
  let seq = 0;
  let flying = true;
  const done = (async () => {
    while (flying) {
      await api("POST", `/sensors/${sensorId}/detections`, token, {
        v: 1,
        t: new Date().toISOString(),
        sensor_id: sensorId,
        sensor_kind: "radar",
        seq: seq++,
        sensor_position: radarPos,
        measurement: { kind: "position", position: positionAt((Date.now() - start) / 1000), sigma_horizontal_m: 5, sigma_vertical_m: 5 },
      }).catch((e) => log(`${sensorId}: ${e.message}`));
      await new Promise((r) => setTimeout(r, 250));
    }
  })();
  return {
    stop: async () => {
      flying = false;
      await done;
    },
  };
}

async function shot(page, name) {
  if (!SHOTS) return;
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: join(SHOTS, `${name}.png`) });
  log(`screenshot ${name}.png`);
}

async function check(name, f) {
  step = name;
  const t0 = Date.now();
  try {
    await f();
    log(`ok   ${name} (${Date.now() - t0} ms)`);
  } catch (e) {
    failures.push(`${name}: ${String(e.message ?? e).split("\n")[0]}`);
    log(`FAIL ${name}: ${e.stack ?? e}`);
    if (diagnose) await diagnose().catch((d) => log(`diagnosis failed: ${d}`));
  }
}

async function main() {
  if (!ADMIN_PASSWORD) throw new Error("set DRONEWATCH_ADMIN_PASSWORD");
  const admin = await login("admin", ADMIN_PASSWORD);
  const pw = "browser test password";
  for (const [name, role] of [
    ["officer", "operator"],
    ["garcia", "agent"],
    ["intel", "analyst"],
    ["radar", "sensor"],
  ]) {
    await api("POST", "/users", admin, { name, role, password: pw });
  }
  const sensorToken = (await api("POST", "/users/radar/device-tokens", admin, { label: "browser test radar" })).token;
  const cfg = await api("GET", "/ui-config", admin);
  const agentPos = { lat_deg: cfg.center.lat_deg, lon_deg: cfg.center.lon_deg, h_m: cfg.center.h_m ?? 0 };
  const garcia = await login("garcia", pw);
  diagnose = async () => {
    const tracks = await api("GET", "/tracks", admin);
    log(`node: tracks ${JSON.stringify(tracks).slice(0, 600)}`);
    log(`node: alerts ${JSON.stringify(await api("GET", "/alerts?state=all", admin)).slice(0, 600)}`);
    log(`node: warnings ${JSON.stringify(await api("GET", "/warnings", admin)).slice(0, 600)}`);
    log(`node: agents ${JSON.stringify(await api("GET", "/agents", admin)).slice(0, 300)}`);
  };
  await api("POST", "/agents/me/position", garcia, { position: agentPos });

  // A drone 500 m north at 60 m, flying south at 8 m/s straight at the agent: inside the
  // warning horizon (45 s) from the start, over the agent after a minute.
  const radarPos = offset(agentPos, 300, 400);
  const feed = flyDrone(sensorToken, "radar", radarPos, (t_s) => {
    const pos = offset(agentPos, Math.max(-600, 500 - 8 * t_s), 5);
    return { ...pos, h_m: agentPos.h_m + 60 };
  });

  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--use-gl=swiftshader", "--enable-unsafe-swiftshader"] });
  try {
    const ops = await browser.newPage({ viewport: { width: 1500, height: 900 } });
    ops.setDefaultTimeout(STEP_MS);
    ops.on("pageerror", (e) => failures.push(`ops page error: ${e.message}`));
    ops.on("console", (m) => m.type() === "error" && log(`ops console: ${m.text()}`));
    // The node's PMTiles basemap (scripts/ui-test.sh configures one): what the map read.
    const basemapReads = [];
    ops.on("response", (r) => {
      if (r.url().endsWith("/api/v1/basemap.pmtiles")) {
        basemapReads.push({ status: r.status(), range: r.request().headers()["range"] ?? "" });
      }
    });

    await check("first load under 2 s", async () => {
      const t0 = Date.now();
      await ops.goto(BASE + "/", { waitUntil: "load" });
      await ops.getByLabel("User").waitFor();
      const ms = Date.now() - t0;
      log(`first load ${ms} ms`);
      if (ms > 2000) throw new Error(`${ms} ms`);
    });

    await check("log in", async () => {
      await ops.getByLabel("User").fill("officer");
      await ops.getByLabel("Password").fill(pw);
      await ops.getByRole("button", { name: "Log in" }).click();
      await ops.locator('[data-testid="connection"]', { hasText: "live" }).waitFor();
    });

    let uid;
    await check("see live tracks", async () => {
      const row = ops.locator('[data-testid="track-table"] tbody tr').first();
      await row.waitFor();
      uid = await row.getAttribute("data-uid");
      // The map draws it: the symbol layer has a feature for it.
      await ops.waitForFunction(() => document.querySelector(".maplibregl-canvas") !== null);
    });

    await check("the node's PMTiles basemap is read by range requests", async () => {
      // The header and directories come in the first 16 KiB; a tile lies beyond them.
      const deadline = Date.now() + STEP_MS;
      const tileRead = () =>
        basemapReads.some((r) => r.status === 206 && Number(/bytes=(\d+)-/.exec(r.range)?.[1] ?? 0) >= 16384);
      while (!tileRead() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
      if (!tileRead()) throw new Error(`reads: ${JSON.stringify(basemapReads)}`);
      const refused = basemapReads.filter((r) => r.status !== 206);
      if (refused.length) throw new Error(`refused reads: ${JSON.stringify(refused)}`);
    });

    await check("open a track", async () => {
      await ops.locator(`[data-testid="track-table"] tr[data-uid="${uid}"]`).click();
      const detail = ops.locator('[data-testid="track-detail"]');
      await detail.getByText(`Track ${uid}`).waitFor();
      await detail.getByText("radar").first().waitFor();
      await shot(ops, "ops-track");
    });

    let alertId;
    await check("acknowledge an alert", async () => {
      const item = ops.locator('[data-testid="alert-queue"] li[data-alert-id]').first();
      await item.waitFor();
      alertId = Number(await item.getAttribute("data-alert-id"));
      await item.click();
      const detail = ops.locator('[data-testid="alert-detail"]');
      await detail.getByLabel("Note").fill("seen on camera, agents warned");
      await detail.locator('button[data-action="acknowledge"]').click();
      await detail.getByText("Acknowledge: recorded").waitFor();
      const a = await api("GET", `/alerts/${alertId}`, admin);
      if (a.state !== "acknowledged") throw new Error(`alert state ${a.state}`);
      const acted = a.history.find((h) => h.action === "acknowledged");
      if (!acted || acted.actor !== "officer" || acted.note !== "seen on camera, agents warned") {
        throw new Error(`history ${JSON.stringify(a.history)}`);
      }
      await shot(ops, "ops-alert");
    });

    await check("draw a zone, drag a corner, add and remove corners", async () => {
      const adminPage = await browser.newPage({ viewport: { width: 1500, height: 900 } });
      adminPage.setDefaultTimeout(STEP_MS);
      adminPage.on("pageerror", (e) => failures.push(`admin page error: ${e.message}`));
      await adminPage.goto(BASE + "/");
      await adminPage.getByLabel("User").fill("admin");
      await adminPage.getByLabel("Password").fill(ADMIN_PASSWORD);
      await adminPage.getByRole("button", { name: "Log in" }).click();
      await adminPage.locator('[data-testid="configure"]').click();
      await adminPage.locator('[data-testid="zone-list"]', { hasText: "No zones." }).waitFor();
      await adminPage.getByLabel("Zone name").fill("Forward post");
      await adminPage.getByLabel("Zone kind").selectOption("protected_site");
      await adminPage.locator('[data-testid="zone-draw"]').click();
      const box = await adminPage.locator(".maplibregl-canvas").boundingBox();
      const cx = box.x + box.width / 2;
      const cy = box.y + box.height / 2;
      for (const [dx, dy] of [[-60, -60], [60, -60], [60, 60], [-60, 60]]) {
        await adminPage.mouse.click(cx + dx, cy + dy);
      }
      await adminPage.locator('[data-testid="zone-save"]').click();
      await adminPage.locator('[data-testid="zone-list"]', { hasText: "Forward post (protected_site)" }).waitFor();
      const zones = await api("GET", "/zones", admin);
      const z = zones.features.find((f) => f.properties.name === "Forward post");
      if (!z || z.geometry.type !== "Polygon" || z.geometry.coordinates[0].length !== 5) {
        throw new Error(`zones ${JSON.stringify(zones)}`);
      }
      // The zone is around the agent (the map opens centred on the sector's origin).
      const lons = z.geometry.coordinates[0].map((p) => p[0]);
      if (!(Math.min(...lons) < agentPos.lon_deg && Math.max(...lons) > agentPos.lon_deg)) {
        throw new Error(`zone not around the map centre: ${JSON.stringify(z.geometry)}`);
      }
      await shot(adminPage, "ops-zones");

      // Edit it: drag its first corner 80 px east on the map, save the shape.
      await adminPage.locator('[data-zone-id] [data-testid="zone-edit"]').first().click();
      const corner = adminPage.locator('[data-testid="zone-corner"]').first();
      const cb = await corner.boundingBox();
      const [x0, y0] = [cb.x + cb.width / 2, cb.y + cb.height / 2];
      await adminPage.mouse.move(x0, y0);
      await adminPage.mouse.down();
      for (let k = 1; k <= 4; k++) await adminPage.mouse.move(x0 + 20 * k, y0);
      await adminPage.mouse.up();
      await adminPage.locator('[data-testid="zone-edit-save"]').click();
      await adminPage.locator('[data-testid="zone-corner"]').first().waitFor({ state: "detached" });
      const edited = (await api("GET", "/zones", admin)).features.find((f) => f.properties.name === "Forward post");
      const [before, after] = [z.geometry.coordinates[0][0], edited?.geometry.coordinates[0][0]];
      const ring = edited?.geometry.coordinates[0] ?? [];
      if (!after || !(after[0] > before[0]) || Math.abs(after[1] - before[1]) > 1e-3 || ring.length !== 5 || ring[4][0] !== after[0]) {
        throw new Error(`corner not moved east: ${JSON.stringify(before)} -> ${JSON.stringify(edited?.geometry)}`);
      }

      // Reshape: add a corner in the middle of the first side, remove the third corner.
      await adminPage.locator('[data-zone-id] [data-testid="zone-edit"]').first().click();
      await adminPage.locator('[data-testid="zone-midpoint"]').first().click();
      await adminPage.locator('[data-testid="zone-corner"]').nth(4).waitFor();
      await adminPage.locator('[data-testid="zone-corner"]').nth(3).dblclick();
      await adminPage.locator('[data-testid="zone-corner"]').nth(4).waitFor({ state: "detached" });
      await adminPage.locator('[data-testid="zone-edit-save"]').click();
      await adminPage.locator('[data-testid="zone-corner"]').first().waitFor({ state: "detached" });
      const reshaped = (await api("GET", "/zones", admin)).features.find((f) => f.properties.name === "Forward post");
      const r2 = reshaped?.geometry.coordinates[0] ?? [];
      const mid = [(ring[0][0] + ring[1][0]) / 2, (ring[0][1] + ring[1][1]) / 2];
      const near = (a, b) => Math.abs(a[0] - b[0]) < 1e-4 && Math.abs(a[1] - b[1]) < 1e-4;
      if (r2.length !== 5 || !near(r2[1], mid) || !near(r2[2], ring[1]) || !near(r2[3], ring[3]) || r2.some((p) => near(p, ring[2]))) {
        throw new Error(`reshape: ${JSON.stringify(ring)} -> ${JSON.stringify(r2)}`);
      }
      await adminPage.close();
    });

    // Field mode on a phone: the agent the drone is heading for.
    const phone = await browser.newContext({
      viewport: { width: 390, height: 844 },
      isMobile: true,
      hasTouch: true,
      geolocation: { latitude: agentPos.lat_deg, longitude: agentPos.lon_deg, accuracy: 8 },
      permissions: ["geolocation"],
    });
    const field = await phone.newPage();
    field.setDefaultTimeout(STEP_MS);
    field.on("pageerror", (e) => failures.push(`field page error: ${e.message}`));

    await check("field: log in and receive the warning", async () => {
      await field.goto(BASE + "/#/field");
      await field.getByLabel("User").fill("garcia");
      await field.getByLabel("Password").fill(pw);
      await field.getByRole("button", { name: "Log in" }).click();
      const warning = field.locator('[data-testid="warning"]');
      await warning.waitFor({ state: "visible" });
      await shot(field, "field-warning");
      await warning.locator('[data-testid="ack-warning"]').click();
      await warning.waitFor({ state: "hidden" });
      const ws = await api("GET", "/warnings", garcia);
      if (!ws.some((w) => w.acknowledged_unix_ns)) throw new Error(`no acknowledged warning: ${JSON.stringify(ws)}`);
    });

    await check("field: a sighting sent offline is stored once when the network returns", async () => {
      const before = await api("GET", "/history/events?kind=sighting&limit=100", admin);
      await field.locator('[data-testid="field-status"]', { hasText: "GPS" }).waitFor();
      await phone.setOffline(true);
      await field.locator('[data-testid="field-status"]', { hasText: "OFFLINE" }).waitFor();
      await field.locator('[data-testid="report"]').click();
      await field.locator('input[name="bearing"]').fill("355");
      await field.getByText("300 m–1 km").click();
      await field.locator('textarea[name="note"]').fill("quadcopter, heading south");
      await field.locator('[data-testid="send"]').click();
      await field.locator('[data-testid="outbox"]', { hasText: "1 waiting to send" }).waitFor();
      await shot(field, "field-offline");
      await new Promise((r) => setTimeout(r, 1500));
      await phone.setOffline(false);
      await field.locator('[data-testid="outbox"]', { hasText: "All reports sent" }).waitFor();
      const after = await api("GET", "/history/events?kind=sighting&limit=100", admin);
      const added = after.events.length - before.events.length;
      const notes = after.events.filter((e) => e.body?.note === "quadcopter, heading south" || e.body?.report?.note === "quadcopter, heading south");
      if (added !== 1 || notes.length !== 1) {
        throw new Error(`sightings added ${added}, with the note ${notes.length}: ${JSON.stringify(after.events.slice(-2))}`);
      }
    });
    await check("field: the app's files are cached for offline use after the first visit", async () => {
      const cached = await field.evaluate(async () => {
        await navigator.serviceWorker.ready;
        const names = await caches.keys();
        const urls = [];
        for (const n of names) for (const r of await (await caches.open(n)).keys()) urls.push(new URL(r.url).pathname);
        const page = [...document.querySelectorAll("script[src], link[rel=stylesheet]")].map((e) => new URL(e.src || e.href).pathname);
        return { urls, page };
      });
      const missing = cached.page.filter((p) => !cached.urls.includes(p));
      if (!cached.page.length || missing.length) throw new Error(`not cached: ${JSON.stringify(missing)} (cache: ${JSON.stringify(cached.urls)})`);
    });
    await check("bulletin: an analyst publishes, the agent acknowledges, the officer sees who has", async () => {
      const intel = await browser.newPage({ viewport: { width: 1500, height: 900 } });
      intel.setDefaultTimeout(STEP_MS);
      intel.on("pageerror", (e) => failures.push(`analyst page error: ${e.message}`));
      await intel.goto(BASE + "/");
      await intel.getByLabel("User").fill("intel");
      await intel.getByLabel("Password").fill(pw);
      await intel.getByRole("button", { name: "Log in" }).click();
      await intel.locator('[data-testid="bulletins"]').click();
      await intel.getByLabel("Bulletin text").fill("Cartel leaders have authorised drone attacks on agents in this sector.");
      await intel.getByLabel("Posture").selectOption("high");
      await intel.locator('[data-testid="bulletin-publish"]').click();
      await intel.locator('[data-testid="bulletin-list"]', { hasText: "Not acknowledged: garcia" }).waitFor();
      await shot(intel, "ops-bulletin");

      // The agent's phone: the bulletin full screen and the posture's standing orders.
      const warning = field.locator('[data-testid="warning"]');
      if (await warning.isVisible()) await warning.locator('[data-testid="ack-warning"]').click();
      const bulletin = field.locator('[data-testid="bulletin"]');
      await bulletin.getByText("authorised drone attacks").waitFor();
      await field.locator('[data-testid="posture"]', { hasText: "tourniquet" }).waitFor();
      await shot(field, "field-bulletin");
      // The raised posture issues the drone warning again with its own advice, on top of
      // the bulletin: the agent acknowledges it, then the bulletin.
      for (let i = 0; i < 20 && (await bulletin.isVisible()); i++) {
        if (await warning.isVisible()) await warning.locator('[data-testid="ack-warning"]').click({ timeout: 5000 }).catch(() => undefined);
        else await bulletin.locator('[data-testid="ack-bulletin"]').click({ timeout: 5000 }).catch(() => undefined);
        await new Promise((r) => setTimeout(r, 250));
      }
      await bulletin.waitFor({ state: "hidden" });

      await ops.locator('[data-testid="posture"]', { hasText: "POSTURE HIGH" }).waitFor();
      await ops.locator('[data-testid="bulletins"]').click();
      await ops.locator('[data-testid="bulletin-list"]', { hasText: "All 1 agents acknowledged" }).waitFor();
      const [b] = await api("GET", "/bulletins", admin);
      if (!b?.acknowledged?.garcia) throw new Error(`bulletins ${JSON.stringify(b)}`);

      // Withdrawn: the sector is back to normal for what follows.
      await intel.locator('[data-testid="bulletin-list"] button', { hasText: "Withdraw" }).click();
      await ops.locator('[data-testid="posture"]').waitFor({ state: "hidden" });
      await ops.locator('[data-testid="bulletins"]').click();

      // A posture raised only inside an area: the agent's phone says the agent is in it,
      // and gives that area's orders; once withdrawn, the banner goes.
      const sq = (d) => {
        const c = [[-d, -d], [-d, d], [d, d], [d, -d], [-d, -d]];
        const ring = c.map(([n, e]) => offset(agentPos, n, e)).map((q) => [q.lon_deg, q.lat_deg]);
        return { type: "Polygon", coordinates: [ring] };
      };
      const areaBulletin = await api("POST", "/bulletins", admin, {
        text: "Armed drones reported over the river crossing.",
        posture: "high",
        area: sq(1500),
        area_only: true,
      });
      const banner = field.locator('[data-testid="posture"]');
      await banner.filter({ hasText: "YOU ARE INSIDE a bulletin's area at HIGH" }).waitFor();
      await banner.filter({ hasText: "tourniquet" }).waitFor();
      await api("DELETE", `/bulletins/${encodeURIComponent(areaBulletin.id)}`, admin);
      await banner.waitFor({ state: "hidden" });
      await intel.close();
    });
    await phone.close();

    await check("replay a past minute", async () => {
      await ops.goto(BASE + "/#/replay");
      const local = (d) => new Date(d.getTime() - d.getTimezoneOffset() * 60_000).toISOString().slice(0, 19);
      const now = new Date();
      await ops.getByLabel("Replay from", { exact: true }).fill(local(new Date(now.getTime() - 60_000)));
      await ops.getByLabel("Replay to", { exact: true }).fill(local(now));
      await ops.locator('[data-testid="replay-load"]').click();
      await ops.locator('[data-testid="replay-info"]', { hasText: /\d+ states of 1 tracks/ }).waitFor();
      await ops.getByLabel("Speed", { exact: true }).selectOption("60");
      await ops.locator('[data-testid="replay-play"]').click();
      // At 60x the minute plays in a second; the drone shows on the way.
      await ops.locator('[data-testid="replay-clock"]', { hasText: "· 1 tracks" }).waitFor();
      await ops.locator('[data-testid="track-table"] tbody tr').first().waitFor();
      await shot(ops, "ops-replay");
    });

    await check("exercise: the after-action summary shows who was warned and how fast they acknowledged, and it ends in one action", async () => {
      await api("POST", "/exercise", admin, { name: "drill at the post" });
      // An exercise drone from the east, straight at the agent, seen by an EXERCISE- radar.
      const drill = flyDrone(sensorToken, "EXERCISE-radar", radarPos, (t_s) => {
        const pos = offset(agentPos, -5, Math.max(-300, 300 - 8 * t_s));
        return { ...pos, h_m: agentPos.h_m + 50 };
      });
      try {
        let warned;
        for (let i = 0; i < 120 && !warned; i++) {
          warned = (await api("GET", "/warnings", garcia)).find((w) => w.exercise);
          if (!warned) await new Promise((r) => setTimeout(r, 250));
        }
        if (!warned) throw new Error("the agent was never warned about the exercise drone");
        await new Promise((r) => setTimeout(r, 1000));
        await api("POST", `/warnings/${encodeURIComponent(warned.id)}/acknowledge`, garcia, {});

        await ops.goto(BASE + "/");
        const button = ops.locator('[data-testid="exercise"]', { hasText: "EXERCISE RUNNING: drill at the post" });
        await button.waitFor();
        await button.click();
        const panel = ops.locator('[data-testid="exercise-panel"]');
        await panel.locator('[data-testid="exercise-agents"]', { hasText: "Agents warned: 1, acknowledged: 1" }).waitFor();
        const row = panel.locator('[data-testid="exercise-warnings"] tbody tr', { hasText: "garcia" });
        const after = Number(/([\d.]+) s$/.exec((await row.locator("td").nth(4).textContent()) ?? "")?.[1]);
        if (!(after >= 0.5 && after < 60)) throw new Error(`acknowledged after ${after} s`);
        await panel.locator('[data-testid="exercise-alerts"] tbody tr').first().waitFor();
        await shot(ops, "ops-exercise");
        await drill.stop();
        await panel.locator('[data-testid="exercise-end"]').click();
        await panel.getByText(/ended \S+ by officer/).waitFor();
        await ops.locator('[data-testid="exercise"]', { hasText: /^Exercise$/ }).waitFor();
      } finally {
        await drill.stop();
      }
      const report = await api("GET", "/exercise", admin);
      if (report.running || report.last?.ended_by !== "officer") throw new Error(`exercise ${JSON.stringify(report)}`);
      const open = (await api("GET", "/alerts", admin)).filter((a) => a.exercise);
      if (open.length) throw new Error(`exercise alerts still open: ${JSON.stringify(open)}`);
    });
  } finally {
    await feed.stop();
    await browser.close();
  }
}

main()
  .catch((e) => failures.push(`${step}: ${e.stack ?? e}`))
  .finally(() => {
    if (failures.length) {
      console.error(`[ui e2e] ${failures.length} failed:\n  ${failures.join("\n  ")}`);
      process.exit(1);
    }
    log("all passed");
  });
