//! Tracker parameters. Defaults were tuned on development scenarios (seeds 101 and 102 of
//! the shared benchmark), never on the evaluation seeds.

use crate::imm::ImmParams;

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrackerConfig {
    pub imm: ImmParams,
    /// How long observations wait in the reorder buffer of a live feed [s]; observations
    /// that arrive out of order by less than this are processed in time order.
    pub reorder_lag_s: f64,
    /// Gate: squared Mahalanobis distance thresholds for 1, 2 and 3 measured components
    /// (chi-square quantiles).
    pub gate_chi2: [f64; 3],
    /// Radar/Remote ID updates needed to confirm a track (M of M-of-N).
    pub confirm_hits: u32,
    /// Remote ID reports needed to confirm a track started from Remote ID (no false reports).
    pub confirm_hits_remote_id: u32,
    /// Updates needed to confirm a track started from bearings or a sighting.
    pub confirm_hits_passive: u32,
    /// A tentative track with no update for this long is dropped [s].
    pub tentative_timeout_s: f64,
    /// A confirmed track with no update for this long is deleted [s].
    pub delete_after_s: f64,
    /// Confirmed tracks are reported while their last position fix is at most this old [s],
    /// or at most `report_missed_fixes` of their usual fix intervals old, whichever is longer.
    pub report_max_age_s: f64,
    pub report_missed_fixes: f64,
    /// Confirmed tracks with radar or Remote ID fixes are reported only while their 3D
    /// position standard deviation is below this [m]: a new track far out may still be
    /// tens of metres off in height.
    pub report_max_sigma_m: f64,
    /// A track whose horizontal position standard deviation grows past this is deleted [m].
    pub delete_sigma_m: f64,
    /// Prior velocity standard deviation of a new track, horizontal and vertical [m/s].
    pub init_sigma_vel_h_mps: f64,
    pub init_sigma_vel_v_mps: f64,
    /// Prior height and its standard deviation for tracks started without a height [m].
    pub init_height_m: f64,
    pub init_sigma_height_m: f64,
    /// Probability of detection when the sensor metadata has none.
    pub default_pd: f64,
    /// Two confirmed tracks closer than this (3D, and within their uncertainty) are
    /// duplicates: the younger one is dropped [m].
    pub merge_distance_m: f64,
    /// Bearings from two sensors are intersected only if they cross at more than this [deg].
    pub min_crossing_angle_deg: f64,
    /// How long unassociated bearings wait for a partner to triangulate with [s].
    pub bearing_pool_s: f64,
}

impl Default for TrackerConfig {
    fn default() -> Self {
        Self {
            imm: ImmParams::default(),
            reorder_lag_s: 0.5,
            gate_chi2: [10.83, 13.82, 16.27],
            confirm_hits: 3,
            confirm_hits_remote_id: 2,
            confirm_hits_passive: 5,
            tentative_timeout_s: 1.6,
            delete_after_s: 5.0,
            report_max_age_s: 2.1,
            report_missed_fixes: 3.6,
            report_max_sigma_m: 50.0,
            delete_sigma_m: 300.0,
            init_sigma_vel_h_mps: 15.0,
            init_sigma_vel_v_mps: 1.0,
            init_height_m: 80.0,
            init_sigma_height_m: 60.0,
            default_pd: 0.9,
            merge_distance_m: 20.0,
            min_crossing_angle_deg: 10.0,
            bearing_pool_s: 1.5,
        }
    }
}
