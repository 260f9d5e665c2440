// The API's shapes, as docs/openapi.json defines them (only the fields the UI reads).

export interface Position {
  lat_deg: number;
  lon_deg: number;
  h_m?: number;
}

export type Affiliation = "hostile" | "suspect" | "unknown" | "friend" | "manned";
export type Role = "agent" | "operator" | "analyst" | "admin" | "sensor";

export interface ThreatSummary {
  score: number;
  level: string;
  alert_id?: number | null;
}

export interface TrackView {
  /// An exercise's simulated drone: training, never a real one.
  exercise?: boolean;
  uid: string;
  id: number;
  sector: string;
  t_unix_ns: number;
  status: string;
  position: Position;
  speed_mps: number;
  course_deg: number;
  climb_mps: number;
  sigma_horizontal_m: number;
  sensors: string[];
  affiliation: Affiliation;
  updates: number;
  last_update_unix_ns: number;
  class?: string | null;
  class_confidence?: number | null;
  rf_frequency_mhz?: number | null;
  rf_band?: string | null;
  remote_id_serial?: string | null;
  operator_position?: Position | null;
  icao_address?: string | null;
  threat?: ThreatSummary | null;
}

export interface ReasonView {
  rule: string;
  points: number;
  detail: string;
}

export interface AlertEventView {
  t_unix_ns: number;
  actor: string;
  action: string;
  detail: Record<string, unknown>;
  note?: string | null;
}

export interface AlertView {
  /// An exercise's simulated drone: training, never a real one.
  exercise?: boolean;
  id: number;
  sector: string;
  opened_unix_ns: number;
  track_ids: number[];
  level: string;
  score: number;
  reasons: ReasonView[];
  sensors: string[];
  state: string;
  escalated: boolean;
  assignee?: string | null;
  last_position: Position;
  last_seen_unix_ns: number;
  track_lost: boolean;
  history: AlertEventView[];
}

export interface TrackDetail {
  track: TrackView;
  reasons: ReasonView[];
  alert?: AlertView | null;
  /// Recorded states of the last ten minutes, oldest first.
  trail: TrackView[];
}

export interface WarningView {
  /// An exercise's simulated drone: training, never a real one.
  exercise?: boolean;
  id: string;
  t_unix_ns: number;
  agent_id: string;
  track_id: number;
  level: string;
  range_m: number;
  bearing_deg: number;
  clock?: number | null;
  height_above_agent_m: number;
  time_to_cpa_s: number;
  cpa_m: number;
  advice: string;
  acknowledged_unix_ns?: number | null;
}

export interface SensorView {
  id: string;
  kind?: string | null;
  state: string;
  detail: string[];
  observations: number;
  refused: number;
  position?: Position | null;
  /// How far it sees [m], from the node's sensor list.
  max_range_m?: number | null;
  last_observation_unix_ns?: number | null;
  last_health_unix_ns?: number | null;
}

export interface AgentView {
  agent_id: string;
  t_unix_ns: number;
  position: Position;
}

export interface Me {
  user: string;
  role: Role;
  sector: string;
  device?: string | null;
}

/// Severity order for queues: most severe first.
export const LEVEL_RANK: Record<string, number> = {
  critical: 4,
  high: 3,
  warning: 3,
  medium: 2,
  advisory: 1,
  low: 1,
  none: 0,
};
