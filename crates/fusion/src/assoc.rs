//! Global nearest neighbour association: the gated track–measurement pairs are split into
//! independent clusters, and each cluster gets the optimal 2D assignment (Kuhn–Munkres),
//! where every track may also be "missed" at a cost of `-ln(1 - Pd)`.

use pathfinding::kuhn_munkres::kuhn_munkres_min;
use pathfinding::matrix::Matrix;

/// A gated pair and its cost `-ln(Pd · N(y; 0, S) / λ)` (lower is better).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Candidate {
    pub track: usize,
    pub meas: usize,
    pub cost: f64,
}

/// Costs are scaled to integers for the exact integer solver; 1e-6 is far finer than any
/// difference that matters.
const SCALE: f64 = 1e6;
const FORBIDDEN: i64 = 1 << 50;

/// Returns the chosen `(track, meas)` pairs, sorted by track. `miss_cost(track)` is the cost
/// of leaving a track without a measurement; a measurement left alone costs 0.
pub fn assign(candidates: &[Candidate], miss_cost: impl Fn(usize) -> f64) -> Vec<(usize, usize)> {
    if candidates.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    for cluster in clusters(candidates) {
        let mut tracks: Vec<usize> = cluster.iter().map(|c| c.track).collect();
        let mut meas: Vec<usize> = cluster.iter().map(|c| c.meas).collect();
        tracks.sort_unstable();
        tracks.dedup();
        meas.sort_unstable();
        meas.dedup();
        // One track or one measurement: the best single pair is optimal, no solver needed.
        if tracks.len() == 1 || meas.len() == 1 {
            let best = cluster
                .iter()
                .map(|c| (c.cost - miss_cost(c.track), c))
                .min_by(|a, b| {
                    a.0.total_cmp(&b.0)
                        .then((a.1.track, a.1.meas).cmp(&(b.1.track, b.1.meas)))
                });
            if let Some((_, c)) = best.filter(|(gain, _)| *gain < 0.0) {
                out.push((c.track, c.meas));
            }
            continue;
        }
        // Rows: tracks. Columns: measurements, then one "missed" column per track.
        let (n, m) = (tracks.len(), meas.len());
        let mut w = Matrix::new(n, m + n, FORBIDDEN);
        for c in &cluster {
            let (Ok(i), Ok(j)) = (tracks.binary_search(&c.track), meas.binary_search(&c.meas))
            else {
                continue;
            };
            w[(i, j)] = to_int(c.cost);
        }
        for (i, &t) in tracks.iter().enumerate() {
            w[(i, m + i)] = to_int(miss_cost(t));
        }
        let (_, cols) = kuhn_munkres_min(&w);
        for (i, &j) in cols.iter().enumerate() {
            if j < m && w[(i, j)] < FORBIDDEN {
                out.push((tracks[i], meas[j]));
            }
        }
    }
    out.sort_unstable();
    out
}

fn to_int(cost: f64) -> i64 {
    (cost.clamp(-1e6, 1e6) * SCALE).round() as i64
}

/// Connected components of the bipartite gating graph (union–find over tracks and
/// measurements), each in a deterministic order.
fn clusters(candidates: &[Candidate]) -> Vec<Vec<Candidate>> {
    let n_tracks = candidates
        .iter()
        .map(|c| c.track)
        .max()
        .map_or(0, |m| m + 1);
    let n_meas = candidates.iter().map(|c| c.meas).max().map_or(0, |m| m + 1);
    let mut parent: Vec<usize> = (0..n_tracks + n_meas).collect();
    fn find(parent: &mut [usize], mut a: usize) -> usize {
        while parent[a] != a {
            parent[a] = parent[parent[a]];
            a = parent[a];
        }
        a
    }
    for c in candidates {
        let a = find(&mut parent, c.track);
        let b = find(&mut parent, n_tracks + c.meas);
        if a != b {
            parent[a.max(b)] = a.min(b);
        }
    }
    let mut keyed: Vec<(usize, Candidate)> = candidates
        .iter()
        .map(|c| (find(&mut parent, c.track), *c))
        .collect();
    keyed.sort_by_key(|&(root, c)| (root, c.track, c.meas));
    let mut out: Vec<Vec<Candidate>> = Vec::new();
    let mut last_root = usize::MAX;
    for (root, c) in keyed {
        if root != last_root {
            out.push(Vec::new());
            last_root = root;
        }
        if let Some(cluster) = out.last_mut() {
            cluster.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(track: usize, meas: usize, cost: f64) -> Candidate {
        Candidate { track, meas, cost }
    }

    #[test]
    fn picks_the_globally_cheapest_assignment() {
        // Greedy would give meas 0 to track 0 (cost 1) and leave track 1 with meas 1 (10).
        let cands = [c(0, 0, 1.0), c(0, 1, 2.0), c(1, 0, 2.0), c(1, 1, 10.0)];
        let pairs = assign(&cands, |_| 100.0);
        assert_eq!(pairs, vec![(0, 1), (1, 0)]);
    }

    #[test]
    fn a_track_is_missed_when_that_is_cheaper() {
        let cands = [c(0, 0, 5.0), c(1, 0, 1.0)];
        let pairs = assign(&cands, |t| if t == 0 { 3.0 } else { 100.0 });
        assert_eq!(pairs, vec![(1, 0)]);
        let single = [c(3, 7, 4.0)];
        assert!(assign(&single, |_| 3.0).is_empty());
        assert_eq!(assign(&single, |_| 5.0), vec![(3, 7)]);
    }

    #[test]
    fn independent_clusters_are_solved_separately() {
        let cands = [
            c(0, 0, 1.0),
            c(1, 1, 1.0),
            c(2, 2, 1.0),
            c(2, 3, 0.5),
            c(3, 3, 0.1),
        ];
        let pairs = assign(&cands, |_| 50.0);
        assert_eq!(pairs, vec![(0, 0), (1, 1), (2, 2), (3, 3)]);
    }

    #[test]
    fn each_measurement_is_used_once() {
        let mut cands = Vec::new();
        for t in 0..6 {
            for m in 0..4 {
                cands.push(c(t, m, ((t * 7 + m * 3) % 5) as f64 - 2.0));
            }
        }
        let pairs = assign(&cands, |_| 0.0);
        let mut used: Vec<usize> = pairs.iter().map(|p| p.1).collect();
        used.sort_unstable();
        used.dedup();
        assert_eq!(used.len(), pairs.len());
    }
}
