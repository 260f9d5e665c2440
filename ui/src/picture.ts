// The client's copy of the live picture, kept current from the stream. Views read it and
// redraw on `changed`, at most once per animation frame however many messages arrive.

import type { StreamMessage } from "./stream";
import type { AgentView, AlertView, Position, SensorView, TrackView, WarningView } from "./types";

export interface Sighting {
  client_id: string;
  observed_at: string;
  reporter?: string | null;
  reporter_position: Position;
  bearing_deg?: number | null;
  distance_m?: number | null;
  height_m?: number | null;
  count?: number | null;
  note?: string | null;
}

/// Trail points kept per track: a minute at 1 Hz, more when updates are faster.
const TRAIL_POINTS = 90;
/// A track not updated for this long is drawn dimmed.
export const STALE_AFTER_MS = 8_000;

export type Change = "tracks" | "alerts" | "warnings" | "sensors" | "agents" | "sightings";

export class Picture {
  readonly tracks = new Map<string, TrackView>();
  readonly trails = new Map<string, [number, number][]>();
  readonly alerts = new Map<number, AlertView>();
  readonly warnings = new Map<string, WarningView>();
  readonly sensors = new Map<string, SensorView>();
  readonly agents = new Map<string, AgentView>();
  readonly sightings: Sighting[] = [];
  /// Every observation up to this sensor time is in the picture.
  processedToNs = 0;
  /// Wall-clock time of the last track message: shows a stalled stream.
  lastTrackMessageMs = 0;
  /// The newest alert each message brought that was new or raised: for the sound.
  onNewAlert: (a: AlertView, previous: AlertView | undefined) => void = () => {};
  onWarning: (w: WarningView) => void = () => {};

  private pending = new Set<Change>();
  private frame = 0;
  private listeners: ((c: Set<Change>) => void)[] = [];

  subscribe(f: (c: Set<Change>) => void): void {
    this.listeners.push(f);
  }

  apply(m: StreamMessage): void {
    switch (m.type) {
      case "snapshot": {
        const tracks = m.tracks as TrackView[];
        const keep = new Set(tracks.map((t) => t.uid));
        for (const uid of [...this.tracks.keys()]) if (!keep.has(uid)) this.drop(uid);
        for (const t of tracks) this.put(t);
        this.noteProcessed(m);
        this.mark("tracks");
        break;
      }
      case "tracks": {
        for (const t of m.tracks as TrackView[]) this.put(t);
        for (const uid of (m.removed as string[] | undefined) ?? []) this.drop(uid);
        this.noteProcessed(m);
        this.mark("tracks");
        break;
      }
      case "alert": {
        const a = m.alert as AlertView;
        const previous = this.alerts.get(a.id);
        this.alerts.set(a.id, a);
        this.onNewAlert(a, previous);
        this.mark("alerts");
        break;
      }
      case "warning": {
        const w = m.warning as WarningView;
        this.warnings.set(w.id, w);
        this.onWarning(w);
        this.mark("warnings");
        break;
      }
      case "sensor_health": {
        const s = m.sensor_health as SensorView;
        this.sensors.set(s.id, s);
        this.mark("sensors");
        break;
      }
      case "agent": {
        const a = m.agent as AgentView;
        this.agents.set(a.agent_id, a);
        this.mark("agents");
        break;
      }
      case "sighting": {
        this.sightings.push(m.sighting as Sighting);
        if (this.sightings.length > 200) this.sightings.shift();
        this.mark("sightings");
        break;
      }
      default:
        break; // hello, error: nothing to draw
    }
  }

  /// Loads what the REST API has that the stream only sends on change.
  seed(
    alerts: AlertView[],
    sensors: SensorView[],
    agents: AgentView[],
    warnings: WarningView[],
  ): void {
    for (const a of alerts) this.alerts.set(a.id, a);
    for (const s of sensors) this.sensors.set(s.id, s);
    for (const a of agents) this.agents.set(a.agent_id, a);
    for (const w of warnings) this.warnings.set(w.id, w);
    for (const c of ["alerts", "sensors", "agents", "warnings"] as const) this.mark(c);
  }

  /// The picture's clock [ms since the epoch]: the wall clock live, the replay's time in
  /// a replay.
  now: () => number = () => Date.now();

  isStale(t: TrackView, nowMs = this.now()): boolean {
    return t.status === "coasting" || nowMs - t.last_update_unix_ns / 1e6 > STALE_AFTER_MS;
  }

  private put(t: TrackView): void {
    this.tracks.set(t.uid, t);
    let trail = this.trails.get(t.uid);
    if (!trail) {
      trail = [];
      this.trails.set(t.uid, trail);
    }
    const p: [number, number] = [t.position.lon_deg, t.position.lat_deg];
    const last = trail[trail.length - 1];
    if (!last || last[0] !== p[0] || last[1] !== p[1]) trail.push(p);
    if (trail.length > TRAIL_POINTS) trail.shift();
  }

  private drop(uid: string): void {
    this.tracks.delete(uid);
    this.trails.delete(uid);
  }

  private noteProcessed(m: StreamMessage): void {
    const p = m.processed_to_unix_ns;
    if (typeof p === "number") this.processedToNs = p;
    this.lastTrackMessageMs = Date.now();
  }

  private mark(c: Change): void {
    this.pending.add(c);
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      const changes = this.pending;
      this.pending = new Set();
      for (const f of this.listeners) f(changes);
    });
  }
}
