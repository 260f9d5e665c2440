//! Unit hypotheses for the fields whose units the public sources do not settle.
//!
//! The payload's integers are kept raw (`*_raw`); every conversion takes the assumption it
//! rests on as an argument, so no caller gets metres or m/s without saying which guess it
//! made. See the crate docs for the evidence on each side.

use serde::Serialize;

/// Feet per metre, as DroneSecurity divides by it (3.281; the exact value is 3.28084).
pub const FEET_PER_METRE_DRONESECURITY: f64 = 3.281;

/// Exact metres per international foot.
pub const METRES_PER_FOOT: f64 = 0.3048;

/// What one raw count of `altitude` / `height` is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LengthUnit {
    /// One foot (DroneSecurity's reading: it converts with ÷ 3.281).
    Feet,
    /// One metre (other write-ups, and Kismet's Wi-Fi DroneID, apply no factor).
    Metres,
}

impl LengthUnit {
    /// `raw` counts in metres.
    pub fn to_m(self, raw: i16) -> f64 {
        match self {
            LengthUnit::Feet => f64::from(raw) * METRES_PER_FOOT,
            LengthUnit::Metres => f64::from(raw),
        }
    }
}

/// What one raw count of `v_north` / `v_east` / `v_up` is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SpeedUnit {
    /// One centimetre per second.
    CentimetresPerSecond,
    /// One metre per second.
    MetresPerSecond,
}

impl SpeedUnit {
    /// `raw` counts in metres per second.
    pub fn to_mps(self, raw: i16) -> f64 {
        match self {
            SpeedUnit::CentimetresPerSecond => f64::from(raw) / 100.0,
            SpeedUnit::MetresPerSecond => f64::from(raw),
        }
    }
}

/// Radians × 1e7 (the payload's angle encoding) to degrees, exactly: × 1e-7 × 180/π.
///
/// DroneSecurity divides by 174533.0, a rounding of 1e7·π/180 = 174532.925…; the two differ
/// by 4.3e-7 relative (about 2.5 m at 51° N), which the conformance test accounts for.
pub fn rad_e7_to_deg(raw: i32) -> f64 {
    (f64::from(raw) * 1e-7).to_degrees()
}

/// Degrees to the payload's radians × 1e7, rounded; `None` when out of the i32 range.
pub fn deg_to_rad_e7(deg: f64) -> Option<i32> {
    let v = (deg.to_radians() * 1e7).round();
    (v.is_finite() && v >= f64::from(i32::MIN) && v <= f64::from(i32::MAX)).then_some(v as i32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn angle_conversion_round_trips_on_the_raw_grid() {
        for raw in [-31_415_926, -1, 0, 1, 8_979_083, 31_415_926] {
            assert_eq!(deg_to_rad_e7(rad_e7_to_deg(raw)), Some(raw));
        }
        assert_eq!(deg_to_rad_e7(f64::NAN), None);
        assert_eq!(deg_to_rad_e7(1e9), None);
    }

    #[test]
    fn half_a_turn_is_pi_e7() {
        let raw = (std::f64::consts::PI * 1e7).round() as i32;
        assert!((rad_e7_to_deg(raw) - 180.0).abs() < 1e-5);
    }

    #[test]
    fn unit_hypotheses_scale_as_named() {
        assert_eq!(LengthUnit::Metres.to_m(100), 100.0);
        assert!((LengthUnit::Feet.to_m(100) - 30.48).abs() < 1e-12);
        assert_eq!(SpeedUnit::CentimetresPerSecond.to_mps(250), 2.5);
        assert_eq!(SpeedUnit::MetresPerSecond.to_mps(-3), -3.0);
    }
}
