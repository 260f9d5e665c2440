// Field mode, for an agent's phone: one big button to report a drone (time, GPS and the
// compass bearing are taken at the tap, with the phone pointed at it), the report queued
// offline and sent once the network returns; warnings full screen with vibration and sound;
// the agent's own position shared for its warnings; notifications by Web Push where the
// phone reaches a push service.

import type { Api } from "../api";
import { clear, fmtM, fmtTime, h, num } from "../dom";
import { Picture } from "../picture";
import { beep } from "../sound";
import { Stream } from "../stream";
import type { Me, WarningView } from "../types";
import { LEVEL_RANK } from "../types";
import { type BulletinView, type PostureView, drawPosture, validity } from "../bulletins";
import { Outbox, type Report } from "./outbox";
import { PhoneSensors } from "./sensors";
import { pushControl } from "./push";

/// The agent's position is sent this often while GPS has a fix.
const POSITION_EVERY_MS = 15_000;

const DISTANCES: [string, number][] = [
  ["< 100 m", 50],
  ["100–300 m", 200],
  ["300 m–1 km", 600],
  ["> 1 km", 1500],
];
const HEIGHTS: [string, number][] = [
  ["treetop (< 30 m)", 20],
  ["30–100 m", 60],
  ["high (> 100 m)", 150],
];

export function startField(root: HTMLElement, api: Api, me: Me, groundHeightM: number): void {
  const phone = new PhoneSensors();
  const outbox = new Outbox(api);
  const picture = new Picture();
  const status = h("div", { class: "field-status", "data-testid": "field-status" });
  const queue = h("div", { class: "field-queue", "data-testid": "outbox" });
  const form = h("div", { class: "field-form" });
  const overlay = h("div", { class: "warning-overlay", hidden: true, "data-testid": "warning" });
  const posture = h("div", { class: "posture", hidden: true, "data-testid": "posture" });
  const bulletinEl = h("div", { class: "bulletin-overlay", hidden: true, "data-testid": "bulletin" });
  const report = h("button", { class: "big-report", "data-testid": "report" }, "DRONE SEEN", h("small", {}, "point the phone at it and tap"));
  const logout = h("button", {}, "Log out");
  logout.addEventListener("click", () => api.logout());
  const opsLink = me.role === "agent" ? null : h("a", { href: "#/" }, "Ops view");
  root.replaceChildren(
    h("div", { class: "field" }, h("header", {}, h("b", {}, "dronewatch"), ` ${me.user}`, h("span", { class: "spacer" }), pushControl(api), opsLink, logout), posture, status, report, form, queue, bulletinEl, overlay),
  );

  const drawStatus = () => {
    const f = phone.fix;
    status.textContent =
      `${navigator.onLine ? "online" : "OFFLINE: reports are kept and sent later"} · ` +
      (f ? `GPS ±${Math.round(f.accuracy_m)} m` : `GPS: ${phone.gpsError || "waiting"}`) +
      (phone.headingDeg !== null ? ` · compass ${Math.round(phone.headingDeg)}°` : " · no compass");
    status.className = `field-status ${navigator.onLine ? "" : "offline"}`;
  };
  const drawQueue = () => {
    clear(queue);
    const q = outbox.queued();
    const sent = outbox.sent();
    queue.append(h("h3", {}, q.length ? `${q.length} waiting to send` : "All reports sent"));
    for (const x of q) {
      const li = h("li", { "data-client-id": x.report.client_id }, `${fmtTime(Date.parse(x.report.observed_at) * 1e6)} ` + (x.refused ? `refused: ${x.refused}` : `waiting (${x.tries} tries)`));
      if (x.refused) {
        const d = h("button", {}, "Discard");
        d.addEventListener("click", () => outbox.discard(x.report.client_id));
        li.append(" ", d);
      }
      queue.append(li);
    }
    for (const s of sent.slice(0, 5)) {
      queue.append(h("li", { class: "sent", "data-client-id": s.client_id }, `sent ✓ report #${s.seq}`));
    }
  };
  outbox.onChange = drawQueue;
  window.addEventListener("online", drawStatus);
  window.addEventListener("offline", drawStatus);
  // The posture banner says whether this agent is inside a raised area: redrawn as the
  // posture changes and as the agent moves.
  let lastPosture: PostureView | null = null;
  const here = () => (phone.fix ? { lat_deg: phone.fix.lat_deg, lon_deg: phone.fix.lon_deg } : null);
  const showPosture = (p: PostureView) => {
    lastPosture = p;
    drawPosture(posture, p, here());
  };
  phone.onFix = () => {
    drawStatus();
    if (lastPosture) drawPosture(posture, lastPosture, here());
  };
  phone.onHeading = () => drawStatus();
  phone.start();
  drawStatus();
  drawQueue();

  report.addEventListener("click", async () => {
    await phone.askCompass();
    showForm(form, phone, (r) => {
      outbox.add(r);
      clear(form);
    });
  });

  // Own position, for this agent's warnings.
  let lastSent = 0;
  window.setInterval(() => {
    const f = phone.fix;
    if (!f || Date.now() - lastSent < POSITION_EVERY_MS || !navigator.onLine) return;
    lastSent = Date.now();
    api
      .post("/agents/me/position", {
        // Phones often give no altitude: the sector's ground height is nearer than 0.
        position: { lat_deg: f.lat_deg, lon_deg: f.lon_deg, h_m: f.h_m ?? groundHeightM },
        t_unix_ns: Math.round(f.t_ms) * 1e6,
      })
      .catch(() => (lastSent = 0));
  }, 2000);

  // Warnings meant for this agent, full screen; bulletins to acknowledge under them.
  const bulletins = new FieldBulletins(bulletinEl, api, me);
  const stream = new Stream(api, "kinds=warnings,bulletins&rate_ms=1000");
  picture.onWarning = (w) => showWarning(overlay, api, phone, w);
  stream.onMessage = (m) => {
    if (m.type === "bulletin") bulletins.put(m.bulletin as BulletinView);
    else if (m.type === "posture") showPosture(m.posture as PostureView);
    else picture.apply(m);
  };
  stream.open();
  api
    .get<BulletinView[]>("/bulletins")
    .then((bs) => bs.forEach((b) => bulletins.put(b)))
    .catch(() => undefined);
  api
    .get<PostureView>("/posture")
    .then(showPosture)
    .catch(() => undefined);
  // A warning issued before this page opened is still this agent's to see.
  api
    .get<WarningView[]>("/warnings")
    .then((ws) => {
      const open = ws.filter((w) => w.level !== "all_clear" && !w.acknowledged_unix_ns);
      open.sort((a, b) => (LEVEL_RANK[b.level] ?? 0) - (LEVEL_RANK[a.level] ?? 0) || b.t_unix_ns - a.t_unix_ns);
      if (open[0]) showWarning(overlay, api, phone, open[0]);
    })
    .catch(() => undefined);
  api.onLoggedOut = () => {
    stream.close();
    location.reload();
  };
}

/// The bulletins this agent has still to acknowledge, oldest first, one at a time full
/// screen: an agent cannot miss that the sector expects attacks.
class FieldBulletins {
  private readonly pending = new Map<string, BulletinView>();

  constructor(
    private readonly el: HTMLElement,
    private readonly api: Api,
    private readonly me: Me,
  ) {}

  put(b: BulletinView): void {
    const mine = this.me.role === "agent" && b.unacknowledged.includes(this.me.user);
    if (mine && !b.withdrawn_unix_ns) this.pending.set(b.id, b);
    else this.pending.delete(b.id);
    this.draw();
  }

  private draw(): void {
    const b = [...this.pending.values()].sort((x, y) => x.published_unix_ns - y.published_unix_ns)[0];
    if (!b) {
      this.el.hidden = true;
      return;
    }
    const ack = h("button", { class: "ack", "data-testid": "ack-bulletin" }, "I have read it");
    ack.addEventListener("click", async () => {
      try {
        this.put(await this.api.post<BulletinView>(`/bulletins/${encodeURIComponent(b.id)}/acknowledge`, {}));
      } catch (e) {
        ack.textContent = `Not sent (${String(e)}); tap again`;
      }
    });
    this.el.className = `bulletin-overlay posture-${b.posture}`;
    this.el.replaceChildren(
      h("div", { class: "level" }, `BULLETIN — POSTURE ${b.posture.toUpperCase()}`),
      h("div", { class: "text" }, b.text),
      h("div", { class: "muted" }, `${b.published_by} · ${validity(b)}`),
      ack,
    );
    if (this.el.hidden) navigator.vibrate?.([300, 100, 300]);
    this.el.hidden = false;
  }
}

function showForm(form: HTMLElement, phone: PhoneSensors, submit: (r: Report) => void): void {
  const observedAt = new Date().toISOString();
  const fix = phone.fix;
  const heading = phone.headingDeg;
  const bearing = h("input", { type: "number", min: 0, max: 359, step: 1, name: "bearing", value: heading !== null ? Math.round(heading) : "" });
  const distance = radios("distance", DISTANCES);
  const height = radios("height", HEIGHTS);
  const count = h("input", { type: "number", min: 1, max: 50, value: 1, name: "count" });
  const sound = h("input", { type: "checkbox", name: "sound" });
  const photo = h("input", { type: "file", accept: "image/*", capture: "environment", name: "photo" });
  const note = h("textarea", { name: "note", rows: 2, placeholder: "What you saw (optional)" });
  const send = h("button", { class: "send", "data-testid": "send" }, "Send report");
  const cancel = h("button", {}, "Cancel");
  const where = fix ? `${num(fix.lat_deg, 5)}, ${num(fix.lon_deg, 5)} (±${Math.round(fix.accuracy_m)} m)` : "no GPS fix: the report cannot be placed";
  form.replaceChildren(
    h("p", {}, `Seen ${fmtTime(Date.parse(observedAt) * 1e6)} from ${where}`),
    h("label", {}, "Bearing to the drone (°)", bearing),
    h("fieldset", {}, h("legend", {}, "Distance"), ...distance.els),
    h("fieldset", {}, h("legend", {}, "Height"), ...height.els),
    h("label", {}, "How many", count),
    h("label", {}, sound, " heard it"),
    h("label", {}, "Photo", photo),
    note,
    h("div", { class: "actions" }, send, cancel),
  );
  cancel.addEventListener("click", () => clear(form));
  send.addEventListener("click", async () => {
    const f = phone.fix ?? fix;
    if (!f) {
      send.textContent = "Waiting for GPS…";
      return;
    }
    const r: Report = {
      client_id: crypto.randomUUID(),
      observed_at: observedAt,
      reporter_position: { lat_deg: f.lat_deg, lon_deg: f.lon_deg, h_m: f.h_m },
      reporter_accuracy_m: f.accuracy_m,
      count: Number(count.value) || 1,
      sound_heard: sound.checked,
    };
    if (bearing.value !== "") r.bearing_deg = ((Number(bearing.value) % 360) + 360) % 360;
    if (distance.value() !== null) r.distance_m = distance.value() ?? undefined;
    if (height.value() !== null) r.height_m = height.value() ?? undefined;
    if (note.value.trim()) r.note = note.value.trim();
    const file = photo.files?.[0];
    if (file) r.photo = await shrink(file);
    submit(r);
  });
}

function radios(name: string, options: [string, number][]): { els: HTMLElement[]; value: () => number | null } {
  const inputs = options.map(([, v]) => h("input", { type: "radio", name, value: v }));
  return {
    els: options.map(([label], i) => h("label", {}, inputs[i], ` ${label}`)),
    value: () => {
      const c = inputs.find((i) => i.checked);
      return c ? Number(c.value) : null;
    },
  };
}

/// A phone photo is megabytes; the report needs a recognisable picture, at most 1280 px.
async function shrink(file: File): Promise<{ mime: string; data_base64: string }> {
  const bmp = await createImageBitmap(file);
  const scale = Math.min(1, 1280 / Math.max(bmp.width, bmp.height));
  const c = document.createElement("canvas");
  c.width = Math.round(bmp.width * scale);
  c.height = Math.round(bmp.height * scale);
  c.getContext("2d")?.drawImage(bmp, 0, 0, c.width, c.height);
  const url = c.toDataURL("image/jpeg", 0.75);
  return { mime: "image/jpeg", data_base64: url.slice(url.indexOf(",") + 1) };
}

let shownWarning: string | null = null;

let shownTrack: number | null = null;

function showWarning(overlay: HTMLElement, api: Api, phone: PhoneSensors, w: WarningView): void {
  // All clear ends the warning about that track: no alarm, the screen goes back.
  if (w.level === "all_clear") {
    if (shownTrack === w.track_id) overlay.hidden = true;
    return;
  }
  if (w.acknowledged_unix_ns) {
    if (shownWarning === w.id) overlay.hidden = true;
    return;
  }
  shownTrack = w.track_id;
  const fresh = shownWarning !== w.id || overlay.hidden;
  shownWarning = w.id;
  // Relative to where the phone points when it has a compass; else from north.
  const rel = phone.headingDeg !== null ? w.bearing_deg - phone.headingDeg : w.bearing_deg;
  const arrow = h("div", { class: "arrow", style: `transform: rotate(${rel}deg)` }, "▲");
  const ack = h("button", { class: "ack", "data-testid": "ack-warning" }, "I have seen it");
  ack.addEventListener("click", async () => {
    try {
      await api.post(`/warnings/${encodeURIComponent(w.id)}/acknowledge`, {});
      overlay.hidden = true;
    } catch (e) {
      ack.textContent = `Not sent (${String(e)}); tap again`;
    }
  });
  overlay.className = `warning-overlay level-${w.level}`;
  overlay.replaceChildren(
    h("div", { class: "level" }, `${w.exercise ? "EXERCISE — " : ""}DRONE — ${w.level.toUpperCase()}`),
    arrow,
    h(
      "div",
      { class: "where" },
      `${fmtM(w.range_m)} ` + (w.clock ? `at ${w.clock} o'clock, ` : "") + `bearing ${Math.round(w.bearing_deg)}°` + (phone.headingDeg === null ? " (from north)" : ""),
    ),
    h("div", {}, `${Math.round(w.height_above_agent_m)} m above you · closest ${fmtM(w.cpa_m)} in ${Math.max(0, Math.round(w.time_to_cpa_s))} s`),
    h("div", { class: "advice" }, w.advice),
    ack,
  );
  overlay.hidden = false;
  if (fresh || (LEVEL_RANK[w.level] ?? 0) >= LEVEL_RANK.critical) {
    navigator.vibrate?.([400, 150, 400, 150, 400]);
    beep(w.level === "critical" ? 1200 : 900, 3);
  }
}
