// Sighting reports waiting to be sent. A report is written here first (localStorage
// survives a killed page), then sent whenever the network is there; the server stores a
// `client_id` once, so a report sent twice because an answer was lost is still one report.

import type { Api } from "../api";
import { ApiError } from "../api";

export interface Report {
  client_id: string;
  observed_at: string;
  reporter_position: { lat_deg: number; lon_deg: number; h_m?: number };
  reporter_accuracy_m?: number;
  bearing_deg?: number;
  distance_m?: number;
  height_m?: number;
  count?: number;
  sound_heard?: boolean;
  note?: string;
  photo?: { mime: string; data_base64: string };
}

export interface Queued {
  report: Report;
  tries: number;
  /// Set when the server refused it (4xx): kept for the user to see, not retried.
  refused?: string;
}

export interface Sent {
  client_id: string;
  seq: number;
  duplicate: boolean;
  at: string;
}

const QUEUE_KEY = "dronewatch.outbox";
const SENT_KEY = "dronewatch.sent";
const RETRY_MS = 10_000;

export class Outbox {
  onChange: () => void = () => {};
  private sending = false;

  constructor(private readonly api: Api) {
    window.addEventListener("online", () => void this.flush());
    window.setInterval(() => void this.flush(), RETRY_MS);
  }

  queued(): Queued[] {
    return read<Queued[]>(QUEUE_KEY, []);
  }

  sent(): Sent[] {
    return read<Sent[]>(SENT_KEY, []);
  }

  add(report: Report): void {
    write(QUEUE_KEY, [...this.queued(), { report, tries: 0 }]);
    this.onChange();
    void this.flush();
  }

  discard(clientId: string): void {
    write(QUEUE_KEY, this.queued().filter((q) => q.report.client_id !== clientId));
    this.onChange();
  }

  /// Sends what is queued, oldest first; stops at the first network failure.
  async flush(): Promise<void> {
    if (this.sending || !this.api.loggedIn) return;
    this.sending = true;
    try {
      for (const q of this.queued()) {
        if (q.refused) continue;
        try {
          const r = await this.api.postWithStatus<{ seq: number; duplicate?: boolean }>("/sightings", q.report);
          this.settle((list) => list.filter((x) => x.report.client_id !== q.report.client_id));
          const sent: Sent = {
            client_id: q.report.client_id,
            seq: r.body.seq,
            duplicate: r.body.duplicate === true || r.status === 200,
            at: new Date().toISOString(),
          };
          write(SENT_KEY, [sent, ...this.sent()].slice(0, 50));
        } catch (e) {
          if (e instanceof ApiError && e.status >= 400 && e.status < 500 && e.status !== 429 && e.status !== 401) {
            this.settle((list) =>
              list.map((x) => (x.report.client_id === q.report.client_id ? { ...x, refused: e.message } : x)),
            );
            continue;
          }
          // Offline, a server error or rate limit: keep it and try again later.
          this.settle((list) =>
            list.map((x) => (x.report.client_id === q.report.client_id ? { ...x, tries: x.tries + 1 } : x)),
          );
          break;
        }
      }
    } finally {
      this.sending = false;
      this.onChange();
    }
  }

  private settle(f: (list: Queued[]) => Queued[]): void {
    write(QUEUE_KEY, f(this.queued()));
  }
}

function read<T>(key: string, fallback: T): T {
  try {
    const v = localStorage.getItem(key);
    return v ? (JSON.parse(v) as T) : fallback;
  } catch {
    return fallback;
  }
}

function write(key: string, v: unknown): void {
  localStorage.setItem(key, JSON.stringify(v));
}
