//! Zones from GeoJSON: protected sites, stations, checkpoints, the border line, no-fly and
//! ignore areas, each with a kind that decides its rules. Geometry is kept in the sector's
//! local ENU frame, where "inside" and "crosses" are plain plane geometry (a sector is tens
//! of kilometres; the flat-plane error there is below a metre).

use dronewatch_geo::EnuFrame;
use dronewatch_model::Lla;
use geojson::{FeatureCollection, GeometryValue};
use serde::{Deserialize, Serialize};

/// What a zone is, and so which rules apply to it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ZoneKind {
    /// The border line; the hostile side is left of its direction of travel.
    Border,
    /// A site to protect (a station, a camp, a checkpoint area).
    ProtectedSite,
    Station,
    Checkpoint,
    /// No drone may fly here.
    NoFly,
    /// Drones here are not threats (an airfield's own traffic, a test range).
    Ignore,
    Road,
    /// A kind this version does not know: kept, with no rules.
    Other(String),
}

impl ZoneKind {
    fn from_property(kind: &str) -> Self {
        match kind {
            "border" => ZoneKind::Border,
            "protected_site" => ZoneKind::ProtectedSite,
            "station" => ZoneKind::Station,
            "checkpoint" => ZoneKind::Checkpoint,
            "no_fly" => ZoneKind::NoFly,
            "ignore" => ZoneKind::Ignore,
            "road" => ZoneKind::Road,
            other => ZoneKind::Other(other.to_string()),
        }
    }

    /// Sites whose approach is a threat in itself.
    pub fn is_protected(&self) -> bool {
        matches!(
            self,
            ZoneKind::ProtectedSite | ZoneKind::Station | ZoneKind::Checkpoint | ZoneKind::NoFly
        )
    }
}

/// A zone's shape in local ENU metres (east, north).
#[derive(Debug, Clone, PartialEq)]
pub enum Shape {
    /// Exterior rings (a MultiPolygon has several); holes are ignored, which only makes a
    /// zone larger, never lets a drone slip through it.
    Area(Vec<Vec<[f64; 2]>>),
    /// Polylines (the border, roads).
    Line(Vec<Vec<[f64; 2]>>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Zone {
    pub id: String,
    pub name: String,
    pub kind: ZoneKind,
    pub shape: Shape,
}

/// Why a zones file was refused.
#[derive(Debug, thiserror::Error)]
pub enum ZoneError {
    #[error("not a GeoJSON FeatureCollection: {0}")]
    GeoJson(#[from] geojson::Error),
    #[error("feature {index}: {reason}")]
    Feature { index: usize, reason: String },
}

impl Zone {
    /// True when the point (east, north) is inside an area zone.
    pub fn contains(&self, p: [f64; 2]) -> bool {
        match &self.shape {
            Shape::Area(rings) => rings.iter().any(|r| ring_contains(r, p)),
            Shape::Line(_) => false,
        }
    }

    /// Horizontal distance from a point to the zone (0 inside an area) [m].
    pub fn distance_m(&self, p: [f64; 2]) -> f64 {
        if self.contains(p) {
            return 0.0;
        }
        self.segments()
            .map(|(a, b)| segment_distance2_m2(p, a, b))
            .fold(f64::INFINITY, f64::min)
            .sqrt()
    }

    /// True when the point is inside the zone or within `radius_m` of it; stops at the first
    /// segment close enough.
    pub fn is_within_m(&self, p: [f64; 2], radius_m: f64) -> bool {
        let r2 = radius_m * radius_m;
        self.contains(p)
            || self
                .segments()
                .any(|(a, b)| segment_distance2_m2(p, a, b) <= r2)
    }

    fn segments(&self) -> impl Iterator<Item = ([f64; 2], [f64; 2])> + '_ {
        let lines = match &self.shape {
            Shape::Area(rings) | Shape::Line(rings) => rings,
        };
        lines
            .iter()
            .flat_map(|l| l.windows(2))
            .map(|w| (w[0], w[1]))
    }

    /// For a line zone: the side of the first segment the step `a → b` crosses, as +1
    /// (from its left to its right) or −1 (right to left); `None` when it crosses none.
    /// For the border, +1 is a crossing from the hostile side.
    pub fn crossing(&self, a: [f64; 2], b: [f64; 2]) -> Option<i8> {
        let Shape::Line(lines) = &self.shape else {
            return None;
        };
        lines.iter().flat_map(|l| l.windows(2)).find_map(|w| {
            let (p, q) = (w[0], w[1]);
            let (sa, sb) = (side(p, q, a), side(p, q, b));
            let (sp, sq) = (side(a, b, p), side(a, b, q));
            // Proper crossing: a and b on opposite sides of the segment, and p, q on
            // opposite sides of the step.
            (sa * sb < 0.0 && sp * sq < 0.0).then_some(if sa > 0.0 { 1 } else { -1 })
        })
    }

    /// Number of vertices (for sizing benchmarks and limits).
    pub fn vertex_count(&self) -> usize {
        match &self.shape {
            Shape::Area(r) | Shape::Line(r) => r.iter().map(Vec::len).sum(),
        }
    }
}

/// Reads an RFC 7946 FeatureCollection. Every feature needs `properties.kind` and a
/// Polygon, MultiPolygon, LineString or MultiLineString; its name is `properties.name`,
/// else its `id`. Positions are `[lon, lat]` (RFC 7946 order).
pub fn parse_zones(text: &str, frame: &EnuFrame) -> Result<Vec<Zone>, ZoneError> {
    let fc: FeatureCollection = text.parse()?;
    fc.features
        .iter()
        .enumerate()
        .map(|(index, f)| {
            let bad = |reason: &str| ZoneError::Feature {
                index,
                reason: reason.to_string(),
            };
            let props = f.properties.as_ref();
            let kind = props
                .and_then(|p| p.get("kind"))
                .and_then(|k| k.as_str())
                .ok_or_else(|| bad("properties.kind missing or not a string"))?;
            let id = match &f.id {
                Some(geojson::feature::Id::String(s)) => s.clone(),
                Some(geojson::feature::Id::Number(n)) => n.to_string(),
                None => format!("zone-{index}"),
            };
            let name = props
                .and_then(|p| p.get("name"))
                .and_then(|n| n.as_str())
                .map_or_else(|| id.clone(), str::to_string);
            let geometry = f.geometry.as_ref().ok_or_else(|| bad("no geometry"))?;
            let to_enu = |ring: &[geojson::Position]| -> Result<Vec<[f64; 2]>, ZoneError> {
                ring.iter()
                    .map(|pos| match pos.as_slice() {
                        [lon, lat, ..] if lat.abs() <= 90.0 && lon.is_finite() => {
                            let e = frame.to_enu(&Lla::new(*lat, *lon, frame.reference().h_m));
                            Ok([e[0], e[1]])
                        }
                        _ => Err(bad("a position is not [lon, lat] in range")),
                    })
                    .collect()
            };
            let shape = match &geometry.value {
                GeometryValue::Polygon { coordinates } => Shape::Area(
                    coordinates
                        .first()
                        .map(|r| to_enu(r))
                        .transpose()?
                        .into_iter()
                        .collect(),
                ),
                GeometryValue::MultiPolygon { coordinates } => Shape::Area(
                    coordinates
                        .iter()
                        .filter_map(|poly| poly.first())
                        .map(|r| to_enu(r))
                        .collect::<Result<_, _>>()?,
                ),
                GeometryValue::LineString { coordinates } => {
                    Shape::Line(vec![to_enu(coordinates)?])
                }
                GeometryValue::MultiLineString { coordinates } => Shape::Line(
                    coordinates
                        .iter()
                        .map(|l| to_enu(l))
                        .collect::<Result<_, _>>()?,
                ),
                _ => {
                    return Err(bad(
                        "geometry must be a (Multi)Polygon or (Multi)LineString",
                    ));
                }
            };
            let enough = match &shape {
                Shape::Area(r) => !r.is_empty() && r.iter().all(|r| r.len() >= 4),
                Shape::Line(l) => !l.is_empty() && l.iter().all(|l| l.len() >= 2),
            };
            if !enough {
                return Err(bad("too few positions (a ring needs 4, a line 2)"));
            }
            Ok(Zone {
                id,
                name,
                kind: ZoneKind::from_property(kind),
                shape,
            })
        })
        .collect()
}

/// Which side of the line p → q the point r is on: > 0 left, < 0 right.
fn side(p: [f64; 2], q: [f64; 2], r: [f64; 2]) -> f64 {
    (q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0])
}

/// Even-odd rule (ray to the east).
pub(crate) fn ring_contains(ring: &[[f64; 2]], p: [f64; 2]) -> bool {
    let mut inside = false;
    for w in ring.windows(2) {
        let (a, b) = (w[0], w[1]);
        if (a[1] > p[1]) != (b[1] > p[1]) {
            let x = a[0] + (p[1] - a[1]) / (b[1] - a[1]) * (b[0] - a[0]);
            if p[0] < x {
                inside = !inside;
            }
        }
    }
    inside
}

/// Squared distance from `p` to the segment a–b [m²].
fn segment_distance2_m2(p: [f64; 2], a: [f64; 2], b: [f64; 2]) -> f64 {
    let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
    let len2 = dx * dx + dy * dy;
    let u = if len2 > 0.0 {
        (((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / len2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let (ex, ey) = (p[0] - a[0] - u * dx, p[1] - a[1] - u * dy);
    ex * ex + ey * ey
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    fn frame() -> EnuFrame {
        EnuFrame::new(Lla::new(51.2, -1.8, 100.0))
    }

    const ZONES: &str = r#"{"type": "FeatureCollection", "features": [
      {"type": "Feature", "id": "site-1", "properties": {"name": "site-1", "kind": "protected_site"},
       "geometry": {"type": "Polygon", "coordinates": [[[-1.8054571, 51.1886836], [-1.8072826, 51.1901194], [-1.8083869, 51.1895649], [-1.8065614, 51.1881291], [-1.8054571, 51.1886836]]]}},
      {"type": "Feature", "id": "border", "properties": {"name": "border", "kind": "border"},
       "geometry": {"type": "LineString", "coordinates": [[-1.87, 51.22], [-1.73, 51.22]]}},
      {"type": "Feature", "id": "x", "properties": {"kind": "parking"},
       "geometry": {"type": "LineString", "coordinates": [[-1.87, 51.1], [-1.73, 51.1]]}}
    ]}"#;

    #[test]
    fn reads_sites_borders_and_unknown_kinds() {
        let f = frame();
        let zones = parse_zones(ZONES, &f).unwrap();
        assert_eq!(zones.len(), 3);
        assert_eq!(zones[0].kind, ZoneKind::ProtectedSite);
        assert_eq!(zones[2].kind, ZoneKind::Other("parking".into()));
        // The site's centre (lon, lat order in GeoJSON) is inside it; 500 m away is not.
        let c = f.to_enu(&Lla::new(51.18913, -1.80692, 100.0));
        assert!(zones[0].contains([c[0], c[1]]));
        assert!(!zones[0].contains([c[0] + 500.0, c[1]]));
        assert!((zones[0].distance_m([c[0] + 500.0, c[1]]) - 430.0).abs() < 60.0);
        // The border runs west → east, so north is its left: crossing southward is +1.
        let n = f.to_enu(&Lla::new(51.23, -1.8, 100.0));
        let s = f.to_enu(&Lla::new(51.21, -1.8, 100.0));
        assert_eq!(zones[1].crossing([n[0], n[1]], [s[0], s[1]]), Some(1));
        assert_eq!(zones[1].crossing([s[0], s[1]], [n[0], n[1]]), Some(-1));
        assert_eq!(zones[1].crossing([s[0], s[1]], [s[0] + 10.0, s[1]]), None);
    }

    #[test]
    fn bad_features_are_named() {
        let e = parse_zones(
            r#"{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"name": "a"}, "geometry": {"type": "Point", "coordinates": [1, 2]}}]}"#,
            &frame(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("feature 0: properties.kind"), "{e}");
        let e = parse_zones(
            r#"{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"kind": "no_fly"}, "geometry": {"type": "Point", "coordinates": [1, 2]}}]}"#,
            &frame(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("Polygon"), "{e}");
    }

    proptest! {
        #[test]
        fn never_panics_on_arbitrary_text(s in ".{0,200}") {
            let _ = parse_zones(&s, &frame());
        }

        #[test]
        fn squares_contain_their_inside(x in -1000.0..1000.0f64, y in -1000.0..1000.0f64) {
            let z = Zone {
                id: "z".into(), name: "z".into(), kind: ZoneKind::NoFly,
                shape: Shape::Area(vec![vec![[0.0, 0.0], [100.0, 0.0], [100.0, 100.0], [0.0, 100.0], [0.0, 0.0]]]),
            };
            let inside = (0.0..100.0).contains(&x) && (0.0..100.0).contains(&y);
            if x.fract() != 0.0 && y.fract() != 0.0 {
                prop_assert_eq!(z.contains([x, y]), inside);
            }
            prop_assert_eq!(z.distance_m([x, y]) == 0.0, z.contains([x, y]));
        }
    }
}
