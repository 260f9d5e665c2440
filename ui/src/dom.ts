// A few DOM helpers: the UI is small enough not to need a framework.

type Attrs = Record<string, string | number | boolean | undefined>;
type Child = Node | string | null | undefined | false;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    if (k === "class") el.className = String(v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) el.append(c);
  return el;
}

export function clear(el: Element): void {
  el.replaceChildren();
}

export function fmtTime(ns: number): string {
  return new Date(ns / 1e6).toISOString().slice(11, 19) + "Z";
}

export function fmtAgo(ns: number, nowMs = Date.now()): string {
  const s = Math.max(0, Math.round((nowMs - ns / 1e6) / 1000));
  return s < 90 ? `${s} s ago` : `${Math.round(s / 60)} min ago`;
}

export function fmtM(m: number | null | undefined): string {
  if (typeof m !== "number" || !Number.isFinite(m)) return "–";
  return m >= 1000 ? `${(m / 1000).toFixed(1)} km` : `${Math.round(m)} m`;
}

/// Text of `points` with its sign, for threat reasons.
export function fmtPoints(p: number | null | undefined): string {
  return `${(p ?? 0) >= 0 ? "+" : ""}${num(p, 0)}`;
}

/// A number to `digits` decimals; "–" when the API sent none (a NaN arrives as null).
export function num(x: number | null | undefined, digits = 0): string {
  return typeof x === "number" && Number.isFinite(x) ? x.toFixed(digits) : "–";
}

/// Runs `run` now, or once later, so that it runs at most every `everyMs()` milliseconds
/// however often `request` is called (redraws driven by a busy stream).
export class Throttle {
  private lastMs = -Infinity;
  private timer = 0;

  constructor(
    private readonly run: () => void,
    private readonly everyMs: () => number,
  ) {}

  request(): void {
    const wait = this.lastMs + this.everyMs() - performance.now();
    if (wait <= 0) this.now();
    else if (!this.timer) this.timer = window.setTimeout(() => this.now(), wait);
  }

  /// Runs at once (and cancels a pending run).
  now(): void {
    window.clearTimeout(this.timer);
    this.timer = 0;
    this.lastMs = performance.now();
    this.run();
  }
}
