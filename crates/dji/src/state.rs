//! The 16-bit `state_info` flags.
//!
//! Bit meanings follow Kismet's `dot11_ie_221_dji_droneid.ksy` (Wi-Fi DroneID flight
//! telemetry, decoded by F. van Tienen and J. Dumon), read as a little-endian u16. The
//! OcuSync payload carries the same field at the same relative place; DroneSecurity lists
//! the same names in byte-swapped order, which is the same bits seen big-endian. Kismet
//! itself marks bits 6–11 "guessed" and says bits 2 and 3 (home point set, UUID set) may be
//! swapped: the real Mavic Air 2 burst has a UUID but bit 3 clear. Treat every flag as a hint.

use serde::Serialize;

/// The payload's `state_info` bit field, kept raw with named accessors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct StateInfo(pub u16);

impl StateInfo {
    fn bit(self, n: u32) -> bool {
        self.0 & (1 << n) != 0
    }

    /// Bit 0: the serial number field is valid.
    pub fn serial_valid(self) -> bool {
        self.bit(0)
    }
    /// Bit 1: "private mode disabled" (set = the pilot allows the positions to be sent).
    pub fn private_mode_disabled(self) -> bool {
        self.bit(1)
    }
    /// Bit 2: home point set (Kismet: may be swapped with bit 3).
    pub fn home_point_set(self) -> bool {
        self.bit(2)
    }
    /// Bit 3: UUID set (Kismet: may be swapped with bit 2).
    pub fn uuid_set(self) -> bool {
        self.bit(3)
    }
    /// Bit 4: motors on.
    pub fn motor_on(self) -> bool {
        self.bit(4)
    }
    /// Bit 5: in the air.
    pub fn in_air(self) -> bool {
        self.bit(5)
    }
    /// Bit 6 (guessed): GPS position valid.
    pub fn gps_valid(self) -> bool {
        self.bit(6)
    }
    /// Bit 7 (guessed): altitude valid.
    pub fn altitude_valid(self) -> bool {
        self.bit(7)
    }
    /// Bit 8 (guessed): height above home valid.
    pub fn height_valid(self) -> bool {
        self.bit(8)
    }
    /// Bit 9 (guessed): horizontal velocity valid.
    pub fn horizontal_velocity_valid(self) -> bool {
        self.bit(9)
    }
    /// Bit 10 (guessed): vertical velocity valid.
    pub fn vertical_velocity_valid(self) -> bool {
        self.bit(10)
    }
    /// Bit 11 (guessed): attitude (pitch/roll/yaw) valid.
    pub fn attitude_valid(self) -> bool {
        self.bit(11)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_accessor_reads_its_own_bit() {
        let accessors: [fn(StateInfo) -> bool; 12] = [
            StateInfo::serial_valid,
            StateInfo::private_mode_disabled,
            StateInfo::home_point_set,
            StateInfo::uuid_set,
            StateInfo::motor_on,
            StateInfo::in_air,
            StateInfo::gps_valid,
            StateInfo::altitude_valid,
            StateInfo::height_valid,
            StateInfo::horizontal_velocity_valid,
            StateInfo::vertical_velocity_valid,
            StateInfo::attitude_valid,
        ];
        for n in 0..accessors.len() {
            let only = StateInfo(1 << n);
            for (m, g) in accessors.iter().enumerate() {
                assert_eq!(g(only), n == m, "bit {n} read by accessor {m}");
            }
        }
    }
}
