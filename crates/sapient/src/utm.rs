//! UTM on WGS84 (SAPIENT `LOCATION_COORDINATE_SYSTEM_UTM_M`), with Krüger's series to third
//! order in the third flattening (about a millimetre within a zone).

use dronewatch_model::Lla;

const A_M: f64 = 6_378_137.0;
const F: f64 = 1.0 / 298.257_223_563;
const K0: f64 = 0.9996;
const FALSE_EASTING_M: f64 = 500_000.0;
const FALSE_NORTHING_SOUTH_M: f64 = 10_000_000.0;

/// A UTM zone: number 1–60 and hemisphere.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UtmZone {
    pub number: u8,
    pub north: bool,
}

impl UtmZone {
    /// Parses `30U`, `30N`, `30` (north assumed) or `30 U`. A trailing letter is read as an
    /// MGRS latitude band: C–M south of the equator, N–X north (so `30S` is band S, in the
    /// north, not "south").
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        let digits_end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
        let number: u8 = s.get(..digits_end)?.parse().ok()?;
        if !(1..=60).contains(&number) {
            return None;
        }
        let band = s.get(digits_end..)?.trim();
        let north = match band.as_bytes() {
            [] => true,
            [c] => match c.to_ascii_uppercase() {
                b'C'..=b'H' | b'J'..=b'M' => false,
                b'N' | b'P'..=b'X' => true,
                _ => return None,
            },
            _ => return None,
        };
        Some(Self { number, north })
    }

    /// The zone of a longitude (standard 6° zones; the Norway/Svalbard exceptions ignored).
    pub fn of(lat_deg: f64, lon_deg: f64) -> Self {
        let lon = (lon_deg + 180.0).rem_euclid(360.0);
        let number = ((lon / 6.0).floor() as u8).min(59) + 1;
        Self {
            number,
            north: lat_deg >= 0.0,
        }
    }

    pub fn central_meridian_deg(self) -> f64 {
        f64::from(self.number) * 6.0 - 183.0
    }
}

struct Series {
    a_rect: f64,
    alpha: [f64; 3],
    beta: [f64; 3],
    delta: [f64; 3],
    n: f64,
}

fn series() -> Series {
    let n = F / (2.0 - F);
    let (n2, n3) = (n * n, n * n * n);
    Series {
        a_rect: A_M / (1.0 + n) * (1.0 + n2 / 4.0 + n2 * n2 / 64.0),
        alpha: [
            n / 2.0 - 2.0 * n2 / 3.0 + 5.0 * n3 / 16.0,
            13.0 * n2 / 48.0 - 3.0 * n3 / 5.0,
            61.0 * n3 / 240.0,
        ],
        beta: [
            n / 2.0 - 2.0 * n2 / 3.0 + 37.0 * n3 / 96.0,
            n2 / 48.0 + n3 / 15.0,
            17.0 * n3 / 480.0,
        ],
        delta: [
            2.0 * n - 2.0 * n2 / 3.0 - 2.0 * n3,
            7.0 * n2 / 3.0 - 8.0 * n3 / 5.0,
            56.0 * n3 / 15.0,
        ],
        n,
    }
}

/// Easting and northing (m) to latitude and longitude (degrees); height is passed through.
pub fn utm_to_lla(zone: UtmZone, easting_m: f64, northing_m: f64, h_m: f64) -> Lla {
    let s = series();
    let n0 = if zone.north {
        0.0
    } else {
        FALSE_NORTHING_SOUTH_M
    };
    let xi = (northing_m - n0) / (K0 * s.a_rect);
    let eta = (easting_m - FALSE_EASTING_M) / (K0 * s.a_rect);
    let mut xi_p = xi;
    let mut eta_p = eta;
    for (j, b) in s.beta.iter().enumerate() {
        let k = 2.0 * (j as f64 + 1.0);
        xi_p -= b * (k * xi).sin() * (k * eta).cosh();
        eta_p -= b * (k * xi).cos() * (k * eta).sinh();
    }
    let chi = (xi_p.sin() / eta_p.cosh()).asin();
    let mut phi = chi;
    for (j, d) in s.delta.iter().enumerate() {
        phi += d * (2.0 * (j as f64 + 1.0) * chi).sin();
    }
    let lambda = eta_p.sinh().atan2(xi_p.cos());
    let lon = zone.central_meridian_deg() + lambda.to_degrees();
    let lon = if lon > 180.0 {
        lon - 360.0
    } else if lon <= -180.0 {
        lon + 360.0
    } else {
        lon
    };
    Lla::new(phi.to_degrees(), lon, h_m)
}

/// Latitude and longitude (degrees) to (easting, northing) in metres within `zone`.
pub fn lla_to_utm(zone: UtmZone, p: &Lla) -> (f64, f64) {
    let s = series();
    let phi = p.lat_deg.to_radians();
    let dl = (p.lon_deg - zone.central_meridian_deg()).to_radians();
    let c = 2.0 * s.n.sqrt() / (1.0 + s.n);
    let t = (phi.sin().atanh() - c * (c * phi.sin()).atanh()).sinh();
    let xi_p = t.atan2(dl.cos());
    let eta_p = (dl.sin() / (1.0 + t * t).sqrt()).atanh();
    let mut xi = xi_p;
    let mut eta = eta_p;
    for (j, a) in s.alpha.iter().enumerate() {
        let k = 2.0 * (j as f64 + 1.0);
        xi += a * (k * xi_p).sin() * (k * eta_p).cosh();
        eta += a * (k * xi_p).cos() * (k * eta_p).sinh();
    }
    let n0 = if zone.north {
        0.0
    } else {
        FALSE_NORTHING_SOUTH_M
    };
    (
        FALSE_EASTING_M + K0 * s.a_rect * eta,
        n0 + K0 * s.a_rect * xi,
    )
}

/// Grid convergence (degrees) at a point: the angle from true north to grid north, positive
/// when grid north lies east of true north (points east of the central meridian, in the
/// northern hemisphere). A bearing from grid north plus this gives a bearing from true north.
pub fn grid_convergence_deg(zone: UtmZone, p: &Lla) -> f64 {
    let dl = (p.lon_deg - zone.central_meridian_deg()).to_radians();
    (dl.tan() * p.lat_deg.to_radians().sin())
        .atan()
        .to_degrees()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zones_parse() {
        assert_eq!(
            UtmZone::parse("30U"),
            Some(UtmZone {
                number: 30,
                north: true
            })
        );
        assert_eq!(UtmZone::parse("30N").map(|z| z.north), Some(true));
        assert_eq!(UtmZone::parse("18 H").map(|z| z.north), Some(false));
        assert_eq!(UtmZone::parse("61U"), None);
        assert_eq!(UtmZone::parse("30I"), None);
        assert_eq!(UtmZone::parse("U30"), None);
        assert_eq!(UtmZone::parse(""), None);
        assert_eq!(UtmZone::of(51.2, -1.8).number, 30);
        assert_eq!(UtmZone::of(51.2, -1.8).central_meridian_deg(), -3.0);
        assert_eq!(UtmZone::of(-33.9, 151.2).number, 56);
        assert_eq!(UtmZone::of(10.0, 180.0).number, 1);
    }

    #[test]
    fn false_origin_is_the_equator_on_the_central_meridian() {
        let zone = UtmZone::parse("30N").unwrap_or(UtmZone {
            number: 30,
            north: true,
        });
        let p = utm_to_lla(zone, 500_000.0, 0.0, 0.0);
        assert!(
            p.lat_deg.abs() < 1e-12 && (p.lon_deg + 3.0).abs() < 1e-12,
            "{p:?}"
        );
    }

    #[test]
    fn round_trips_across_a_zone() {
        for zone in [
            UtmZone {
                number: 30,
                north: true,
            },
            UtmZone {
                number: 56,
                north: false,
            },
        ] {
            let cm = zone.central_meridian_deg();
            let lats: &[f64] = if zone.north {
                &[0.5, 30.0, 51.17, 70.0, 83.0]
            } else {
                &[-0.5, -33.9, -60.0, -79.0]
            };
            for &lat in lats {
                for dlon in [-3.0, -1.2, 0.0, 0.7, 3.0] {
                    let p = Lla::new(lat, cm + dlon, 12.0);
                    let (e, n) = lla_to_utm(zone, &p);
                    let q = utm_to_lla(zone, e, n, 12.0);
                    // 1e-8 degrees is about a millimetre.
                    assert!((q.lat_deg - p.lat_deg).abs() < 1e-8, "{p:?} {q:?}");
                    assert!((q.lon_deg - p.lon_deg).abs() < 1e-8, "{p:?} {q:?}");
                }
            }
        }
    }

    #[test]
    fn convergence_signs() {
        let zone = UtmZone {
            number: 30,
            north: true,
        };
        assert!(grid_convergence_deg(zone, &Lla::new(51.0, -1.0, 0.0)) > 0.0);
        assert!(grid_convergence_deg(zone, &Lla::new(51.0, -5.0, 0.0)) < 0.0);
        assert_eq!(grid_convergence_deg(zone, &Lla::new(51.0, -3.0, 0.0)), 0.0);
    }
}
