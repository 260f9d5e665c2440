// Entry point: log in, then the ops-center view (`#/`), replay (`#/replay`) or field
// mode (`#/field`, the phone layout; an agent always gets field mode).

import "maplibre-gl/dist/maplibre-gl.css";
import "./style.css";
import { Api, ApiError } from "./api";
import { h } from "./dom";
import { startField } from "./field/app";
import { startOps } from "./ops/app";
import { startReplay } from "./replay/app";
import { loadUiConfig } from "./uiconfig";

const root = document.getElementById("app") as HTMLElement;

function fieldRoute(): boolean {
  return location.hash.startsWith("#/field");
}

async function boot(): Promise<void> {
  // Field phones keep their session across restarts; the ops center keeps it per tab.
  const api = new Api(fieldRoute() ? "device" : "tab");
  api.onLoggedOut = () => location.reload();
  if (!api.loggedIn) {
    showLogin(api);
    return;
  }
  try {
    const me = await api.me();
    const cfg = await loadUiConfig(api);
    if (fieldRoute() || me.role === "agent") {
      startField(root, api, me, cfg.center.h_m ?? 0);
    } else if (location.hash.startsWith("#/replay")) {
      startReplay(root, api, me, cfg);
    } else {
      startOps(root, api, me, cfg).catch((e) => fail(String(e)));
    }
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) showLogin(api);
    else fail(`Cannot reach the node: ${String(e)}`);
  }
}

function showLogin(api: Api): void {
  const user = h("input", { name: "username", autocomplete: "username", required: true, "aria-label": "User" });
  const pass = h("input", { name: "password", type: "password", autocomplete: "current-password", "aria-label": "Password" });
  const device = h("input", { name: "device_token", placeholder: "or a device token (dwd_…)", "aria-label": "Device token" });
  const msg = h("p", { class: "error", role: "alert" });
  const submit = h("button", { type: "submit" }, "Log in");
  const form = h(
    "form",
    { class: "login" },
    h("h1", {}, "dronewatch"),
    h("p", { class: "muted" }, fieldRoute() ? "Field mode" : "Operations center"),
    h("label", {}, "User", user),
    h("label", {}, "Password", pass),
    fieldRoute() ? h("label", {}, "Device token", device) : null,
    submit,
    msg,
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    msg.textContent = "";
    try {
      if (device.value.trim()) api.useDeviceToken(device.value.trim());
      else await api.login(user.value, pass.value);
      await boot();
    } catch (err) {
      msg.textContent = err instanceof ApiError ? err.message : `Cannot reach the node: ${String(err)}`;
    }
  });
  root.replaceChildren(form);
  user.focus();
}

function fail(text: string): void {
  root.replaceChildren(h("p", { class: "error" }, text));
}

window.addEventListener("hashchange", () => location.reload());
if ("serviceWorker" in navigator && location.protocol !== "file:") {
  navigator.serviceWorker.register("/sw.js").catch((e) => console.warn("no offline shell:", e));
}
void boot();
