//! Local East-North-Up tangent frames (spec: FORMAT.md "ENU <-> WGS84").

use dronewatch_model::Lla;

use crate::ecef::{Ecef, ecef_to_lla, lla_to_ecef};

/// Local East-North-Up frame tangent at a reference point: origin at the reference, E and N
/// tangent to the ellipsoid there, U along the ellipsoid normal.
#[derive(Debug, Clone, Copy)]
pub struct EnuFrame {
    reference: Lla,
    origin: Ecef,
    sin_lat0: f64,
    cos_lat0: f64,
    sin_lon0: f64,
    cos_lon0: f64,
}

impl EnuFrame {
    pub fn new(reference: Lla) -> Self {
        let (sin_lat0, cos_lat0) = reference.lat_deg.to_radians().sin_cos();
        let (sin_lon0, cos_lon0) = reference.lon_deg.to_radians().sin_cos();
        Self {
            reference,
            origin: lla_to_ecef(&reference),
            sin_lat0,
            cos_lat0,
            sin_lon0,
            cos_lon0,
        }
    }

    /// The reference point (the frame's origin), as given to [`EnuFrame::new`].
    pub fn reference(&self) -> Lla {
        self.reference
    }

    /// `[e, n, u]` (metres) of a geodetic position.
    pub fn to_enu(&self, p: &Lla) -> [f64; 3] {
        self.ecef_to_enu(&lla_to_ecef(p))
    }

    /// Geodetic position of an `[e, n, u]` offset (metres).
    pub fn to_lla(&self, enu: &[f64; 3]) -> Lla {
        ecef_to_lla(&self.enu_to_ecef(enu))
    }

    /// `d = p − ecef(ref)`, rotated by the matrix whose rows are E, N, U in ECEF:
    /// `e = −sinλ0·dx + cosλ0·dy`,
    /// `n = −sinφ0·cosλ0·dx − sinφ0·sinλ0·dy + cosφ0·dz`,
    /// `u = cosφ0·cosλ0·dx + cosφ0·sinλ0·dy + sinφ0·dz`.
    pub fn ecef_to_enu(&self, p: &Ecef) -> [f64; 3] {
        let (dx, dy, dz) = (
            p.x_m - self.origin.x_m,
            p.y_m - self.origin.y_m,
            p.z_m - self.origin.z_m,
        );
        let (sf, cf, sl, cl) = (self.sin_lat0, self.cos_lat0, self.sin_lon0, self.cos_lon0);
        [
            -sl * dx + cl * dy,
            -sf * cl * dx - sf * sl * dy + cf * dz,
            cf * cl * dx + cf * sl * dy + sf * dz,
        ]
    }

    /// The transpose rotation of [`EnuFrame::ecef_to_enu`], plus `ecef(ref)`.
    pub fn enu_to_ecef(&self, enu: &[f64; 3]) -> Ecef {
        let [e, n, u] = *enu;
        let (sf, cf, sl, cl) = (self.sin_lat0, self.cos_lat0, self.sin_lon0, self.cos_lon0);
        Ecef {
            x_m: self.origin.x_m - sl * e - sf * cl * n + cf * cl * u,
            y_m: self.origin.y_m + cl * e - sf * sl * n + cf * sl * u,
            z_m: self.origin.z_m + cf * n + sf * u,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ecef::WGS84_E2;
    use crate::ecef::tests::{ROUND_TRIP_TOL_M, any_lla};
    use crate::geodesic::geodesic_direct;
    use proptest::prelude::*;

    fn norm(v: [f64; 3]) -> f64 {
        v.iter().map(|c| c * c).sum::<f64>().sqrt()
    }

    fn diff(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
        [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
    }

    #[test]
    fn reference_is_origin() {
        let r = Lla::new(51.2, -1.8, 100.0);
        let f = EnuFrame::new(r);
        assert_eq!(f.reference(), r);
        assert!(norm(f.to_enu(&r)) < 1e-9);
        let back = f.to_lla(&[0.0, 0.0, 0.0]);
        assert!(lla_to_ecef(&back).distance(&lla_to_ecef(&r)) < 1e-9);
    }

    #[test]
    fn straight_up_is_u() {
        let r = Lla::new(51.2, -1.8, 100.0);
        let enu = EnuFrame::new(r).to_enu(&Lla::new(51.2, -1.8, 350.0));
        assert!(norm(diff(enu, [0.0, 0.0, 250.0])) < 1e-9, "{enu:?}");
    }

    #[test]
    fn one_km_north_and_east() {
        // On the ellipsoid (h = 0) so that 1 km of geodesic is 1 km of arc at the reference.
        let r = Lla::new(51.2, -1.8, 0.0);
        let f = EnuFrame::new(r);
        let w = 1.0 - WGS84_E2 * 51.2f64.to_radians().sin().powi(2);
        // Meridian radius M and prime-vertical radius N at the reference.
        let m = crate::WGS84_A_M * (1.0 - WGS84_E2) / w.powf(1.5);
        let n = crate::WGS84_A_M / w.sqrt();

        // 1 km along the meridian: n ≈ 1000 m (the chord, ~4 µm shorter), u ≈ −s²/(2M).
        let [e, nn, u] = f.to_enu(&geodesic_direct(&r, 0.0, 1000.0));
        assert!(e.abs() < 1e-9, "{e}");
        assert!((nn - 1000.0).abs() < 1e-4, "{nn}");
        assert!((u + 1e6 / (2.0 * m)).abs() < 1e-4, "{u}");

        // 1 km due east along the geodesic: e ≈ 1000 m, u ≈ −s²/(2N).
        let [e, nn, u] = f.to_enu(&geodesic_direct(&r, 90.0, 1000.0));
        assert!((e - 1000.0).abs() < 1e-4, "{e}");
        assert!(nn.abs() < 1e-3, "{nn}");
        assert!((u + 1e6 / (2.0 * n)).abs() < 1e-4, "{u}");

        // Raised 100 m: the same offsets grow by (R + h)/R.
        let p = geodesic_direct(&r, 0.0, 1000.0);
        let [_, nn, u] = f.to_enu(&Lla::new(p.lat_deg, p.lon_deg, 100.0));
        assert!((nn - 1000.0 * (m + 100.0) / m).abs() < 1e-4, "{nn}");
        assert!((u - 100.0 + 1e6 / (2.0 * m)).abs() < 1e-4, "{u}");
    }

    #[test]
    fn at_the_north_pole_north_points_along_minus_lon0() {
        // At (90°, 0°) the N axis points away from lon 0 towards lon 180°, E towards lon 90°.
        let f = EnuFrame::new(Lla::new(90.0, 0.0, 0.0));
        let p = f.to_lla(&[0.0, 1000.0, 0.0]);
        assert_eq!(p.lon_deg, 180.0);
        let q = f.to_lla(&[1000.0, 0.0, 0.0]);
        assert!((q.lon_deg - 90.0).abs() < 1e-9, "{q:?}");
    }

    fn enu_offset() -> impl Strategy<Value = [f64; 3]> {
        let c = || -50_000.0..=50_000.0f64;
        (c(), c(), c()).prop_map(|(e, n, u)| [e, n, u])
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4096))]

        #[test]
        fn enu_lla_enu_round_trip(r in any_lla(), d in enu_offset()) {
            let f = EnuFrame::new(r);
            let p = f.to_lla(&d);
            prop_assert!(p.is_valid() && p.lon_deg > -180.0 && p.lon_deg <= 180.0, "{:?}", p);
            let back = f.to_enu(&p);
            prop_assert!(norm(diff(back, d)) < ROUND_TRIP_TOL_M, "{:?} {:?} -> {:?} -> {:?}", r, d, p, back);
        }

        #[test]
        fn lla_enu_lla_round_trip(r in any_lla(), p in any_lla()) {
            let f = EnuFrame::new(r);
            let q = f.to_lla(&f.to_enu(&p));
            prop_assert!((q.h_m - p.h_m).abs() < ROUND_TRIP_TOL_M, "{:?} -> {:?}", p, q);
            let d = lla_to_ecef(&q).distance(&lla_to_ecef(&p));
            prop_assert!(d < ROUND_TRIP_TOL_M, "{:?} -> {:?}: {} m", p, q, d);
        }

        #[test]
        fn rotation_preserves_length(r in any_lla(), d in enu_offset()) {
            let f = EnuFrame::new(r);
            let e = f.enu_to_ecef(&d);
            prop_assert!((f.origin.distance(&e) - norm(d)).abs() < 1e-6);
        }
    }
}
