//! WGS84 geodesy for dronewatch.
//!
//! - [`ecef`]: geodetic (lat, lon, h) ↔ Earth-centred Earth-fixed coordinates.
//! - [`enu`]: local East-North-Up tangent frames around a reference point.
//! - [`geodesic`]: shortest paths on the ellipsoid (Karney, via `geographiclib-rs`).
//! - [`angle`]: angle wrapping and azimuth/elevation/range ↔ ENU.
//!
//! The geodetic/ECEF/ENU formulas are those of the benchmark spec
//! (`shared/bench/FORMAT.md`, "ENU <-> WGS84"; reference implementation `geo.py`), so
//! positions agree with the benchmark's ground truth to well under a millimetre.
//! Angles are in degrees unless a name says `rad`; distances and heights in metres, heights
//! above the WGS84 ellipsoid. Pure computation: no I/O.

pub mod angle;
pub mod ecef;
pub mod enu;
pub mod geodesic;

pub use angle::{az_el_range_to_enu, enu_to_az_el_range, wrap_deg_360, wrap_pi};
pub use ecef::{Ecef, WGS84_A_M, WGS84_B_M, WGS84_E2, WGS84_F, ecef_to_lla, lla_to_ecef};
pub use enu::EnuFrame;
pub use geodesic::{Geodesic, geodesic_direct, geodesic_inverse};
