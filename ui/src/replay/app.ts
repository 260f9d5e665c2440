// Replay: the recorded track states of an area and a time window from the event log,
// played on the map at 1x to 60x with a time slider. Reading history is audited.

import type { Api } from "../api";
import { ApiError } from "../api";
import { h } from "../dom";
import { PictureMap } from "../ops/map";
import { TrackTable } from "../ops/table";
import { Picture } from "../picture";
import type { Me, TrackView } from "../types";
import type { UiConfig } from "../uiconfig";

/// A track not recorded for this long before the replay time is not drawn [ms].
const SHOW_FOR_MS = 15_000;
/// At most this many states are loaded (the API pages by 5,000).
const MAX_STATES = 200_000;
const PAGE = 5000;
const SPEEDS = [1, 2, 5, 10, 30, 60];

interface EventView {
  seq: number;
  t_unix_ns: number;
  body: TrackView;
}

/// Every track's recorded states, oldest first, and where playback is in each.
class Recording {
  readonly byTrack = new Map<string, TrackView[]>();
  startMs = 0;
  endMs = 0;
  states = 0;

  add(t: TrackView): void {
    let list = this.byTrack.get(t.uid);
    if (!list) {
      list = [];
      this.byTrack.set(t.uid, list);
    }
    list.push(t);
    this.states++;
  }

  /// The tracks as they were at `ms`: each one's last state at or before it.
  at(ms: number): TrackView[] {
    const out: TrackView[] = [];
    const ns = ms * 1e6;
    for (const list of this.byTrack.values()) {
      let lo = 0;
      let hi = list.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (list[mid].t_unix_ns <= ns) lo = mid + 1;
        else hi = mid;
      }
      const s = list[lo - 1];
      if (s && ns - s.t_unix_ns <= SHOW_FOR_MS * 1e6) out.push(s);
    }
    return out;
  }
}

export function startReplay(root: HTMLElement, api: Api, me: Me, cfg: UiConfig): void {
  const picture = new Picture();
  let clockMs = Date.now();
  picture.now = () => clockMs;
  const now = new Date();
  const from = h("input", { type: "datetime-local", step: 1, "aria-label": "Replay from", value: local(new Date(now.getTime() - 10 * 60_000)) });
  const to = h("input", { type: "datetime-local", step: 1, "aria-label": "Replay to", value: local(now) });
  const load = h("button", { "data-testid": "replay-load" }, "Load this area");
  const play = h("button", { disabled: true, "data-testid": "replay-play" }, "▶ Play");
  const speed = h("select", { "aria-label": "Speed" }, ...SPEEDS.map((s) => h("option", { value: s, selected: s === 10 }, `${s}x`)));
  const slider = h("input", { type: "range", min: 0, max: 1000, value: 0, disabled: true, "aria-label": "Replay time", class: "replay-slider" });
  const clock = h("span", { class: "replay-clock", "data-testid": "replay-clock" }, "–");
  const info = h("span", { class: "muted", "data-testid": "replay-info" });
  const mapEl = h("div", { class: "map", "data-testid": "map" });
  let select: (uid: string | null) => void = () => {};
  const table = new TrackTable(picture, (uid) => select(uid));
  root.replaceChildren(
    h(
      "div",
      { class: "ops replay" },
      h("header", {}, h("b", {}, "dronewatch"), h("span", {}, ` replay · sector ${me.sector}`), h("span", { class: "spacer" }), h("a", { href: "#/" }, "Live picture")),
      h("section", { class: "panel" }, h("h2", {}, "Replay"), h("label", {}, "From ", from), h("label", {}, "To ", to), load, h("p", { class: "muted" }, "Loads the recorded tracks inside the map's view."), info),
      mapEl,
      h("div", { class: "right" }, table.el),
      h("footer", { class: "replay-bar" }, play, speed, slider, clock),
    ),
  );
  const map = new PictureMap(picture, {
    container: mapEl,
    sector: cfg,
    token: () => api.accessToken,
    onSelect: (uid) => select(uid),
  });
  select = (uid) => {
    map.select(uid);
    table.select(uid);
  };

  let rec = new Recording();
  let playing = false;
  let lastFrame = 0;
  const show = (ms: number) => {
    clockMs = Math.min(Math.max(ms, rec.startMs), rec.endMs);
    const tracks = rec.at(clockMs);
    picture.apply({ type: "snapshot", tracks });
    clock.textContent = `${new Date(clockMs).toISOString().slice(0, 19).replace("T", " ")}Z · ${tracks.length} tracks`;
    const span = rec.endMs - rec.startMs;
    slider.value = String(span > 0 ? Math.round(((clockMs - rec.startMs) / span) * 1000) : 0);
  };
  const frame = (t: number) => {
    if (!playing) return;
    const dt = lastFrame ? t - lastFrame : 0;
    lastFrame = t;
    show(clockMs + dt * Number(speed.value));
    if (clockMs >= rec.endMs) {
      playing = false;
      play.textContent = "▶ Play";
      return;
    }
    requestAnimationFrame(frame);
  };
  play.addEventListener("click", () => {
    playing = !playing;
    play.textContent = playing ? "⏸ Pause" : "▶ Play";
    if (playing) {
      if (clockMs >= rec.endMs) show(rec.startMs);
      lastFrame = 0;
      requestAnimationFrame(frame);
    }
  });
  slider.addEventListener("input", () => show(rec.startMs + (Number(slider.value) / 1000) * (rec.endMs - rec.startMs)));

  load.addEventListener("click", async () => {
    playing = false;
    play.textContent = "▶ Play";
    const fromMs = new Date(from.value).getTime();
    const toMs = new Date(to.value).getTime();
    if (!(toMs > fromMs)) {
      info.textContent = "The window must end after it starts.";
      return;
    }
    info.textContent = "Loading…";
    try {
      rec = await fetchRecording(api, map.bbox(), fromMs, toMs, (n) => (info.textContent = `Loading… ${n} states`));
      info.textContent = `${rec.states} states of ${rec.byTrack.size} tracks` + (rec.states >= MAX_STATES ? " (limit reached: narrow the window)" : "");
      play.disabled = slider.disabled = rec.states === 0;
      show(rec.startMs);
    } catch (e) {
      info.textContent = e instanceof ApiError ? e.message : String(e);
    }
  });
}

async function fetchRecording(api: Api, bbox: string, fromMs: number, toMs: number, progress: (n: number) => void): Promise<Recording> {
  const rec = new Recording();
  rec.startMs = fromMs;
  rec.endMs = toMs;
  let after: number | null = null;
  for (;;) {
    const q = new URLSearchParams({
      kind: "track",
      from: new Date(fromMs).toISOString(),
      to: new Date(toMs).toISOString(),
      bbox,
      order: "asc",
      limit: String(PAGE),
    });
    if (after !== null) q.set("after_seq", String(after));
    const page = await api.get<{ events: EventView[]; truncated: boolean }>(`/history/events?${q}`);
    for (const e of page.events) rec.add(e.body);
    progress(rec.states);
    const last = page.events[page.events.length - 1];
    if (!page.truncated || !last || rec.states >= MAX_STATES) break;
    after = last.seq;
  }
  // Pages come in log order; a track's states are in time order only per page.
  for (const list of rec.byTrack.values()) list.sort((a, b) => a.t_unix_ns - b.t_unix_ns);
  return rec;
}

/// A date as the value of a datetime-local input (local time, seconds).
function local(d: Date): string {
  const off = d.getTimezoneOffset() * 60_000;
  return new Date(d.getTime() - off).toISOString().slice(0, 19);
}
