// The track table: synced with the map (click a row to select and centre, a symbol to
// select a row), sorted by threat, filtered by identity and text.

import { clear, fmtAgo, h, num } from "../dom";
import type { Picture } from "../picture";
import { AFFILIATIONS, symbolDataUrl } from "../symbols";
import type { Affiliation, TrackView } from "../types";

/// Rows drawn at most: the rest are counted. A table of 2,000 rows is no use to a reader.
const MAX_ROWS = 150;
/// The table redraws at most this often; the map is what moves smoothly.
const REDRAW_MS = 500;

export class TrackTable {
  readonly el: HTMLElement;
  private body: HTMLTableSectionElement;
  private count: HTMLElement;
  private text = "";
  private shown = new Set<Affiliation>(AFFILIATIONS);
  private selected: string | null = null;
  private lastDraw = 0;
  private timer = 0;

  constructor(
    private readonly picture: Picture,
    private readonly onSelect: (uid: string) => void,
  ) {
    const search = h("input", {
      type: "search",
      placeholder: "Filter: id, serial, ICAO, sensor",
      "aria-label": "Filter tracks",
      class: "track-filter",
    });
    search.addEventListener("input", () => {
      this.text = search.value.trim().toLowerCase();
      this.draw();
    });
    const boxes = h("div", { class: "affiliation-filter" });
    for (const a of AFFILIATIONS) {
      const cb = h("input", { type: "checkbox", checked: true, "data-affiliation": a });
      cb.addEventListener("change", () => {
        if (cb.checked) this.shown.add(a);
        else this.shown.delete(a);
        this.draw();
      });
      boxes.append(h("label", {}, cb, h("img", { src: symbolDataUrl(a, 12), alt: "" }), a));
    }
    this.count = h("div", { class: "track-count" });
    this.body = h("tbody");
    const table = h(
      "table",
      { class: "tracks", "data-testid": "track-table" },
      h(
        "thead",
        {},
        h("tr", {}, ...["", "track", "threat", "speed", "height", "sensors", "id"].map((c) => h("th", {}, c))),
      ),
      this.body,
    );
    this.el = h("section", { class: "panel track-panel" }, h("h2", {}, "Tracks"), search, boxes, this.count, h("div", { class: "scroll" }, table));
    picture.subscribe((c) => {
      if (c.has("tracks")) this.schedule();
    });
  }

  select(uid: string | null): void {
    this.selected = uid;
    this.draw();
    this.body.querySelector(".selected")?.scrollIntoView({ block: "nearest" });
  }

  private schedule(): void {
    const wait = this.lastDraw + REDRAW_MS - Date.now();
    if (wait <= 0) this.draw();
    else if (!this.timer) {
      this.timer = window.setTimeout(() => {
        this.timer = 0;
        this.draw();
      }, wait);
    }
  }

  private draw(): void {
    this.lastDraw = Date.now();
    const rows = [...this.picture.tracks.values()].filter((t) => this.keeps(t));
    rows.sort((a, b) => (b.threat?.score ?? 0) - (a.threat?.score ?? 0) || a.uid.localeCompare(b.uid));
    clear(this.body);
    const now = this.picture.now();
    for (const t of rows.slice(0, MAX_ROWS)) {
      const tr = h(
        "tr",
        {
          "data-uid": t.uid,
          class: [t.uid === this.selected ? "selected" : "", this.picture.isStale(t, now) ? "stale" : ""].join(" "),
          title: `updated ${fmtAgo(t.last_update_unix_ns, now)}`,
        },
        h("td", {}, h("img", { src: symbolDataUrl(t.affiliation, 12), alt: t.affiliation })),
        h("td", {}, t.uid),
        h("td", { class: `level-${t.threat?.level ?? "none"}` }, t.threat ? `${t.threat.level} ${num(t.threat.score, 0)}` : "–"),
        h("td", {}, `${num(t.speed_mps, 0)} m/s`),
        h("td", {}, t.position.h_m !== undefined ? `${num(t.position.h_m, 0)} m` : "–"),
        h("td", {}, t.sensors.join(" ")),
        h("td", {}, t.remote_id_serial ?? t.icao_address ?? ""),
      );
      tr.addEventListener("click", () => this.onSelect(t.uid));
      this.body.append(tr);
    }
    const hidden = rows.length - Math.min(rows.length, MAX_ROWS);
    this.count.textContent = `${this.picture.tracks.size} tracks, ${rows.length} shown` + (hidden ? ` (${hidden} not listed)` : "");
  }

  private keeps(t: TrackView): boolean {
    if (!this.shown.has(t.affiliation)) return false;
    if (!this.text) return true;
    const hay = [t.uid, t.remote_id_serial, t.icao_address, t.class, ...t.sensors].join(" ").toLowerCase();
    return hay.includes(this.text);
  }
}
