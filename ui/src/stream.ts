// The live stream (GET /api/v1/stream as a WebSocket), reconnecting with backoff.

import type { Api } from "./api";

export type StreamMessage = { type: string } & Record<string, unknown>;

export class Stream {
  private ws: WebSocket | null = null;
  private backoffMs = 500;
  private closed = false;
  onMessage: (m: StreamMessage) => void = () => {};
  onState: (connected: boolean) => void = () => {};

  constructor(
    private readonly api: Api,
    private readonly query: string,
  ) {}

  open(): void {
    this.closed = false;
    this.connect();
  }

  close(): void {
    this.closed = true;
    this.ws?.close();
  }

  private connect(): void {
    if (this.closed || !this.api.loggedIn) return;
    const ws = new WebSocket(this.api.streamUrl(this.query));
    this.ws = ws;
    ws.onopen = () => {
      this.backoffMs = 500;
      this.onState(true);
    };
    ws.onmessage = (e) => {
      try {
        this.onMessage(JSON.parse(String(e.data)) as StreamMessage);
      } catch (err) {
        console.warn("stream: unreadable message", err);
      }
    };
    ws.onclose = () => {
      this.onState(false);
      if (this.closed) return;
      window.setTimeout(() => this.connect(), this.backoffMs);
      this.backoffMs = Math.min(this.backoffMs * 2, 10_000);
    };
  }
}
