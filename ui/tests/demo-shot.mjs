// The README's picture, from the real demo: logs in to a running `dronewatch demo` as the
// admin, waits until the simulated sector shows hostile tracks and alerts, opens the most
// severe alert, and saves the ops view. Run by scripts/demo-screenshot.sh.
//
//   DRONEWATCH_URL=http://127.0.0.1:PORT DRONEWATCH_ADMIN_PASSWORD=... OUT=shot.png node tests/demo-shot.mjs

import { chromium } from "playwright-core";

const BASE = process.env.DRONEWATCH_URL ?? "http://127.0.0.1:8080";
const PASSWORD = process.env.DRONEWATCH_ADMIN_PASSWORD;
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const OUT = process.env.OUT ?? "demo.png";
const WAIT_S = Number(process.env.WAIT_S ?? 45);

const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--use-gl=swiftshader", "--enable-unsafe-swiftshader"] });
try {
  const page = await browser.newPage({ viewport: { width: 1500, height: 900 } });
  page.setDefaultTimeout(60_000);
  await page.goto(BASE + "/", { waitUntil: "load" });
  await page.getByLabel("User").fill("admin");
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.locator('[data-testid="connection"]', { hasText: "live" }).waitFor();
  // The sector plays on: give it time to bring the hostile drones over the border.
  await page.waitForTimeout(WAIT_S * 1000);
  await page.locator('[data-testid="track-table"] tbody tr').first().waitFor();
  const alert = page.locator("[data-alert-id]").first();
  await alert.waitFor();
  await alert.click();
  await page.waitForTimeout(1500);
  await page.screenshot({ path: OUT });
  console.log(`[demo shot] ${OUT}`);
} finally {
  await browser.close();
}
