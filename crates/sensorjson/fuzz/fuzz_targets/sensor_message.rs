//! Arbitrary topic and payload into the full parse (topic, size, JSON, schema, mapping):
//! never a panic, and whatever is accepted is a valid model value.
#![no_main]

use std::sync::OnceLock;

use dronewatch_model::{ObservationId, TimeNs};
use dronewatch_sensorjson::{
    MessageKind, Options, Received, SensorJson, SensorMessage, TopicLayout,
};
use libfuzzer_sys::fuzz_target;

fn sj() -> &'static SensorJson {
    static SJ: OnceLock<SensorJson> = OnceLock::new();
    SJ.get_or_init(|| {
        SensorJson::new(TopicLayout::default(), Options::default())
            .unwrap_or_else(|e| panic!("embedded schema: {e}"))
    })
}

const RX: Received = Received {
    at: TimeNs(1_800_000_000_000_000_000),
    id: ObservationId(0),
};

fuzz_target!(|data: &[u8]| {
    // First byte picks a well-formed topic kind, or (>= 3) uses the next line as the topic.
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let (topic, payload) = match MessageKind::ALL.get(usize::from(sel)) {
        Some(kind) => (TopicLayout::default().topic("s1", "rx-1", *kind), rest),
        None => {
            let cut = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
            let (t, p) = rest.split_at(cut);
            (String::from_utf8_lossy(t).into_owned(), p)
        }
    };
    match sj().parse(&topic, payload, RX) {
        Ok(SensorMessage::Observation(o)) => assert!(o.measurement.validate().is_ok()),
        Ok(SensorMessage::Health(h)) => assert!(h.position.is_none_or(|p| p.is_valid())),
        Err(e) => assert!(!e.errors.is_empty()),
    }
});
