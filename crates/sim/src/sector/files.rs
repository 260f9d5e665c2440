//! Writes a [`SectorRun`] as a benchmark scenario folder (`shared/bench/FORMAT.md`):
//! `sensors.json`, `detections.jsonl`, `truth.jsonl`, `agents.jsonl`, `zones.geojson`,
//! `threat_truth.jsonl`; and, beyond the format, `adsb.jsonl` (the transponder reports a
//! 1090 MHz receiver decoded, which the format has no sensor type for).

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use dronewatch_model::{Lla, Measurement, SensorKind};
use jiff::Timestamp;
use serde_json::{Value, json};

use super::run::{
    ACOUSTIC_SIGMA_AZ_DEG, ACOUSTIC_SIGMA_EL_DEG, RADAR_SIGMA_AZ_DEG, RADAR_SIGMA_EL_DEG,
    RADAR_SIGMA_RANGE_M, REPORT_PERIOD_S, RF_SIGMA_AZ_DEG, SectorRun, TICK_S,
};
use super::scene::Role;

fn lla3(p: &Lla) -> [f64; 3] {
    [round(p.lat_deg, 9), round(p.lon_deg, 9), round(p.h_m, 3)]
}

fn enu3(v: &[f64; 3]) -> [f64; 3] {
    [round(v[0], 3), round(v[1], 3), round(v[2], 3)]
}

fn round(v: f64, digits: i32) -> f64 {
    let k = 10f64.powi(digits);
    (v * k).round() / k
}

/// Writes every file into `dir` (created if missing).
pub fn write_dir(run: &SectorRun, dir: &Path) -> io::Result<()> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(
        dir.join("sensors.json"),
        serde_json::to_string_pretty(&sensors_json(run))? + "\n",
    )?;
    std::fs::write(dir.join("zones.geojson"), zones_geojson(run))?;
    write_lines(dir, "detections.jsonl", detection_lines(run))?;
    write_lines(dir, "truth.jsonl", truth_lines(run))?;
    write_lines(dir, "agents.jsonl", agent_lines(run))?;
    write_lines(dir, "threat_truth.jsonl", encounter_lines(run))?;
    write_lines(dir, "adsb.jsonl", adsb_lines(run))?;
    Ok(())
}

fn write_lines(dir: &Path, name: &str, lines: impl Iterator<Item = Value>) -> io::Result<()> {
    let mut out = BufWriter::new(File::create(dir.join(name))?);
    for v in lines {
        serde_json::to_writer(&mut out, &v)?;
        out.write_all(b"\n")?;
    }
    out.flush()
}

/// `sensors.json`: the scenario, the sensors the tracker may read (ADS-B is not a sensor
/// type of the format and is left out) and the allow-list.
pub fn sensors_json(run: &SectorRun) -> Value {
    let epoch = Timestamp::from_nanosecond(i128::from(run.epoch.0))
        .map_or_else(|_| "1970-01-01T00:00:00Z".to_owned(), |t| t.to_string());
    let o = run.config.origin;
    let sensors: Vec<Value> = run
        .sensors
        .iter()
        .filter(|s| s.kind != SensorKind::Adsb)
        .map(|s| {
            let lla = s.position.unwrap_or(o);
            let sigma = match s.kind {
                SensorKind::Radar => json!({"range_m": RADAR_SIGMA_RANGE_M,
                    "az_deg": RADAR_SIGMA_AZ_DEG, "el_deg": RADAR_SIGMA_EL_DEG}),
                SensorKind::RfDf => json!({"az_deg": RF_SIGMA_AZ_DEG}),
                SensorKind::Acoustic => json!({"az_deg": ACOUSTIC_SIGMA_AZ_DEG,
                    "el_deg": ACOUSTIC_SIGMA_EL_DEG}),
                _ => Value::Null,
            };
            let coverage = s.coverage.as_ref().map(|c| {
                let mut v = json!({"range_m": [c.min_range_m, c.max_range_m]});
                if let Some(el) = c.el_deg {
                    v["az_deg"] = json!([0.0, 360.0]);
                    v["el_deg"] = json!(el);
                }
                v
            });
            let phase_s = run
                .scene
                .sensors
                .iter()
                .find(|x| x.id == s.id.0)
                .map(|x| x.phase_s);
            json!({
                "id": s.id.0,
                "type": s.kind.as_str(),
                "enu": enu3(&run.frame.to_enu(&lla)),
                "lla": lla3(&lla),
                "period_s": s.period_s,
                "phase_s": phase_s,
                "pd": s.pd,
                "coverage": coverage,
                "sigma": sigma,
                "clutter": s.clutter.as_ref().map(|c| json!({
                    "rate_per_scan": c.rate_per_scan,
                    "range_m": c.range_m,
                    "az_deg": c.az_deg,
                    "el_deg": c.el_deg,
                })),
            })
        })
        .collect();
    json!({
        "scenario": {
            "scale": "sector",
            "seed": run.config.seed,
            "duration_s": run.config.duration_s,
            "tick_s": TICK_S,
            "report_period_s": REPORT_PERIOD_S,
            "epoch_utc": epoch,
            "ref_lla": lla3(&o),
            "area_radius_m": 6000.0,
        },
        "sensors": sensors,
        "allow_list": run.scene.allow_list,
    })
}

pub fn detection_lines(run: &SectorRun) -> impl Iterator<Item = Value> + '_ {
    run.detections.iter().enumerate().map(|(k, d)| {
        let o = &d.observation;
        let sensor_lla = o.sensor_position.unwrap_or(run.config.origin);
        let mut v = json!({
            "det_id": k,
            "t": round(d.t_s, 1),
            "sensor_id": o.sensor_id.0,
            "sensor_type": o.sensor_kind.as_str(),
            "sensor_enu": enu3(&run.frame.to_enu(&sensor_lla)),
            "sensor_lla": lla3(&sensor_lla),
        });
        let extra = match &o.measurement {
            Measurement::RangeAzEl {
                range_m,
                az_deg,
                el_deg,
                sigma_range_m,
                sigma_az_deg,
                sigma_el_deg,
            } => json!({"range_m": round(*range_m, 3), "az_deg": round(*az_deg, 5),
                "el_deg": round(*el_deg, 5), "sigma_range_m": sigma_range_m,
                "sigma_az_deg": sigma_az_deg, "sigma_el_deg": sigma_el_deg}),
            Measurement::Bearing {
                az_deg,
                sigma_az_deg,
            } => json!({"az_deg": round(*az_deg, 5), "sigma_az_deg": sigma_az_deg}),
            Measurement::AzEl {
                az_deg,
                el_deg,
                sigma_az_deg,
                sigma_el_deg,
            } => json!({"az_deg": round(*az_deg, 5), "el_deg": round(*el_deg, 5),
                "sigma_az_deg": sigma_az_deg, "sigma_el_deg": sigma_el_deg}),
            Measurement::BearingDistance {
                az_deg,
                dist_m,
                sigma_az_deg,
                sigma_dist_rel,
            } => json!({"az_deg": round(*az_deg, 5), "dist_m": round(*dist_m, 3),
                "sigma_az_deg": sigma_az_deg, "sigma_dist_rel": sigma_dist_rel}),
            Measurement::Position {
                position,
                sigma_horizontal_m,
                sigma_vertical_m,
            } => json!({"lat_deg": round(position.lat_deg, 9),
                "lon_deg": round(position.lon_deg, 9), "alt_m": round(position.h_m, 3),
                "serial": o.identity.remote_id_serial, "sigma_h_m": sigma_horizontal_m,
                "sigma_v_m": sigma_vertical_m}),
        };
        if let (Some(v), Value::Object(extra)) = (v.as_object_mut(), extra) {
            v.extend(extra);
        }
        v
    })
}

fn truth_lines(run: &SectorRun) -> impl Iterator<Item = Value> + '_ {
    run.truth.iter().map(|r| {
        let a = &run.scene.aircraft[r.target];
        json!({
            "t": round(r.t_s, 1),
            "target_id": r.target + 1,
            "name": a.name,
            "pattern": a.pattern,
            "role": a.role.as_str(),
            "enu": enu3(&r.enu_m),
            "vel_enu": enu3(&r.vel_enu_mps),
            "lla": lla3(&r.lla),
        })
    })
}

fn agent_lines(run: &SectorRun) -> impl Iterator<Item = Value> + '_ {
    run.agents.iter().map(|r| {
        let a = &run.scene.agents[r.agent];
        json!({
            "t": round(r.t_s, 1),
            "agent_id": a.id,
            "mode": a.mode(),
            "enu": enu3(&r.enu_m),
            "lla": lla3(&r.lla),
        })
    })
}

fn encounter_lines(run: &SectorRun) -> impl Iterator<Item = Value> + '_ {
    run.encounters.iter().map(|e| {
        let a = &run.scene.aircraft[e.target];
        json!({
            "target_id": e.target + 1,
            "agent_id": run.scene.agents[e.agent].id,
            "t_cpa": round(e.t_cpa_s, 1),
            "cpa_m": round(e.cpa_m, 2),
            "t_enter_300m": round(e.t_enter_300m_s, 1),
            "t_first_detectable": e.t_first_detectable_s.map(|t| round(t, 1)),
            "allow_listed": a.role == Role::Friendly,
            "role": a.role.as_str(),
        })
    })
}

fn adsb_lines(run: &SectorRun) -> impl Iterator<Item = Value> + '_ {
    run.adsb.iter().map(|r| {
        json!({
            "t": round(r.t_s, 1),
            "icao": format!("{:06X}", r.icao),
            "callsign": r.callsign,
            "lla": lla3(&r.position),
            "vel_enu": enu3(&r.vel_enu_mps),
        })
    })
}

/// The zones as an RFC 7946 FeatureCollection, one feature per line.
pub fn zones_geojson(run: &SectorRun) -> String {
    let features: Vec<String> = run
        .scene
        .zones
        .iter()
        .map(|z| {
            let ring: Vec<[f64; 2]> = z
                .points_en_m
                .iter()
                .map(|p| {
                    let lla = run.frame.to_lla(&run.world([p[0], p[1], 0.0]));
                    [round(lla.lon_deg, 7), round(lla.lat_deg, 7)]
                })
                .collect();
            let geometry = if z.area {
                json!({"type": "Polygon", "coordinates": [ring]})
            } else {
                json!({"type": "LineString", "coordinates": ring})
            };
            json!({"type": "Feature", "id": z.name,
                "properties": {"name": z.name, "kind": z.kind},
                "geometry": geometry})
            .to_string()
        })
        .collect();
    format!(
        "{{\"type\": \"FeatureCollection\", \"features\": [\n{}\n]}}\n",
        features.join(",\n")
    )
}
