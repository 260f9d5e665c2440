//! Arbitrary bytes as BLE advertising data, as an advertising PDU and as a link-layer
//! packet: never panics; a found payload lies inside the input.
#![no_main]

use dronewatch_remoteid::transport::ble::{self, PduContext};
use libfuzzer_sys::fuzz_target;

const CTX: PduContext = PduContext {
    link_crc_ok: None,
    rssi_dbm: None,
};

fuzz_target!(|data: &[u8]| {
    if let Ok(Some((_, payload))) = ble::find_service_data(data) {
        assert!(payload.len() < data.len());
    }
    let _ = ble::parse_advertising_pdu(data, CTX);
    let _ = ble::parse_link_layer(data, false, CTX);
    let _ = ble::parse_link_layer(data, true, CTX);
});
