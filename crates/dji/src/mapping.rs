//! DroneID payload → [`Observation`].
//!
//! Choices, and why:
//! - **Sensor kind [`SensorKind::RemoteId`]**: the payload is the drone's own broadcast of
//!   its position, like Remote ID, and fusion weighs a kind by how its measurements behave
//!   (absolute position, near-zero false alarms behind a CRC). `Other` would give a
//!   self-reported GNSS fix the clutter density of an acoustic bearing.
//! - **The serial is not put in `remote_id_serial`**: it is DJI's manufacturer serial, not
//!   an ANSI/CTA-2063-A Remote ID serial (which adds a manufacturer code and length prefix),
//!   so it would never match a Remote ID broadcast of the same drone and would mislabel the
//!   source. The model has no field for vendor ids yet; the serial stays on
//!   [`DroneIdPacket::serial`] for the caller to record.
//! - **Identity**: the app (pilot) position becomes `operator_position`; the product type
//!   becomes a classification (`uav.multirotor` for DJI airframes, `uav` for stand-alone
//!   flight controllers and unknown ids), confidence 1, since the drone names itself.
//! - **Altitude**: converted under [`MapOptions::altitude_unit`]; the vertical sigma is at
//!   least the gap between the feet and metre readings, so fusion is not misled by the guess.
//! - **Time**: the receiver's clock by default. `gps_time` is the drone's own clock, and
//!   whether it counts UTC or GPS seconds (18 s apart) is unknown.

use dronewatch_model::{
    Classification, IdentityHints, Lla, Measurement, Observation, ObservationId, SensorId,
    SensorKind, TimeNs,
};

use crate::packet::DroneIdPacket;
use crate::product::is_flight_controller;
use crate::units::LengthUnit;

/// Which clock stamps the observation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TimeSource {
    /// The receiver's time of reception (default).
    #[default]
    ReceivedAt,
    /// The payload's `gps_time`, falling back to reception time when it is zero or out of
    /// range (useful for replaying captures).
    DroneGpsTime,
}

/// Tunables of the mapping. The defaults are dronewatch choices, not values from any source:
/// DroneID carries no accuracy field.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MapOptions {
    /// Unit assumed for `altitude` and `height`. Default [`LengthUnit::Feet`], the reading of
    /// the only public decoder with a real test vector (DroneSecurity).
    pub altitude_unit: LengthUnit,
    /// One-sigma horizontal error of the drone's GNSS fix. Default 10 m.
    pub sigma_horizontal_m: f64,
    /// Smallest one-sigma vertical error (unknown altitude reference). Default 15 m.
    pub sigma_vertical_min_m: f64,
    pub time: TimeSource,
}

impl Default for MapOptions {
    fn default() -> Self {
        Self {
            altitude_unit: LengthUnit::Feet,
            sigma_horizontal_m: 10.0,
            sigma_vertical_min_m: 15.0,
            time: TimeSource::ReceivedAt,
        }
    }
}

/// Who received the payload, when, and under which id.
#[derive(Debug, Clone, PartialEq)]
pub struct Reception {
    pub sensor_id: SensorId,
    pub sensor_position: Option<Lla>,
    pub id: ObservationId,
    pub received_at: TimeNs,
}

/// Why a valid payload gives no observation.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MapError {
    #[error("drone_lat/drone_lon: both zero, the drone sent no position")]
    NoPosition,
    #[error("{field}: {reason}")]
    Invalid { field: &'static str, reason: String },
}

/// The observation a DroneID payload makes. See the module docs for each choice.
pub fn to_observation(
    packet: &DroneIdPacket,
    reception: &Reception,
    options: &MapOptions,
) -> Result<Observation, MapError> {
    let (lat_deg, lon_deg) = packet.drone_lat_lon_deg().ok_or(MapError::NoPosition)?;
    let unit = options.altitude_unit;
    let altitude_m = packet.altitude_m_assuming(unit);
    let other = match unit {
        LengthUnit::Feet => LengthUnit::Metres,
        LengthUnit::Metres => LengthUnit::Feet,
    };
    let unit_gap_m = (altitude_m - packet.altitude_m_assuming(other)).abs();
    let measurement = Measurement::Position {
        position: Lla::new(lat_deg, lon_deg, altitude_m),
        sigma_horizontal_m: options.sigma_horizontal_m,
        sigma_vertical_m: options.sigma_vertical_min_m.max(unit_gap_m),
    };
    measurement.validate().map_err(|field| MapError::Invalid {
        field: match field {
            "position" => "drone_lat",
            other => other,
        },
        reason: "out of range".into(),
    })?;

    // The app's height is not sent; the take-off point (altitude less height above home) is
    // the best ground-level guess for a pilot standing near it.
    let operator_position = packet.app_lat_lon_deg().and_then(|(lat, lon)| {
        let ground_m = altitude_m - packet.height_m_assuming(unit);
        let lla = Lla::new(lat, lon, ground_m);
        lla.is_valid().then_some(lla)
    });
    let class = if packet.product_name().is_some() && !is_flight_controller(packet.product_type) {
        "uav.multirotor"
    } else {
        "uav"
    };
    let t = match options.time {
        TimeSource::ReceivedAt => reception.received_at,
        TimeSource::DroneGpsTime => {
            gps_time_ns(packet.gps_time_ms).unwrap_or(reception.received_at)
        }
    };
    Ok(Observation {
        id: reception.id,
        t,
        sensor_id: reception.sensor_id.clone(),
        sensor_kind: SensorKind::RemoteId,
        sensor_position: reception.sensor_position,
        measurement,
        velocity: None,
        identity: IdentityHints {
            remote_id_serial: None,
            operator_position,
            icao_address: None,
            classification: Some(Classification {
                class: class.into(),
                confidence: 1.0,
            }),
            ..IdentityHints::default()
        },
    })
}

/// `gps_time` in ns since the epoch, when non-zero and representable.
fn gps_time_ns(ms: u64) -> Option<TimeNs> {
    if ms == 0 {
        return None;
    }
    i64::try_from(ms)
        .ok()
        .and_then(|ms| ms.checked_mul(1_000_000))
        .map(TimeNs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::DroneIdPacket;
    use crate::state::StateInfo;
    use crate::units::rad_e7_to_deg;

    fn packet() -> DroneIdPacket {
        DroneIdPacket {
            pkt_len: 88,
            unknown_1: 0x10,
            version: 2,
            sequence: 1,
            state: StateInfo(0),
            serial: "SYNTH0001".into(),
            drone_lon_rad_e7: 1_300_000,
            drone_lat_rad_e7: 9_000_000,
            altitude_raw: 400,
            height_raw: 100,
            v_north_raw: 0,
            v_east_raw: 0,
            v_up_raw: 0,
            yaw_raw: 0,
            gps_time_ms: 1_700_000_000_123,
            app_lat_rad_e7: 9_000_010,
            app_lon_rad_e7: 1_300_010,
            home_lon_rad_e7: 0,
            home_lat_rad_e7: 0,
            product_type: 63,
            uuid_len: 0,
            uuid: String::new(),
            crc: 0,
        }
    }

    fn reception() -> Reception {
        Reception {
            sensor_id: SensorId::new("dji-rx-1"),
            sensor_position: None,
            id: ObservationId(5),
            received_at: TimeNs(1_800_000_000_000_000_000),
        }
    }

    #[test]
    fn maps_position_pilot_and_class_but_not_the_serial() {
        let obs = to_observation(&packet(), &reception(), &MapOptions::default())
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(obs.sensor_kind, SensorKind::RemoteId);
        assert_eq!(obs.t, TimeNs(1_800_000_000_000_000_000));
        assert_eq!(obs.identity.remote_id_serial, None);
        let Measurement::Position {
            position,
            sigma_vertical_m,
            ..
        } = obs.measurement
        else {
            panic!("not a position");
        };
        assert!((position.lat_deg - rad_e7_to_deg(9_000_000)).abs() < 1e-12);
        assert!((position.lon_deg - rad_e7_to_deg(1_300_000)).abs() < 1e-12);
        assert!((position.h_m - 400.0 * 0.3048).abs() < 1e-9);
        // 400 ft vs 400 m: the sigma covers the other reading.
        assert!((sigma_vertical_m - 400.0 * (1.0 - 0.3048)).abs() < 1e-9);
        let op = obs
            .identity
            .operator_position
            .unwrap_or(Lla::new(0.0, 0.0, 0.0));
        assert!((op.lat_deg - rad_e7_to_deg(9_000_010)).abs() < 1e-12);
        assert!((op.h_m - 300.0 * 0.3048).abs() < 1e-9);
        let class = obs.identity.classification.map(|c| c.class);
        assert_eq!(class.as_deref(), Some("uav.multirotor"));
    }

    #[test]
    fn gps_time_is_used_only_when_asked_and_present() {
        let opts = MapOptions {
            time: TimeSource::DroneGpsTime,
            ..MapOptions::default()
        };
        let obs = to_observation(&packet(), &reception(), &opts).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(obs.t, TimeNs(1_700_000_000_123_000_000));
        let mut p = packet();
        p.gps_time_ms = 0;
        let obs = to_observation(&p, &reception(), &opts).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(obs.t, reception().received_at);
        p.gps_time_ms = u64::MAX;
        let obs = to_observation(&p, &reception(), &opts).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(obs.t, reception().received_at);
    }

    #[test]
    fn no_fix_and_impossible_latitude_are_errors() {
        let mut p = packet();
        p.drone_lat_rad_e7 = 0;
        p.drone_lon_rad_e7 = 0;
        assert_eq!(
            to_observation(&p, &reception(), &MapOptions::default()),
            Err(MapError::NoPosition)
        );
        p.drone_lat_rad_e7 = 20_000_000; // 114.6 degrees
        assert!(matches!(
            to_observation(&p, &reception(), &MapOptions::default()),
            Err(MapError::Invalid {
                field: "drone_lat",
                ..
            })
        ));
    }

    #[test]
    fn flight_controllers_and_unknown_ids_are_plain_uav() {
        for product_type in [8, 0, 200] {
            let mut p = packet();
            p.product_type = product_type;
            let obs = to_observation(&p, &reception(), &MapOptions::default())
                .unwrap_or_else(|e| panic!("{e}"));
            let class = obs.identity.classification.map(|c| c.class);
            assert_eq!(class.as_deref(), Some("uav"), "product {product_type}");
        }
    }
}
