//! The DroneID payload checksum: CRC-16 with polynomial 0x1021, processed reflected
//! (LSB first, so the shift register uses 0x8408), no final XOR, and DJI's initial
//! register value 0x3692, over payload bytes 0..=88; the result is stored little-endian in
//! bytes 89..=90 (RUB-SysSec DroneSecurity `droneid_packet.py`; checked here against the
//! real Mavic Air 2 burst in the conformance test).

/// DJI's initial register value for the DroneID CRC.
pub const DRONEID_CRC_INIT: u16 = 0x3692;

/// Reflected CRC-16/0x1021 of `data` starting from register value `init`, no final XOR.
///
/// With `init = 0xFFFF` this is the catalogued CRC-16/MCRF4XX, with `init = 0` CRC-16/KERMIT;
/// the unit tests pin the algorithm to those catalogue check values.
pub fn crc16_reflected_1021(init: u16, data: &[u8]) -> u16 {
    let mut crc = init;
    for &byte in data {
        crc ^= u16::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0x8408
            } else {
                crc >> 1
            };
        }
    }
    crc
}

/// The DroneID CRC of `data` (the payload's first 89 bytes).
pub fn droneid_crc(data: &[u8]) -> u16 {
    crc16_reflected_1021(DRONEID_CRC_INIT, data)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Check values from the CRC catalogue (Greg Cook's reveng), input "123456789".
    #[test]
    fn algorithm_matches_catalogued_variants() {
        assert_eq!(crc16_reflected_1021(0xFFFF, b"123456789"), 0x6F91); // CRC-16/MCRF4XX
        assert_eq!(crc16_reflected_1021(0x0000, b"123456789"), 0x2189); // CRC-16/KERMIT
    }

    #[test]
    fn empty_input_leaves_the_initial_value() {
        assert_eq!(droneid_crc(&[]), DRONEID_CRC_INIT);
    }
}
