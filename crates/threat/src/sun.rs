//! The sun's elevation, for the night rule. The low-precision formulae of the Astronomical
//! Almanac (good to about 0.01° for 1950–2050), ample for "is it dark".

use dronewatch_model::{Lla, TimeNs};

/// Elevation of the sun's centre above the horizon at `p` and `t` [deg] (no refraction).
pub fn sun_elevation_deg(t: TimeNs, p: &Lla) -> f64 {
    // Days since J2000.0 (2000-01-01 12:00 UTC = unix 946 728 000 s).
    let n = (t.as_secs_f64() - 946_728_000.0) / 86_400.0;
    let mean_lon_deg = (280.460 + 0.985_647_4 * n).rem_euclid(360.0);
    let g = (357.528 + 0.985_600_3 * n).rem_euclid(360.0).to_radians();
    let ecl_lon = (mean_lon_deg + 1.915 * g.sin() + 0.020 * (2.0 * g).sin()).to_radians();
    let obliquity = (23.439 - 0.000_000_4 * n).to_radians();
    let ra = (obliquity.cos() * ecl_lon.sin()).atan2(ecl_lon.cos());
    let dec = (obliquity.sin() * ecl_lon.sin()).asin();
    // Greenwich mean sidereal time [deg], then the local hour angle.
    let gmst_deg = (280.460_618_37 + 360.985_647_366_29 * n).rem_euclid(360.0);
    let hour_angle = (gmst_deg + p.lon_deg).to_radians() - ra;
    let lat = p.lat_deg.to_radians();
    (lat.sin() * dec.sin() + lat.cos() * dec.cos() * hour_angle.cos())
        .asin()
        .to_degrees()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(unix_s: i64, lat: f64, lon: f64) -> f64 {
        sun_elevation_deg(TimeNs(unix_s * TimeNs::NS_PER_S), &Lla::new(lat, lon, 0.0))
    }

    #[test]
    fn noon_and_midnight() {
        // 2025-06-21 (solstice) 12:00 UTC at Greenwich on the equator: about 90 − 23.44.
        let e = at(1_750_507_200, 0.0, 0.0);
        assert!((e - 66.56).abs() < 0.3, "{e}");
        // Same instant, antimeridian: deep night.
        assert!(at(1_750_507_200, 0.0, 180.0) < -60.0);
        // Nogales, AZ (UTC−7) at 2025-12-21 12:00 local = 19:00 UTC: low winter sun,
        // 90 − 31.3 − 23.44 ≈ 35°.
        let e = at(1_766_343_600, 31.34, -110.94);
        assert!((e - 35.0).abs() < 2.0, "{e}");
    }
}
