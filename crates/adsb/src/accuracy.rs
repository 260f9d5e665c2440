//! Position uncertainty from what the aircraft says about its own navigation quality.
//!
//! ADS-B quality indicators are 95 % bounds (DO-260B §2.2.3.2.7.2): NACp is the accuracy
//! bound (EPU), NIC the integrity containment radius Rc (much looser), and the version 0
//! NUCp carries both. A [`dronewatch_model::Measurement`] wants one standard deviation, so a
//! horizontal 95 % radius is divided by [`K95_2D`] (circular Gaussian) and a vertical one by
//! 1.96.
//!
//! Precedence for the horizontal bound: NACp (operational status TC 31 or target state
//! TC 29, versions 1 and 2) > NUCp (version 0, from the type code) > NIC (from the type code,
//! the largest Rc the code allows without supplement bits) > [`DEFAULT_EPU_M`].

/// 95 % radius of a circular 2D Gaussian in standard deviations: `sqrt(-2 ln 0.05)`.
pub const K95_2D: f64 = 2.447_746_830_680_816;
/// 95 % half-width of a 1D Gaussian in standard deviations.
pub const K95_1D: f64 = 1.959_963_984_540_054;
/// Horizontal 95 % bound assumed when the aircraft says nothing usable: NACp 8 (EPU
/// < 0.05 NM), the minimum that 14 CFR 91.227(c)(1)(i) requires of ADS-B Out.
pub const DEFAULT_EPU_M: f64 = 92.6;
/// Vertical 95 % bound assumed for GNSS height without a GVA: GVA 2 (≤ 45 m).
pub const DEFAULT_GVA_M: f64 = 45.0;

const NM: f64 = 1852.0;

/// Where a horizontal bound came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HorizontalSource {
    NacP(u8),
    NucP(u8),
    Nic { type_code: u8 },
    Default,
}

/// NACp → estimated position uncertainty (EPU, 95 %), DO-260B Table 2-70. `None` for 0
/// (unknown) and the reserved 12..15.
pub fn nacp_epu_m(nac_p: u8) -> Option<f64> {
    Some(match nac_p {
        1 => 10.0 * NM,
        2 => 4.0 * NM,
        3 => 2.0 * NM,
        4 => NM,
        5 => 0.5 * NM,
        6 => 0.3 * NM,
        7 => 0.1 * NM,
        8 => 0.05 * NM,
        9 => 30.0,
        10 => 10.0,
        11 => 3.0,
        _ => return None,
    })
}

/// NUCp of a version 0 position message from its type code (airborne 9..18, 20..22;
/// surface 5..8).
pub fn nucp_from_type_code(type_code: u8) -> Option<u8> {
    match type_code {
        5..=8 => Some(14 - type_code),
        9..=18 => Some(18 - type_code),
        20 => Some(9),
        21 => Some(8),
        _ => None,
    }
}

/// NUCp → 95 % horizontal accuracy RCu (The 1090 MHz Riddle, "Position uncertainty").
pub fn nucp_accuracy_m(nuc_p: u8) -> Option<f64> {
    Some(match nuc_p {
        9 => 3.0,
        8 => 10.0,
        7 => 0.05 * NM,
        6 => 0.1 * NM,
        5 => 0.25 * NM,
        4 => 0.5 * NM,
        3 => NM,
        2 => 5.0 * NM,
        1 => 10.0 * NM,
        _ => return None,
    })
}

/// Largest containment radius Rc a position type code allows (versions 1 and 2, NIC
/// supplements unknown), DO-260B Tables 2-14 and 2-15.
pub fn nic_rc_from_type_code(type_code: u8) -> Option<f64> {
    Some(match type_code {
        // Surface
        5 => 7.5,
        6 => 25.0,
        7 => 0.1 * NM,
        // Airborne
        9 | 20 => 7.5,
        10 | 21 => 25.0,
        11 => 0.1 * NM,
        12 => 0.2 * NM,
        13 => 0.6 * NM,
        14 => NM,
        15 => 2.0 * NM,
        16 => 8.0 * NM,
        17 => 20.0 * NM,
        _ => return None,
    })
}

/// The horizontal 95 % bound and its source. `version` is the ADS-B version from TC 31
/// (or aircraft.json), `type_code` that of the position message.
pub fn horizontal_bound_95_m(
    nac_p: Option<u8>,
    version: Option<u8>,
    type_code: Option<u8>,
) -> (f64, HorizontalSource) {
    if let Some((n, epu)) = nac_p.and_then(|n| nacp_epu_m(n).map(|e| (n, e))) {
        return (epu, HorizontalSource::NacP(n));
    }
    if let Some(tc) = type_code {
        let nuc = nucp_from_type_code(tc).and_then(|n| nucp_accuracy_m(n).map(|r| (n, r)));
        if let (Some(0), Some((n, rcu))) = (version, nuc) {
            return (rcu, HorizontalSource::NucP(n));
        }
        if let Some(rc) = nic_rc_from_type_code(tc) {
            return (rc, HorizontalSource::Nic { type_code: tc });
        }
    }
    (DEFAULT_EPU_M, HorizontalSource::Default)
}

/// One-sigma horizontal error for a 95 % radius.
pub fn sigma_from_radius_95(bound_m: f64) -> f64 {
    bound_m / K95_2D
}

/// GVA → vertical 95 % bound (DO-260B §2.2.3.2.7.2.13): 1 → 150 m, 2 → 45 m.
pub fn gva_bound_m(gva: u8) -> Option<f64> {
    match gva {
        1 => Some(150.0),
        2 => Some(45.0),
        _ => None,
    }
}

/// One-sigma vertical error when pressure altitude stands in for geometric height.
///
/// Pressure altitude assumes the ISA atmosphere; the real height differs by the local
/// pressure (about 8 m per hPa off 1013.25, so ±20 hPa ≈ ±160 m) and by the temperature
/// deviation (about 4 % of height per 10 K), and heights here are ellipsoidal while
/// pressure altitude is roughly above mean sea level (geoid undulation −107..+85 m). We
/// take σ = 75 m + 3 % of the altitude: wide enough that fusion does not trust it, narrow
/// enough to separate a climbing airliner from a drone at 120 m.
pub fn sigma_baro_as_height_m(alt_m: f64) -> f64 {
    75.0 + 0.03 * alt_m.abs()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn k95_is_the_95_percent_radius() {
        // P(r <= k sigma) = 1 - exp(-k^2 / 2) for a circular Gaussian.
        let p = 1.0 - (-K95_2D * K95_2D / 2.0).exp();
        assert!((p - 0.95).abs() < 1e-12);
    }

    #[test]
    fn precedence_nacp_then_nucp_then_nic() {
        assert_eq!(
            horizontal_bound_95_m(Some(9), Some(2), Some(11)),
            (30.0, HorizontalSource::NacP(9))
        );
        // NACp 0 is "unknown": fall through to the type code.
        let (b, s) = horizontal_bound_95_m(Some(0), Some(2), Some(11));
        assert_eq!(s, HorizontalSource::Nic { type_code: 11 });
        assert!((b - 185.2).abs() < 1e-9);
        let (b, s) = horizontal_bound_95_m(None, Some(0), Some(11));
        assert_eq!(s, HorizontalSource::NucP(7));
        assert!((b - 92.6).abs() < 1e-9);
        assert_eq!(
            horizontal_bound_95_m(None, None, Some(18)),
            (DEFAULT_EPU_M, HorizontalSource::Default)
        );
        assert_eq!(
            horizontal_bound_95_m(None, None, None),
            (DEFAULT_EPU_M, HorizontalSource::Default)
        );
    }

    #[test]
    fn tables_are_monotonic() {
        let epus: Vec<f64> = (1..=11).filter_map(nacp_epu_m).collect();
        assert_eq!(epus.len(), 11);
        assert!(epus.windows(2).all(|w| w[0] > w[1]));
        let rcus: Vec<f64> = (1..=9).filter_map(nucp_accuracy_m).collect();
        assert!(rcus.windows(2).all(|w| w[0] > w[1]));
        let rcs: Vec<f64> = (9..=17).filter_map(nic_rc_from_type_code).collect();
        assert!(rcs.windows(2).all(|w| w[0] < w[1]));
    }
}
