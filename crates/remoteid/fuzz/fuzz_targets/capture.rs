//! Arbitrary bytes as a capture file (the first byte picks a pcap or pcapng magic so
//! the parsers get past the header), read through the whole pipeline: capture reader,
//! transports, decoder, receiver, JSON records. Never panics.
#![no_main]

use dronewatch_remoteid::{CaptureReader, DecodeCapture, ReceiverConfig};
use libfuzzer_sys::fuzz_target;

const MAGICS: [[u8; 4]; 4] = [
    [0xd4, 0xc3, 0xb2, 0xa1],
    [0xa1, 0xb2, 0xc3, 0xd4],
    [0x4d, 0x3c, 0xb2, 0xa1],
    [0x0a, 0x0d, 0x0d, 0x0a],
];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let mut file = rest.to_vec();
    if let Some(magic) = MAGICS.get(usize::from(pick % 5)) {
        if file.len() >= 4 {
            file[..4].copy_from_slice(magic);
        }
    }
    if let Ok(reader) = CaptureReader::from_bytes(file.clone()) {
        for item in reader.take(10_000) {
            let _ = item;
        }
    }
    if let Ok(records) = DecodeCapture::from_bytes(file, ReceiverConfig::default()) {
        for r in records.take(10_000).flatten() {
            let _ = serde_json::to_string(&r).expect("serializes");
        }
    }
});
