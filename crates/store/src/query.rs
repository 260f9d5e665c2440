//! History queries as SQL, written once for both backends (they differ only in placeholders
//! and in PostGIS's index-backed box test).

use crate::event::{COLUMNS, table};
use crate::{BBox, Chain, EventKind, EventQuery, StoreError};

/// A bound value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Param {
    I64(i64),
    F64(f64),
    Text(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(not(feature = "postgres"), allow(dead_code))]
pub(crate) enum Dialect {
    Sqlite,
    /// `postgis`: the tables have an indexed `geom` point column.
    Postgres {
        postgis: bool,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Sql {
    pub text: String,
    pub params: Vec<Param>,
}

/// The chains a query reads, in `Chain::ALL` order, each with the kinds that narrow it
/// (empty: all of the chain's kinds).
pub(crate) fn chains_of(q: &EventQuery) -> Result<Vec<(Chain, Vec<EventKind>)>, StoreError> {
    if let Some(chain) = q.chain {
        if let Some(k) = q.kinds.iter().find(|k| k.chain() != chain) {
            return Err(StoreError::InvalidQuery(format!(
                "kind {} is in chain {}, not {}",
                k.as_str(),
                k.chain().as_str(),
                chain.as_str()
            )));
        }
        return Ok(vec![(chain, q.kinds.clone())]);
    }
    Ok(Chain::ALL
        .into_iter()
        .filter_map(|c| {
            let kinds: Vec<EventKind> =
                q.kinds.iter().copied().filter(|k| k.chain() == c).collect();
            (q.kinds.is_empty() || !kinds.is_empty()).then_some((c, kinds))
        })
        .collect())
}

pub(crate) fn check_bbox(b: &BBox) -> Result<(), StoreError> {
    let lat_ok = |v: f64| v.is_finite() && (-90.0..=90.0).contains(&v);
    let lon_ok = |v: f64| v.is_finite() && (-180.0..=180.0).contains(&v);
    if !(lat_ok(b.min_lat) && lat_ok(b.max_lat) && b.min_lat <= b.max_lat) {
        return Err(StoreError::InvalidQuery(format!(
            "bbox latitudes {}..{} are not an interval within [-90, 90]",
            b.min_lat, b.max_lat
        )));
    }
    if !(lon_ok(b.min_lon) && lon_ok(b.max_lon)) {
        return Err(StoreError::InvalidQuery(format!(
            "bbox longitudes {}, {} are not within [-180, 180]",
            b.min_lon, b.max_lon
        )));
    }
    Ok(())
}

struct Builder {
    dialect: Dialect,
    conds: Vec<String>,
    params: Vec<Param>,
}

impl Builder {
    /// Binds `p` and returns its placeholder.
    fn bind(&mut self, p: Param) -> String {
        self.params.push(p);
        match self.dialect {
            Dialect::Sqlite => format!("?{}", self.params.len()),
            Dialect::Postgres { .. } => format!("${}", self.params.len()),
        }
    }
}

/// `SELECT` of one chain's events matching `q` (the time range is `from <= t < to`; a box
/// matches positions on or inside its edges; events without a position never match one).
pub(crate) fn select(
    chain: Chain,
    kinds: &[EventKind],
    q: &EventQuery,
    limit: Option<usize>,
    dialect: Dialect,
) -> Sql {
    let mut b = Builder {
        dialect,
        conds: Vec::new(),
        params: Vec::new(),
    };
    if !kinds.is_empty() {
        let list: Vec<String> = kinds
            .iter()
            .map(|k| b.bind(Param::Text(k.as_str().to_string())))
            .collect();
        b.conds.push(format!("kind IN ({})", list.join(", ")));
    }
    if let Some(from) = q.from {
        let p = b.bind(Param::I64(from.0));
        b.conds.push(format!("t_ns >= {p}"));
    }
    if let Some(to) = q.to {
        let p = b.bind(Param::I64(to.0));
        b.conds.push(format!("t_ns < {p}"));
    }
    if let Some(after) = q.after_seq {
        // Sequence numbers past i64::MAX do not exist: clamp, so the range stays empty.
        let p = b.bind(Param::I64(i64::try_from(after).unwrap_or(i64::MAX)));
        b.conds.push(format!("seq > {p}"));
    }
    for (column, value) in [("serial", &q.serial), ("source", &q.source)] {
        if let Some(v) = value {
            let p = b.bind(Param::Text(v.clone()));
            b.conds.push(format!("{column} = {p}"));
        }
    }
    if let Some(id) = q.track_id {
        let p = b.bind(Param::I64(id as i64));
        b.conds.push(format!("track_id = {p}"));
    }
    if let Some(bbox) = &q.bbox {
        push_bbox(&mut b, bbox);
    }
    let mut text = format!("SELECT {COLUMNS} FROM {}", table(chain));
    if !b.conds.is_empty() {
        text.push_str(" WHERE ");
        text.push_str(&b.conds.join(" AND "));
    }
    text.push_str(if q.descending {
        " ORDER BY seq DESC"
    } else {
        " ORDER BY seq"
    });
    if let Some(n) = limit {
        let p = b.bind(Param::I64(i64::try_from(n).unwrap_or(i64::MAX)));
        text.push_str(&format!(" LIMIT {p}"));
    }
    Sql {
        text,
        params: b.params,
    }
}

fn push_bbox(b: &mut Builder, bbox: &BBox) {
    // The exact test on the stored degrees decides on both backends; PostGIS's `&&` (whose
    // index boxes are rounded outwards to float4) only narrows the candidates quickly.
    let lat0 = b.bind(Param::F64(bbox.min_lat));
    let lat1 = b.bind(Param::F64(bbox.max_lat));
    let lon0 = b.bind(Param::F64(bbox.min_lon));
    let lon1 = b.bind(Param::F64(bbox.max_lon));
    let crosses = bbox.min_lon > bbox.max_lon;
    if let Dialect::Postgres { postgis: true } = b.dialect {
        let env =
            |w: &str, e: &str| format!("geom && ST_MakeEnvelope({w}, {lat0}, {e}, {lat1}, 4326)");
        if crosses {
            b.conds
                .push(format!("({} OR {})", env(&lon0, "180"), env("-180", &lon1)));
        } else {
            b.conds.push(env(&lon0, &lon1));
        }
    }
    b.conds
        .push(format!("lat_deg >= {lat0} AND lat_deg <= {lat1}"));
    if crosses {
        b.conds
            .push(format!("(lon_deg >= {lon0} OR lon_deg <= {lon1})"));
    } else {
        b.conds
            .push(format!("lon_deg >= {lon0} AND lon_deg <= {lon1}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dronewatch_model::TimeNs;

    #[test]
    fn chains_follow_kinds() {
        let q = EventQuery {
            kinds: vec![EventKind::Alert, EventKind::Observation],
            ..Default::default()
        };
        let chains: Vec<Chain> = chains_of(&q)
            .unwrap_or_default()
            .into_iter()
            .map(|(c, _)| c)
            .collect();
        assert_eq!(chains, vec![Chain::Observations, Chain::Records]);
        assert_eq!(
            chains_of(&EventQuery::default()).map(|v| v.len()).ok(),
            Some(3)
        );
        let wrong = EventQuery {
            chain: Some(Chain::Tracks),
            kinds: vec![EventKind::Alert],
            ..Default::default()
        };
        assert!(matches!(
            chains_of(&wrong),
            Err(StoreError::InvalidQuery(_))
        ));
    }

    #[test]
    fn placeholders_follow_the_dialect() {
        let q = EventQuery {
            from: Some(TimeNs(5)),
            serial: Some("S".into()),
            bbox: Some(BBox {
                min_lat: 1.0,
                min_lon: 170.0,
                max_lat: 2.0,
                max_lon: -170.0,
            }),
            descending: true,
            ..Default::default()
        };
        let s = select(Chain::Tracks, &[], &q, Some(10), Dialect::Sqlite);
        assert_eq!(
            s.text,
            format!(
                "SELECT {COLUMNS} FROM events_tracks WHERE t_ns >= ?1 AND serial = ?2 AND \
                 lat_deg >= ?3 AND lat_deg <= ?4 AND (lon_deg >= ?5 OR lon_deg <= ?6) \
                 ORDER BY seq DESC LIMIT ?7"
            )
        );
        assert_eq!(s.params.len(), 7);
        let p = select(
            Chain::Tracks,
            &[],
            &q,
            None,
            Dialect::Postgres { postgis: true },
        );
        assert!(p.text.contains(
            "(geom && ST_MakeEnvelope($5, $3, 180, $4, 4326) OR \
             geom && ST_MakeEnvelope(-180, $3, $6, $4, 4326))"
        ));
    }
}
