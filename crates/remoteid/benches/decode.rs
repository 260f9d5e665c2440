//! Decoding speed on the real messages of the golden file (shared/data/remote-id): every
//! 25-byte message inside the packs the reference decoder accepted. Criterion reports the
//! time per iteration over all of them and, with the element throughput, per message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use dronewatch_remoteid::{MESSAGE_SIZE, Message, Payload};

/// Every 25-byte message and every payload (one message or a pack) the reference decoder
/// accepted.
struct Golden {
    messages: Vec<[u8; MESSAGE_SIZE]>,
    payloads: Vec<Vec<u8>>,
}

fn load() -> Option<Golden> {
    let path = dronewatch_testdata::data("remote-id/generated/odid_samples_decoded.jsonl")?;
    let text = std::fs::read_to_string(path).unwrap();
    let mut messages = Vec::new();
    let mut payloads = Vec::new();
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        if v["rc"] != 0 {
            continue;
        }
        let bytes = hex::decode(v["hex"].as_str().unwrap()).unwrap();
        let n = usize::from(bytes[2]);
        for i in 0..n {
            let m: [u8; MESSAGE_SIZE] = bytes[3 + i * 25..3 + (i + 1) * 25].try_into().unwrap();
            messages.push(m);
        }
        payloads.push(bytes);
    }
    Some(Golden { messages, payloads })
}

fn bench(c: &mut Criterion) {
    let Some(Golden { messages, payloads }) = load() else {
        return;
    };
    let mut g = c.benchmark_group("remoteid");
    g.throughput(Throughput::Elements(messages.len() as u64));
    g.bench_function(format!("decode_message_x{}", messages.len()), |b| {
        b.iter(|| {
            for m in &messages {
                // The result stays in memory, as the C decoder's output struct does.
                let r = Message::decode_array(black_box(m));
                black_box(&r);
            }
        })
    });
    g.throughput(Throughput::Elements(payloads.len() as u64));
    g.bench_function(format!("decode_payload_x{}", payloads.len()), |b| {
        b.iter(|| {
            for p in &payloads {
                if let Ok(p) = Payload::decode(black_box(p)) {
                    for m in p.messages() {
                        black_box(&m);
                    }
                }
            }
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
