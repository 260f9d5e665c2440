// The selected track: sensors that saw it, identity, classification, threat score with
// its reasons, its alert, and its recorded trail.

import type { Api } from "../api";
import { clear, fmtAgo, fmtM, fmtPoints, fmtTime, h, num } from "../dom";
import type { Picture } from "../picture";
import { symbolDataUrl } from "../symbols";
import type { TrackDetail } from "../types";

/// The detail re-reads its track this often while open.
const REFRESH_MS = 2000;

export class TrackDetailPanel {
  readonly el: HTMLElement;
  private uid: string | null = null;
  private timer = 0;
  onTrail: (trail: [number, number][]) => void = () => {};

  constructor(
    private readonly api: Api,
    private readonly picture: Picture,
    private readonly onClose: () => void,
  ) {
    this.el = h("section", { class: "panel detail-panel", "data-testid": "track-detail", hidden: true });
  }

  show(uid: string | null): void {
    this.uid = uid;
    window.clearInterval(this.timer);
    if (!uid) {
      this.el.hidden = true;
      this.onTrail([]);
      return;
    }
    this.el.hidden = false;
    void this.load();
    this.timer = window.setInterval(() => void this.load(), REFRESH_MS);
  }

  private async load(): Promise<void> {
    const uid = this.uid;
    const t = uid ? this.picture.tracks.get(uid) : undefined;
    if (!uid || !t) {
      this.render(null, uid);
      return;
    }
    try {
      const d = await this.api.get<TrackDetail>(`/tracks/${t.id}`);
      if (this.uid === uid) this.render(d, uid);
    } catch {
      if (this.uid === uid) this.render(null, uid);
    }
  }

  private render(d: TrackDetail | null, uid: string | null): void {
    clear(this.el);
    const close = h("button", { class: "close", title: "Close", "aria-label": "Close" }, "×");
    close.addEventListener("click", () => this.onClose());
    if (!d) {
      this.el.append(close, h("h2", {}, `Track ${uid ?? ""}`), h("p", {}, "No longer in the picture."));
      return;
    }
    const t = d.track;
    const rows: [string, string][] = [
      ["status", `${t.status}, updated ${fmtAgo(t.last_update_unix_ns)} (${t.updates} updates)`],
      ["position", `${num(t.position.lat_deg, 5)}, ${num(t.position.lon_deg, 5)} ± ${fmtM(t.sigma_horizontal_m)}`],
      ["height", t.position.h_m !== undefined ? `${num(t.position.h_m, 0)} m (ellipsoid)` : "–"],
      ["speed, course", `${num(t.speed_mps, 1)} m/s, ${num(t.course_deg, 0)}°, climb ${num(t.climb_mps, 1)} m/s`],
      ["sensors", t.sensors.join(", ")],
      ["identity", t.affiliation],
      ["classification", t.class ? `${t.class} (${num((t.class_confidence ?? 0) * 100, 0)}% of the evidence)` : "–"],
      ["Remote ID serial", t.remote_id_serial ?? "none broadcast"],
    ];
    if (t.rf_frequency_mhz != null) {
      rows.push(["RF link", `${num(t.rf_frequency_mhz, 1)} MHz${t.rf_band ? ` (${t.rf_band} drone band)` : ""}`]);
    }
    if (t.operator_position) {
      rows.push(["pilot (RID claim)", `${num(t.operator_position.lat_deg, 5)}, ${num(t.operator_position.lon_deg, 5)}`]);
    }
    if (t.icao_address) rows.push(["ICAO address", t.icao_address]);
    rows.push(["threat", t.threat ? `${t.threat.level}, score ${num(t.threat.score, 0)}` : "none"]);
    const reasons = h(
      "ul",
      { class: "reasons" },
      ...d.reasons.map((r) => h("li", {}, h("b", {}, `${r.rule} ${fmtPoints(r.points)}`), " ", r.detail)),
    );
    const alert = d.alert
      ? h("p", {}, `Alert #${d.alert.id}: ${d.alert.level}, ${d.alert.state}` + (d.alert.assignee ? `, assigned to ${d.alert.assignee}` : ""))
      : null;
    const first = d.trail[0];
    const history = h(
      "p",
      { class: "muted" },
      first ? `Recorded since ${fmtTime(first.t_unix_ns)}: ${d.trail.length} states.` : "No recorded states yet.",
    );
    this.el.append(
      close,
      h("h2", {}, h("img", { src: symbolDataUrl(t.affiliation, 16), alt: "" }), ` Track ${t.uid}`),
      t.exercise ? h("p", { class: "exercise-banner" }, "EXERCISE — a simulated training drone, not a real one") : "",
      h("table", { class: "kv" }, ...rows.map(([k, v]) => h("tr", {}, h("th", {}, k), h("td", {}, v)))),
      ...[d.reasons.length ? h("h3", {}, "Why") : null, reasons, alert, history].filter((x) => x !== null),
    );
    this.onTrail(d.trail.map((s) => [s.position.lon_deg, s.position.lat_deg]));
  }
}
