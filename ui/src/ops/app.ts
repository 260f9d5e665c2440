// The ops-center view: alerts on the left, the map in the middle, tracks and the
// selected track's detail on the right.

import type { Api } from "../api";
import { h } from "../dom";
import { Picture } from "../picture";
import { Stream } from "../stream";
import type { AgentView, AlertView, Me, SensorView, WarningView } from "../types";

interface DeliveryStatus {
  channel: string;
  url: string;
  failing: boolean;
  last_error?: string | null;
  dead_lettered: number;
  redelivered: number;
}
import type { UiConfig } from "../uiconfig";
import { type BulletinView, type PostureView, drawPosture } from "../bulletins";
import { AlertQueue } from "./alerts";
import { BulletinPanel } from "./bulletins";
import { ConfigPanel } from "./config";
import { ExercisePanel } from "./exercise";
import { TrackDetailPanel } from "./detail";
import { PictureMap } from "./map";
import { TrackTable } from "./table";

export async function startOps(root: HTMLElement, api: Api, me: Me, cfg: UiConfig): Promise<void> {
  const picture = new Picture();
  const conn = h("span", { class: "conn down", "data-testid": "connection" }, "connecting");
  const lag = h("span", { class: "muted" });
  const logout = h("button", {}, "Log out");
  const configure = me.role === "admin" ? h("button", { "data-testid": "configure" }, "Configure") : null;
  logout.addEventListener("click", () => api.logout());
  const posture = h("span", { class: "posture", hidden: true, "data-testid": "posture" });
  const bulletinsButton = h("button", { "data-testid": "bulletins" }, "Bulletins");
  const header = h(
    "header",
    {},
    h("b", {}, "dronewatch"),
    h("span", {}, ` sector ${me.sector}`),
    conn,
    lag,
    posture,
    h("span", { class: "spacer" }),
    bulletinsButton,
    me.role === "agent" ? null : h("a", { href: "#/replay" }, "Replay"),
    h("a", { href: "#/field" }, "Field mode"),
    h("span", {}, ` ${me.user} (${me.role}) `),
    configure,
    logout,
  );
  const mapEl = h("div", { class: "map", "data-testid": "map" });
  let select: (uid: string | null, fly?: boolean) => void = () => {};
  const table = new TrackTable(picture, (uid) => select(uid, true));
  const detail = new TrackDetailPanel(api, picture, () => select(null));
  const alerts = new AlertQueue(
    api,
    picture,
    (trackId) => {
      const t = [...picture.tracks.values()].find((x) => x.id === trackId);
      if (t) select(t.uid, true);
    },
    me.role === "operator" || me.role === "admin",
  );
  const right = h("div", { class: "right" }, table.el, detail.el);
  const deliveryBanner = h("div", { class: "delivery-banner", hidden: true, role: "alert", "data-testid": "delivery-banner" });
  root.replaceChildren(h("div", { class: "ops" }, header, alerts.el, mapEl, right), deliveryBanner);

  const map = new PictureMap(picture, {
    container: mapEl,
    sector: cfg,
    token: () => api.accessToken,
    onSelect: (uid) => select(uid),
  });
  detail.onTrail = (trail) => map.setHistory(trail);
  const config = new ConfigPanel(api, map);
  const bulletins = new BulletinPanel(api, map, me);
  const exercise = new ExercisePanel(api, me);
  right.append(config.el, bulletins.el, exercise.el);
  // One side panel at a time, in place of the track table and detail; its button closes it.
  const sides = [config, bulletins, exercise];
  const toggleSide = (panel: (typeof sides)[number]) => {
    const opening = panel.el.hidden;
    for (const p of sides) p.el.hidden = true;
    table.el.hidden = opening;
    detail.el.hidden = opening || selected === null;
    if (opening) void panel.open();
  };
  configure?.addEventListener("click", () => toggleSide(config));
  bulletinsButton.addEventListener("click", () => toggleSide(bulletins));
  exercise.button.addEventListener("click", () => toggleSide(exercise));
  header.insertBefore(exercise.button, bulletinsButton);
  void config.load().catch(() => undefined);
  void exercise.refresh();
  bulletins.onChange = () => {
    const n = bulletins.unacknowledged();
    bulletinsButton.textContent = n ? `Bulletins (${n} unacknowledged)` : "Bulletins";
  };
  void bulletins.load().catch(() => undefined);
  void api
    .get<PostureView>("/posture")
    .then((p) => drawPosture(posture, p))
    .catch(() => undefined);
  let selected: string | null = null;
  select = (uid, fly = false) => {
    selected = uid;
    map.select(uid, fly);
    table.select(uid);
    detail.show(uid);
  };

  const [a, s, ag, w] = await Promise.all([
    api.get<AlertView[]>("/alerts?state=all"),
    api.get<SensorView[]>("/sensors"),
    api.get<AgentView[]>("/agents"),
    api.get<WarningView[]>("/warnings"),
  ]);
  picture.seed(a, s, ag, w);

  const stream = new Stream(api, "rate_ms=0");
  stream.onMessage = (m) => {
    if (m.type === "bulletin") bulletins.put(m.bulletin as BulletinView);
    else if (m.type === "posture") drawPosture(posture, m.posture as PostureView);
    else picture.apply(m);
  };
  stream.onState = (up) => {
    conn.className = `conn ${up ? "up" : "down"}`;
    conn.textContent = up ? "live" : "reconnecting";
  };
  stream.open();
  window.setInterval(() => {
    const behindS = picture.processedToNs ? (Date.now() - picture.processedToNs / 1e6) / 1000 : NaN;
    lag.textContent = Number.isFinite(behindS) ? ` picture ${behindS.toFixed(1)} s behind` : "";
  }, 1000);
  // A delivery channel that fails is the watch officer's to know: alerts may not reach it.
  // Dead letters of a webhook can be sent again once its receiver is back (operators).
  const mayResend = me.role === "operator" || me.role === "admin";
  const drawDelivery = async () => {
    const hooks = await api.get<DeliveryStatus[]>("/delivery").catch(() => [] as DeliveryStatus[]);
    const owed = (w: DeliveryStatus) => (w.channel === "webhook" ? w.dead_lettered - w.redelivered : 0);
    const bad = hooks.filter((w) => w.failing || owed(w) > 0);
    deliveryBanner.hidden = bad.length === 0;
    const text = bad
      .map((w) =>
        w.failing
          ? `Delivery (${w.channel}) to ${w.url} failing: ${w.last_error ?? "error"} (${w.dead_lettered} undelivered)`
          : `Delivery (${w.channel}) to ${w.url}: ${owed(w)} undelivered`,
      )
      .join(" · ");
    const resend = h("button", { "data-testid": "redeliver" }, "Send again");
    resend.addEventListener("click", async () => {
      resend.disabled = true;
      const r = await api.post<{ queued: number }>("/delivery/redeliver", {}).catch(() => null);
      resend.textContent = r ? `${r.queued} sent again` : "failed";
    });
    deliveryBanner.replaceChildren(text, " ", mayResend && bad.some((w) => owed(w) > 0) ? resend : "");
  };
  if (me.role !== "agent") {
    void drawDelivery();
    window.setInterval(() => void drawDelivery(), 10_000);
  }
  api.onLoggedOut = () => {
    stream.close();
    location.reload();
  };
}
