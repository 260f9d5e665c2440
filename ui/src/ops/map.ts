// The live picture on the map: tracks as 2525 symbols with trails and a one-minute
// predicted vector, Remote ID pilot positions, sensors by health, agents and sightings.
// Everything is GeoJSON sources redrawn from the Picture once per frame with changes.

import * as maplibregl from "maplibre-gl";
import type { GeoJSONSource, Map as MapLibre } from "maplibre-gl";
// MapLibre finds its worker next to its own module, which bundling moves: say where it is.
import workerUrl from "maplibre-gl/dist/maplibre-gl-worker.mjs?url";
import type { Feature, FeatureCollection, Geometry } from "geojson";
import { addBasemap, addOutlines, baseStyle } from "../basemap";
import { registerSymbols, symbolImageId } from "../symbols";
import type { Change, Picture } from "../picture";
import { destination } from "../geo";
import { Throttle } from "../dom";
import type { UiConfig } from "../uiconfig";

maplibregl.setWorkerUrl(workerUrl);

/// How far ahead the predicted vector reaches [s].
const VECTOR_S = 60;
/// Above this many tracks (a crowded picture), only the selected track and hostile or
/// suspect ones get a trail: a trail is 90 points, and every redraw sends them all to the
/// map's worker.
const TRAILS_FOR_ALL_UP_TO = 300;
/// The map's sources are updated at most this often [ms]: updates arrive in many small
/// messages, and each update re-tiles and repaints. In a crowded picture, once a second:
/// tracks move once a second anyway, and a repaint is costly without a GPU.
const TRACKS_REDRAW_MS = 250;
const CROWDED_REDRAW_MS = 1000;

export interface MapOptions {
  container: HTMLElement;
  /// The node's sector: where the map opens, and its own tiles if any.
  sector: UiConfig;
  /// The session's token, for the node's own tiles.
  token: () => string | null;
  onSelect: (uid: string) => void;
}

export class PictureMap {
  readonly map: MapLibre;
  private selected: string | null = null;
  private ready = false;
  private labels = new Map<string, maplibregl.Marker>();
  private zones: FeatureCollection | null = null;
  private bulletinAreas: { polygon: Geometry; posture: string; text: string }[] = [];
  private pendingChanges = new Set<Change>();
  private readonly updates = new Throttle(
    () => this.flush(),
    () => (this.picture.tracks.size > TRAILS_FOR_ALL_UP_TO ? CROWDED_REDRAW_MS : TRACKS_REDRAW_MS),
  );

  constructor(
    private readonly picture: Picture,
    opts: MapOptions,
  ) {
    this.map = new maplibregl.Map({
      container: opts.container,
      style: baseStyle(),
      center: [opts.sector.center.lon_deg, opts.sector.center.lat_deg],
      zoom: opts.sector.zoom,
      attributionControl: { compact: true, customAttribution: "Natural Earth, US Census" },
      // No fade-in of symbols after each update: every fade step is a full repaint, and
      // the picture updates every second.
      fadeDuration: 0,
    });
    this.map.addControl(new maplibregl.NavigationControl({}), "top-right");
    this.map.addControl(new maplibregl.ScaleControl({ unit: "metric" }), "bottom-left");
    this.map.on("load", () => {
      registerSymbols(this.map);
      this.addOverlay();
      // The node's tiles first: the outlines go over them, and are filled where they are not.
      void addBasemap(this.map, opts.sector, opts.token)
        .catch((e) => {
          console.warn(`basemap: ${String(e)}`);
          return false;
        })
        .then((tiled) => addOutlines(this.map, !tiled));
      this.ready = true;
      if (this.zones) this.setZones(this.zones);
      this.setBulletinAreas(this.bulletinAreas);
      this.redraw(new Set(["tracks", "sensors", "agents", "sightings", "alerts"]));
    });
    this.map.on("click", "dw-tracks", (e) => {
      const uid = e.features?.[0]?.properties?.uid as string | undefined;
      if (uid) opts.onSelect(uid);
    });
    this.map.on("mouseenter", "dw-tracks", () => (this.map.getCanvas().style.cursor = "pointer"));
    this.map.on("mouseleave", "dw-tracks", () => (this.map.getCanvas().style.cursor = ""));
    picture.subscribe((c) => this.redraw(c));
    // Staleness moves with the clock, not only with messages.
    window.setInterval(() => this.redraw(new Set(["tracks"])), 2000);
  }

  select(uid: string | null, fly = false): void {
    this.selected = uid;
    if (this.ready) this.drawTracks(); // at once: the operator is waiting for the ring
    const t = uid ? this.picture.tracks.get(uid) : undefined;
    if (fly && t) this.map.easeTo({ center: [t.position.lon_deg, t.position.lat_deg] });
  }

  /// The selected track's recorded trail (from its detail), drawn under the live one.
  setHistory(coords: [number, number][]): void {
    if (!this.ready) return;
    this.set("dw-history", coords.length > 1 ? [feature({ type: "LineString", coordinates: coords }, {})] : []);
  }

  /// The sector's zones, coloured by kind.
  setZones(fc: FeatureCollection): void {
    this.zones = fc;
    if (!this.ready) return;
    this.set(
      "dw-zones",
      fc.features.map((f) => {
        const kind = String(f.properties?.kind ?? "");
        return { ...f, properties: { ...f.properties, kind, color: ZONE_COLOR[kind] ?? "#9da7b3" } };
      }),
    );
  }

  /// The areas of the bulletins in force: where the intelligence applies, dashed in the
  /// posture's colour.
  setBulletinAreas(areas: { polygon: Geometry; posture: string; text: string }[]): void {
    this.bulletinAreas = areas;
    if (!this.ready) return;
    this.set(
      "dw-bulletins",
      areas.map((a) => feature(a.polygon, { color: a.posture === "high" ? "#f85149" : a.posture === "elevated" ? "#d29922" : "#8b949e" })),
    );
  }

  /// A zone being drawn.
  setDraft(coords: [number, number][]): void {
    if (!this.ready) return;
    this.set("dw-draft", coords.length > 1 ? [feature({ type: "LineString", coordinates: coords }, {})] : []);
  }

  /// The current view as `min_lon,min_lat,max_lon,max_lat`.
  bbox(): string {
    const b = this.map.getBounds();
    return [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map((v) => v.toFixed(5)).join(",");
  }

  private addOverlay(): void {
    const m = this.map;
    // Tracks, their trails and vectors and the pilots are one source: one update, one
    // re-tiling and one repaint for all of them.
    for (const id of ["zones", "bulletins", "coverage", "draft", "history", "picture", "sensors", "agents", "sightings"]) {
      m.addSource(`dw-${id}`, { type: "geojson", data: empty() });
    }
    m.addLayer({
      id: "dw-zones-fill",
      type: "fill",
      source: "dw-zones",
      filter: ["==", ["geometry-type"], "Polygon"],
      paint: { "fill-color": ["get", "color"], "fill-opacity": 0.15 },
    });
    m.addLayer({
      id: "dw-zones-line",
      type: "line",
      source: "dw-zones",
      paint: { "line-color": ["get", "color"], "line-width": ["case", ["==", ["get", "kind"], "border"], 3, 1.5] },
    });
    m.addLayer({
      id: "dw-bulletins",
      type: "line",
      source: "dw-bulletins",
      paint: { "line-color": ["get", "color"], "line-width": 2, "line-dasharray": [3, 2] },
    });
    m.addLayer({
      id: "dw-coverage",
      type: "line",
      source: "dw-coverage",
      paint: { "line-color": "#8b949e", "line-width": 1, "line-opacity": 0.5, "line-dasharray": [4, 3] },
    });
    m.addLayer({
      id: "dw-draft",
      type: "line",
      source: "dw-draft",
      paint: { "line-color": "#ffffff", "line-width": 2, "line-dasharray": [2, 1] },
    });
    m.addLayer({
      id: "dw-sightings",
      type: "line",
      source: "dw-sightings",
      paint: { "line-color": "#f0c040", "line-width": 2, "line-dasharray": [1, 1] },
    });
    m.addLayer({
      id: "dw-history",
      type: "line",
      source: "dw-history",
      paint: { "line-color": "#ffffff", "line-width": 2, "line-opacity": 0.5 },
    });
    m.addLayer({
      id: "dw-trails",
      type: "line",
      source: "dw-picture",
      filter: ["==", ["get", "part"], "trail"],
      paint: { "line-color": ["get", "color"], "line-width": 1.5, "line-opacity": 0.6 },
    });
    m.addLayer({
      id: "dw-vectors",
      type: "line",
      source: "dw-picture",
      filter: ["==", ["get", "part"], "vector"],
      paint: { "line-color": ["get", "color"], "line-width": 1.5, "line-dasharray": [2, 2] },
    });
    m.addLayer({
      id: "dw-sensors",
      type: "circle",
      source: "dw-sensors",
      paint: {
        "circle-radius": 6,
        "circle-color": ["match", ["get", "state"], "ok", "#3fb950", "warning", "#d29922", "unknown", "#8b949e", "#f85149"],
        "circle-stroke-color": "#e6edf3",
        "circle-stroke-width": 1,
      },
    });
    m.addLayer({
      id: "dw-agents",
      type: "circle",
      source: "dw-agents",
      paint: {
        "circle-radius": 5,
        "circle-color": "#58a6ff",
        "circle-stroke-color": "#ffffff",
        "circle-stroke-width": 2,
      },
    });
    m.addLayer({
      id: "dw-operators",
      type: "circle",
      source: "dw-picture",
      filter: ["==", ["get", "part"], "operator"],
      paint: {
        "circle-radius": 4,
        "circle-color": "#ff7b72",
        "circle-stroke-color": "#000",
        "circle-stroke-width": 1,
      },
    });
    m.addLayer({
      id: "dw-selected",
      type: "circle",
      source: "dw-picture",
      filter: ["all", ["==", ["get", "part"], "track"], ["==", ["get", "selected"], true]],
      paint: {
        "circle-radius": 18,
        "circle-color": "rgba(0,0,0,0)",
        "circle-stroke-color": "#ffffff",
        "circle-stroke-width": 2,
      },
    });
    m.addLayer({
      id: "dw-tracks",
      type: "symbol",
      source: "dw-picture",
      filter: ["==", ["get", "part"], "track"],
      layout: {
        "icon-image": ["get", "icon"],
        "icon-allow-overlap": true,
        "icon-ignore-placement": true,
        // An exercise's drone is labelled so that it cannot be taken for a real one.
        "text-field": ["case", ["get", "exercise"], "EXERCISE", ""],
        "text-size": 11,
        "text-offset": [0, 1.6],
        "text-allow-overlap": true,
      },
      paint: {
        "icon-opacity": ["case", ["get", "stale"], 0.35, 1],
        "text-color": "#f0c040",
        "text-halo-color": "#000000",
        "text-halo-width": 1.5,
      },
    });
  }

  /// Every source that changed is updated in one go, at most every `TRACKS_REDRAW_MS` (or
  /// `CROWDED_REDRAW_MS`): each update is a repaint, and sensors, agents and alerts change
  /// all the time too.
  private redraw(changes: Set<Change>): void {
    if (!this.ready) return;
    for (const c of changes) this.pendingChanges.add(c);
    this.updates.request();
  }

  private flush(): void {
    const changes = this.pendingChanges;
    this.pendingChanges = new Set();
    if (changes.has("tracks") || changes.has("alerts")) this.drawTracks();
    if (changes.has("sensors")) this.drawSensors();
    if (changes.has("agents")) this.drawAgents();
    if (changes.has("sightings")) this.drawSightings();
  }

  private drawTracks(): void {
    const now = this.picture.now();
    const crowded = this.picture.tracks.size > TRAILS_FOR_ALL_UP_TO;
    const points: Feature[] = [];
    const trails: Feature[] = [];
    const vectors: Feature[] = [];
    const operators: Feature[] = [];
    const live = new Set<string>();
    for (const t of this.picture.tracks.values()) {
      const p: [number, number] = [t.position.lon_deg, t.position.lat_deg];
      const color = COLOR[t.affiliation] ?? COLOR.unknown;
      points.push(
        feature(
          { type: "Point", coordinates: p },
          {
            part: "track",
            uid: t.uid,
            icon: symbolImageId(t.affiliation),
            stale: this.picture.isStale(t, now),
            exercise: t.exercise === true,
            selected: t.uid === this.selected,
          },
        ),
      );
      const trail = this.picture.trails.get(t.uid);
      const wanted = !crowded || t.uid === this.selected || t.affiliation === "hostile" || t.affiliation === "suspect";
      if (wanted && trail && trail.length > 1) {
        trails.push(feature({ type: "LineString", coordinates: trail }, { part: "trail", color }));
      }
      if (t.speed_mps > 0.5) {
        const ahead = destination(t.position, t.course_deg, t.speed_mps * VECTOR_S);
        vectors.push(feature({ type: "LineString", coordinates: [p, ahead] }, { part: "vector", color }));
      }
      if (t.operator_position) {
        const op: [number, number] = [t.operator_position.lon_deg, t.operator_position.lat_deg];
        operators.push(feature({ type: "Point", coordinates: op }, { part: "operator", uid: t.uid }));
        const serial = t.remote_id_serial ?? "?";
        this.label(`op:${t.uid}`, op, `Pilot (Remote ID claim) · ${serial}`, "label-pilot");
        live.add(`op:${t.uid}`);
      }
    }
    this.set("dw-picture", [...trails, ...vectors, ...operators, ...points]);
    this.pruneLabels("op:", live);
  }

  private drawSensors(): void {
    const fs: Feature[] = [];
    const coverage: Feature[] = [];
    for (const s of this.picture.sensors.values()) {
      if (!s.position) continue;
      const p: [number, number] = [s.position.lon_deg, s.position.lat_deg];
      fs.push(feature({ type: "Point", coordinates: p }, { id: s.id, state: s.state }));
      this.label(`sensor:${s.id}`, p, `${s.kind ?? "sensor"} ${s.id}`, "label-sensor");
      // Receivers that hear a whole region (ADS-B) would only draw a circle off the map.
      if (s.max_range_m && s.max_range_m <= 20_000) {
        coverage.push(feature({ type: "LineString", coordinates: circle(p, s.max_range_m) }, { id: s.id }));
      }
    }
    this.set("dw-sensors", fs);
    this.set("dw-coverage", coverage);
  }

  private drawAgents(): void {
    const fs: Feature[] = [];
    for (const a of this.picture.agents.values()) {
      const p: [number, number] = [a.position.lon_deg, a.position.lat_deg];
      fs.push(feature({ type: "Point", coordinates: p }, { id: a.agent_id }));
      this.label(`agent:${a.agent_id}`, p, `Agent ${a.agent_id}`, "label-agent");
    }
    this.set("dw-agents", fs);
  }

  private drawSightings(): void {
    const fs: Feature[] = [];
    for (const s of this.picture.sightings) {
      const from: [number, number] = [s.reporter_position.lon_deg, s.reporter_position.lat_deg];
      if (s.bearing_deg == null) continue;
      const to = destination(s.reporter_position, s.bearing_deg, s.distance_m ?? 1500);
      fs.push(feature({ type: "LineString", coordinates: [from, to] }, { id: s.client_id }));
    }
    this.set("dw-sightings", fs);
  }

  /// Text labels as DOM markers: the map has no glyphs offline, and these are few.
  private label(key: string, at: [number, number], text: string, cls: string): void {
    let m = this.labels.get(key);
    if (!m) {
      const el = document.createElement("div");
      el.className = `map-label ${cls}`;
      m = new maplibregl.Marker({ element: el, anchor: "top-left", offset: [8, 4] });
      m.setLngLat(at).addTo(this.map);
      this.labels.set(key, m);
    }
    m.getElement().textContent = text;
    m.setLngLat(at);
  }

  private pruneLabels(prefix: string, live: Set<string>): void {
    for (const [k, m] of this.labels) {
      if (k.startsWith(prefix) && !live.has(k)) {
        m.remove();
        this.labels.delete(k);
      }
    }
  }

  private set(source: string, features: Feature[]): void {
    (this.map.getSource(source) as GeoJSONSource | undefined)?.setData({
      type: "FeatureCollection",
      features,
    });
  }
}

const ZONE_COLOR: Record<string, string> = {
  border: "#ff4d4d",
  no_fly: "#ff4d4d",
  protected_site: "#58a6ff",
  station: "#58a6ff",
  checkpoint: "#58a6ff",
  ignore: "#6e7681",
  road: "#c9a96e",
};

export const COLOR: Record<string, string> = {
  hostile: "#ff3031",
  suspect: "#ff9a3c",
  unknown: "#ffff80",
  friend: "#80e0ff",
  manned: "#aaffaa",
};

function feature(geometry: Geometry, properties: Record<string, unknown>): Feature {
  return { type: "Feature", geometry, properties };
}

function empty(): FeatureCollection {
  return { type: "FeatureCollection", features: [] };
}

/// A circle of `radius_m` around `centre` ([lon, lat]) as a closed ring; a sphere is close
/// enough at sensor ranges.
function circle(centre: [number, number], radius_m: number): [number, number][] {
  const [lon, lat] = centre;
  const dLat = (radius_m / 6_371_000) * (180 / Math.PI);
  const dLon = dLat / Math.cos((lat * Math.PI) / 180);
  return Array.from({ length: 65 }, (_, k) => {
    const a = (2 * Math.PI * k) / 64;
    return [lon + dLon * Math.sin(a), lat + dLat * Math.cos(a)] as [number, number];
  });
}
