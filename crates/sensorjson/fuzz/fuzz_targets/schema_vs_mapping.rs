//! Differential: any JSON payload gets the same verdict from the JSON Schema and from the
//! Rust mapping, for every message kind.
#![no_main]

use std::sync::OnceLock;

use dronewatch_model::{ObservationId, TimeNs};
use dronewatch_sensorjson::{MessageKind, Options, Received, SensorJson, TopicLayout, map_value};
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
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    for kind in MessageKind::ALL {
        let schema = sj().validate(kind, &value);
        // The topic's sensor id equals the message's, so only content decides.
        let id = value
            .get("sensor_id")
            .and_then(|v| v.as_str())
            .unwrap_or("rx-1");
        let mapping = map_value(kind, &value, Some(id), RX, &Options::default());
        assert_eq!(
            schema.is_ok(),
            mapping.is_ok(),
            "{kind:?} {value}\nschema: {schema:?}\nmapping: {mapping:?}"
        );
    }
});
