// The track table: synced with the map (click a row to select and centre, a symbol to
// select a row), sorted by threat, filtered by identity and text.

import { Throttle, fmtAgo, h, num } from "../dom";
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
  private readonly redraw = new Throttle(() => this.draw(), () => REDRAW_MS);
  private rows = new Map<string, HTMLTableRowElement>();

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
      this.redraw.now();
    });
    const boxes = h("div", { class: "affiliation-filter" });
    for (const a of AFFILIATIONS) {
      const cb = h("input", { type: "checkbox", checked: true, "data-affiliation": a });
      cb.addEventListener("change", () => {
        if (cb.checked) this.shown.add(a);
        else this.shown.delete(a);
        this.redraw.now();
      });
      boxes.append(h("label", {}, cb, h("img", { src: symbolDataUrl(a, 12), alt: "" }), a));
    }
    this.count = h("div", { class: "track-count" });
    this.body = h("tbody");
    this.body.addEventListener("click", (e) => {
      const uid = (e.target as Element).closest("tr[data-uid]")?.getAttribute("data-uid");
      if (uid) this.onSelect(uid);
    });
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
      if (c.has("tracks")) this.redraw.request();
    });
  }

  select(uid: string | null): void {
    this.selected = uid;
    this.redraw.now();
    this.body.querySelector(".selected")?.scrollIntoView({ block: "nearest" });
  }

  // Rows are kept per track and updated in place: a row rebuilt between a mouse-down and
  // its mouse-up would swallow the operator's click.
  private draw(): void {
    const rows = [...this.picture.tracks.values()].filter((t) => this.keeps(t));
    rows.sort((a, b) => (b.threat?.score ?? 0) - (a.threat?.score ?? 0) || a.uid.localeCompare(b.uid));
    const now = this.picture.now();
    const listed = new Set<string>();
    let before: ChildNode | null = this.body.firstChild;
    for (const t of rows.slice(0, MAX_ROWS)) {
      listed.add(t.uid);
      let tr = this.rows.get(t.uid);
      if (!tr) {
        tr = h("tr", { "data-uid": t.uid }, ...Array.from({ length: 7 }, () => h("td")));
        tr.cells[0].append(h("img", { alt: "" }));
        this.rows.set(t.uid, tr);
      }
      this.fill(tr, t, now);
      if (tr !== before) this.body.insertBefore(tr, before);
      before = tr.nextSibling;
    }
    for (const [uid, tr] of this.rows) {
      if (!listed.has(uid)) {
        tr.remove();
        this.rows.delete(uid);
      }
    }
    const hidden = rows.length - Math.min(rows.length, MAX_ROWS);
    this.count.textContent = `${this.picture.tracks.size} tracks, ${rows.length} shown` + (hidden ? ` (${hidden} not listed)` : "");
  }

  private fill(tr: HTMLTableRowElement, t: TrackView, now: number): void {
    tr.className = [t.uid === this.selected ? "selected" : "", this.picture.isStale(t, now) ? "stale" : "", t.exercise ? "exercise" : ""].join(" ").trim();
    tr.title = `updated ${fmtAgo(t.last_update_unix_ns, now)}`;
    const img = tr.cells[0].firstChild as HTMLImageElement;
    const src = symbolDataUrl(t.affiliation, 12);
    if (img.getAttribute("src") !== src) img.src = src;
    img.alt = t.affiliation;
    const threat = tr.cells[2];
    threat.className = `level-${t.threat?.level ?? "none"}`;
    const texts = [
      t.exercise ? `EXERCISE ${t.uid}` : t.uid,
      t.threat ? `${t.threat.level} ${num(t.threat.score, 0)}` : "–",
      `${num(t.speed_mps, 0)} m/s`,
      t.position.h_m !== undefined ? `${num(t.position.h_m, 0)} m` : "–",
      t.sensors.join(" "),
      t.remote_id_serial ?? t.icao_address ?? "",
    ];
    texts.forEach((text, i) => {
      const cell = tr.cells[i + 1];
      if (cell.textContent !== text) cell.textContent = text;
    });
  }

  private keeps(t: TrackView): boolean {
    if (!this.shown.has(t.affiliation)) return false;
    if (!this.text) return true;
    const hay = [t.uid, t.remote_id_serial, t.icao_address, t.class, ...t.sensors].join(" ").toLowerCase();
    return hay.includes(this.text);
  }
}
