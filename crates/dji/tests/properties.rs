//! Property tests: the parser never panics, encoding round-trips, the CRC catches every
//! single-bit error, and mapping never panics on a CRC-valid payload.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use dronewatch_dji::{
    DroneIdPacket, LengthUnit, MapOptions, PAYLOAD_LEN, Reception, StateInfo, TimeSource,
    to_observation,
};
use dronewatch_model::{ObservationId, SensorId, TimeNs};
use proptest::prelude::*;

fn ascii(max: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(0x20u8..0x7f, 0..=max)
        .prop_map(|b| b.into_iter().map(char::from).collect())
}

prop_compose! {
    fn packet()(
        head in any::<(u8, u8, u8, u16, u16)>(),
        serial in ascii(16),
        pos in any::<(i32, i32, i32, i32, i32, i32)>(),
        alt in any::<(i16, i16, i16, i16, i16, i16)>(),
        gps_time_ms in any::<u64>(),
        product_type in any::<u8>(),
        uuid in ascii(20),
    ) -> DroneIdPacket {
        DroneIdPacket {
            pkt_len: head.0,
            unknown_1: head.1,
            version: head.2,
            sequence: head.3,
            state: StateInfo(head.4),
            serial,
            drone_lon_rad_e7: pos.0,
            drone_lat_rad_e7: pos.1,
            altitude_raw: alt.0,
            height_raw: alt.1,
            v_north_raw: alt.2,
            v_east_raw: alt.3,
            v_up_raw: alt.4,
            yaw_raw: alt.5,
            gps_time_ms,
            app_lat_rad_e7: pos.2,
            app_lon_rad_e7: pos.3,
            home_lon_rad_e7: pos.4,
            home_lat_rad_e7: pos.5,
            product_type,
            uuid_len: uuid.len() as u8,
            uuid,
            crc: 0,
        }.with_crc()
    }
}

proptest! {
    #[test]
    fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = DroneIdPacket::parse(&bytes);
        let _ = DroneIdPacket::parse_unchecked(&bytes);
    }

    #[test]
    fn encode_then_parse_is_identity(p in packet()) {
        prop_assert_eq!(DroneIdPacket::parse(&p.to_bytes()), Ok(p));
    }

    #[test]
    fn any_single_bit_flip_is_caught(p in packet(), bit in 0usize..PAYLOAD_LEN * 8) {
        let mut b = p.to_bytes();
        b[bit / 8] ^= 1 << (bit % 8);
        prop_assert!(DroneIdPacket::parse(&b).is_err());
    }

    #[test]
    fn mapping_never_panics_and_only_emits_valid_measurements(
        p in packet(),
        feet in any::<bool>(),
        gps in any::<bool>(),
    ) {
        let reception = Reception {
            sensor_id: SensorId::new("rx"),
            sensor_position: None,
            id: ObservationId(0),
            received_at: TimeNs(1),
        };
        let options = MapOptions {
            altitude_unit: if feet { LengthUnit::Feet } else { LengthUnit::Metres },
            time: if gps { TimeSource::DroneGpsTime } else { TimeSource::ReceivedAt },
            ..MapOptions::default()
        };
        if let Ok(obs) = to_observation(&p, &reception, &options) {
            prop_assert!(obs.measurement.validate().is_ok());
            if let Some(op) = obs.identity.operator_position {
                prop_assert!(op.is_valid());
            }
        }
    }
}
