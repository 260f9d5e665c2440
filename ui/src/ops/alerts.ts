// The alert queue: open alerts by severity, with sound when one opens or is raised to
// high or critical; acknowledge, assign, resolve or mark a false alarm with a note; the
// alert's history and what each agent was told.

import type { Api } from "../api";
import { ApiError } from "../api";
import { clear, fmtAgo, fmtM, fmtPoints, fmtTime, h, num } from "../dom";
import type { Picture } from "../picture";
import { beep } from "../sound";
import { LEVEL_RANK, type AlertView } from "../types";

const ACTIONS = [
  ["acknowledge", "Acknowledge"],
  ["assign", "Assign"],
  ["resolve", "Resolve"],
  ["false-alarm", "False alarm"],
] as const;

export class AlertQueue {
  readonly el: HTMLElement;
  private list: HTMLElement;
  private detail: HTMLElement;
  private openId: number | null = null;
  private showClosed = false;
  /// The answer to the last action, per alert: kept across redraws.
  private said = new Map<number, string>();
  /// What the operator has typed per alert: the detail is redrawn as the alert updates,
  /// and a half-written note must survive that.
  private drafts = new Map<number, { note: string; assignee: string }>();

  constructor(
    private readonly api: Api,
    private readonly picture: Picture,
    private readonly onTrack: (trackId: number) => void,
    /// Operators and admins act on alerts; analysts and agents only read them.
    private readonly mayAct = true,
  ) {
    this.list = h("ol", { class: "alerts", "data-testid": "alert-queue" });
    // One listener for the list: an item redrawn between mouse-down and mouse-up still
    // opens, since the click lands on the same item id.
    this.list.addEventListener("click", (e) => {
      const id = (e.target as Element).closest("li[data-alert-id]")?.getAttribute("data-alert-id");
      if (!id) return;
      this.openId = this.openId === Number(id) ? null : Number(id);
      this.draw();
    });
    this.detail = h("div", { class: "alert-detail", "data-testid": "alert-detail" });
    const closed = h("input", { type: "checkbox" });
    closed.addEventListener("change", () => {
      this.showClosed = closed.checked;
      this.draw();
    });
    this.el = h(
      "section",
      { class: "panel alert-panel" },
      h("h2", {}, "Alerts"),
      h("label", { class: "muted" }, closed, " show closed"),
      this.list,
      this.detail,
    );
    picture.onNewAlert = (a, prev) => {
      const rank = LEVEL_RANK[a.level] ?? 0;
      const raised = !prev || rank > (LEVEL_RANK[prev.level] ?? 0);
      if (raised && rank >= LEVEL_RANK.high && a.state === "new") beep(a.level === "critical" ? 1200 : 880, 3);
    };
    picture.subscribe((c) => {
      if (c.has("alerts") || c.has("warnings")) this.draw();
    });
  }

  private draw(): void {
    const alerts = [...this.picture.alerts.values()]
      .filter((a) => this.showClosed || isOpen(a))
      .sort(
        (a, b) =>
          Number(isOpen(b)) - Number(isOpen(a)) ||
          (LEVEL_RANK[b.level] ?? 0) - (LEVEL_RANK[a.level] ?? 0) ||
          b.score - a.score ||
          b.opened_unix_ns - a.opened_unix_ns,
      );
    clear(this.list);
    if (!alerts.length) this.list.append(h("li", { class: "muted" }, "No open alerts."));
    for (const a of alerts) {
      const li = h(
        "li",
        {
          class: `alert level-${a.level} state-${a.state}${a.id === this.openId ? " open" : ""}`,
          "data-alert-id": a.id,
        },
        h("span", { class: "badge" }, a.level),
        a.exercise ? h("span", { class: "badge exercise" }, "EXERCISE") : "",
        ` #${a.id} `,
        h("span", {}, a.reasons[0]?.rule ?? ""),
        h("span", { class: "muted" }, ` ${a.state}${a.escalated ? ", escalated" : ""}${a.track_lost ? ", track lost" : ""} · ${fmtAgo(a.opened_unix_ns)}`),
      );
      this.list.append(li);
    }
    this.drawDetail();
  }

  private drawDetail(): void {
    const focused = document.activeElement?.getAttribute("aria-label");
    clear(this.detail);
    const a = this.openId !== null ? this.picture.alerts.get(this.openId) : undefined;
    if (!a) return;
    const draft = this.drafts.get(a.id) ?? { note: "", assignee: "" };
    this.drafts.set(a.id, draft);
    const note = h("textarea", { placeholder: "Note (kept in the audit trail)", rows: 2, "aria-label": "Note" });
    const assignee = h("input", { placeholder: "Assign to (user)", "aria-label": "Assignee" });
    note.value = draft.note;
    assignee.value = draft.assignee;
    note.addEventListener("input", () => (draft.note = note.value));
    assignee.addEventListener("input", () => (draft.assignee = assignee.value));
    const status = h("div", { class: "muted", role: "status" }, this.said.get(a.id) ?? "");
    const say = (text: string) => {
      this.said.set(a.id, text);
      status.textContent = text;
    };
    const buttons = h("div", { class: "actions" });
    for (const [action, label] of ACTIONS) {
      const b = h("button", { "data-action": action, disabled: !isOpen(a) }, label);
      b.addEventListener("click", async () => {
        say("…");
        try {
          const body: Record<string, string> = {};
          if (note.value.trim()) body.note = note.value.trim();
          if (action === "assign") body.assignee = assignee.value.trim();
          const v = await this.api.post<AlertView>(`/alerts/${a.id}/${action}`, body);
          this.picture.alerts.set(v.id, v);
          this.drafts.delete(a.id);
          say(`${label}: recorded`);
          this.draw();
        } catch (e) {
          say(e instanceof ApiError ? e.message : String(e));
        }
      });
      buttons.append(b);
    }
    const track = h("button", {}, `Show track ${a.track_ids.join(", ")}`);
    track.addEventListener("click", () => a.track_ids[0] !== undefined && this.onTrack(a.track_ids[0]));
    const told = [...this.picture.warnings.values()].filter((w) => a.track_ids.includes(w.track_id));
    if (a.exercise) {
      const end = h("button", { "data-action": "end-exercise" }, "End the exercise");
      end.addEventListener("click", async () => {
        say("…");
        try {
          await this.api.call("DELETE", "/exercise");
          say("Exercise ended: its drones removed, its alerts closed");
        } catch (e) {
          say(e instanceof ApiError ? e.message : String(e));
        }
      });
      buttons.append(end);
    }
    this.detail.append(
      h("h3", {}, `${a.exercise ? "EXERCISE — " : ""}Alert #${a.id}: ${a.level}, score ${num(a.score, 0)}`),
      h("p", {}, `Opened ${fmtTime(a.opened_unix_ns)}, last seen ${fmtAgo(a.last_seen_unix_ns)}; sensors ${a.sensors.join(", ")}` + (a.assignee ? `; assigned to ${a.assignee}` : "")),
      track,
      h("ul", { class: "reasons" }, ...a.reasons.map((r) => h("li", {}, h("b", {}, `${r.rule} ${fmtPoints(r.points)}`), " ", r.detail))),
      ...(this.mayAct ? [note, assignee, buttons, status] : [h("p", { class: "muted" }, "Read only: operators act on alerts.")]),
      h("h3", {}, "Agents told"),
      told.length
        ? h(
            "ul",
            { class: "told" },
            ...told.map((w) =>
              // An all-clear ends the agent's warning: it has no distance or advice.
              w.level === "all_clear"
                ? h("li", { class: "muted" }, `${w.agent_id}: all clear ${fmtTime(w.t_unix_ns)}.`)
                : h(
                    "li",
                    {},
                    `${w.agent_id}: ${w.level}, ${fmtM(w.range_m)} at ${num(w.bearing_deg, 0)}°` +
                      (w.clock ? ` (${w.clock} o'clock)` : "") +
                      `, closest ${fmtM(w.cpa_m)} in ${num(w.time_to_cpa_s, 0)} s. “${w.advice}” ` +
                      (w.acknowledged_unix_ns ? `Acknowledged ${fmtTime(w.acknowledged_unix_ns)}.` : "Not acknowledged."),
                  ),
            ),
          )
        : h("p", { class: "muted" }, "No agent warned."),
      h("h3", {}, "History"),
      h(
        "ul",
        { class: "history" },
        ...a.history.map((e) => h("li", {}, `${fmtTime(e.t_unix_ns)} ${e.actor}: ${e.action}` + (e.note ? ` — ${e.note}` : ""))),
      ),
    );
    if (focused === "Note") note.focus();
    else if (focused === "Assignee") assignee.focus();
  }
}

function isOpen(a: AlertView): boolean {
  return a.state !== "resolved" && a.state !== "false_alarm";
}
