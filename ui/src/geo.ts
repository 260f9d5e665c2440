// Small spherical helpers for drawing (vectors, bearings, distances). The tracker's
// geodesy is exact WGS84 on the server; a few metres of sphere error do not show on a map.

import type { Position } from "./types";

const EARTH_RADIUS_M = 6_371_008.8;
const RAD = Math.PI / 180;

/// The point `distanceM` from `p` along compass bearing `bearingDeg`, as [lon, lat].
export function destination(p: Position, bearingDeg: number, distanceM: number): [number, number] {
  const d = distanceM / EARTH_RADIUS_M;
  const b = bearingDeg * RAD;
  const lat1 = p.lat_deg * RAD;
  const lon1 = p.lon_deg * RAD;
  const lat2 = Math.asin(Math.sin(lat1) * Math.cos(d) + Math.cos(lat1) * Math.sin(d) * Math.cos(b));
  const lon2 =
    lon1 + Math.atan2(Math.sin(b) * Math.sin(d) * Math.cos(lat1), Math.cos(d) - Math.sin(lat1) * Math.sin(lat2));
  return [lon2 / RAD, lat2 / RAD];
}

/// Great-circle distance [m].
export function distanceM(a: Position, b: Position): number {
  const dLat = (b.lat_deg - a.lat_deg) * RAD;
  const dLon = (b.lon_deg - a.lon_deg) * RAD;
  const h =
    Math.sin(dLat / 2) ** 2 + Math.cos(a.lat_deg * RAD) * Math.cos(b.lat_deg * RAD) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_M * Math.asin(Math.min(1, Math.sqrt(h)));
}

/// Initial compass bearing from a to b [deg, 0..360).
export function bearingDeg(a: Position, b: Position): number {
  const lat1 = a.lat_deg * RAD;
  const lat2 = b.lat_deg * RAD;
  const dLon = (b.lon_deg - a.lon_deg) * RAD;
  const y = Math.sin(dLon) * Math.cos(lat2);
  const x = Math.cos(lat1) * Math.sin(lat2) - Math.sin(lat1) * Math.cos(lat2) * Math.cos(dLon);
  return ((Math.atan2(y, x) / RAD) + 360) % 360;
}

/// True when `p` lies inside the polygon's outer ring ([lon, lat] pairs), by ray casting on
/// lon/lat (bulletin areas are a few km across; the server decides with the same rule).
export function inRing(p: Position, ring: [number, number][]): boolean {
  let inside = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const [xi, yi] = ring[i];
    const [xj, yj] = ring[j];
    if (yi > p.lat_deg !== yj > p.lat_deg && p.lon_deg < ((xj - xi) * (p.lat_deg - yi)) / (yj - yi) + xi) {
      inside = !inside;
    }
  }
  return inside;
}
