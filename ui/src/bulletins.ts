// Sector bulletins and the posture they set: the shapes, and the banner both views show.

import { h } from "./dom";

export type PostureLevel = "normal" | "elevated" | "high";

export interface BulletinView {
  id: string;
  text: string;
  posture: PostureLevel;
  area?: { type: "Polygon"; coordinates: [number, number][][] } | null;
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

export interface PostureView {
  level: PostureLevel;
  bulletin_ids: string[];
  standing_orders: string[];
}

/// The sector posture as a banner: hidden at normal, loud when raised.
export function drawPosture(el: HTMLElement, p: PostureView): void {
  el.hidden = p.level === "normal";
  el.className = `posture posture-${p.level}`;
  el.replaceChildren(
    h("b", {}, `POSTURE ${p.level.toUpperCase()}`),
    ...p.standing_orders.map((o) => h("span", {}, ` · ${o}`)),
  );
}

export function validity(b: BulletinView): string {
  const until = b.valid_until_unix_ns ? new Date(b.valid_until_unix_ns / 1e6).toISOString().slice(0, 16).replace("T", " ") + "Z" : "until withdrawn";
  return `valid ${new Date(b.valid_from_unix_ns / 1e6).toISOString().slice(0, 16).replace("T", " ")}Z – ${until}`;
}
