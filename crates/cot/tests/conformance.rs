//! Conformance on real ATAK events (`../shared/data/cot`): the 12 ATAK-CIV example exports,
//! and their TAK Protocol v1 encodings made by PyPI takproto 3.0.1 (an independent
//! implementation), which our decoder must read as takproto reads them back, and as we read
//! the same events from XML.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use dronewatch_cot::{Event, parse_xml, tak, to_xml};
use quick_xml::Reader;
use quick_xml::events::Event as Xml;
use serde_json::Value;

fn examples() -> Option<Vec<(String, Vec<u8>)>> {
    let dir = dronewatch_testdata::data("cot/atak-civ-examples")?;
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "cot"))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&p).unwrap())
        })
        .collect();
    out.sort();
    Some(out)
}

fn reference() -> Option<Vec<Value>> {
    let path = dronewatch_testdata::data("cot/generated/takproto_v1_from_atak_examples.jsonl")?;
    let text = std::fs::read_to_string(path).unwrap();
    Some(
        text.lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect(),
    )
}

/// An XML fragment as a list of tokens, whatever its quoting and empty-element style
/// (`<a x='1'/>`, `<a x="1" />`, `<a x="1"></a>` are the same); attribute order and all text
/// (whitespace too) count. Elements named `skip` are left out.
fn canon(xml: &str, skip: &str) -> Vec<String> {
    let v = quick_xml::XmlVersion::Implicit1_0;
    let mut r = Reader::from_str(xml);
    let mut out = Vec::new();
    let mut skipping = 0;
    loop {
        let (e, empty) = match r.read_event().unwrap() {
            Xml::Start(e) => (e, false),
            Xml::Empty(e) => (e, true),
            Xml::End(_) if skipping > 0 => {
                skipping -= 1;
                continue;
            }
            Xml::End(e) => {
                out.push(format!("</{}>", e.name().as_ref()));
                continue;
            }
            Xml::Text(t) if skipping == 0 => {
                out.push(format!("text {:?}", t.xml_content(v)));
                continue;
            }
            Xml::GeneralRef(g) if skipping == 0 => {
                out.push(format!("&{};", g.xml_content(v)));
                continue;
            }
            Xml::Eof => return out,
            _ => continue,
        };
        if e.name().as_ref() == skip || skipping > 0 {
            if !empty {
                skipping += 1;
            }
            continue;
        }
        let attrs: Vec<String> = e
            .attributes()
            .map(|a| {
                let a = a.unwrap();
                format!("{}={:?}", a.key.as_ref(), a.normalized_value(v).unwrap())
            })
            .collect();
        out.push(format!("<{} {}>", e.name().as_ref(), attrs.join(" ")));
        if empty {
            out.push(format!("</{}>", e.name().as_ref()));
        }
    }
}

#[test]
fn every_atak_example_reads_and_writes_back_the_same() {
    let Some(files) = examples() else { return };
    assert_eq!(files.len(), 12);
    for (name, bytes) in &files {
        let e = parse_xml(bytes).unwrap_or_else(|err| panic!("{name}: {err}"));
        assert!(!e.uid.is_empty() && !e.cot_type.is_empty(), "{name}");
        let again = parse_xml(to_xml(&e).as_bytes()).unwrap();
        assert_eq!(again, e, "{name}");
        assert_eq!(
            tak::decode_mesh(&tak::encode_mesh(&e)).unwrap(),
            e,
            "{name}"
        );
        assert_eq!(
            tak::decode_stream(&tak::encode_stream(&e)).unwrap(),
            e,
            "{name}"
        );
    }
    let (_, marker) = files.iter().find(|(n, _)| n == "marker-2525.cot").unwrap();
    let e = parse_xml(marker).unwrap();
    assert_eq!(e.uid, "a0c524c6-0422-4382-9981-e39d1dc71730");
    assert_eq!(e.cot_type, "a-u-G");
    assert_eq!(e.how, "h-g-i-g-o");
    assert_eq!(e.time_unix_ms, 1_608_148_774_910);
    assert_eq!(e.stale_unix_ms, 1_609_620_003_838);
    assert_eq!(e.point.lat_deg, 38.856650047254725);
    assert_eq!(e.point.lon_deg, -77.06364199776728);
    assert_eq!(e.point.hae_m, dronewatch_cot::UNKNOWN);
    assert_eq!(e.detail.contact.as_ref().unwrap().callsign, "U.16.135057");
    let p = e.detail.precision_location.as_ref().unwrap();
    assert_eq!(p.altsrc.as_deref(), Some("???"));
    assert_eq!(e.detail.remarks().as_deref(), Some(""));
    let link = e.detail.element_attrs("link").unwrap();
    assert!(link.contains(&("parent_callsign".into(), "HOPE".into())));
    assert_eq!(
        dronewatch_cot::types::sidc_2525b(&e.cot_type).as_deref(),
        Some("SUGP-----------")
    );
}

#[test]
fn takproto_encodings_read_as_takproto_reads_them_and_as_the_xml_they_came_from() {
    let (Some(files), Some(lines)) = (examples(), reference()) else {
        return;
    };
    assert_eq!(lines.len(), 12);
    // Files whose XML we encode to takproto's very bytes: none, as its xmlDetail is
    // re-serialised and ours is the children as written; kept to see if that changes.
    let mut identical = Vec::new();
    for line in &lines {
        let source = line["source"].as_str().unwrap();
        let want = &line["decoded"];
        let mesh_bytes = hex::decode(line["mesh_hex"].as_str().unwrap()).unwrap();
        let stream_bytes = hex::decode(line["stream_hex"].as_str().unwrap()).unwrap();
        let mesh = tak::decode_mesh(&mesh_bytes).unwrap_or_else(|e| panic!("{source} mesh: {e}"));
        let stream =
            tak::decode_stream(&stream_bytes).unwrap_or_else(|e| panic!("{source} stream: {e}"));
        assert_eq!(mesh, stream, "{source}");
        // Our encoder writes what takproto wrote, byte for byte, given the same event: the
        // same fields, in the same order, empty ones left out alike.
        assert_eq!(tak::encode_mesh(&mesh), mesh_bytes, "{source}");
        assert_eq!(tak::encode_stream(&mesh), stream_bytes, "{source}");

        // As takproto reads it back.
        assert_eq!(mesh.cot_type, want["type"], "{source}");
        assert_eq!(mesh.uid, want["uid"], "{source}");
        assert_eq!(mesh.how, want["how"], "{source}");
        assert_eq!(mesh.time_unix_ms, want["sendTime"].as_i64().unwrap());
        assert_eq!(mesh.start_unix_ms, want["startTime"].as_i64().unwrap());
        assert_eq!(mesh.stale_unix_ms, want["staleTime"].as_i64().unwrap());
        for (ours, key) in [
            (mesh.point.lat_deg, "lat"),
            (mesh.point.lon_deg, "lon"),
            (mesh.point.hae_m, "hae"),
            (mesh.point.ce_m, "ce"),
            (mesh.point.le_m, "le"),
        ] {
            assert_eq!(ours, want[key].as_f64().unwrap(), "{source} {key}");
        }
        let contact = mesh.detail.contact.as_ref().unwrap();
        assert_eq!(contact.callsign, want["callsign"], "{source}");
        assert_eq!(mesh.detail.xml, want["xmlDetail"], "{source}");

        // As we read the same event from its XML: the same typed fields and header, and the
        // same xmlDetail but for (1) takproto re-serialising it (double quotes, `<a />`,
        // `<remarks />` for `<remarks></remarks>`; whitespace inside children kept, between
        // them dropped, as we do) and (2) its lossy step: it drops `<status readiness=.../>`
        // (no battery, so no place in TAK's Status message) instead of keeping it in
        // xmlDetail as ATAK's protocol.txt asks; we keep it.
        let (_, xml) = files.iter().find(|(n, _)| n == source).unwrap();
        let from_xml: Event = parse_xml(xml).unwrap();
        if tak::encode_mesh(&from_xml) == mesh_bytes {
            identical.push(source);
        }
        let mut ours = from_xml.clone();
        ours.detail.xml = String::new();
        let mut theirs = mesh.clone();
        theirs.detail.xml = String::new();
        assert_eq!(ours, theirs, "{source}");
        assert_eq!(
            canon(&from_xml.detail.xml, "status"),
            canon(&mesh.detail.xml, "status"),
            "{source}"
        );
    }
    assert_eq!(identical, Vec::<&str>::new());
}
