// What the node tells the UI about its sector: where to centre the map, and the operator's
// own tiles if configured: a PMTiles archive the node serves, or a tile URL
// (GET /api/v1/ui-config).

import type { Api } from "./api";
import type { Position } from "./types";

export interface UiConfig {
  sector: string;
  center: Position;
  zoom: number;
  tile_url: string | null;
  pmtiles_url: string | null;
}

export function loadUiConfig(api: Api): Promise<UiConfig> {
  return api.get<UiConfig>("/ui-config");
}
