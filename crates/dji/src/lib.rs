//! DJI DroneID: DJI's proprietary broadcast of a drone's serial, position, pilot and home
//! positions. Pure: bytes in, values out, no I/O.
//!
//! This crate parses the **decoded OcuSync 2/3 DroneID payload** (91 bytes, after an SDR
//! receiver has demodulated and turbo-decoded the burst, as RUB-SysSec's DroneSecurity
//! does) into a [`DroneIdPacket`], checks its CRC ([`crc`]) and maps it to a
//! [`dronewatch_model::Observation`] ([`to_observation`]).
//!
//! # What is not settled, and how the types show it
//!
//! There is no public specification; everything rests on reverse engineering
//! (DroneSecurity, NDSS 2023; Department 13's 2017 white paper; Kismet's Wi-Fi DroneID
//! definition). Fields whose unit the sources disagree on keep their raw integer
//! (`altitude_raw`, `height_raw`, `v_*_raw`, `yaw_raw`) and every conversion names its
//! assumption ([`DroneIdPacket::altitude_m_assuming`] takes a [`LengthUnit`]):
//!
//! - **altitude / height**: DroneSecurity divides by 3.281 (feet); other write-ups say
//!   metres. In the one real burst (Mavic Air 2, Bochum) the raw values are 141 and 42: as
//!   metres that puts the home point about 99 m above the altitude datum, near the ground
//!   elevation there; as feet about 30 m. That hints at metres but proves nothing (the
//!   altitude datum itself is unknown), so the default stays with the published decoder and
//!   the mapping widens the vertical sigma to cover both readings.
//! - **velocities**: no source gives a unit. In the real burst `v_up` is 26; 26 m/s would
//!   be far beyond what a Mavic Air 2 can climb, so cm/s (or dm/s) is likelier.
//!   Nothing in the mapping uses them (the model's observation has no velocity).
//! - **yaw**: Kismet reads Wi-Fi DroneID attitude as centidegrees; unverified for OcuSync.
//! - **state flags**: see [`StateInfo`]; several bits are guesses upstream.
//! - **angles** are radians × 1e7, which is settled: DroneSecurity's ÷174533 and
//!   Kismet's agree, and the real burst lands in Bochum, where its authors work.
//!
//! Wi-Fi DroneID (vendor IE OUI 26:37:12 in beacons of older "Enhanced Wi-Fi" models) is
//! **not** parsed here: its only public layout (Kismet's `.ksy`; one older copy even gives
//! the OUI as 26:32:12) could not be checked against any real capture.

pub mod crc;
mod mapping;
mod packet;
mod product;
mod state;
mod units;

pub use mapping::{MapError, MapOptions, Reception, TimeSource, to_observation};
pub use packet::{CRC_COVERED_LEN, DroneIdError, DroneIdPacket, PAYLOAD_LEN};
pub use product::{is_flight_controller, product_name};
pub use state::StateInfo;
pub use units::{
    FEET_PER_METRE_DRONESECURITY, LengthUnit, METRES_PER_FOOT, SpeedUnit, deg_to_rad_e7,
    rad_e7_to_deg,
};
