// Web Push: the agent's warnings and the sector's bulletins reach the phone as
// notifications with the app closed or its connection down, wherever the phone reaches
// its browser's push service. At a post with no internet there is none: the live
// connection is then the only way, as before, and the button says so.

import type { Api } from "../api";
import { ApiError } from "../api";
import { h } from "../dom";

/// The button and line in the field header; subscribes again at every start once the
/// agent has allowed notifications (a subscription the push service dropped is renewed).
export function pushControl(api: Api): HTMLElement {
  const state = h("span", { class: "push-state", "data-testid": "push-state" });
  const button = h("button", { "data-testid": "push" }, "Notify me when closed");
  const el = h("span", { class: "push" }, button, " ", state);
  const supported = "serviceWorker" in navigator && "PushManager" in window && "Notification" in window;
  if (!supported) {
    button.hidden = true;
    state.textContent = "no notifications in this browser";
    return el;
  }
  const run = async (ask: boolean) => {
    try {
      if (ask && Notification.permission === "default") await Notification.requestPermission();
      if (Notification.permission !== "granted") {
        state.textContent = Notification.permission === "denied" ? "notifications blocked" : "";
        return;
      }
      await subscribe(api);
      button.hidden = true;
      state.textContent = "notifications on";
    } catch (e) {
      state.textContent = e instanceof ApiError && e.status === 404 ? "no notifications on this node" : `notifications off: ${pushError(e)}`;
    }
  };
  button.addEventListener("click", () => void run(true));
  void run(false);
  return el;
}

async function subscribe(api: Api): Promise<void> {
  const reg = await navigator.serviceWorker.ready;
  const { public_key } = await api.get<{ public_key: string }>("/push/key");
  let sub = await reg.pushManager.getSubscription();
  // A subscription made with another node's key would never get this node's pushes.
  const key = sub?.options.applicationServerKey;
  if (sub && key && b64url(new Uint8Array(key)) !== public_key) {
    await sub.unsubscribe();
    sub = null;
  }
  sub ??= await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: fromB64url(public_key) });
  await api.post("/push/subscriptions", sub.toJSON());
}

function pushError(e: unknown): string {
  // Chromium without its push service: "Registration failed - push service error".
  return e instanceof Error ? e.message : String(e);
}

function fromB64url(s: string): Uint8Array<ArrayBuffer> {
  const b = atob(s.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (s.length % 4)) % 4));
  const out = new Uint8Array(new ArrayBuffer(b.length));
  for (let i = 0; i < b.length; i++) out[i] = b.charCodeAt(i);
  return out;
}

function b64url(bytes: Uint8Array): string {
  let s = "";
  for (const x of bytes) s += String.fromCharCode(x);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}
