//! Properties of the codec over arbitrary events and arbitrary bytes: every event written as
//! XML or TAK v1 reads back exactly; no input makes a reader panic; a stream gives back its
//! events whatever the chunking, and garbage between them costs only errors.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use dronewatch_cot::{
    Contact, Detail, Event, Group, Point, PrecisionLocation, Status, StreamSplitter, Takv, Track,
    parse_xml, tak, to_xml,
};
use proptest::prelude::*;

/// Text with what XML escapes, line ends and tabs, and non-ASCII.
fn text() -> impl Strategy<Value = String> {
    prop::string::string_regex("[a-zA-Z0-9 <>&'\"\t\r\n.:/_é漢🛸-]{0,24}").unwrap()
}

fn non_empty() -> impl Strategy<Value = String> {
    prop::string::string_regex("[a-zA-Z0-9<>&'\" é-]{1,16}").unwrap()
}

fn opt_text() -> impl Strategy<Value = Option<String>> {
    prop::option::of(non_empty())
}

/// Milliseconds from 1970 to 2200.
fn ms() -> impl Strategy<Value = i64> {
    0i64..7_258_118_400_000
}

fn detail() -> impl Strategy<Value = Detail> {
    (
        prop::option::of(
            (text(), opt_text()).prop_map(|(callsign, endpoint)| Contact { callsign, endpoint }),
        ),
        prop::option::of((text(), text()).prop_map(|(name, role)| Group { name, role })),
        prop::option::of((opt_text(), opt_text()).prop_map(|(geopointsrc, altsrc)| {
            PrecisionLocation {
                geopointsrc,
                altsrc,
            }
        })),
        prop::option::of(any::<u32>().prop_map(|battery| Status { battery })),
        prop::option::of((text(), text(), text(), text()).prop_map(
            |(device, platform, os, version)| Takv {
                device,
                platform,
                os,
                version,
            },
        )),
        prop::option::of(
            (-1e6f64..1e6, -1e6f64..1e6).prop_map(|(course_deg, speed_mps)| Track {
                course_deg,
                speed_mps,
            }),
        ),
        prop::option::of(text()),
    )
        .prop_map(
            |(contact, group, precision_location, status, takv, track, remarks)| {
                let mut d = Detail {
                    contact,
                    group,
                    precision_location,
                    status,
                    takv,
                    track,
                    xml: String::new(),
                };
                if let Some(r) = remarks {
                    d.push_element("remarks", &[("source", &r)], Some(&r));
                    d.push_element("link", &[("uid", &r), ("relation", "p-p")], None);
                }
                d
            },
        )
}

fn event() -> impl Strategy<Value = Event> {
    (
        (non_empty(), non_empty(), text(), ms(), ms(), ms()),
        (opt_text(), opt_text(), opt_text()),
        (
            -90f64..=90.0,
            -180f64..=180.0,
            -1e7f64..1e7,
            0f64..1e7,
            0f64..1e7,
        ),
        detail(),
    )
        .prop_map(
            |((uid, cot_type, how, t, start, stale), (access, qos, opex), p, detail)| Event {
                uid,
                cot_type,
                how,
                time_unix_ms: t,
                start_unix_ms: start,
                stale_unix_ms: stale,
                access,
                qos,
                opex,
                point: Point {
                    lat_deg: p.0,
                    lon_deg: p.1,
                    hae_m: p.2,
                    ce_m: p.3,
                    le_m: p.4,
                },
                detail,
            },
        )
}

/// Garbage between events: anything ASCII, with bits of markup. (A stray 0xbf followed by
/// a plausible TAK header would eat what its length says; no framing can avoid that.)
fn garbage() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::string::string_regex("[a-z0-9 !#%<>/?=\"'-]{0,12}").unwrap(),
        prop::sample::select(vec![
            "<event ", "<?xml", "<!--", "</event>", "<event/>", "<e", "<"
        ])
        .prop_map(str::to_owned),
    ]
}

proptest! {
    #[test]
    fn every_event_reads_back_exactly_from_xml_and_tak(e in event()) {
        prop_assert_eq!(&parse_xml(to_xml(&e).as_bytes()).unwrap(), &e);
        prop_assert_eq!(&tak::decode_mesh(&tak::encode_mesh(&e)).unwrap(), &e);
        prop_assert_eq!(&tak::decode_stream(&tak::encode_stream(&e)).unwrap(), &e);
    }

    #[test]
    fn no_bytes_make_a_reader_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = parse_xml(&bytes);
        let _ = tak::decode_mesh(&bytes);
        let _ = tak::decode_stream(&bytes);
        let mut s = StreamSplitter::new(256);
        s.push(&bytes);
        while s.next_event().is_some() {}
    }

    #[test]
    fn broken_xml_around_a_real_event_never_panics(e in event(), cut in 0usize..2000, junk in text()) {
        let xml = to_xml(&e);
        let mut broken = xml.clone().into_bytes();
        broken.truncate(cut.min(broken.len()));
        broken.extend_from_slice(junk.as_bytes());
        let _ = parse_xml(&broken);
    }

    #[test]
    fn a_stream_gives_back_its_events_whatever_the_chunks_and_the_garbage(
        events in prop::collection::vec((event(), any::<bool>()), 1..6),
        chunk in 1usize..300,
        garbage in prop::collection::vec(garbage(), 6),
    ) {
        let mut bytes = Vec::new();
        for (i, (e, as_tak)) in events.iter().enumerate() {
            bytes.extend_from_slice(garbage[i].as_bytes());
            if *as_tak {
                bytes.extend(tak::encode_stream(e));
            } else {
                bytes.extend(to_xml(e).into_bytes());
            }
        }
        let mut s = StreamSplitter::new(1 << 20);
        let mut got = Vec::new();
        for piece in bytes.chunks(chunk) {
            s.push(piece);
            while let Some(r) = s.next_event() {
                if let Ok(e) = r {
                    got.push(e);
                }
            }
        }
        let want: Vec<Event> = events.into_iter().map(|(e, _)| e).collect();
        prop_assert_eq!(got, want);
    }
}
