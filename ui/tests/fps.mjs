// Frame rate of the ops-center map with many live tracks, in headless Chromium
// (docs/performance.md, "The web UI"). scripts/ui-fps.sh starts a node and a synthetic sky;
// this logs in, waits for the tracks, and counts frames for MEASURE_S seconds.
//
// Prints one JSON line: tracks shown, frames per second (requestAnimationFrame callbacks:
// the page's responsiveness), map renders per second, the longest frame. PROFILE=1 also
// samples the page's main thread during the measurement (Chrome's CPU profiler) and prints
// the functions with the most self time to stderr.

import { chromium } from "playwright-core";

const BASE = process.env.DRONEWATCH_URL ?? "http://127.0.0.1:8080";
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const TRACKS = Number(process.env.TRACKS ?? 2000);
const MEASURE_S = Number(process.env.MEASURE_S ?? 10);
const PROFILE = process.env.PROFILE === "1";

/// Main-thread time of the renderer by trace event (complete events, nested ones included,
/// so shares overlap): what the browser itself spends the frames on.
function topTasks(events) {
  const threads = new Map();
  for (const e of events) if (e.name === "thread_name") threads.set(`${e.pid}:${e.tid}`, e.args?.name);
  const sum = new Map();
  for (const e of events) {
    if (e.ph !== "X" || !e.dur) continue;
    const thread = threads.get(`${e.pid}:${e.tid}`) ?? "?";
    if (!/CrRendererMain|CrGpuMain|VizCompositor/.test(thread)) continue;
    const key = `${thread} ${e.name}`;
    sum.set(key, (sum.get(key) ?? 0) + e.dur);
  }
  return [...sum.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 25)
    .map(([k, us]) => `${(us / 1000).toFixed(0).padStart(7)} ms  ${k}`);
}

/// The 25 functions with the most self time in a CPU profile, with their share.
function topSelfTime(profile) {
  const dt = new Map();
  const { nodes, samples, timeDeltas } = profile;
  const byId = new Map(nodes.map((n) => [n.id, n]));
  let total = 0;
  samples.forEach((id, i) => {
    const f = byId.get(id).callFrame;
    const key = `${f.functionName || "(anonymous)"} ${f.url.split("/").pop()}:${f.lineNumber + 1}`;
    const d = timeDeltas[i] ?? 0;
    dt.set(key, (dt.get(key) ?? 0) + d);
    total += d;
  });
  return [...dt.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 25)
    .map(([k, us]) => `${((100 * us) / total).toFixed(1).padStart(5)} %  ${(us / 1000).toFixed(0).padStart(6)} ms  ${k}`);
}

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  args: ["--no-sandbox", "--use-gl=swiftshader", "--enable-unsafe-swiftshader"],
});
try {
  const page = await browser.newPage({ viewport: { width: 1500, height: 900 } });
  page.setDefaultTimeout(120_000);
  await page.goto(BASE + "/");
  await page.getByLabel("User").fill("admin");
  await page.getByLabel("Password").fill(process.env.DRONEWATCH_ADMIN_PASSWORD ?? "");
  await page.getByRole("button", { name: "Log in" }).click();
  await page.waitForFunction(
    (n) => {
      const m = document.querySelector(".track-count")?.textContent?.match(/^(\d+) tracks/);
      return m && Number(m[1]) >= n;
    },
    Math.round(TRACKS * 0.9),
  );
  const cdp = PROFILE ? await page.context().newCDPSession(page) : null;
  if (PROFILE) await browser.startTracing(page, { categories: ["devtools.timeline", "disabled-by-default-devtools.timeline", "gpu"] });
  if (cdp) {
    await cdp.send("Profiler.enable");
    await cdp.send("Profiler.setSamplingInterval", { interval: 500 });
    await cdp.send("Profiler.start");
  }
  const result = await page.evaluate(async (seconds) => {
    const map = document.querySelector(".maplibregl-canvas");
    let frames = 0;
    let longest = 0;
    let last = performance.now();
    let renders = 0;
    const gl = map?.getContext("webgl2") ?? map?.getContext("webgl");
    // Count map draws by wrapping the GL clear MapLibre issues once per render.
    if (gl) {
      const clear = gl.clear.bind(gl);
      gl.clear = (m) => {
        renders++;
        clear(m);
      };
    }
    const end = last + seconds * 1000;
    await new Promise((done) => {
      const tick = (t) => {
        frames++;
        longest = Math.max(longest, t - last);
        last = t;
        if (t < end) requestAnimationFrame(tick);
        else done();
      };
      requestAnimationFrame(tick);
    });
    const shown = Number(document.querySelector(".track-count")?.textContent?.match(/^(\d+)/)?.[1] ?? 0);
    return { tracks: shown, fps: frames / seconds, map_renders_per_s: renders / seconds, longest_frame_ms: Math.round(longest) };
  }, MEASURE_S);
  console.log(JSON.stringify({ ...result, measured_s: MEASURE_S }));
  if (cdp) {
    const { profile } = await cdp.send("Profiler.stop");
    console.error(topSelfTime(profile).join("\n"));
    const trace = JSON.parse((await browser.stopTracing()).toString());
    console.error(topTasks(trace.traceEvents ?? trace).join("\n"));
  }
} finally {
  await browser.close();
}
