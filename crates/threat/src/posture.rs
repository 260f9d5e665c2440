//! Sector posture. Intelligence such as "drone attacks on agents have been authorised in
//! this sector" raises the posture; a raised posture warns agents farther out and sooner,
//! scores threats higher (lower level thresholds) and changes what agents are told to do.
//!
//! The posture is the highest level of the bulletins in force; the stage that owns the
//! [`crate::Warner`] and the [`crate::ThreatAssessor`] derives their configurations from the
//! sector's base ones with [`PostureConfig::warner_config`] and
//! [`PostureConfig::threat_config`] whenever the level changes.

use serde::{Deserialize, Serialize};

use dronewatch_geo::EnuFrame;
use dronewatch_model::{Lla, TimeNs};

use crate::config::{Advice, WarnerConfig};
use crate::rules::ThreatConfig;

/// How tense the sector is. Ordered: `High` is the tightest.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum PostureLevel {
    #[default]
    Normal,
    Elevated,
    High,
}

impl PostureLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            PostureLevel::Normal => "normal",
            PostureLevel::Elevated => "elevated",
            PostureLevel::High => "high",
        }
    }
}

/// What one raised posture changes. A posture set in the configuration is set whole: a
/// partial one would silently mix the sector's numbers with the built-in ones.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostureAdjust {
    /// The warning radius around each agent is multiplied by this (at least 1).
    pub radius_scale: f64,
    /// The advisory and warning horizons grow by this [s]: time to reach cover in armour.
    pub extra_lead_s: f64,
    /// Every threat level threshold is lowered by this many points (never below 0).
    pub threshold_drop_points: f64,
    /// The advice at each warning level, in place of the sector's usual advice.
    pub advice: Advice,
    /// What every agent carries and does while this posture is in force.
    pub standing_orders: Vec<String>,
}

impl PostureAdjust {
    fn elevated() -> Self {
        Self {
            radius_scale: 1.5,
            extra_lead_s: 10.0,
            threshold_drop_points: 5.0,
            advice: Advice {
                advisory: "Drone may pass near you. Armour on; look for it and report what \
                           you see."
                    .into(),
                warning: "Drone heading your way. Take cover now; armour on; first-aid kit \
                          at hand; note the pilot direction."
                    .into(),
                critical: "Drone about to pass over you. Take cover now. Do not approach a \
                           dropped package; keep 100 m from it."
                    .into(),
            },
            standing_orders: vec![
                "Body armour worn on patrol.".into(),
                "First-aid kit and tourniquet carried.".into(),
                "Report every drone sighting.".into(),
            ],
        }
    }

    fn high() -> Self {
        Self {
            radius_scale: 2.0,
            extra_lead_s: 20.0,
            threshold_drop_points: 10.0,
            advice: Advice {
                advisory: "Armed drone attacks expected. Move towards cover; armour on; \
                           report what you see."
                    .into(),
                warning: "Drone heading your way. Take hard cover now; armour and helmet on; \
                          tourniquet at hand; note the pilot direction."
                    .into(),
                critical: "Drone about to pass over you. Take cover now and stay down. Do \
                           not approach a dropped package; keep 100 m from it."
                    .into(),
            },
            standing_orders: vec![
                "Body armour and helmet worn on patrol.".into(),
                "First-aid kit and tourniquet carried.".into(),
                "Patrol in pairs; keep cover within reach.".into(),
                "Report every drone sighting.".into(),
                "Never approach or handle a dropped object.".into(),
            ],
        }
    }
}

/// The sector's procedure for each raised posture.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PostureConfig {
    pub elevated: PostureAdjust,
    pub high: PostureAdjust,
}

impl Default for PostureConfig {
    fn default() -> Self {
        Self {
            elevated: PostureAdjust::elevated(),
            high: PostureAdjust::high(),
        }
    }
}

impl PostureConfig {
    /// The adjustment of a raised posture; `None` at `Normal`.
    pub fn adjust(&self, level: PostureLevel) -> Option<&PostureAdjust> {
        match level {
            PostureLevel::Normal => None,
            PostureLevel::Elevated => Some(&self.elevated),
            PostureLevel::High => Some(&self.high),
        }
    }

    /// What agents carry and do at `level` (nothing beyond the usual at `Normal`).
    pub fn standing_orders(&self, level: PostureLevel) -> &[String] {
        self.adjust(level).map_or(&[], |a| &a.standing_orders)
    }

    /// The warner's configuration at `level`, from the sector's usual one.
    pub fn warner_config(&self, base: &WarnerConfig, level: PostureLevel) -> WarnerConfig {
        let Some(a) = self.adjust(level) else {
            return base.clone();
        };
        let lead_s = a.extra_lead_s.max(0.0);
        WarnerConfig {
            radius_m: base.radius_m * a.radius_scale.max(1.0),
            horizon_s: base.horizon_s + lead_s,
            warning_within_s: base.warning_within_s + lead_s,
            advice: a.advice.clone(),
            ..base.clone()
        }
    }

    /// The threat rules' configuration at `level`, from the sector's usual one.
    pub fn threat_config(&self, base: &ThreatConfig, level: PostureLevel) -> ThreatConfig {
        let Some(a) = self.adjust(level) else {
            return base.clone();
        };
        let drop = a.threshold_drop_points.max(0.0);
        ThreatConfig {
            level_thresholds: base.level_thresholds.map(|p| (p - drop).max(0.0)),
            ..base.clone()
        }
    }
}

/// A raised posture in force from `from` until `until` (open-ended when `None`), for the
/// whole sector or, with an `area`, only for agents and drones inside it.
#[derive(Debug, Clone, PartialEq)]
pub struct PostureWindow {
    pub level: PostureLevel,
    pub from: TimeNs,
    pub until: Option<TimeNs>,
    pub area: Option<PostureArea>,
}

/// Where an area posture applies: a polygon's outer ring, `[lon, lat]` degrees.
#[derive(Debug, Clone, PartialEq)]
pub struct PostureArea {
    pub ring_deg: Vec<[f64; 2]>,
}

impl PostureArea {
    /// The ring in `frame`'s east and north metres, for the containment tests.
    pub fn ring_en_m(&self, frame: &EnuFrame) -> Vec<[f64; 2]> {
        self.ring_deg
            .iter()
            .map(|[lon, lat]| {
                let enu = frame.to_enu(&Lla::new(*lat, *lon, frame.reference().h_m));
                [enu[0], enu[1]]
            })
            .collect()
    }
}

impl PostureWindow {
    pub fn in_force(&self, t: TimeNs) -> bool {
        self.from <= t && self.until.is_none_or(|u| t < u)
    }
}

/// The sector's posture at `t`: the highest level among the sector-wide windows in force.
pub fn posture_at(windows: &[PostureWindow], t: TimeNs) -> PostureLevel {
    windows
        .iter()
        .filter(|w| w.area.is_none() && w.in_force(t))
        .map(|w| w.level)
        .max()
        .unwrap_or_default()
}

/// The area postures in force at `t` that raise the level above the sector's, lowest
/// level first (where areas overlap, the last that holds a point is the highest).
pub fn areas_at(windows: &[PostureWindow], t: TimeNs) -> Vec<(PostureArea, PostureLevel)> {
    let sector = posture_at(windows, t);
    let mut out: Vec<(PostureArea, PostureLevel)> = windows
        .iter()
        .filter(|w| w.in_force(t) && w.level > sector)
        .filter_map(|w| Some((w.area.clone()?, w.level)))
        .collect();
    out.sort_by_key(|(_, level)| *level);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(level: PostureLevel, from_s: i64, until_s: Option<i64>) -> PostureWindow {
        PostureWindow {
            level,
            from: TimeNs(from_s * 1_000_000_000),
            until: until_s.map(|s| TimeNs(s * 1_000_000_000)),
            area: None,
        }
    }

    #[test]
    fn an_area_window_raises_only_its_area_and_only_above_the_sector() {
        let square = PostureArea {
            ring_deg: vec![
                [-111.0, 31.0],
                [-110.9, 31.0],
                [-110.9, 31.1],
                [-111.0, 31.1],
                [-111.0, 31.0],
            ],
        };
        let mut high_here = window(PostureLevel::High, 0, Some(100));
        high_here.area = Some(square.clone());
        let mut elevated_here = window(PostureLevel::Elevated, 0, None);
        elevated_here.area = Some(square.clone());
        let ws = [
            window(PostureLevel::Elevated, 50, None),
            high_here,
            elevated_here,
        ];
        let t = |s: i64| TimeNs(s * 1_000_000_000);
        assert_eq!(
            posture_at(&ws, t(10)),
            PostureLevel::Normal,
            "areas are not the sector's"
        );
        assert_eq!(
            areas_at(&ws, t(10)),
            vec![
                (square.clone(), PostureLevel::Elevated),
                (square.clone(), PostureLevel::High)
            ],
            "lowest first"
        );
        assert_eq!(
            areas_at(&ws, t(60)),
            vec![(square.clone(), PostureLevel::High)]
        );
        assert!(
            areas_at(&ws, t(100)).is_empty(),
            "the sector is as high as the area left"
        );
        let frame = EnuFrame::new(Lla::new(31.05, -110.95, 1200.0));
        let ring = square.ring_en_m(&frame);
        assert!(crate::zones::ring_contains(&ring, [0.0, 0.0]));
        assert!(!crate::zones::ring_contains(&ring, [0.0, 20_000.0]));
    }

    #[test]
    fn the_highest_window_in_force_sets_the_posture() {
        let ws = [
            window(PostureLevel::Elevated, 0, None),
            window(PostureLevel::High, 100, Some(200)),
        ];
        let at = |s: i64| posture_at(&ws, TimeNs(s * 1_000_000_000));
        assert_eq!(at(-1), PostureLevel::Normal);
        assert_eq!(at(50), PostureLevel::Elevated);
        assert_eq!(at(100), PostureLevel::High);
        assert_eq!(at(199), PostureLevel::High);
        // `until` is exclusive: the high posture has lapsed at 200 s.
        assert_eq!(at(200), PostureLevel::Elevated);
        assert_eq!(posture_at(&[], TimeNs(0)), PostureLevel::Normal);
    }

    #[test]
    fn a_raised_posture_warns_farther_and_sooner_and_lowers_thresholds() {
        let p = PostureConfig::default();
        let base_w = WarnerConfig::default();
        let base_t = ThreatConfig::default();
        assert_eq!(p.warner_config(&base_w, PostureLevel::Normal), base_w);
        assert_eq!(p.threat_config(&base_t, PostureLevel::Normal), base_t);
        let mut last_radius_m = base_w.radius_m;
        let mut last_low = base_t.level_thresholds[0];
        for level in [PostureLevel::Elevated, PostureLevel::High] {
            let w = p.warner_config(&base_w, level);
            let t = p.threat_config(&base_t, level);
            assert!(w.radius_m > last_radius_m, "{level:?}");
            assert!(w.warning_within_s > base_w.warning_within_s);
            assert!(w.warning_within_s <= w.horizon_s);
            assert_eq!(w.critical_within_s, base_w.critical_within_s);
            assert_ne!(w.advice, base_w.advice);
            assert!(t.level_thresholds[0] < last_low);
            assert!(t.level_thresholds.windows(2).all(|x| x[0] <= x[1]));
            assert!(!p.standing_orders(level).is_empty());
            last_radius_m = w.radius_m;
            last_low = t.level_thresholds[0];
        }
        assert!(p.standing_orders(PostureLevel::Normal).is_empty());
    }

    #[test]
    fn adjustments_never_loosen_below_the_base() {
        let mut p = PostureConfig::default();
        p.elevated.radius_scale = 0.1;
        p.elevated.extra_lead_s = -30.0;
        p.elevated.threshold_drop_points = 500.0;
        let w = p.warner_config(&WarnerConfig::default(), PostureLevel::Elevated);
        assert_eq!(w.radius_m, WarnerConfig::default().radius_m);
        assert_eq!(w.horizon_s, WarnerConfig::default().horizon_s);
        let t = p.threat_config(&ThreatConfig::default(), PostureLevel::Elevated);
        assert_eq!(t.level_thresholds, [0.0; 4]);
    }
}
