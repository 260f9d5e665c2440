// Bulletins at the operations centre: the watch officer sees each current bulletin and the
// agents who have not acknowledged it; analysts and admins publish (the area is the map's
// current view) and withdraw them.

import type { Geometry } from "geojson";
import type { Api } from "../api";
import { type BulletinView, type PostureLevel, validity } from "../bulletins";
import { clear, h } from "../dom";
import type { Me } from "../types";
import type { PictureMap } from "./map";

const VALID_FOR_H: [string, number | null][] = [
  ["6 hours", 6],
  ["24 hours", 24],
  ["3 days", 72],
  ["7 days", 168],
  ["until withdrawn", null],
];

export class BulletinPanel {
  readonly el: HTMLElement;
  private readonly list = h("ul", { class: "bulletin-list", "data-testid": "bulletin-list" });
  private readonly status = h("p", { class: "muted", role: "status" });
  private readonly bulletins = new Map<string, BulletinView>();
  private readonly mayPublish: boolean;

  constructor(
    private readonly api: Api,
    private readonly map: PictureMap,
    me: Me,
  ) {
    this.mayPublish = me.role === "analyst" || me.role === "admin";
    this.el = h("section", { class: "panel bulletin-panel", "data-testid": "bulletin-panel", hidden: true }, h("h2", {}, "Bulletins"), this.list);
    if (this.mayPublish) this.el.append(...this.form());
    this.el.append(this.status);
  }

  open(): void {
    this.el.hidden = false;
  }

  async load(): Promise<void> {
    for (const b of await this.api.get<BulletinView[]>("/bulletins")) this.bulletins.set(b.id, b);
    this.draw();
  }

  put(b: BulletinView): void {
    this.bulletins.set(b.id, b);
    this.draw();
  }

  /// How many current bulletins some agent has still to acknowledge: for the header.
  unacknowledged(): number {
    return [...this.bulletins.values()].filter((b) => !b.withdrawn_unix_ns && b.unacknowledged.length > 0).length;
  }

  onChange: () => void = () => {};

  private draw(): void {
    clear(this.list);
    const now = Date.now() * 1e6;
    const current = [...this.bulletins.values()]
      .filter((b) => !b.withdrawn_unix_ns && (!b.valid_until_unix_ns || b.valid_until_unix_ns > now))
      .sort((a, b) => b.published_unix_ns - a.published_unix_ns);
    this.map.setBulletinAreas(
      current.filter((b) => b.area).map((b) => ({ polygon: b.area as Geometry, posture: b.posture, text: b.text })),
    );
    if (!current.length) this.list.append(h("li", { class: "muted" }, "No bulletins in force."));
    for (const b of current) {
      const who = b.unacknowledged.length
        ? h("div", { class: "level-warning", "data-testid": "unacknowledged" }, `Not acknowledged: ${b.unacknowledged.join(", ")}`)
        : h("div", { class: "muted", "data-testid": "unacknowledged" }, `All ${Object.keys(b.acknowledged).length} agents acknowledged`);
      const li = h(
        "li",
        { "data-bulletin-id": b.id, class: `posture-${b.posture}` },
        h("b", {}, `${b.posture.toUpperCase()} `),
        b.in_force ? "" : "(not yet in force) ",
        b.text,
        h("div", { class: "muted" }, `${b.published_by} · ${validity(b)}${b.area ? (b.area_only ? " · posture only in its area (on map)" : " · area on map") : ""}`),
        who,
      );
      if (this.mayPublish) {
        const withdraw = h("button", {}, "Withdraw");
        withdraw.addEventListener("click", async () => {
          try {
            this.put(await this.api.call<BulletinView>("DELETE", `/bulletins/${encodeURIComponent(b.id)}`));
            this.status.textContent = "Withdrawn.";
          } catch (e) {
            this.status.textContent = `Not withdrawn: ${String(e)}`;
          }
        });
        li.append(withdraw);
      }
      this.list.append(li);
    }
    this.onChange();
  }

  private form(): HTMLElement[] {
    const text = h("textarea", { rows: 4, "aria-label": "Bulletin text", placeholder: "What the agents must know" });
    const posture = h(
      "select",
      { "aria-label": "Posture" },
      ...(["elevated", "high", "normal"] as PostureLevel[]).map((p) => h("option", { value: p }, p === "normal" ? "normal (information only)" : p)),
    );
    const validFor = h("select", { "aria-label": "Valid for" }, ...VALID_FOR_H.map(([label], i) => h("option", { value: i }, label)));
    const useArea = h("input", { type: "checkbox", checked: true, "aria-label": "Area: the map view" });
    const areaOnly = h("input", { type: "checkbox", "aria-label": "Only inside the area" });
    const publish = h("button", { "data-testid": "bulletin-publish" }, "Publish to agents");
    publish.addEventListener("click", async () => {
      if (!text.value.trim()) {
        this.status.textContent = "Write the bulletin first.";
        return;
      }
      const hours = VALID_FOR_H[Number(validFor.value)]?.[1] ?? null;
      const nowNs = Date.now() * 1e6;
      try {
        const b = await this.api.post<BulletinView>("/bulletins", {
          text: text.value.trim(),
          posture: posture.value,
          area: useArea.checked ? this.viewPolygon() : null,
          area_only: useArea.checked && areaOnly.checked,
          valid_until_unix_ns: hours === null ? null : nowNs + hours * 3600e9,
        });
        this.put(b);
        text.value = "";
        this.status.textContent = `Published to ${b.unacknowledged.length} agents.`;
      } catch (e) {
        this.status.textContent = `Not published: ${String(e)}`;
      }
    });
    return [
      h("h3", {}, "Publish a bulletin"),
      text,
      h(
        "div",
        { class: "zone-form" },
        posture,
        validFor,
        h("label", {}, useArea, " area: the map view"),
        h("label", {}, areaOnly, " posture only inside it"),
      ),
      h("div", { class: "actions" }, publish),
    ];
  }

  private viewPolygon(): { type: "Polygon"; coordinates: [number, number][][] } {
    const [w, s, e, n] = this.map.bbox().split(",").map(Number);
    return { type: "Polygon", coordinates: [[[w, s], [e, s], [e, n], [w, n], [w, s]]] };
  }
}
