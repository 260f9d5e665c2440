// Frame rate of the ops-center map with many live tracks, in headless Chromium
// (docs/performance.md, "The web UI"). scripts/ui-fps.sh starts a node and a synthetic sky;
// this logs in, waits for the tracks, and counts frames for MEASURE_S seconds.
//
// Prints one JSON line: tracks shown, frames per second (requestAnimationFrame callbacks:
// the page's responsiveness), map renders per second, the longest frame.

import { chromium } from "playwright-core";

const BASE = process.env.DRONEWATCH_URL ?? "http://127.0.0.1:8080";
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const TRACKS = Number(process.env.TRACKS ?? 2000);
const MEASURE_S = Number(process.env.MEASURE_S ?? 10);

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
} finally {
  await browser.close();
}
