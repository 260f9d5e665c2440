// The exercise at the operations centre: whether one is running (the header says so in
// yellow), ending it (operators and admins), and the after-action summary of the running
// or last one: which agents were warned, whether and how fast each acknowledged, and how
// the exercise alerts were handled (GET /api/v1/exercise). Exercises are started by the
// simulator (`dronewatch simulate --live --exercise NAME`), which brings the drones.

import type { Api } from "../api";
import { clear, fmtTime, h, num } from "../dom";
import type { Me } from "../types";

interface ExerciseInfo {
  name: string;
  started_by: string;
  started_unix_ns: number;
  ended_by: string | null;
  ended_unix_ns: number | null;
}

interface AgentWarned {
  agent_id: string;
  track_id: number;
  first_warned_unix_ns: number;
  highest_level: string;
  seconds_to_acknowledge: number | null;
}

interface AlertHandled {
  id: number;
  level: string;
  state: string;
  acknowledged_by: string | null;
  seconds_to_acknowledge: number | null;
}

interface ExerciseReport {
  running: ExerciseInfo | null;
  last: ExerciseInfo | null;
  summary: {
    agents_warned: number;
    agents_acknowledged: number;
    warnings: AgentWarned[];
    alerts: AlertHandled[];
  } | null;
}

/// How often the header and an open panel ask the node [ms].
const POLL_MS = 5000;

export class ExercisePanel {
  readonly el: HTMLElement;
  /// The header's button: "Exercise", or "EXERCISE RUNNING: name" in yellow.
  readonly button = h("button", { "data-testid": "exercise" }, "Exercise");
  private readonly body = h("div", { "data-testid": "exercise-summary" });
  private readonly status = h("p", { class: "muted", role: "status" });
  private readonly mayEnd: boolean;

  constructor(
    private readonly api: Api,
    me: Me,
  ) {
    this.mayEnd = me.role === "operator" || me.role === "admin";
    this.el = h("section", { class: "panel exercise-panel", "data-testid": "exercise-panel", hidden: true }, h("h2", {}, "Exercise"), this.body, this.status);
    window.setInterval(() => void this.refresh(), POLL_MS);
  }

  async open(): Promise<void> {
    this.el.hidden = false;
    await this.refresh();
  }

  async refresh(): Promise<void> {
    const r = await this.api.get<ExerciseReport>("/exercise").catch(() => null);
    if (!r) return;
    this.button.textContent = r.running ? `EXERCISE RUNNING: ${r.running.name}` : "Exercise";
    this.button.classList.toggle("exercise", r.running !== null);
    if (!this.el.hidden) this.draw(r);
  }

  private draw(r: ExerciseReport): void {
    clear(this.body);
    const ex = r.running ?? r.last;
    if (!ex) {
      this.body.append(
        h("p", {}, "No exercise has been run on this node."),
        h("p", { class: "muted" }, "Start one with the simulator: dronewatch simulate --live --exercise NAME (operator's guide, Exercises)."),
      );
      return;
    }
    this.body.append(
      h("p", {}, r.running ? h("span", { class: "badge exercise" }, "RUNNING") : h("span", { class: "badge" }, "ENDED"), ` ${ex.name}`),
      h(
        "p",
        { class: "muted" },
        `Started ${fmtTime(ex.started_unix_ns)} by ${ex.started_by}`,
        ex.ended_unix_ns ? `, ended ${fmtTime(ex.ended_unix_ns)} by ${ex.ended_by ?? "?"}` : "",
        ".",
      ),
    );
    if (r.running && this.mayEnd) this.body.append(this.endButton());
    const s = r.summary;
    if (!s) return;
    this.body.append(
      h("h3", {}, "After action"),
      h("p", { "data-testid": "exercise-agents" }, `Agents warned: ${s.agents_warned}, acknowledged: ${s.agents_acknowledged}.`),
      h("h3", {}, "Warnings to agents"),
      table(
        ["Agent", "Drone", "First warned", "Highest", "Acknowledged after"],
        s.warnings.map((w) => [w.agent_id, `#${w.track_id}`, fmtTime(w.first_warned_unix_ns), w.highest_level, after(w.seconds_to_acknowledge)]),
        "exercise-warnings",
      ),
      h("h3", {}, "Alerts at the operations centre"),
      table(
        ["Alert", "Level", "State", "Acknowledged by", "after"],
        s.alerts.map((a) => [`#${a.id}`, a.level, a.state, a.acknowledged_by ?? "–", after(a.seconds_to_acknowledge)]),
        "exercise-alerts",
      ),
    );
  }

  private endButton(): HTMLElement {
    const end = h("button", { "data-testid": "exercise-end" }, "End the exercise");
    end.addEventListener("click", async () => {
      end.disabled = true;
      try {
        await this.api.call("DELETE", "/exercise");
        this.status.textContent = "Exercise ended: its drones removed, its alerts closed.";
      } catch (e) {
        this.status.textContent = `Not ended: ${String(e)}`;
      }
      await this.refresh();
    });
    return end;
  }
}

function after(s: number | null): HTMLElement | string {
  return s === null ? h("span", { class: "not-acked" }, "not acknowledged") : `${num(s, 1)} s`;
}

function table(head: string[], rows: (string | HTMLElement)[][], testid: string): HTMLElement {
  if (!rows.length) return h("p", { class: "muted", "data-testid": testid }, "None.");
  return h(
    "table",
    { class: "tracks", "data-testid": testid },
    h("thead", {}, h("tr", {}, ...head.map((c) => h("th", {}, c)))),
    h("tbody", {}, ...rows.map((r) => h("tr", {}, ...r.map((c) => h("td", {}, c))))),
  );
}
