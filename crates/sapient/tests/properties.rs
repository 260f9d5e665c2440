//! Property tests: the frame codec round-trips however the stream is cut, and no decoder,
//! validator, mapping or session step panics on arbitrary input.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use bytes::BytesMut;
use dronewatch_geo::geodesic_inverse;
use dronewatch_model::{Lla, TimeNs};
use dronewatch_sapient::mapping::{
    AxisOrder, DefaultSigmas, location_to_fix, range_bearing_measurement,
};
use dronewatch_sapient::session::{NodeRegistry, Outputs, Session, SessionConfig};
use dronewatch_sapient::utm::{UtmZone, lla_to_utm, utm_to_lla};
use dronewatch_sapient::{FrameCodec, json, v1, v2, validate, validate_v1};
use proptest::prelude::*;
use prost::Message;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn frames_round_trip_across_any_split(
        payloads in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..300), 0..20),
        cuts in prop::collection::vec(1usize..64, 0..50),
    ) {
        let codec = FrameCodec::new(1024);
        let mut wire = BytesMut::new();
        for p in &payloads {
            codec.encode_payload(p, &mut wire).unwrap();
        }
        let wire = wire.freeze();
        let mut buf = BytesMut::new();
        let mut got = Vec::new();
        let mut pos = 0;
        let mut cuts = cuts.into_iter().cycle();
        while pos < wire.len() {
            let n = cuts.next().unwrap_or(wire.len()).min(wire.len() - pos);
            buf.extend_from_slice(&wire[pos..pos + n]);
            pos += n;
            while let Some(frame) = codec.decode(&mut buf).unwrap() {
                got.push(frame.to_vec());
            }
        }
        prop_assert_eq!(got, payloads);
        prop_assert!(buf.is_empty());
    }

    #[test]
    fn frame_decoder_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..2048), max in 0usize..4096) {
        let codec = FrameCodec::new(max);
        let mut buf = BytesMut::from(&bytes[..]);
        while let Ok(Some(frame)) = codec.decode(&mut buf) {
            prop_assert!(frame.len() <= max);
        }
    }

    #[test]
    fn message_decoders_and_validators_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..1024)) {
        if let Ok(m) = v2::SapientMessage::decode(&bytes[..]) {
            let _ = validate(&m);
            let _ = json::v2_to_json(&m);
        }
        if let Ok(m) = v1::SapientMessage::decode(&bytes[..]) {
            let _ = validate_v1(&m);
            let _ = dronewatch_sapient::convert::upgrade(&m);
        }
        let mut s = Session::new(Arc::new(SessionConfig::default()), NodeRegistry::new(), 1);
        let mut out = Outputs::default();
        s.handle_frame(&bytes, TimeNs(0), &mut out);
        prop_assert!(out.replies.len() <= 1);
    }

    #[test]
    fn json_parser_never_panics(text in ".{0,400}") {
        let _ = json::v2_from_json(&text);
        let _ = json::v1_from_json(&text);
    }

    #[test]
    fn mapping_never_panics_and_only_yields_valid_measurements(
        x in prop_oneof![any::<f64>(), -200.0..200.0f64],
        y in prop_oneof![any::<f64>(), -100.0..100.0f64],
        cs in 0i32..7,
        datum in 0i32..5,
        az in prop::option::of(prop_oneof![any::<f64>(), -720.0..720.0f64]),
        el in prop::option::of(prop_oneof![any::<f64>(), -100.0..100.0f64]),
        range in prop::option::of(prop_oneof![any::<f64>(), -10.0..10_000.0f64]),
        err in prop::option::of(any::<f64>()),
    ) {
        let loc = v2::Location {
            x: Some(x), y: Some(y), z: None, x_error: err, y_error: err, z_error: err,
            coordinate_system: Some(cs), datum: Some(datum), utm_zone: Some("30U".into()),
        };
        if let Ok(fix) = location_to_fix(&loc, AxisOrder::LonLat, None, "l") {
            prop_assert!(fix.lla.is_valid(), "{fix:?}");
        }
        let rb = v2::RangeBearing {
            elevation: el, azimuth: az, range, elevation_error: err, azimuth_error: err,
            range_error: err, coordinate_system: Some(cs), datum: Some(datum),
        };
        let node = Lla::new(51.2, -1.8, 100.0);
        if let Ok(m) = range_bearing_measurement(&rb, &node, &DefaultSigmas::default(), "r") {
            prop_assert!(m.validate().is_ok(), "{m:?}");
        }
    }

    #[test]
    fn utm_round_trips(lat in -79.9..83.9f64, dlon in -3.0..3.0f64, number in 1u8..=60) {
        let zone = UtmZone { number, north: lat >= 0.0 };
        let p = Lla::new(lat, zone.central_meridian_deg() + dlon, 0.0);
        let (e, n) = lla_to_utm(zone, &p);
        let q = utm_to_lla(zone, e, n, 0.0);
        prop_assert!((q.lat_deg - p.lat_deg).abs() < 1e-8, "{p:?} {q:?}");
        let dlon_back = (q.lon_deg - p.lon_deg + 540.0).rem_euclid(360.0) - 180.0;
        prop_assert!(dlon_back.abs() < 1e-8, "{p:?} {q:?}");
    }
}

/// On the central meridian a UTM northing is 0.9996 × the meridian arc from the equator,
/// which Karney's geodesic (GeographicLib, through dronewatch-geo) gives independently.
#[test]
fn utm_northing_on_the_central_meridian_matches_the_geodesic_arc() {
    let zone = UtmZone {
        number: 30,
        north: true,
    };
    for lat in [1.0, 10.0, 30.0, 45.0, 51.2, 60.0, 75.0, 84.0] {
        let on_cm = Lla::new(lat, -3.0, 0.0);
        let arc_m = geodesic_inverse(&Lla::new(0.0, -3.0, 0.0), &on_cm).distance_m;
        let (e, n) = lla_to_utm(zone, &on_cm);
        assert!((e - 500_000.0).abs() < 1e-6, "{e}");
        assert!(
            (n - 0.9996 * arc_m).abs() < 1e-3,
            "lat {lat}: {n} vs {}",
            0.9996 * arc_m
        );
        let back = utm_to_lla(zone, 500_000.0, 0.9996 * arc_m, 0.0);
        assert!((back.lat_deg - lat).abs() < 1e-8, "{back:?}");
    }
}

/// Off the meridian: the distance between two nearby UTM points, divided by the point scale
/// factor, matches the geodesic between their inverses.
#[test]
fn utm_inverse_preserves_local_distances() {
    let zone = UtmZone {
        number: 30,
        north: true,
    };
    for (e, n) in [
        (300_000.0, 5_650_000.0),
        (700_000.0, 6_200_000.0),
        (650_000.0, 1_000_000.0),
    ] {
        let a = utm_to_lla(zone, e, n, 0.0);
        let b = utm_to_lla(zone, e + 30.0, n + 40.0, 0.0);
        let geodesic_m = geodesic_inverse(&a, &b).distance_m;
        // Point scale factor of the transverse Mercator projection, to first order.
        let x = (e + 15.0 - 500_000.0) / (0.9996 * 6_378_137.0);
        let k = 0.9996 * (1.0 + x * x / 2.0);
        assert!(
            (50.0 / k - geodesic_m).abs() < 0.002,
            "{e},{n}: {} vs {geodesic_m}",
            50.0 / k
        );
    }
}
