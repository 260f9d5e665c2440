//! The WGS84 ellipsoid and geodetic ↔ ECEF conversions (spec: FORMAT.md "ENU <-> WGS84").

use dronewatch_model::Lla;

/// WGS84 semi-major axis (equatorial radius), in metres.
pub const WGS84_A_M: f64 = 6_378_137.0;
/// WGS84 flattening.
pub const WGS84_F: f64 = 1.0 / 298.257_223_563;
/// WGS84 first eccentricity squared, `e² = f·(2 − f)`.
pub const WGS84_E2: f64 = WGS84_F * (2.0 - WGS84_F);
/// WGS84 semi-minor axis (polar radius) `b = a·(1 − f)`, in metres.
pub const WGS84_B_M: f64 = WGS84_A_M * (1.0 - WGS84_F);

/// Iterations of the latitude fixed point in [`ecef_to_lla`]; the spec uses 6, which is
/// already sub-nanometre near the surface, and each one more only tightens the result.
const LAT_ITERATIONS: usize = 8;

/// Earth-centred, Earth-fixed Cartesian coordinates, in metres: x towards (0°, 0°), y towards
/// (0°, 90°E), z towards the north pole.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ecef {
    pub x_m: f64,
    pub y_m: f64,
    pub z_m: f64,
}

impl Ecef {
    pub const fn new(x_m: f64, y_m: f64, z_m: f64) -> Self {
        Self { x_m, y_m, z_m }
    }

    /// Straight-line (chord) distance to `other`, in metres.
    pub fn distance(&self, other: &Ecef) -> f64 {
        let (dx, dy, dz) = (
            self.x_m - other.x_m,
            self.y_m - other.y_m,
            self.z_m - other.z_m,
        );
        (dx * dx + dy * dy + dz * dz).sqrt()
    }
}

/// Prime-vertical radius of curvature `N(φ) = a / sqrt(1 − e²·sin²φ)`.
fn prime_vertical_radius(sin_lat: f64) -> f64 {
    WGS84_A_M / (1.0 - WGS84_E2 * sin_lat * sin_lat).sqrt()
}

/// Geodetic → ECEF: `x = (N+h)·cosφ·cosλ`, `y = (N+h)·cosφ·sinλ`, `z = (N·(1−e²)+h)·sinφ`.
pub fn lla_to_ecef(p: &Lla) -> Ecef {
    let (sin_lat, cos_lat) = p.lat_deg.to_radians().sin_cos();
    let (sin_lon, cos_lon) = p.lon_deg.to_radians().sin_cos();
    let n = prime_vertical_radius(sin_lat);
    Ecef {
        x_m: (n + p.h_m) * cos_lat * cos_lon,
        y_m: (n + p.h_m) * cos_lat * sin_lon,
        z_m: (n * (1.0 - WGS84_E2) + p.h_m) * sin_lat,
    }
}

/// ECEF → geodetic, latitude in [−90, 90], longitude in (−180, 180].
///
/// The spec's fixed point `h = p/cosφ − N`, `φ = atan2(z, p·(1 − e²·N/(N+h)))` is used in
/// its equivalent division-free form `φ = atan2(z, p − e²·N·cosφ)` (since `N+h = p/cosφ`),
/// which stays finite at the poles (`p = 0`). The height is then the projection onto the
/// normal, `h = p·cosφ + z·sinφ − a²/N`, equal to the spec's `p/cosφ − N` (and to
/// `z/sinφ − N·(1−e²)`) at the solution but well conditioned at every latitude.
///
/// Deep inside the Earth (within ~e²·a ≈ 43 km of the axis and the equatorial plane) the
/// geodetic latitude is not unique; there the result is finite but arbitrary among the
/// candidates. The centre maps to (0°, 0°, −a).
pub fn ecef_to_lla(p: &Ecef) -> Lla {
    let Ecef {
        x_m: x,
        y_m: y,
        z_m: z,
    } = *p;
    let lon = y.atan2(x);
    let r = x.hypot(y);
    let mut lat = z.atan2(r * (1.0 - WGS84_E2));
    for _ in 0..LAT_ITERATIONS {
        let (sin_lat, cos_lat) = lat.sin_cos();
        let n = prime_vertical_radius(sin_lat);
        // Clamp keeps |φ| ≤ 90° inside the evolute, where the denominator can turn negative.
        lat = z.atan2((r - WGS84_E2 * n * cos_lat).max(0.0));
    }
    let (sin_lat, cos_lat) = lat.sin_cos();
    let h = r * cos_lat + z * sin_lat - WGS84_A_M * WGS84_A_M / prime_vertical_radius(sin_lat);
    Lla::new(
        lat.to_degrees().clamp(-90.0, 90.0),
        wrap_lon_deg(lon.to_degrees()),
        h,
    )
}

/// Map a longitude already in [−180, 180] (as from `atan2`) to (−180, 180].
fn wrap_lon_deg(lon: f64) -> f64 {
    if lon <= -180.0 {
        lon + 360.0
    } else {
        lon.min(180.0)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Round-trip tolerance: the requirement is < 1 mm; errors observed are ~5 nm.
    pub(crate) const ROUND_TRIP_TOL_M: f64 = 1e-6;

    fn assert_ecef_near(got: Ecef, want: Ecef, tol_m: f64) {
        let d = got.distance(&want);
        assert!(d <= tol_m, "{got:?} vs {want:?}: {d} m apart");
    }

    #[test]
    fn constants() {
        assert!((WGS84_E2 - 0.006_694_379_990_141_316_5).abs() < 1e-18);
        assert!((WGS84_B_M - 6_356_752.314_245_179).abs() < 1e-6);
    }

    #[test]
    fn known_ecef_values() {
        let a = WGS84_A_M;
        let cases = [
            (Lla::new(0.0, 0.0, 0.0), Ecef::new(a, 0.0, 0.0)),
            (Lla::new(0.0, 90.0, 0.0), Ecef::new(0.0, a, 0.0)),
            (Lla::new(0.0, 180.0, 0.0), Ecef::new(-a, 0.0, 0.0)),
            (Lla::new(0.0, -90.0, 100.0), Ecef::new(0.0, -a - 100.0, 0.0)),
            (Lla::new(90.0, 0.0, 0.0), Ecef::new(0.0, 0.0, WGS84_B_M)),
            (
                Lla::new(-90.0, 123.0, 10.0),
                Ecef::new(0.0, 0.0, -WGS84_B_M - 10.0),
            ),
            // Values from the spec's formulas (geo.py), computed independently.
            (
                Lla::new(51.2, -1.8, 100.0),
                Ecef::new(
                    4_002_801.275_476_672,
                    -125_793.097_801_795_2,
                    4_947_594.748_758_728,
                ),
            ),
            (
                Lla::new(-33.8688, 151.2093, 58.0),
                Ecef::new(
                    -4_646_093.477_288_303,
                    2_553_229.535_817_071_3,
                    -3_534_404.710_910_369,
                ),
            ),
            (
                Lla::new(45.0, -180.0, 1000.0),
                Ecef::new(-4_518_297.985_630_118, 0.0, 4_488_055.515_647_106),
            ),
        ];
        for (lla, want) in cases {
            assert_ecef_near(lla_to_ecef(&lla), want, 1e-6);
            let back = ecef_to_lla(&want);
            assert_ecef_near(lla_to_ecef(&back), want, 1e-6);
            assert!((back.h_m - lla.h_m).abs() < 1e-6, "{lla:?} -> {back:?}");
            assert!(
                (back.lat_deg - lla.lat_deg).abs() < 1e-11,
                "{lla:?} -> {back:?}"
            );
        }
    }

    #[test]
    fn poles_and_longitude_range() {
        let north = ecef_to_lla(&Ecef::new(0.0, 0.0, WGS84_B_M + 5.0));
        assert_eq!(north.lat_deg, 90.0);
        assert!((north.h_m - 5.0).abs() < 1e-9);
        let south = ecef_to_lla(&Ecef::new(0.0, 0.0, -WGS84_B_M));
        assert_eq!(south.lat_deg, -90.0);
        assert!(south.h_m.abs() < 1e-9);
        // atan2(-0, -x) = -180°, reported as +180°.
        let anti = ecef_to_lla(&Ecef::new(-WGS84_A_M, -0.0, 0.0));
        assert_eq!(anti.lon_deg, 180.0);
        assert!(anti.h_m.abs() < 1e-9);
    }

    #[test]
    fn earth_centre_and_interior_are_finite() {
        let c = ecef_to_lla(&Ecef::new(0.0, 0.0, 0.0));
        assert_eq!((c.lat_deg, c.lon_deg), (0.0, 0.0));
        assert!((c.h_m + WGS84_A_M).abs() < 1e-6);
        for (x, y, z) in [
            (1.0, 0.0, 0.0),
            (0.0, 0.0, 1.0),
            (1e3, -2e3, 1e3),
            (4e4, 0.0, 10.0),
        ] {
            let p = ecef_to_lla(&Ecef::new(x, y, z));
            assert!(
                p.is_valid() && p.lon_deg > -180.0 && p.lon_deg <= 180.0,
                "{p:?}"
            );
        }
    }

    /// Latitudes over the whole range, with extra weight on exactly ±90 and within 1e-9 of it.
    pub(crate) fn any_lat() -> impl Strategy<Value = f64> {
        prop_oneof![
            4 => -90.0..=90.0f64,
            1 => Just(90.0),
            1 => Just(-90.0),
            1 => (0.0..=1e-9f64).prop_map(|d| 90.0 - d),
            1 => (0.0..=1e-9f64).prop_map(|d| d - 90.0),
        ]
    }

    /// Longitudes over [−180, 180], with extra weight on the antimeridian.
    pub(crate) fn any_lon() -> impl Strategy<Value = f64> {
        prop_oneof![
            4 => -180.0..=180.0f64,
            1 => Just(180.0),
            1 => Just(-180.0),
            1 => (0.0..=1e-9f64).prop_map(|d| 180.0 - d),
            1 => (0.0..=1e-9f64).prop_map(|d| d - 180.0),
        ]
    }

    pub(crate) fn any_lla() -> impl Strategy<Value = Lla> {
        (any_lat(), any_lon(), -500.0..=20_000.0f64).prop_map(|(a, o, h)| Lla::new(a, o, h))
    }

    /// The spec's algorithm verbatim (FORMAT.md / geo.py `ecef2lla`, 6 iterations).
    fn spec_ecef_to_lla(p: &Ecef) -> Lla {
        let n_of = |lat: f64| prime_vertical_radius(lat.sin());
        let (x, y, z) = (p.x_m, p.y_m, p.z_m);
        let r = x.hypot(y);
        let mut lat = z.atan2(r * (1.0 - WGS84_E2));
        for _ in 0..6 {
            let n = n_of(lat);
            let h = r / lat.cos() - n;
            lat = z.atan2(r * (1.0 - WGS84_E2 * n / (n + h)));
        }
        Lla::new(
            lat.to_degrees(),
            y.atan2(x).to_degrees(),
            r / lat.cos() - n_of(lat),
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4096))]

        #[test]
        fn lla_ecef_round_trip(p in any_lla()) {
            let e = lla_to_ecef(&p);
            let q = ecef_to_lla(&e);
            prop_assert!(q.is_valid());
            prop_assert!(q.lon_deg > -180.0 && q.lon_deg <= 180.0, "{:?}", q);
            prop_assert!((q.h_m - p.h_m).abs() < ROUND_TRIP_TOL_M, "{:?} -> {:?}", p, q);
            prop_assert!((q.lat_deg - p.lat_deg).abs() < 1e-9, "{:?} -> {:?}", p, q);
            // Longitude compared through position: ±180 are the same meridian, and at the
            // poles longitude is arbitrary.
            let d = lla_to_ecef(&q).distance(&e);
            prop_assert!(d < ROUND_TRIP_TOL_M, "{:?} -> {:?}: {} m", p, q, d);
        }

        #[test]
        fn agrees_with_spec_reference(
            lat in -89.9..=89.9f64, lon in -179.9..=179.9f64, h in -500.0..=20_000.0f64,
        ) {
            let e = lla_to_ecef(&Lla::new(lat, lon, h));
            let (ours, spec) = (ecef_to_lla(&e), spec_ecef_to_lla(&e));
            prop_assert!((ours.lat_deg - spec.lat_deg).abs() < 1e-12, "{:?} {:?}", ours, spec);
            prop_assert!((ours.lon_deg - spec.lon_deg).abs() < 1e-12, "{:?} {:?}", ours, spec);
            prop_assert!((ours.h_m - spec.h_m).abs() < 1e-6, "{:?} {:?}", ours, spec);
        }
    }
}
