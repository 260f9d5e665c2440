//! Receiver updates to [`dronewatch_model::Observation`]s for fusion.
//!
//! Only a Location update whose fix passed every plausibility check becomes an
//! observation; flagged positions never reach fusion. Sigmas come from the broadcast
//! accuracy codes, which F3411 defines as 95 % bounds.

use dronewatch_model::{
    Classification, IdentityHints, Lla, Measurement, Observation, ObservationId, SensorId,
    SensorKind, TimeNs,
};

use crate::codes::OPERATOR_LOCATION_TAKEOFF;
use crate::receiver::{DroneState, Fix, Update};

/// A 2D normal's 95 % radius is 2.4477 σ (√(−2 ln 0.05)).
pub const HORIZONTAL_95_PER_SIGMA: f64 = 2.4477;
/// A 1D normal's 95 % half-width is 1.96 σ.
pub const VERTICAL_95_PER_SIGMA: f64 = 1.96;
/// σ when the horizontal accuracy code is 0 (unknown): a poor but usable GNSS fix.
pub const UNKNOWN_HORIZONTAL_SIGMA_M: f64 = 50.0;
/// σ when the vertical accuracy code is 0 (unknown).
pub const UNKNOWN_VERTICAL_SIGMA_M: f64 = 50.0;
/// Extra σ when pressure altitude stands in for the ellipsoidal height: the geoid
/// undulation (up to about ±100 m) and the non-standard day's pressure offset.
pub const PRESSURE_FOR_GEODETIC_SIGMA_M: f64 = 60.0;
/// Extra σ when take-off height plus the operator's take-off altitude stands in for it.
pub const TAKEOFF_HEIGHT_SIGMA_M: f64 = 15.0;
/// Confidence of a UA type the drone declares about itself (unauthenticated).
pub const UA_TYPE_CONFIDENCE: f64 = 0.9;

/// The observation of an update, or `None` when the update is not a Location, its fix
/// is flagged implausible (see [`crate::Flag::discredits_position`]), or no altitude of
/// any kind is known (fusion needs a 3D position).
///
/// `t` is the receive time; the broadcast fix time (only tenths of a second after the
/// hour, often absent) is in the state's [`Fix::fix_time_unix_ns`].
pub fn to_observation(
    update: &Update<'_>,
    sensor_id: &SensorId,
    id: ObservationId,
) -> Option<Observation> {
    if !update.has_plausible_fix() {
        return None;
    }
    let state = update.state;
    let fix = state.position?;
    let (h_m, sigma_vertical_m) = altitude(&fix, state)?;
    let sigma_horizontal_m = fix
        .horizontal_accuracy_m
        .map_or(UNKNOWN_HORIZONTAL_SIGMA_M, |a| a / HORIZONTAL_95_PER_SIGMA);
    Some(Observation {
        id,
        t: TimeNs(update.t_unix_ns),
        sensor_id: sensor_id.clone(),
        sensor_kind: SensorKind::RemoteId,
        sensor_position: None,
        measurement: Measurement::Position {
            position: Lla::new(fix.lat_deg, fix.lon_deg, h_m),
            sigma_horizontal_m,
            sigma_vertical_m,
        },
        velocity: None,
        identity: identity(state),
    })
}

/// Ellipsoidal height and its σ: geodetic altitude, else pressure altitude, else height
/// above take-off plus the operator's take-off altitude.
fn altitude(fix: &Fix, state: &DroneState) -> Option<(f64, f64)> {
    if let Some(h) = fix.geodetic_altitude_m {
        let s = fix
            .vertical_accuracy_m
            .map_or(UNKNOWN_VERTICAL_SIGMA_M, |a| a / VERTICAL_95_PER_SIGMA);
        return Some((h, s));
    }
    if let Some(h) = fix.pressure_altitude_m {
        let s = fix
            .baro_accuracy_m
            .map_or(UNKNOWN_VERTICAL_SIGMA_M, |a| a / VERTICAL_95_PER_SIGMA);
        return Some((h, s.hypot(PRESSURE_FOR_GEODETIC_SIGMA_M)));
    }
    let op = state.operator?;
    if fix.height_type == 0 && op.location_type == OPERATOR_LOCATION_TAKEOFF {
        let h = fix.height_m? + op.altitude_m?;
        return Some((h, UNKNOWN_VERTICAL_SIGMA_M.hypot(TAKEOFF_HEIGHT_SIGMA_M)));
    }
    None
}

/// Serial (or other UAS ID), operator position and declared UA type.
pub fn identity(state: &DroneState) -> IdentityHints {
    IdentityHints {
        remote_id_serial: state.uas_id(),
        operator_position: state
            .operator
            .map(|op| Lla::new(op.lat_deg, op.lon_deg, op.altitude_m.unwrap_or(0.0))),
        icao_address: None,
        classification: state.ua_type.map(|t| Classification {
            class: ua_type_class(t).to_string(),
            confidence: UA_TYPE_CONFIDENCE,
        }),
        ..IdentityHints::default()
    }
}

/// The model's classification label for a UA type code (operator position's `h_m` is 0
/// when the System message gives no altitude).
pub fn ua_type_class(ua_type: u8) -> &'static str {
    match ua_type {
        1 => "uav.fixed_wing",
        2 => "uav.multirotor",
        3 => "uav.gyroplane",
        4 => "uav.hybrid_lift",
        5 => "uav.ornithopter",
        6 => "uav.glider",
        7 => "uav.kite",
        8 => "uav.free_balloon",
        9 => "uav.captive_balloon",
        10 => "uav.airship",
        11 => "uav.parachute",
        12 => "uav.rocket",
        13 => "uav.tethered",
        14 => "ground_obstacle",
        15 => "uav.other",
        _ => "uav",
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::message::{BasicId, Message};
    use crate::receiver::{Receiver, Source};
    use crate::text::OdidText;
    use crate::transport::{MacAddress, Transport};

    const SRC: Source = Source {
        t_unix_ns: 1_700_000_000_000_000_000,
        transport: Transport::BluetoothLongRange,
        transmitter: Some(MacAddress([1, 2, 3, 4, 5, 6])),
        link_crc_ok: Some(true),
    };

    /// The wire layout puts latitude (bytes 5-8) before longitude (bytes 9-12): a point
    /// where swapping them would be obvious must come out in the right order.
    #[test]
    fn lat_before_lon_and_sigmas_from_codes() {
        let mut m = [0u8; 25];
        m[0] = 0x12;
        m[1] = 0x20;
        m[5..9].copy_from_slice(&455_457_468i32.to_le_bytes());
        m[9..13].copy_from_slice(&(-1_229_681_496i32).to_le_bytes());
        m[15..17].copy_from_slice(&(((237.0f64 + 1000.0) / 0.5) as u16).to_le_bytes());
        m[19] = 0x3 << 4 | 9; // vertical < 25 m, horizontal < 30 m
        let msg = Message::decode(&m).unwrap();
        let mut r = Receiver::default();
        r.update(
            SRC,
            &Message::BasicId(BasicId {
                protocol_version: 2,
                id_type: 1,
                ua_type: 2,
                uas_id: OdidText::new("SERIAL9").unwrap(),
            }),
        );
        let mut s = SRC;
        s.t_unix_ns += 1;
        let u = r.update(s, &msg);
        let obs = to_observation(&u, &SensorId::new("rid"), ObservationId(3)).unwrap();
        let Measurement::Position {
            position,
            sigma_horizontal_m,
            sigma_vertical_m,
        } = obs.measurement
        else {
            panic!()
        };
        assert_eq!(position.lat_deg, 45.5457468);
        assert_eq!(position.lon_deg, -122.9681496);
        assert_eq!(position.h_m, 237.0);
        assert!((sigma_horizontal_m - 30.0 / 2.4477).abs() < 1e-9);
        assert!((sigma_vertical_m - 25.0 / 1.96).abs() < 1e-9);
        assert_eq!(obs.sensor_kind, SensorKind::RemoteId);
        assert_eq!(obs.identity.remote_id_serial.as_deref(), Some("SERIAL9"));
        assert_eq!(obs.identity.classification.unwrap().class, "uav.multirotor");
        assert!(obs.measurement.validate().is_ok());
    }

    #[test]
    fn flagged_or_non_location_updates_give_none() {
        let mut r = Receiver::default();
        let basic = Message::BasicId(BasicId {
            protocol_version: 2,
            id_type: 1,
            ua_type: 2,
            uas_id: OdidText::new("X").unwrap(),
        });
        let u = r.update(SRC, &basic);
        assert!(to_observation(&u, &SensorId::new("rid"), ObservationId(1)).is_none());
        let Message::Location(mut l) = Message::decode(&[0x12; 25]).unwrap() else {
            panic!()
        };
        l.latitude_deg = 0.0;
        l.longitude_deg = 0.0;
        let u = r.update(SRC, &Message::Location(l));
        assert!(to_observation(&u, &SensorId::new("rid"), ObservationId(2)).is_none());
    }
}
