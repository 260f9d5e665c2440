//! `sensors.json`: scenario metadata, the sensor list and the Remote ID allow-list.

use std::collections::HashSet;

use dronewatch_model::{Clutter, Coverage, Lla, Sensor, SensorId, SensorKind, TimeNs};
use serde::Deserialize;

use super::{FormatError, Scenario, ScenarioMeta};

const WHAT: &str = "sensors.json";

#[derive(Deserialize)]
struct RawFile {
    scenario: RawMeta,
    sensors: Vec<RawSensor>,
    #[serde(default)]
    allow_list: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct RawMeta {
    #[serde(default)]
    scale: Option<String>,
    #[serde(default)]
    seed: Option<i64>,
    duration_s: f64,
    #[serde(default)]
    tick_s: Option<f64>,
    report_period_s: f64,
    epoch_utc: String,
    ref_lla: [f64; 3],
    #[serde(default)]
    area_radius_m: Option<f64>,
}

#[derive(Deserialize)]
struct RawSensor {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    lla: Option<[f64; 3]>,
    #[serde(default)]
    period_s: Option<f64>,
    #[serde(default)]
    pd: Option<f64>,
    #[serde(default)]
    coverage: Option<RawCoverage>,
    #[serde(default)]
    clutter: Option<RawClutter>,
}

#[derive(Deserialize)]
struct RawCoverage {
    #[serde(default)]
    range_m: Option<[f64; 2]>,
    #[serde(default)]
    el_deg: Option<[f64; 2]>,
}

#[derive(Deserialize)]
struct RawClutter {
    rate_per_scan: f64,
    #[serde(default)]
    range_m: Option<[f64; 2]>,
    #[serde(default)]
    az_deg: Option<[f64; 2]>,
    #[serde(default)]
    el_deg: Option<[f64; 2]>,
}

/// Maps a wire sensor type (`radar`, `rf_df`, `acoustic`, `remote_id`, `agent`) to its
/// [`SensorKind`]; `None` for any other string.
pub fn sensor_kind_from_wire(s: &str) -> Option<SensorKind> {
    Some(match s {
        "radar" => SensorKind::Radar,
        "rf_df" => SensorKind::RfDf,
        "acoustic" => SensorKind::Acoustic,
        "remote_id" => SensorKind::RemoteId,
        "agent" => SensorKind::Agent,
        _ => return None,
    })
}

fn bad(field: impl Into<String>, reason: impl Into<String>) -> FormatError {
    FormatError::Field {
        what: WHAT.to_owned(),
        field: field.into(),
        reason: reason.into(),
    }
}

fn lla_of(v: [f64; 3], field: impl FnOnce() -> String) -> Result<Lla, FormatError> {
    let lla = Lla::new(v[0], v[1], v[2]);
    if lla.is_valid() {
        Ok(lla)
    } else {
        Err(bad(
            field(),
            "must be [lat_deg, lon_deg, h_m] with lat_deg in [-90, 90]",
        ))
    }
}

fn positive(v: f64, field: impl FnOnce() -> String) -> Result<f64, FormatError> {
    if v.is_finite() && v > 0.0 {
        Ok(v)
    } else {
        Err(bad(field(), "must be positive"))
    }
}

fn interval(v: [f64; 2], field: impl FnOnce() -> String) -> Result<[f64; 2], FormatError> {
    if v[0].is_finite() && v[1].is_finite() && v[0] <= v[1] {
        Ok(v)
    } else {
        Err(bad(field(), "must be [min, max] with min <= max"))
    }
}

/// Parses the epoch (RFC 3339 / ISO 8601 with an offset, e.g. `2025-06-01T12:00:00Z`).
fn parse_epoch(s: &str) -> Result<TimeNs, FormatError> {
    let ts: jiff::Timestamp = s.parse().map_err(|e: jiff::Error| {
        bad(
            "scenario.epoch_utc",
            format!("is not an RFC 3339 UTC time: {e}"),
        )
    })?;
    i64::try_from(ts.as_nanosecond())
        .map(TimeNs)
        .map_err(|_| bad("scenario.epoch_utc", "is outside the years 1678..2262"))
}

fn meta_of(raw: RawMeta) -> Result<ScenarioMeta, FormatError> {
    if !(raw.duration_s.is_finite() && raw.duration_s >= 0.0) {
        return Err(bad("scenario.duration_s", "must be finite and >= 0"));
    }
    let report_period_s = positive(raw.report_period_s, || "scenario.report_period_s".into())?;
    let tick_s = raw
        .tick_s
        .map(|v| positive(v, || "scenario.tick_s".into()))
        .transpose()?;
    let area_radius_m = raw
        .area_radius_m
        .map(|v| positive(v, || "scenario.area_radius_m".into()))
        .transpose()?;
    Ok(ScenarioMeta {
        scale: raw.scale,
        seed: raw.seed,
        duration_s: raw.duration_s,
        tick_s,
        report_period_s,
        epoch: parse_epoch(&raw.epoch_utc)?,
        ref_lla: lla_of(raw.ref_lla, || "scenario.ref_lla".into())?,
        area_radius_m,
    })
}

fn sensor_of(i: usize, raw: RawSensor) -> Result<Sensor, FormatError> {
    let f = |name: &str| format!("sensors[{i}].{name}");
    if raw.id.is_empty() {
        return Err(bad(f("id"), "must not be empty"));
    }
    let kind = sensor_kind_from_wire(&raw.kind).unwrap_or(SensorKind::Other);
    let position = raw.lla.map(|v| lla_of(v, || f("lla"))).transpose()?;
    let period_s = raw
        .period_s
        .map(|v| positive(v, || f("period_s")))
        .transpose()?;
    if raw.pd.is_some_and(|pd| !(0.0..=1.0).contains(&pd)) {
        return Err(bad(f("pd"), "must be in [0, 1]"));
    }
    let coverage = match raw.coverage {
        None => None,
        Some(c) => {
            let range = c
                .range_m
                .ok_or_else(|| bad(f("coverage.range_m"), "missing"))?;
            let [min_range_m, max_range_m] = interval(range, || f("coverage.range_m"))?;
            if min_range_m < 0.0 {
                return Err(bad(f("coverage.range_m"), "must not be negative"));
            }
            let el_deg = c
                .el_deg
                .map(|v| interval(v, || f("coverage.el_deg")))
                .transpose()?;
            Some(Coverage {
                min_range_m,
                max_range_m,
                el_deg,
            })
        }
    };
    let clutter = match raw.clutter {
        None => None,
        Some(c) => {
            if !(c.rate_per_scan.is_finite() && c.rate_per_scan >= 0.0) {
                return Err(bad(f("clutter.rate_per_scan"), "must be finite and >= 0"));
            }
            Some(Clutter {
                rate_per_scan: c.rate_per_scan,
                range_m: c
                    .range_m
                    .map(|v| interval(v, || f("clutter.range_m")))
                    .transpose()?,
                az_deg: c
                    .az_deg
                    .map(|v| interval(v, || f("clutter.az_deg")))
                    .transpose()?,
                el_deg: c
                    .el_deg
                    .map(|v| interval(v, || f("clutter.el_deg")))
                    .transpose()?,
            })
        }
    };
    Ok(Sensor {
        id: SensorId(raw.id),
        kind,
        position,
        period_s,
        pd: raw.pd,
        coverage,
        clutter,
    })
}

/// Parses the text of a `sensors.json` file.
///
/// Sensor types map to [`SensorKind`] (an unknown type gives [`SensorKind::Other`]); a sensor
/// with `lla: null` (the `agents` entry) gets `position: None`; keys this reader does not
/// know are ignored. Values out of their domain (a latitude beyond ±90°, a non-positive
/// period, `pd` outside [0, 1], an interval with min > max, a duplicate sensor id) are
/// [`FormatError::Field`] errors naming the field, e.g. `sensors[2].pd`.
pub fn parse_sensors_json(text: &str) -> Result<Scenario, FormatError> {
    let raw: RawFile = serde_json::from_str(text).map_err(|source| FormatError::Json {
        what: WHAT.to_owned(),
        source,
    })?;
    let meta = meta_of(raw.scenario)?;
    let mut seen = HashSet::with_capacity(raw.sensors.len());
    let mut sensors = Vec::with_capacity(raw.sensors.len());
    for (i, s) in raw.sensors.into_iter().enumerate() {
        let sensor = sensor_of(i, s)?;
        if !seen.insert(sensor.id.0.clone()) {
            return Err(bad(
                format!("sensors[{i}].id"),
                format!("`{}` is a duplicate", sensor.id),
            ));
        }
        sensors.push(sensor);
    }
    Ok(Scenario {
        meta,
        sensors,
        allow_list: raw.allow_list.unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The head of a generated `small` scenario's sensors.json (compacted), plus an
    /// `allow_list` and an unknown key.
    const SMALL: &str = r#"{"scenario": {"scale": "small", "seed": 1, "duration_s": 300,
      "tick_s": 0.1, "report_period_s": 1.0, "epoch_utc": "2025-06-01T12:00:00Z",
      "ref_lla": [51.2, -1.8, 100.0], "area_radius_m": 2500, "future_key": [1, 2]},
     "sensors": [
      {"id": "radar-1", "type": "radar", "enu": [0.0, 0.0, 10.0], "period_s": 1.0,
       "phase_s": 0.0, "pd": 0.9,
       "coverage": {"range_m": [100.0, 5000.0], "az_deg": [0.0, 360.0], "el_deg": [-2.0, 60.0]},
       "sigma": {"range_m": 5.0, "az_deg": 0.5, "el_deg": 1.0},
       "clutter": {"rate_per_scan": 10, "range_m": [100.0, 5000.0], "az_deg": [0.0, 360.0],
                   "el_deg": [-2.0, 15.0]},
       "lla": [51.2, -1.8, 110.0]},
      {"id": "rfdf-1", "type": "rf_df", "enu": [1060.66, 1060.66, 5.0], "period_s": 1.0,
       "phase_s": 0.2, "pd": 0.8, "coverage": {"range_m": [0.0, 5000.0]},
       "sigma": {"az_deg": 2.0}, "clutter": {"rate_per_scan": 0.5},
       "lla": [51.209532693, -1.784822168, 105.176]},
      {"id": "acoustic-1", "type": "acoustic", "enu": [-587.79, -809.02, 2.0], "period_s": 1.0,
       "phase_s": 0.6, "pd": 0.7, "coverage": {"range_m": [0.0, 600.0]},
       "sigma": {"az_deg": 5.0, "el_deg": 5.0}, "clutter": {"rate_per_scan": 0.1},
       "lla": [51.192727857, -1.808408101, 102.078]},
      {"id": "rid-1", "type": "remote_id", "enu": [0.0, 0.0, 5.0], "period_s": 1.0,
       "phase_s": null, "pd": 0.95, "coverage": {"range_m": [0.0, 5000.0]}, "sigma": null,
       "clutter": null, "lla": [51.2, -1.8, 105.0]},
      {"id": "agents", "type": "agent", "enu": null, "period_s": null, "phase_s": null,
       "pd": null, "coverage": null, "sigma": {"az_deg": 10.0, "dist_rel": 0.3},
       "clutter": null, "lla": null},
      {"id": "cam-1", "type": "eo_camera", "enu": [1.0, 2.0, 3.0], "lla": [51.2, -1.8, 103.0]}
     ],
     "allow_list": ["1596F2848A2W8XS"]}"#;

    fn parse_ok(text: &str) -> Scenario {
        parse_sensors_json(text).unwrap_or_else(|e| panic!("{e}"))
    }

    fn parse_err(text: &str) -> String {
        match parse_sensors_json(text) {
            Ok(s) => panic!("expected an error, got {s:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn parses_generated_sensors_json() {
        let s = parse_ok(SMALL);
        let m = &s.meta;
        assert_eq!(m.scale.as_deref(), Some("small"));
        assert_eq!(m.seed, Some(1));
        assert_eq!(m.duration_s, 300.0);
        assert_eq!(m.tick_s, Some(0.1));
        assert_eq!(m.report_period_s, 1.0);
        // 2025-06-01T12:00:00Z
        assert_eq!(m.epoch, TimeNs(1_748_779_200 * TimeNs::NS_PER_S));
        assert_eq!(m.ref_lla, Lla::new(51.2, -1.8, 100.0));
        assert_eq!(m.area_radius_m, Some(2500.0));
        assert_eq!(s.allow_list, vec!["1596F2848A2W8XS".to_owned()]);

        let kinds: Vec<_> = s.sensors.iter().map(|s| s.kind).collect();
        assert_eq!(
            kinds,
            [
                SensorKind::Radar,
                SensorKind::RfDf,
                SensorKind::Acoustic,
                SensorKind::RemoteId,
                SensorKind::Agent,
                SensorKind::Other
            ]
        );
        let radar = &s.sensors[0];
        assert_eq!(radar.id.as_str(), "radar-1");
        assert_eq!(radar.position, Some(Lla::new(51.2, -1.8, 110.0)));
        assert_eq!(radar.period_s, Some(1.0));
        assert_eq!(radar.pd, Some(0.9));
        assert_eq!(
            radar.coverage,
            Some(Coverage {
                min_range_m: 100.0,
                max_range_m: 5000.0,
                el_deg: Some([-2.0, 60.0])
            })
        );
        assert_eq!(
            radar.clutter,
            Some(Clutter {
                rate_per_scan: 10.0,
                range_m: Some([100.0, 5000.0]),
                az_deg: Some([0.0, 360.0]),
                el_deg: Some([-2.0, 15.0]),
            })
        );
        let rfdf = &s.sensors[1];
        assert_eq!(
            rfdf.clutter,
            Some(Clutter {
                rate_per_scan: 0.5,
                ..Default::default()
            })
        );
        assert_eq!(rfdf.coverage.as_ref().map(|c| c.el_deg), Some(None));
        let rid = &s.sensors[3];
        assert_eq!(rid.clutter, None);
        let agents = &s.sensors[4];
        assert_eq!(agents.id.as_str(), "agents");
        assert_eq!(agents.position, None);
        assert_eq!(agents.period_s, None);
        assert_eq!(agents.pd, None);
        assert_eq!(agents.coverage, None);
        let cam = &s.sensors[5];
        assert_eq!(cam.coverage, None);
        assert_eq!(cam.position, Some(Lla::new(51.2, -1.8, 103.0)));
    }

    #[test]
    fn minimal_file_without_optional_keys() {
        let s = parse_ok(
            r#"{"scenario": {"duration_s": 60, "report_period_s": 0.5,
                "epoch_utc": "2025-06-01T12:00:00.25Z", "ref_lla": [-33.9, 151.2, 50]},
                "sensors": []}"#,
        );
        assert_eq!(s.meta.scale, None);
        assert_eq!(s.meta.seed, None);
        assert_eq!(s.meta.tick_s, None);
        assert_eq!(s.meta.area_radius_m, None);
        assert_eq!(
            s.meta.epoch,
            TimeNs(1_748_779_200 * TimeNs::NS_PER_S + 250_000_000)
        );
        assert!(s.sensors.is_empty());
        assert!(s.allow_list.is_empty());
    }

    #[test]
    fn errors_name_the_field() {
        let e = parse_err(r#"{"scenario": {"duration_s": 1}, "sensors": []}"#);
        assert!(e.contains("report_period_s"), "{e}");

        let e = parse_err(&SMALL.replace("\"pd\": 0.9", "\"pd\": 1.5"));
        assert!(e.contains("sensors[0].pd"), "{e}");

        let e = parse_err(&SMALL.replace("[51.2, -1.8, 100.0]", "[91.2, -1.8, 100.0]"));
        assert!(e.contains("scenario.ref_lla"), "{e}");

        let e = parse_err(&SMALL.replace("2025-06-01T12:00:00Z", "yesterday"));
        assert!(e.contains("scenario.epoch_utc"), "{e}");

        let e = parse_err(&SMALL.replace("\"report_period_s\": 1.0", "\"report_period_s\": 0"));
        assert!(e.contains("scenario.report_period_s"), "{e}");

        let e = parse_err(&SMALL.replace("[0.0, 600.0]", "[600.0, 0.0]"));
        assert!(e.contains("sensors[2].coverage.range_m"), "{e}");

        let e = parse_err(&SMALL.replace("\"rfdf-1\"", "\"radar-1\""));
        assert!(
            e.contains("sensors[1].id") && e.contains("duplicate"),
            "{e}"
        );

        let e = parse_err(&SMALL.replace("\"rate_per_scan\": 10", "\"rate_per_scan\": \"10\""));
        assert!(e.starts_with("sensors.json: invalid type"), "{e}");

        let e = parse_err(&SMALL[..SMALL.len() / 2]);
        assert!(e.starts_with("sensors.json: EOF"), "{e}");
    }

    #[test]
    fn epoch_outside_timens_range_is_an_error() {
        let e = parse_err(&SMALL.replace("2025-06-01T12:00:00Z", "2300-01-01T00:00:00Z"));
        assert!(e.contains("scenario.epoch_utc"), "{e}");
    }
}
