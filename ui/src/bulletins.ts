// Sector bulletins and the posture they set: the shapes, and the banner both views show.

import { h } from "./dom";
import { inRing } from "./geo";
import type { Position } from "./types";

export type PostureLevel = "normal" | "elevated" | "high";

export interface BulletinView {
  id: string;
  text: string;
  posture: PostureLevel;
  area?: { type: "Polygon"; coordinates: [number, number][][] } | null;
  /// The posture holds only inside the area.
  area_only?: boolean;
  valid_from_unix_ns: number;
  valid_until_unix_ns?: number | null;
  published_by: string;
  published_unix_ns: number;
  withdrawn_by?: string | null;
  withdrawn_unix_ns?: number | null;
  acknowledged: Record<string, number>;
  in_force: boolean;
  unacknowledged: string[];
}

export interface AreaPosture {
  bulletin_id: string;
  level: PostureLevel;
  area: { type: "Polygon"; coordinates: [number, number][][] };
  standing_orders: string[];
}

export interface PostureView {
  level: PostureLevel;
  bulletin_ids: string[];
  standing_orders: string[];
  /// Bulletin areas whose posture is above the sector's.
  areas?: AreaPosture[];
}

const RANK: Record<PostureLevel, number> = { normal: 0, elevated: 1, high: 2 };
const highest = (levels: PostureLevel[]): PostureLevel =>
  levels.reduce<PostureLevel>((a, b) => (RANK[b] > RANK[a] ? b : a), "normal");

/// The sector posture as a banner: hidden at normal with no raised area, loud when raised.
/// On a phone, `here` is the agent's own position (`null` without a GPS fix): the banner
/// then says whether the agent is inside a raised area, and gives that area's orders.
export function drawPosture(el: HTMLElement, p: PostureView, here?: Position | null): void {
  const areas = p.areas ?? [];
  el.hidden = p.level === "normal" && areas.length === 0;
  const levels = (as: AreaPosture[]) => as.map((a) => a.level.toUpperCase()).join(", ");
  const where = (n: number) => (n === 1 ? "a bulletin's area" : `${n} bulletin areas`);
  if (here === undefined || areas.length === 0) {
    el.className = `posture posture-${highest([p.level, ...areas.map((a) => a.level)])}`;
    const inAreas = areas.length
      ? [h("span", { "data-testid": "area-posture" }, ` · ${levels(areas)} inside ${where(areas.length)} (on the map)`)]
      : [];
    el.replaceChildren(
      h("b", {}, `POSTURE ${p.level.toUpperCase()}`),
      ...inAreas,
      ...p.standing_orders.map((o) => h("span", {}, ` · ${o}`)),
    );
    return;
  }
  // Unknown position: assume the worst, and say so.
  const inside = here === null ? areas : areas.filter((a) => inRing(here, a.area.coordinates[0] ?? []));
  const mine = highest([p.level, ...inside.map((a) => a.level)]);
  el.className = `posture posture-${mine}`;
  const orders = inside.length ? inside.flatMap((a) => a.standing_orders) : p.standing_orders;
  const note =
    here === null
      ? ` · ${levels(areas)} inside ${where(areas.length)}; no GPS fix, so follow it as if you were inside`
      : inside.length
        ? ` · YOU ARE INSIDE ${where(inside.length)} at ${levels(inside)}`
        : ` · ${levels(areas)} inside ${where(areas.length)}; you are outside`;
  el.replaceChildren(
    h("b", {}, `POSTURE ${mine.toUpperCase()}${mine !== p.level ? " HERE" : ""}`),
    h("span", { "data-testid": "area-posture" }, note),
    ...[...new Set(orders)].map((o) => h("span", {}, ` · ${o}`)),
  );
}

export function validity(b: BulletinView): string {
  const until = b.valid_until_unix_ns ? new Date(b.valid_until_unix_ns / 1e6).toISOString().slice(0, 16).replace("T", " ") + "Z" : "until withdrawn";
  return `valid ${new Date(b.valid_from_unix_ns / 1e6).toISOString().slice(0, 16).replace("T", " ")}Z – ${until}`;
}
