//! Angle wrapping and compass azimuth / elevation / range ↔ ENU.

use std::f64::consts::{PI, TAU};

/// Wrap an angle in degrees to [0, 360). NaN and infinities give NaN.
pub fn wrap_deg_360(a: f64) -> f64 {
    let r = a.rem_euclid(360.0);
    // rem_euclid rounds tiny negative inputs up to exactly 360; `+ 0.0` turns −0 into +0.
    if r >= 360.0 { 0.0 } else { r + 0.0 }
}

/// Wrap an angle in radians to (−π, π]. NaN and infinities give NaN.
pub fn wrap_pi(a_rad: f64) -> f64 {
    if a_rad > -PI && a_rad <= PI {
        return a_rad;
    }
    let r = a_rad.rem_euclid(TAU);
    if r > PI { r - TAU } else { r }
}

/// Compass azimuth (degrees clockwise from north, [0, 360)), elevation (degrees above the
/// local horizontal, [−90, 90]) and range (m) of an ENU offset `[e, n, u]`. Azimuth is 0
/// straight up/down, and all three are 0 for the zero vector.
pub fn enu_to_az_el_range(d: &[f64; 3]) -> (f64, f64, f64) {
    let [e, n, u] = *d;
    let horizontal = e.hypot(n);
    let az = wrap_deg_360(e.atan2(n).to_degrees());
    let el = u.atan2(horizontal).to_degrees();
    (az, el, horizontal.hypot(u))
}

/// ENU offset `[e, n, u]` of a compass azimuth, elevation (both degrees) and range (m):
/// `e = r·cos(el)·sin(az)`, `n = r·cos(el)·cos(az)`, `u = r·sin(el)`.
pub fn az_el_range_to_enu(az_deg: f64, el_deg: f64, range_m: f64) -> [f64; 3] {
    let (sin_az, cos_az) = az_deg.to_radians().sin_cos();
    let (sin_el, cos_el) = el_deg.to_radians().sin_cos();
    let horizontal = range_m * cos_el;
    [horizontal * sin_az, horizontal * cos_az, range_m * sin_el]
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn wrap_deg_360_values() {
        let cases = [
            (0.0, 0.0),
            (-0.0, 0.0),
            (360.0, 0.0),
            (-360.0, 0.0),
            (725.0, 5.0),
            (-90.0, 270.0),
            (359.5, 359.5),
            (-1e-20, 0.0),
        ];
        for (a, want) in cases {
            let got = wrap_deg_360(a);
            assert!(got == want && got.is_sign_positive(), "{a} -> {got}");
        }
        assert!(wrap_deg_360(f64::NAN).is_nan());
        assert!(wrap_deg_360(f64::INFINITY).is_nan());
    }

    #[test]
    fn wrap_pi_values() {
        assert_eq!(wrap_pi(PI), PI);
        assert_eq!(wrap_pi(-PI), PI);
        assert_eq!(wrap_pi(0.5), 0.5);
        assert_eq!(wrap_pi(1e-300), 1e-300);
        assert!((wrap_pi(3.0 * PI) - PI).abs() < 1e-12);
        assert!((wrap_pi(-1.5 * PI) - 0.5 * PI).abs() < 1e-12);
        assert!((wrap_pi(7.0) - (7.0 - TAU)).abs() < 1e-12);
        assert!(wrap_pi(f64::NAN).is_nan());
    }

    #[test]
    fn compass_convention() {
        let cases = [
            ([0.0, 10.0, 0.0], (0.0, 0.0, 10.0)),
            ([10.0, 0.0, 0.0], (90.0, 0.0, 10.0)),
            ([0.0, -10.0, 0.0], (180.0, 0.0, 10.0)),
            ([-10.0, 0.0, 0.0], (270.0, 0.0, 10.0)),
            ([0.0, 0.0, 5.0], (0.0, 90.0, 5.0)),
            ([0.0, 0.0, -5.0], (0.0, -90.0, 5.0)),
            ([3.0, 0.0, 4.0], (90.0, 4f64.atan2(3.0).to_degrees(), 5.0)),
            ([0.0, 0.0, 0.0], (0.0, 0.0, 0.0)),
        ];
        for (d, (az, el, r)) in cases {
            let got = enu_to_az_el_range(&d);
            assert!(
                (got.0 - az).abs() < 1e-12
                    && (got.1 - el).abs() < 1e-12
                    && (got.2 - r).abs() < 1e-12,
                "{d:?} -> {got:?}"
            );
        }
    }

    proptest! {
        #[test]
        fn wrap_deg_360_in_range(a in -1e6..1e6f64) {
            let w = wrap_deg_360(a);
            prop_assert!((0.0..360.0).contains(&w));
            let k = (a - w) / 360.0;
            prop_assert!((k - k.round()).abs() < 1e-9);
        }

        #[test]
        fn wrap_pi_in_range(a in -1e4..1e4f64) {
            let w = wrap_pi(a);
            prop_assert!(w > -PI && w <= PI);
            prop_assert!((w.sin() - a.sin()).abs() < 1e-9 && (w.cos() - a.cos()).abs() < 1e-9);
        }

        #[test]
        fn enu_az_el_range_round_trip(
            e in -1e5..1e5f64, n in -1e5..1e5f64, u in -1e5..1e5f64,
        ) {
            let (az, el, r) = enu_to_az_el_range(&[e, n, u]);
            prop_assert!((0.0..360.0).contains(&az) && (-90.0..=90.0).contains(&el) && r >= 0.0);
            let [e2, n2, u2] = az_el_range_to_enu(az, el, r);
            prop_assert!((e2 - e).abs() < 1e-6 && (n2 - n).abs() < 1e-6 && (u2 - u).abs() < 1e-6);
        }

        #[test]
        fn az_el_range_enu_round_trip(
            az in 0.0..360.0f64, el in -89.9..89.9f64, r in 1.0..1e5f64,
        ) {
            let (az2, el2, r2) = enu_to_az_el_range(&az_el_range_to_enu(az, el, r));
            let daz = wrap_deg_360(az2 - az + 180.0) - 180.0;
            prop_assert!(daz.abs() < 1e-9 && (el2 - el).abs() < 1e-9, "{} {} -> {} {}", az, el, az2, el2);
            prop_assert!((r2 - r).abs() < 1e-6 * r.max(1.0));
        }
    }
}
