// REST calls with the session's token. A token is refreshed before it expires; a 401
// sends the user back to the login screen.

import type { Me } from "./types";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

interface Issued {
  access_token: string;
  expires_in_s?: number;
  role: string;
  user: string;
}

/// Where a session keeps its token: the ops center per tab, the field app across
/// restarts (a phone's browser may kill the page at any time).
export type Keep = "tab" | "device";

export class Api {
  private token: string | null;
  private refreshTimer: number | undefined;
  onLoggedOut: () => void = () => {};

  constructor(
    private readonly keep: Keep,
    private readonly base = "/api/v1",
  ) {
    this.token = this.storage().getItem(this.key());
    const exp = Number(this.storage().getItem(this.key() + ".exp") ?? 0);
    if (this.token && exp) this.scheduleRefresh(exp - Date.now());
  }

  get loggedIn(): boolean {
    return this.token !== null;
  }

  get accessToken(): string | null {
    return this.token;
  }

  async login(username: string, password: string): Promise<void> {
    const r = await fetch(`${this.base}/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username, password }),
    });
    if (!r.ok) throw await errorOf(r);
    this.adopt((await r.json()) as Issued);
  }

  /// A device token (`dwd_...`) issued by an admin for a field phone: it does not expire.
  useDeviceToken(secret: string): void {
    this.token = secret;
    this.storage().setItem(this.key(), secret);
    this.storage().removeItem(this.key() + ".exp");
  }

  logout(): void {
    this.token = null;
    window.clearTimeout(this.refreshTimer);
    this.storage().removeItem(this.key());
    this.storage().removeItem(this.key() + ".exp");
    this.onLoggedOut();
  }

  me(): Promise<Me> {
    return this.get<Me>("/me");
  }

  get<T>(path: string): Promise<T> {
    return this.call<T>("GET", path);
  }

  post<T>(path: string, body: unknown): Promise<T> {
    return this.call<T>("POST", path, body);
  }

  /// The status too, for calls where 200 and 201 mean different things.
  async postWithStatus<T>(path: string, body: unknown): Promise<{ status: number; body: T }> {
    const r = await this.fetch("POST", path, body);
    return { status: r.status, body: (await r.json()) as T };
  }

  streamUrl(query: string): string {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const t = encodeURIComponent(this.token ?? "");
    return `${scheme}://${location.host}${this.base}/stream?access_token=${t}&${query}`;
  }

  async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const r = await this.fetch(method, path, body);
    return (await r.json()) as T;
  }

  private async fetch(method: string, path: string, body?: unknown): Promise<Response> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.token ?? ""}` };
    if (body !== undefined) headers["content-type"] = "application/json";
    const r = await fetch(`${this.base}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (r.status === 401) {
      this.logout();
      throw await errorOf(r);
    }
    if (!r.ok) throw await errorOf(r);
    return r;
  }

  private adopt(t: Issued): void {
    this.token = t.access_token;
    const ttlMs = (t.expires_in_s ?? 900) * 1000;
    this.storage().setItem(this.key(), t.access_token);
    this.storage().setItem(this.key() + ".exp", String(Date.now() + ttlMs));
    this.scheduleRefresh(ttlMs);
  }

  private scheduleRefresh(ttlMs: number): void {
    window.clearTimeout(this.refreshTimer);
    // At two thirds of the lifetime, so a slow link still gets there in time.
    const inMs = Math.max(1000, (ttlMs * 2) / 3);
    this.refreshTimer = window.setTimeout(() => void this.refresh(), inMs);
  }

  private async refresh(): Promise<void> {
    try {
      const r = await fetch(`${this.base}/auth/refresh`, {
        method: "POST",
        headers: { authorization: `Bearer ${this.token ?? ""}` },
      });
      if (r.ok) this.adopt((await r.json()) as Issued);
      else if (r.status === 401) this.logout();
      else this.scheduleRefresh(30_000);
    } catch {
      this.scheduleRefresh(30_000); // offline: try again soon
    }
  }

  private storage(): Storage {
    return this.keep === "tab" ? sessionStorage : localStorage;
  }

  private key(): string {
    return `dronewatch.${this.keep}.token`;
  }
}

async function errorOf(r: Response): Promise<ApiError> {
  try {
    const b = (await r.json()) as { error?: string; message?: string };
    return new ApiError(r.status, b.error ?? "error", b.message ?? r.statusText);
  } catch {
    return new ApiError(r.status, "error", r.statusText || `HTTP ${r.status}`);
  }
}
