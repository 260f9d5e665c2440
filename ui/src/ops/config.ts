// Sector configuration, for admins: draw, edit (drag the corners) and delete zones on the
// map, the allow-list of friendly drones, and users. Every change goes through the API,
// which audits it.

import * as maplibregl from "maplibre-gl";
import type { MapMouseEvent } from "maplibre-gl";
import type { Feature, FeatureCollection } from "geojson";
import type { Api } from "../api";
import { ApiError } from "../api";
import { clear, h } from "../dom";
import type { PictureMap } from "./map";

export const ZONE_KINDS = ["protected_site", "station", "checkpoint", "no_fly", "ignore", "border", "road"] as const;
/// Kinds drawn as lines; the others are areas.
const LINE_KINDS = new Set(["border", "road"]);

interface UserView {
  name: string;
  role: string;
  disabled: boolean;
  locked_until_unix_ns?: number | null;
}

export class ConfigPanel {
  readonly el: HTMLElement;
  private zones: FeatureCollection = { type: "FeatureCollection", features: [] };
  private zoneList = h("ul", { class: "zone-list", "data-testid": "zone-list" });
  private draft: [number, number][] = [];
  private drawing = false;
  /// The zone being reshaped: its corners as they are now, and the markers on the map.
  private editing: { feature: Feature; points: [number, number][]; markers: maplibregl.Marker[] } | null = null;
  private status = h("p", { class: "muted", role: "status" });
  /// The admin sections load when the panel opens: every role builds it (for the zones on
  /// the map), and only admins may read the users.
  private sectionLoads: (() => Promise<void>)[] = [];

  constructor(
    private readonly api: Api,
    private readonly map: PictureMap,
  ) {
    const name = h("input", { placeholder: "Zone name", "aria-label": "Zone name" });
    const kind = h("select", { "aria-label": "Zone kind" }, ...ZONE_KINDS.map((k) => h("option", { value: k }, k.replace("_", " "))));
    const draw = h("button", { "data-testid": "zone-draw" }, "Draw zone");
    const finish = h("button", { "data-testid": "zone-save", disabled: true }, "Finish and save");
    const cancel = h("button", { disabled: true }, "Cancel");
    const hint = h("p", { class: "muted" });
    const stopDrawing = () => {
      this.drawing = false;
      this.draft = [];
      this.map.setDraft([]);
      finish.disabled = cancel.disabled = true;
      draw.disabled = false;
      hint.textContent = "";
      this.map.map.getCanvas().style.cursor = "";
    };
    draw.addEventListener("click", () => {
      this.drawing = true;
      this.draft = [];
      draw.disabled = true;
      finish.disabled = cancel.disabled = false;
      hint.textContent = "Click the map to add corners; then Finish and save.";
      this.map.map.getCanvas().style.cursor = "crosshair";
    });
    cancel.addEventListener("click", stopDrawing);
    finish.addEventListener("click", async () => {
      const line = LINE_KINDS.has(kind.value);
      if (this.draft.length < (line ? 2 : 3)) {
        hint.textContent = line ? "A line needs 2 points." : "An area needs 3 corners.";
        return;
      }
      const coords = this.draft;
      const f: Feature = {
        type: "Feature",
        id: `zone-${Date.now()}`,
        properties: { kind: kind.value, name: name.value.trim() || kind.value },
        geometry: line ? { type: "LineString", coordinates: coords } : { type: "Polygon", coordinates: [[...coords, coords[0]]] },
      };
      if (await this.save({ ...this.zones, features: [...this.zones.features, f] })) {
        name.value = "";
        stopDrawing();
      }
    });
    this.map.map.on("click", (e: MapMouseEvent) => {
      if (!this.drawing) return;
      this.draft.push([e.lngLat.lng, e.lngLat.lat]);
      this.map.setDraft(this.draft);
    });

    this.el = h(
      "section",
      { class: "panel config-panel", "data-testid": "config-panel", hidden: true },
      h("h2", {}, "Zones"),
      this.zoneList,
      h("div", { class: "zone-form" }, name, kind),
      h("div", { class: "actions" }, draw, finish, cancel),
      hint,
      this.status,
    );
    this.el.append(...this.allowListSection(), ...this.usersSection());
  }

  async open(): Promise<void> {
    this.el.hidden = false;
    for (const load of this.sectionLoads) void load().catch(() => undefined);
    await this.load();
  }

  close(): void {
    this.el.hidden = true;
  }

  /// Loads the zones for the map (every role sees them; only admins open this panel).
  async load(): Promise<void> {
    this.zones = await this.api.get<FeatureCollection>("/zones");
    this.map.setZones(this.zones);
    this.drawList();
  }

  private drawList(): void {
    clear(this.zoneList);
    if (!this.zones.features.length) this.zoneList.append(h("li", { class: "muted" }, "No zones."));
    for (const f of this.zones.features) {
      const del = h("button", { title: "Delete this zone" }, "Delete");
      del.addEventListener("click", () => void this.save({ ...this.zones, features: this.zones.features.filter((x) => x !== f) }));
      const li = h("li", { "data-zone-id": String(f.id ?? "") }, `${zoneLabel(f)} `);
      if (this.editing?.feature === f) {
        const done = h("button", { "data-testid": "zone-edit-save" }, "Save shape");
        done.addEventListener("click", () => void this.finishEdit(true));
        const undo = h("button", {}, "Cancel");
        undo.addEventListener("click", () => void this.finishEdit(false));
        li.append(done, " ", undo);
      } else {
        const edit = h("button", { title: "Drag its corners on the map", "data-testid": "zone-edit" }, "Edit");
        edit.addEventListener("click", () => this.startEdit(f));
        li.append(edit, " ", del);
      }
      this.zoneList.append(li);
    }
  }

  /// Puts a draggable marker on each corner (each point of a line), and a small one half-way
  /// along each side: clicking it adds a corner there. Double-clicking a corner removes it
  /// (an area keeps at least 3, a line 2). The outline follows.
  private startEdit(f: Feature): void {
    void this.finishEdit(false);
    const g = f.geometry;
    const ring = g.type === "Polygon" ? g.coordinates[0].slice(0, -1) : g.type === "LineString" ? g.coordinates : null;
    if (!ring) return;
    const closed = g.type === "Polygon";
    const minPoints = closed ? 3 : 2;
    const e = { feature: f, points: ring.map((c) => [c[0], c[1]] as [number, number]), markers: [] as maplibregl.Marker[] };
    this.editing = e;
    const outline = () => this.map.setDraft(closed ? [...e.points, e.points[0]] : e.points);
    const place = () => {
      e.markers.forEach((m) => m.remove());
      e.markers = [];
      e.points.forEach((c, i) => {
        const m = new maplibregl.Marker({ draggable: true, color: "#58a6ff", scale: 0.6 }).setLngLat(c).addTo(this.map.map);
        const el = m.getElement();
        el.dataset.testid = "zone-corner";
        el.title = "Drag to move; double-click to remove";
        m.on("drag", () => {
          const p = m.getLngLat();
          e.points[i] = [p.lng, p.lat];
          outline();
        });
        m.on("dragend", place); // the side handles move to the new middles
        el.addEventListener("dblclick", (ev) => {
          ev.stopPropagation();
          if (e.points.length <= minPoints) {
            this.status.textContent = `${zoneLabel(f)} needs at least ${minPoints} ${closed ? "corners" : "points"}.`;
            return;
          }
          e.points.splice(i, 1);
          place();
        });
        e.markers.push(m);
      });
      const sides = closed ? e.points.length : e.points.length - 1;
      for (let i = 0; i < sides; i++) {
        const [a, b] = [e.points[i], e.points[(i + 1) % e.points.length]];
        const el = h("div", { class: "zone-midpoint", "data-testid": "zone-midpoint", title: "Click to add a corner here" });
        const m = new maplibregl.Marker({ element: el }).setLngLat([(a[0] + b[0]) / 2, (a[1] + b[1]) / 2]).addTo(this.map.map);
        el.addEventListener("click", (ev) => {
          ev.stopPropagation();
          const p = m.getLngLat();
          e.points.splice(i + 1, 0, [p.lng, p.lat]);
          place();
        });
        e.markers.push(m);
      }
      outline();
    };
    place();
    this.status.textContent = `Drag the corners of ${zoneLabel(f)}, click a side's middle to add one, double-click one to remove it; then Save shape.`;
    this.drawList();
  }

  private async finishEdit(keep: boolean): Promise<void> {
    const e = this.editing;
    if (!e) return;
    this.editing = null;
    const points = e.points;
    e.markers.forEach((m) => m.remove());
    this.map.setDraft([]);
    if (!keep) {
      this.drawList();
      return;
    }
    const geometry: Feature["geometry"] =
      e.feature.geometry.type === "Polygon" ? { type: "Polygon", coordinates: [[...points, points[0]]] } : { type: "LineString", coordinates: points };
    const changed: Feature = { ...e.feature, geometry };
    await this.save({ ...this.zones, features: this.zones.features.map((x) => (x === e.feature ? changed : x)) });
  }

  private async save(fc: FeatureCollection): Promise<boolean> {
    try {
      this.zones = await this.api.call<FeatureCollection>("PUT", "/zones", fc);
      this.map.setZones(this.zones);
      this.drawList();
      this.status.textContent = `Saved: ${this.zones.features.length} zones in force.`;
      return true;
    } catch (e) {
      this.status.textContent = e instanceof ApiError ? e.message : String(e);
      return false;
    }
  }

  private allowListSection(): HTMLElement[] {
    const text = h("textarea", { rows: 4, "aria-label": "Allow-list", placeholder: "One Remote ID serial per line" });
    const save = h("button", {}, "Save allow-list");
    const said = h("p", { class: "muted", role: "status" });
    const load = async () => {
      const doc = await this.api.get<{ remote_id_serials: string[] }>("/allow-list");
      text.value = doc.remote_id_serials.join("\n");
    };
    save.addEventListener("click", async () => {
      const serials = text.value.split("\n").map((s) => s.trim()).filter(Boolean);
      try {
        const doc = await this.api.call<{ remote_id_serials: string[] }>("PUT", "/allow-list", { remote_id_serials: serials });
        said.textContent = `Saved: ${doc.remote_id_serials.length} friendly drones.`;
      } catch (e) {
        said.textContent = e instanceof ApiError ? e.message : String(e);
      }
    });
    this.sectionLoads.push(load);
    return [h("h2", {}, "Allow-list (friendly drones)"), text, save, said];
  }

  private usersSection(): HTMLElement[] {
    const list = h("table", { class: "kv users" });
    const name = h("input", { placeholder: "name", "aria-label": "New user name" });
    const role = h("select", { "aria-label": "New user role" }, ...["agent", "operator", "analyst", "admin", "sensor"].map((r) => h("option", { value: r }, r)));
    const pass = h("input", { type: "password", placeholder: "password (12+ characters)", "aria-label": "New user password" });
    const add = h("button", {}, "Add user");
    const said = h("p", { class: "muted", role: "status" });
    const load = async () => {
      const users = await this.api.get<UserView[]>("/users");
      clear(list);
      for (const u of users) {
        const toggle = h("button", {}, u.disabled ? "Enable" : "Disable");
        toggle.addEventListener("click", async () => {
          try {
            await this.api.call("PATCH", `/users/${encodeURIComponent(u.name)}`, { disabled: !u.disabled });
            await load();
          } catch (e) {
            said.textContent = e instanceof ApiError ? e.message : String(e);
          }
        });
        const state = u.disabled ? "disabled" : u.locked_until_unix_ns ? "locked" : "active";
        list.append(h("tr", {}, h("td", {}, u.name), h("td", {}, u.role), h("td", {}, state), h("td", {}, toggle)));
      }
    };
    add.addEventListener("click", async () => {
      try {
        await this.api.post("/users", { name: name.value.trim(), role: role.value, password: pass.value });
        said.textContent = `User ${name.value.trim()} added.`;
        name.value = pass.value = "";
        await load();
      } catch (e) {
        said.textContent = e instanceof ApiError ? e.message : String(e);
      }
    });
    this.sectionLoads.push(load);
    return [h("h2", {}, "Users"), list, h("div", { class: "zone-form" }, name, role, pass, add), said];
  }
}


function zoneLabel(f: Feature): string {
  const p = f.properties ?? {};
  return `${String(p.name ?? f.id)} (${String(p.kind)})`;
}
