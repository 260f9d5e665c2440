//! dronewatch fusion: observations in, tracks out, deterministically and without I/O.
//!
//! Each scan (the observations of one sensor at one time) goes through
//! gate → associate (GNN, optimal 2D assignment per cluster) → IMM-EKF update → initiate
//! (radar plot, Remote ID, sighting, or triangulated bearings) → maintain (M-of-N
//! confirmation, deletion by age and covariance, duplicate merging). Remote ID serials are a
//! strong association key, a sensor's own object id a weaker one; sensors' classifications
//! and RF emissions are kept on the track. Same observations in, same tracks out, bit for bit.

pub mod assoc;
pub mod config;
pub mod ekf;
mod identity;
pub mod imm;
pub mod initiate;
pub mod linalg;
pub mod measurement;
pub mod motion;
mod sensors;
mod track;
mod tracker;

pub use config::TrackerConfig;
pub use imm::ImmParams;
pub use measurement::{Meas, MeasError, MeasKind};
pub use tracker::{IngestError, Tracker, TrackerStats};
