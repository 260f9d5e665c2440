//! The F3411 code tables, kept as raw codes in the message structs and named here.
//!
//! Accuracy codes are 95 % bounds (F3411-22a Table 7 "Horizontal/Vertical/Speed Accuracy",
//! same values in ASD-STAN EN 4709-002 and opendroneid-core-c `opendroneid.h`).

/// UA type (Basic ID byte 1, low nibble).
pub fn ua_type_name(code: u8) -> &'static str {
    match code {
        0 => "none",
        1 => "aeroplane",
        2 => "helicopter_or_multirotor",
        3 => "gyroplane",
        4 => "hybrid_lift",
        5 => "ornithopter",
        6 => "glider",
        7 => "kite",
        8 => "free_balloon",
        9 => "captive_balloon",
        10 => "airship",
        11 => "free_fall_parachute",
        12 => "rocket",
        13 => "tethered_powered_aircraft",
        14 => "ground_obstacle",
        15 => "other",
        _ => "reserved",
    }
}

/// ID type (Basic ID byte 1, high nibble).
pub fn id_type_name(code: u8) -> &'static str {
    match code {
        0 => "none",
        1 => "serial_number",
        2 => "caa_registration_id",
        3 => "utm_assigned_uuid",
        4 => "specific_session_id",
        _ => "reserved",
    }
}

/// ID type 1: the ANSI/CTA-2063-A physical serial number.
pub const ID_TYPE_SERIAL_NUMBER: u8 = 1;
/// ID type 2: a civil aviation authority registration.
pub const ID_TYPE_CAA_REGISTRATION: u8 = 2;

/// Operational status (Location byte 1, high nibble).
pub fn status_name(code: u8) -> &'static str {
    match code {
        0 => "undeclared",
        1 => "ground",
        2 => "airborne",
        3 => "emergency",
        4 => "remote_id_system_failure",
        _ => "reserved",
    }
}

/// Height reference (Location byte 1, bit 2).
pub fn height_type_name(code: u8) -> &'static str {
    match code {
        0 => "above_takeoff",
        _ => "above_ground",
    }
}

/// Authentication type (Authentication byte 1, high nibble).
pub fn auth_type_name(code: u8) -> &'static str {
    match code {
        0 => "none",
        1 => "uas_id_signature",
        2 => "operator_id_signature",
        3 => "message_set_signature",
        4 => "network_remote_id",
        5 => "specific_authentication",
        6..=9 => "reserved",
        _ => "private",
    }
}

/// Self-ID description type (byte 1).
pub fn description_type_name(code: u8) -> &'static str {
    match code {
        0 => "text",
        1 => "emergency",
        2 => "extended_status",
        201..=255 => "private",
        _ => "reserved",
    }
}

/// Operator location type (System byte 1, bits 1-0).
pub fn operator_location_type_name(code: u8) -> &'static str {
    match code {
        0 => "takeoff",
        1 => "live_gnss",
        2 => "fixed",
        _ => "reserved",
    }
}

/// Operator location type 0: the take-off point (heights "above take-off" refer to it).
pub const OPERATOR_LOCATION_TAKEOFF: u8 = 0;

/// Classification type (System byte 1, bits 4-2).
pub fn classification_type_name(code: u8) -> &'static str {
    match code {
        0 => "undeclared",
        1 => "eu",
        _ => "reserved",
    }
}

/// Horizontal accuracy code to its 95 % bound in metres; `None` for unknown (0) and
/// reserved (13-15) codes.
pub fn horizontal_accuracy_m(code: u8) -> Option<f64> {
    const NM_M: f64 = 1852.0;
    Some(match code {
        1 => 10.0 * NM_M,
        2 => 4.0 * NM_M,
        3 => 2.0 * NM_M,
        4 => NM_M,
        5 => 0.5 * NM_M,
        6 => 0.3 * NM_M,
        7 => 0.1 * NM_M,
        8 => 0.05 * NM_M,
        9 => 30.0,
        10 => 10.0,
        11 => 3.0,
        12 => 1.0,
        _ => return None,
    })
}

/// Vertical (geodetic or barometric) accuracy code to its 95 % bound in metres; `None`
/// for unknown (0) and reserved (7-15) codes.
pub fn vertical_accuracy_m(code: u8) -> Option<f64> {
    Some(match code {
        1 => 150.0,
        2 => 45.0,
        3 => 25.0,
        4 => 10.0,
        5 => 3.0,
        6 => 1.0,
        _ => return None,
    })
}

/// Speed accuracy code to its 95 % bound in m/s; `None` for unknown (0) and reserved
/// (5-15) codes.
pub fn speed_accuracy_mps(code: u8) -> Option<f64> {
    Some(match code {
        1 => 10.0,
        2 => 3.0,
        3 => 1.0,
        4 => 0.3,
        _ => return None,
    })
}

/// Timestamp accuracy code (tenths of a second) to seconds; `None` for unknown (0).
pub fn timestamp_accuracy_s(code: u8) -> Option<f64> {
    (1..=15).contains(&code).then(|| f64::from(code) * 0.1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accuracy_tables_are_monotonic() {
        let h: Vec<f64> = (1..=12).filter_map(horizontal_accuracy_m).collect();
        assert_eq!(h.len(), 12);
        assert!(h.windows(2).all(|w| w[0] > w[1]));
        let v: Vec<f64> = (1..=6).filter_map(vertical_accuracy_m).collect();
        assert!(v.windows(2).all(|w| w[0] > w[1]));
        assert_eq!(horizontal_accuracy_m(0), None);
        assert_eq!(horizontal_accuracy_m(13), None);
        assert_eq!(vertical_accuracy_m(7), None);
        assert_eq!(speed_accuracy_mps(5), None);
        assert_eq!(timestamp_accuracy_s(0), None);
    }
}
