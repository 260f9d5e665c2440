//! Conformance on real data: rs1090's `long_flight.csv` (30,000 real Beast frames out of
//! Toulouse) through our Beast decoder and [`AircraftTable`], against what a real
//! dump1090-mutability wrote for the same frames (its SBS-1 output and its final
//! aircraft.json). See shared/data/SOURCES.md, section adsb.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use dronewatch_adsb::rs1090::decode::DF;
use dronewatch_adsb::rs1090::decode::adsb::ME;
use dronewatch_adsb::rs1090::prelude::{DekuContainerRead, Message};
use dronewatch_adsb::{
    AircraftState, AircraftTable, AltBaro, BeastDecoder, RawFrame, SbsError, TableConfig,
    encode_beast, parse_aircraft_json, parse_sbs_line,
};
use dronewatch_model::{Measurement, SensorId, TimeNs};

/// `(unix time, frame)` per line. The file stores each Beast frame *unescaped* (a lone
/// 0x1a inside a payload is common, and every line is exactly 2 + 6 + 1 + 7|14 bytes, as
/// rs1090's own reader assumes), so it is read by that fixed layout here.
fn load_csv() -> Option<Vec<(TimeNs, RawFrame)>> {
    let path = dronewatch_testdata::data("adsb/long_flight.csv")?;
    let text = std::fs::read_to_string(path).unwrap();
    Some(
        text.lines()
            .map(|l| {
                let (t, h) = l.split_once(',').unwrap();
                let b = hex::decode(h.trim()).unwrap();
                assert_eq!(b[0], 0x1a);
                let f = RawFrame::from_unescaped_beast(&b).unwrap();
                assert_eq!(f.kind().beast_type(), b[1]);
                (TimeNs::from_secs_f64(t.parse().unwrap()), f)
            })
            .collect(),
    )
}

/// The recording as a Beast byte stream (escaped, as on port 30005), decoded back by our
/// decoder one line's bytes at a time: each must give back exactly its frame.
fn beast_frames(lines: &[(TimeNs, RawFrame)]) -> Vec<(TimeNs, RawFrame)> {
    let mut dec = BeastDecoder::new();
    let mut out = Vec::with_capacity(lines.len());
    let mut wire = Vec::new();
    for (i, (t, frame)) in lines.iter().enumerate() {
        wire.clear();
        encode_beast(frame, &mut wire);
        let got: Vec<_> = dec.feed(&wire).collect();
        assert_eq!(got, vec![Ok(*frame)], "line {}", i + 1);
        out.push((*t, *frame));
    }
    assert!(!dec.in_frame());
    out
}

/// One airborne position message (TC 9..18, 20..22) as our table saw it.
#[derive(Debug, Clone)]
struct AirbornePos {
    alt_ft: Option<i32>,
    pos: Option<(f64, f64)>,
}

/// Runs the whole recording through a table; per address, every airborne position message
/// in order with the position the table resolved for it (if any).
/// Speed, track and vertical rate of an aircraft after a frame that changed one of them.
type Motion = (TimeNs, Option<f64>, Option<f64>, Option<i32>);

/// Also the aircraft's state right after each observation, and each aircraft's history of
/// [`Motion`].
#[allow(clippy::type_complexity)]
fn decode_recording(
    frames: &[(TimeNs, RawFrame)],
    config: TableConfig,
) -> (
    AircraftTable,
    BTreeMap<u32, Vec<AirbornePos>>,
    Vec<AircraftState>,
    BTreeMap<u32, Vec<Motion>>,
) {
    let mut motion: BTreeMap<u32, Vec<Motion>> = BTreeMap::new();
    let mut table = AircraftTable::new(config);
    let mut per_icao: BTreeMap<u32, Vec<AirbornePos>> = BTreeMap::new();
    let mut observations = Vec::new();
    for (t, frame) in frames {
        // Decode once more on the side only to know which frames are airborne positions.
        let airborne = match Message::from_bytes((frame.payload(), 0)) {
            Ok((
                _,
                Message {
                    df: DF::ExtendedSquitterADSB(adsb),
                    ..
                },
            )) => match adsb.message {
                ME::BDS05 { inner, .. } => Some((adsb.icao24.0, inner.alt)),
                _ => None,
            },
            _ => None,
        };
        let obs = table.ingest_frame(*t, frame).ok().flatten();
        if let (Some(17 | 18), [_, a, b, c, ..]) = (frame.downlink_format(), frame.payload()) {
            let icao = u32::from_be_bytes([0, *a, *b, *c]);
            if let Some(s) = table.get(icao) {
                let m = (*t, s.ground_speed_kt, s.track_deg, s.vertical_rate_fpm);
                let h = motion.entry(icao).or_default();
                if h.last().is_none_or(|l| (l.1, l.2, l.3) != (m.1, m.2, m.3)) {
                    h.push(m);
                }
            }
        }
        if let Some(o) = &obs {
            observations.push(table.get(o.identity.icao_address.unwrap()).unwrap().clone());
            o.measurement.validate().unwrap();
            assert_eq!(o.sensor_kind, dronewatch_model::SensorKind::Adsb);
        }
        if let Some((icao, alt_ft)) = airborne {
            let pos = obs.map(|o| match o.measurement {
                Measurement::Position { position, .. } => (position.lat_deg, position.lon_deg),
                _ => panic!("ADS-B observations are positions"),
            });
            per_icao
                .entry(icao)
                .or_default()
                .push(AirbornePos { alt_ft, pos });
        }
    }
    (table, per_icao, observations, motion)
}

/// The recording decoded once for all tests here (rs1090 is slow in debug builds).
struct Decoded {
    lines: Vec<(TimeNs, RawFrame)>,
    table: AircraftTable,
    airborne: BTreeMap<u32, Vec<AirbornePos>>,
    /// Each observation's aircraft state just after it.
    observations: Vec<AircraftState>,
    motion: BTreeMap<u32, Vec<Motion>>,
}

fn decoded() -> Option<&'static Decoded> {
    static CELL: OnceLock<Option<Decoded>> = OnceLock::new();
    CELL.get_or_init(|| {
        let lines = load_csv()?;
        let frames = beast_frames(&lines);
        // dump1090 ran without a receiver position (--net-only, no --lat/--lon): same here.
        let (table, airborne, observations, motion) =
            decode_recording(&frames, TableConfig::new(SensorId::new("adsb-conf")));
        Some(Decoded {
            lines,
            table,
            airborne,
            observations,
            motion,
        })
    })
    .as_ref()
}

/// Heaviest order-preserving pairing of our airborne position messages with dump1090's
/// MSG,3 lines for one aircraft. A pair needs the same altitude; it weighs 3 when both
/// resolved positions within 1e-4 deg, 2 when neither resolved, 1 when only one did, so
/// the alignment prefers real agreement but still pairs messages whose resolution differs.
fn align(ours: &[AirbornePos], theirs: &[AirbornePos]) -> Vec<(usize, usize)> {
    let weight = |a: &AirbornePos, b: &AirbornePos| -> u32 {
        if a.alt_ft != b.alt_ft {
            return 0;
        }
        match (a.pos, b.pos) {
            (Some((la, lo)), Some((lb, lob))) => {
                if (la - lb).abs() <= 1e-4 && (lo - lob).abs() <= 1e-4 {
                    3
                } else {
                    0
                }
            }
            (None, None) => 2,
            _ => 1,
        }
    };
    let (n, m) = (ours.len(), theirs.len());
    let mut dp = vec![0u32; (n + 1) * (m + 1)];
    let at = |i: usize, j: usize| i * (m + 1) + j;
    for i in 1..=n {
        for j in 1..=m {
            let w = weight(&ours[i - 1], &theirs[j - 1]);
            let diag = if w > 0 { dp[at(i - 1, j - 1)] + w } else { 0 };
            dp[at(i, j)] = diag.max(dp[at(i - 1, j)]).max(dp[at(i, j - 1)]);
        }
    }
    let mut pairs = Vec::new();
    let (mut i, mut j) = (n, m);
    while i > 0 && j > 0 {
        let w = weight(&ours[i - 1], &theirs[j - 1]);
        if w > 0 && dp[at(i, j)] == dp[at(i - 1, j - 1)] + w {
            pairs.push((i - 1, j - 1));
            i -= 1;
            j -= 1;
        } else if dp[at(i, j)] == dp[at(i - 1, j)] {
            i -= 1;
        } else {
            j -= 1;
        }
    }
    pairs.reverse();
    pairs
}

#[test]
fn beast_stream_decodes_every_frame_at_any_chunking() {
    let Some(d) = decoded() else { return };
    let lines = &d.lines;
    let per_line = lines;
    assert_eq!(per_line.len(), 30_000);
    let escapes = lines
        .iter()
        .filter(|(_, f)| f.payload().contains(&0x1a))
        .count();
    eprintln!(
        "{escapes} of {} payloads hold a 0x1a that the stream must double",
        lines.len()
    );
    // The whole recording as one stream cut at awkward places (prime-sized chunks).
    let mut stream = Vec::new();
    for (_, f) in lines {
        encode_beast(f, &mut stream);
    }
    for chunk in [1usize, 7, 13, 4093] {
        let mut dec = BeastDecoder::new();
        let mut frames = Vec::new();
        for c in stream.chunks(chunk) {
            for r in dec.feed(c) {
                frames.push(r.unwrap());
            }
        }
        assert_eq!(frames.len(), per_line.len(), "chunk {chunk}");
        assert!(frames.iter().zip(per_line).all(|(a, (_, b))| a == b));
    }
}

#[test]
fn positions_agree_with_dump1090_sbs_output() {
    let Some(d) = decoded() else { return };
    let Some(sbs_path) =
        dronewatch_testdata::data("adsb/generated/sbs_from_long_flight_dump1090-mutability.txt")
    else {
        return;
    };
    let (table, ours, observations) = (&d.table, &d.airborne, d.observations.len());
    assert!(!d.motion.is_empty());

    // Every SBS line parses; the recording was cut mid-line, so the last one is partial.
    let text = std::fs::read_to_string(sbs_path).unwrap();
    let raw_lines: Vec<&str> = text.split_inclusive('\n').collect();
    let mut theirs: BTreeMap<u32, Vec<AirbornePos>> = BTreeMap::new();
    let mut parsed = 0;
    for (i, line) in raw_lines.iter().enumerate() {
        match parse_sbs_line(line) {
            Ok(Some(m)) => {
                parsed += 1;
                if m.transmission_type == 3 {
                    theirs.entry(m.icao_address).or_default().push(AirbornePos {
                        alt_ft: m.altitude_ft,
                        pos: m.lat_deg.zip(m.lon_deg),
                    });
                }
            }
            Ok(None) => panic!("line {}: not a MSG line", i + 1),
            Err(e) => {
                assert!(
                    i + 1 == raw_lines.len() && !line.ends_with('\n'),
                    "line {}: {e}",
                    i + 1
                );
                assert!(matches!(e, SbsError::FieldCount { .. }), "{e}");
            }
        }
    }
    eprintln!(
        "SBS: {parsed} MSG lines parsed of {} (last one cut short)",
        raw_lines.len()
    );
    assert_eq!(parsed + 1, raw_lines.len());

    // Same set of aircraft with airborne positions.
    let with_pos = |m: &BTreeMap<u32, Vec<AirbornePos>>| -> BTreeSet<u32> {
        m.iter()
            .filter(|(_, v)| v.iter().any(|p| p.pos.is_some()))
            .map(|(k, _)| *k)
            .collect()
    };
    eprintln!(
        "aircraft with positions: ours {:06x?}, dump1090 {:06x?}",
        with_pos(ours),
        with_pos(&theirs)
    );
    assert_eq!(with_pos(ours), with_pos(&theirs));

    // dump1090 writes one MSG,3 per airborne position message it accepted, with or without
    // a resolved position. The reference run lost some frames (the file's frames are not
    // Beast-escaped, and a payload holding 0x1a broke dump1090's input framing), and the
    // SBS capture stops part-way through the flight, so pair them by an order-preserving
    // alignment per aircraft ([`align`]) rather than one to one.
    let (mut both, mut only_ours, mut only_theirs, mut neither, mut unpaired) = (0, 0, 0, 0, 0);
    let (mut max_dlat, mut max_dlon, mut sum_sq) = (0f64, 0f64, 0f64);
    for (icao, t) in &theirs {
        let o = ours.get(icao).map(Vec::as_slice).unwrap_or(&[]);
        let pairs = align(o, t);
        eprintln!(
            "{icao:06x}: {} airborne position messages ours, {} MSG,3 lines dump1090, {} paired",
            o.len(),
            t.len(),
            pairs.len()
        );
        unpaired += t.len() - pairs.len();
        for (i, j) in pairs {
            match (o[i].pos, t[j].pos) {
                (Some((la, lo)), Some((lb, lob))) => {
                    both += 1;
                    let (dlat, dlon) = ((la - lb).abs(), (lo - lob).abs());
                    max_dlat = max_dlat.max(dlat);
                    max_dlon = max_dlon.max(dlon);
                    sum_sq += dlat * dlat + dlon * dlon;
                }
                (Some(_), None) => only_ours += 1,
                (None, Some(_)) => only_theirs += 1,
                (None, None) => neither += 1,
            }
        }
    }
    let rms = (sum_sq / (2.0 * f64::from(both.max(1)))).sqrt();
    eprintln!(
        "MSG,3 pairs: {both} both resolved, {only_ours} only ours, {only_theirs} only dump1090, \
         {neither} neither, {unpaired} dump1090 lines unpaired; max |dlat| {max_dlat:.2e} deg, \
         max |dlon| {max_dlon:.2e} deg, rms {rms:.2e} deg"
    );
    eprintln!(
        "observations: {observations}; table stats {:?}",
        table.stats()
    );
    // Every dump1090 line has its message among ours.
    assert_eq!(unpaired, 0);
    // dump1090 prints 5 decimals: agreement is to its rounding (5e-6) plus float noise.
    assert!(both > 0);
    assert!(max_dlat <= 1e-5 && max_dlon <= 1e-5);
    // Where the two differ in *whether* a message resolved, it comes from frames dump1090
    // lost (an even/odd partner missing) or pairing windows (dump1090 saw the whole replay
    // within a second; we use the flight's own clock). Keep that rare.
    let total = both + only_ours + only_theirs;
    assert!(
        (only_ours + only_theirs) * 50 <= total,
        "more than 2 % of resolved messages differ: {only_ours} + {only_theirs} of {total}"
    );
}

#[test]
fn final_state_agrees_with_dump1090_aircraft_json() {
    let Some(d) = decoded() else { return };
    let Some(json_path) =
        dronewatch_testdata::data("adsb/generated/aircraft_json_dump1090-mutability.json")
    else {
        return;
    };
    let doc = parse_aircraft_json(&std::fs::read(json_path).unwrap()).unwrap();
    assert!(doc.rejected.is_empty(), "{:?}", doc.rejected);
    let table = &d.table;
    let mut compared = 0;
    for j in &doc.aircraft {
        let who = format!("{:06x}", j.icao_address);
        let a = table
            .get(j.icao_address)
            .unwrap_or_else(|| panic!("{who} in aircraft.json but not in our table"));
        if let Some(f) = &j.flight {
            assert_eq!(a.callsign.as_deref(), Some(f.as_str()), "{who} flight");
            compared += 1;
        }
        if let Some(c) = &j.category {
            assert_eq!(
                a.category.map(|c| c.to_string()).as_deref(),
                Some(c.as_str()),
                "{who} category"
            );
            compared += 1;
        }
        if let Some(s) = &j.squawk {
            assert_eq!(a.squawk.as_deref(), Some(s.as_str()), "{who} squawk");
            compared += 1;
        }
        match j.alt_baro {
            Some(AltBaro::Ground) => assert_eq!(a.on_ground, Some(true), "{who} on ground"),
            Some(AltBaro::Feet(ft)) => {
                assert_eq!(a.alt_baro_ft.map(f64::from), Some(ft), "{who} altitude");
                assert_eq!(a.on_ground, Some(false), "{who} airborne");
            }
            None => {}
        }
        if j.alt_baro.is_some() {
            compared += 1;
        }
        // Speed, track and vertical rate change with every velocity message, and the
        // reference run lost frames (dump1090 counted 27,888 messages of the 30,000 fed: the
        // file's frames are not Beast-escaped), so its last velocity can be an earlier one of
        // ours. Accept a match with any of our values in the aircraft's last 60 s.
        // dump1090-mutability writes them as whole numbers (truncated). On the ground the
        // speed comes from the surface "movement" code, quantised in steps of 0.125..5 kt
        // (DO-260B); rs1090 gives the bin's lower edge, dump1090-mutability one step more
        // (movement 51: 27 kt vs 28 kt), so allow one step there.
        let history = d
            .motion
            .get(&j.icao_address)
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        let end = history.last().map_or(TimeNs(0), |m| m.0);
        let recent: Vec<&Motion> = history
            .iter()
            .rev()
            .take_while(|m| end.secs_since(m.0) <= 60.0)
            .collect();
        let matches_recent = |what: &str, ok: &dyn Fn(&Motion) -> bool| {
            let k = recent.iter().position(|m| ok(m));
            assert!(
                k.is_some(),
                "{who} {what}: no match among our last {} values",
                recent.len()
            );
            if k != Some(0) {
                eprintln!("{who} {what}: matches our value {k:?} changes before the last");
            }
        };
        if let Some(gs) = j.gs_kt {
            let step = if a.on_ground == Some(true) {
                movement_step_kt(gs)
            } else {
                0.0
            };
            matches_recent("speed", &|m| {
                m.1.is_some_and(|v| (v - gs).abs() < 1.0 + step)
            });
            compared += 1;
        }
        if let Some(tr) = j.track_deg {
            matches_recent("track", &|m| {
                m.2.is_some_and(|v| {
                    let d = (v - tr).rem_euclid(360.0);
                    d.min(360.0 - d) < 1.0
                })
            });
            compared += 1;
        }
        if let Some(vr) = j.baro_rate_fpm {
            matches_recent("vertical rate", &|m| m.3.map(f64::from) == Some(vr));
            compared += 1;
        }
        if let (Some(lat), Some(lon)) = (j.lat_deg, j.lon_deg) {
            let p = a.position.unwrap_or_else(|| panic!("{who}: no position"));
            // aircraft.json prints 6 decimals.
            assert!(
                (p.lat_deg - lat).abs() <= 1e-6 && (p.lon_deg - lon).abs() <= 1e-6,
                "{who} {p:?}"
            );
            compared += 1;
        }
    }
    eprintln!(
        "aircraft.json: {} aircraft, {compared} fields compared and equal; our table holds {}",
        doc.aircraft.len(),
        table.len()
    );
    assert!(compared >= doc.aircraft.len());
}

/// Quantisation step of the surface movement code at `kt` (DO-260B §2.2.3.2.4.2).
fn movement_step_kt(kt: f64) -> f64 {
    match kt {
        k if k < 1.0 => 0.125,
        k if k < 2.0 => 0.25,
        k if k < 15.0 => 0.5,
        k if k < 70.0 => 1.0,
        k if k < 100.0 => 2.0,
        _ => 5.0,
    }
}

#[test]
fn surface_positions_resolve_with_a_receiver_reference() {
    let Some(d) = decoded() else { return };
    let frames = &d.lines;
    // Without a reference no surface position can be resolved (90° CPR cells).
    let plain = &d.table;
    // Reference: the first airborne position of any aircraft in the recording (it took off
    // from the airport where the others taxi).
    let first = plain
        .iter()
        .filter_map(|a| a.position)
        .min_by_key(|p| p.t)
        .unwrap();
    let mut config = TableConfig::new(SensorId::new("b"));
    config.receiver = Some(dronewatch_model::Lla::new(
        first.lat_deg,
        first.lon_deg,
        150.0,
    ));
    let mut table = AircraftTable::new(config);
    let mut surface = 0;
    for (t, f) in frames {
        if let Ok(Some(o)) = table.ingest_frame(*t, f) {
            let Measurement::Position { position, .. } = o.measurement else {
                panic!()
            };
            let icao = o.identity.icao_address.unwrap();
            if table
                .get(icao)
                .and_then(|a| a.position)
                .is_some_and(|p| p.surface)
            {
                surface += 1;
                // Surface reference decoding is unambiguous within 45 NM; everything taxiing
                // here is at the airport, a few km from the take-off point.
                let d_lat_km = (position.lat_deg - first.lat_deg).abs() * 111.0;
                assert!(d_lat_km < 10.0, "{icao:06x}: {position:?}");
            }
        }
    }
    eprintln!("surface positions with a receiver reference: {surface}");
    assert!(surface > 0);
}
