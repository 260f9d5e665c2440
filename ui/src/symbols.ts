// MIL-STD-2525C air-track symbols (milsymbol) by standard identity, registered as map
// images once: every track of one identity shares its image, so 2,000 tracks are one
// symbol layer and no DOM.

import ms from "milsymbol";
import type { Map as MapLibre } from "maplibre-gl";
import type { Affiliation } from "./types";

/// SIDC per identity: a UAV air track (S?APMFQ) for drones, a civil aircraft for manned.
const SIDC: Record<Affiliation, string> = {
  hostile: "SHAPMFQ--------",
  suspect: "SSAPMFQ--------",
  unknown: "SUAPMFQ--------",
  friend: "SFAPMFQ--------",
  manned: "SNAPC----------",
};

export const AFFILIATIONS = Object.keys(SIDC) as Affiliation[];

export function symbolImageId(a: Affiliation): string {
  return `sym-${a}`;
}

/// A symbol as an <img> source for tables and panels.
export function symbolDataUrl(a: Affiliation, sizePx = 18): string {
  return new ms.Symbol(SIDC[a] ?? SIDC.unknown, { size: sizePx }).toDataURL();
}

export function registerSymbols(map: MapLibre): void {
  const ratio = Math.max(1, Math.round(window.devicePixelRatio || 1));
  for (const a of AFFILIATIONS) {
    const canvas = new ms.Symbol(SIDC[a], { size: 22 }).asCanvas(ratio);
    const ctx = canvas.getContext("2d");
    if (!ctx) continue;
    const img = ctx.getImageData(0, 0, canvas.width, canvas.height);
    if (!map.hasImage(symbolImageId(a))) {
      map.addImage(symbolImageId(a), img, { pixelRatio: ratio });
    }
  }
}
