// Sector bulletins and the posture they set: the shapes, and the banner both views show.

import { h } from "./dom";

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
  standing_orders: string[];
}

export interface PostureView {
  level: PostureLevel;
  bulletin_ids: string[];
  standing_orders: string[];
  /// Bulletin areas whose posture is above the sector's.
  areas?: AreaPosture[];
}

/// The sector posture as a banner: hidden at normal with no raised area, loud when raised.
export function drawPosture(el: HTMLElement, p: PostureView): void {
  const areas = p.areas ?? [];
  const top = areas.reduce<PostureLevel>((l, a) => (a.level === "high" || l === "high" ? "high" : a.level), p.level);
  el.hidden = p.level === "normal" && areas.length === 0;
  el.className = `posture posture-${top}`;
  const inAreas = areas.length
    ? [h("span", { "data-testid": "area-posture" }, ` · ${areas.map((a) => a.level.toUpperCase()).join(", ")} inside ${areas.length === 1 ? "a bulletin's area" : `${areas.length} bulletin areas`} (on the map)`)]
    : [];
  el.replaceChildren(
    h("b", {}, `POSTURE ${p.level.toUpperCase()}`),
    ...inAreas,
    ...p.standing_orders.map((o) => h("span", {}, ` · ${o}`)),
  );
}

export function validity(b: BulletinView): string {
  const until = b.valid_until_unix_ns ? new Date(b.valid_until_unix_ns / 1e6).toISOString().slice(0, 16).replace("T", " ") + "Z" : "until withdrawn";
  return `valid ${new Date(b.valid_from_unix_ns / 1e6).toISOString().slice(0, 16).replace("T", " ")}Z – ${until}`;
}
