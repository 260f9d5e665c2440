//! Geodesics on the WGS84 ellipsoid (Karney's algorithms, via `geographiclib-rs`).

use dronewatch_model::Lla;
use geographiclib_rs::{DirectGeodesic, Geodesic as Karney, InverseGeodesic};

use crate::angle::wrap_deg_360;

/// The shortest path between two points on the WGS84 ellipsoid.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Geodesic {
    /// Length of the geodesic, in metres.
    pub distance_m: f64,
    /// Azimuth at the start, degrees clockwise from true north, in [0, 360).
    pub initial_bearing_deg: f64,
    /// Forward azimuth at the end, degrees clockwise from true north, in [0, 360).
    pub final_bearing_deg: f64,
}

/// Shortest path from `from` to `to` on the ellipsoid; heights are ignored. At a pole the
/// bearings follow GeographicLib's convention (the limit along the given longitude).
pub fn geodesic_inverse(from: &Lla, to: &Lla) -> Geodesic {
    let (s12, azi1, azi2, _a12): (f64, f64, f64, f64) =
        Karney::wgs84().inverse(from.lat_deg, from.lon_deg, to.lat_deg, to.lon_deg);
    Geodesic {
        distance_m: s12,
        initial_bearing_deg: wrap_deg_360(azi1),
        final_bearing_deg: wrap_deg_360(azi2),
    }
}

/// The point `distance_m` along the geodesic leaving `from` at `bearing_deg` (clockwise
/// from north; a negative distance goes backwards). Keeps `from.h_m`; longitude in
/// (−180, 180].
pub fn geodesic_direct(from: &Lla, bearing_deg: f64, distance_m: f64) -> Lla {
    let (lat, lon): (f64, f64) =
        Karney::wgs84().direct(from.lat_deg, from.lon_deg, bearing_deg, distance_m);
    let lon = if lon <= -180.0 { lon + 360.0 } else { lon };
    Lla::new(lat, lon, from.h_m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ecef::lla_to_ecef;
    use crate::ecef::tests::any_lla;
    use proptest::prelude::*;

    fn near(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    /// Difference of two bearings in degrees, in [−180, 180).
    fn bearing_diff(a: f64, b: f64) -> f64 {
        wrap_deg_360(a - b + 180.0) - 180.0
    }

    #[test]
    fn one_degree_of_latitude_at_the_equator() {
        let g = geodesic_inverse(&Lla::new(0.0, 0.0, 0.0), &Lla::new(1.0, 0.0, 500.0));
        assert!(near(g.distance_m, 110_574.389, 1e-3), "{g:?}");
        assert_eq!((g.initial_bearing_deg, g.final_bearing_deg), (0.0, 0.0));
    }

    #[test]
    fn one_degree_of_longitude_at_the_equator() {
        // Along the equator: a·Δλ.
        let g = geodesic_inverse(&Lla::new(0.0, 10.0, 0.0), &Lla::new(0.0, 11.0, 0.0));
        assert!(
            near(g.distance_m, crate::WGS84_A_M * 1f64.to_radians(), 1e-6),
            "{g:?}"
        );
        assert!(near(g.initial_bearing_deg, 90.0, 1e-9) && near(g.final_bearing_deg, 90.0, 1e-9));
    }

    #[test]
    fn jfk_to_lhr() {
        // GeodSolve's documented example: `echo 40.6 -73.8 51.6 -0.5 | GeodSolve -i`
        // gives azi1 51.198882845, azi2 107.821776735, s12 5551759.400.
        let g = geodesic_inverse(&Lla::new(40.6, -73.8, 0.0), &Lla::new(51.6, -0.5, 0.0));
        assert!(near(g.distance_m, 5_551_759.400, 1e-3), "{g:?}");
        assert!(near(g.initial_bearing_deg, 51.198_882_845, 1e-9), "{g:?}");
        assert!(near(g.final_bearing_deg, 107.821_776_735, 1e-9), "{g:?}");
    }

    #[test]
    fn direct_known_point() {
        // geographiclib-rs's documented example: 10 000 km north-east of JFK.
        let p = geodesic_direct(&Lla::new(40.64, -73.78, 42.0), 45.0, 10e6);
        assert!(near(p.lat_deg, 32.621_100_463_725_796, 1e-12), "{p:?}");
        assert!(near(p.lon_deg, 49.052_487_092_959_836, 1e-12), "{p:?}");
        assert_eq!(p.h_m, 42.0);
    }

    #[test]
    fn across_the_antimeridian_and_westwards() {
        let g = geodesic_inverse(&Lla::new(0.0, 179.5, 0.0), &Lla::new(0.0, -179.5, 0.0));
        assert!(
            near(g.distance_m, crate::WGS84_A_M * 1f64.to_radians(), 1e-6),
            "{g:?}"
        );
        assert!(near(g.initial_bearing_deg, 90.0, 1e-9), "{g:?}");
        let g = geodesic_inverse(&Lla::new(0.0, 1.0, 0.0), &Lla::new(0.0, 0.0, 0.0));
        assert!(near(g.initial_bearing_deg, 270.0, 1e-9), "{g:?}");
        let p = geodesic_direct(&Lla::new(0.0, -179.5, 0.0), 270.0, g.distance_m);
        assert!(
            near(p.lon_deg, 179.5, 1e-9) && near(p.lat_deg, 0.0, 1e-9),
            "{p:?}"
        );
    }

    #[test]
    fn coincident_points() {
        let p = Lla::new(51.2, -1.8, 100.0);
        let g = geodesic_inverse(&p, &p);
        assert_eq!(g.distance_m, 0.0);
        assert!((0.0..360.0).contains(&g.initial_bearing_deg));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1024))]

        #[test]
        fn symmetric_and_bearings_in_range(a in any_lla(), b in any_lla()) {
            let ab = geodesic_inverse(&a, &b);
            let ba = geodesic_inverse(&b, &a);
            prop_assert!(near(ab.distance_m, ba.distance_m, 1e-6), "{:?} {:?}", ab, ba);
            for g in [ab, ba] {
                prop_assert!((0.0..360.0).contains(&g.initial_bearing_deg), "{:?}", g);
                prop_assert!((0.0..360.0).contains(&g.final_bearing_deg), "{:?}", g);
                prop_assert!(g.distance_m >= 0.0 && g.distance_m < 20_004_000.0, "{:?}", g);
            }
        }

        #[test]
        fn direct_then_inverse(
            a in any_lla(), bearing in 0.0..360.0f64, dist in 1.0..19_000_000.0f64,
        ) {
            let b = geodesic_direct(&a, bearing, dist);
            prop_assert!(b.is_valid() && b.lon_deg > -180.0 && b.lon_deg <= 180.0, "{:?}", b);
            prop_assert_eq!(b.h_m, a.h_m);
            let g = geodesic_inverse(&a, &b);
            prop_assert!(near(g.distance_m, dist, 1e-3), "{:?} -> {:?}: {:?}", a, b, g);
            // Off the poles the initial bearing is recovered too (unless the path is one of
            // several equally short ones, i.e. nearly antipodal).
            if a.lat_deg.abs() < 89.0 && dist < 19_000_000.0 - 1e5 {
                let d = bearing_diff(g.initial_bearing_deg, bearing);
                prop_assert!(d.abs() < 1e-6, "{} vs {}", g.initial_bearing_deg, bearing);
            }
        }

        #[test]
        fn inverse_then_direct(a in any_lla(), b in any_lla()) {
            let g = geodesic_inverse(&a, &b);
            let c = geodesic_direct(&a, g.initial_bearing_deg, g.distance_m);
            let mut b0 = b;
            b0.h_m = a.h_m;
            let d = lla_to_ecef(&c).distance(&lla_to_ecef(&b0));
            prop_assert!(d < 1e-3, "{:?} -> {:?}: {:?} {} m", a, b, c, d);
        }
    }
}
