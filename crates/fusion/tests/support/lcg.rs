//! A tiny deterministic random generator shared by the tests and benchmarks, so scenes are
//! reproducible without the `rand` crate. Each includer uses only part of it.
#![allow(dead_code)]

use std::f64::consts::TAU;

/// Tiny deterministic generator (Knuth's MMIX LCG), so runs are comparable without `rand`.
pub struct Lcg(pub u64);

impl Lcg {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0
    }

    /// Uniform in [0, 1).
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in `lo..hi` (`hi > lo`).
    pub fn below(&mut self, lo: usize, hi: usize) -> usize {
        lo + ((self.next_u64() >> 33) as usize) % (hi - lo)
    }

    /// Standard normal (Box–Muller).
    pub fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.uniform();
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (TAU * u2).cos()
    }
}
