//! TAK Protocol v1: the CoT event as protobuf (`atakmap.commoncommo.protobuf.v1`), framed
//! for the mesh (one UDP datagram: `0xbf 0x01 0xbf` + `TakMessage`) or a stream (TCP:
//! `0xbf <varint length>` + `TakMessage`). Field numbers from ATAK-CIV's commoncommo
//! `protocol.txt` and .proto files; checked against PyPI takproto's encodings of real
//! ATAK events (tests/conformance.rs).

use prost::Message;

use crate::{CotError, Event, Point};

/// The magic byte that starts every TAK v1 header.
pub const MAGIC: u8 = 0xbf;

/// `TakMessage`: a control message, an event, or both.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TakMessage {
    #[prost(message, optional, tag = "1")]
    pub tak_control: Option<TakControl>,
    #[prost(message, optional, tag = "2")]
    pub cot_event: Option<CotEvent>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct TakControl {
    #[prost(uint32, tag = "1")]
    pub min_proto_version: u32,
    #[prost(uint32, tag = "2")]
    pub max_proto_version: u32,
    #[prost(string, tag = "3")]
    pub contact_uid: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct CotEvent {
    #[prost(string, tag = "1")]
    pub r#type: String,
    #[prost(string, tag = "2")]
    pub access: String,
    #[prost(string, tag = "3")]
    pub qos: String,
    #[prost(string, tag = "4")]
    pub opex: String,
    #[prost(string, tag = "5")]
    pub uid: String,
    /// Milliseconds since the Unix epoch.
    #[prost(uint64, tag = "6")]
    pub send_time: u64,
    #[prost(uint64, tag = "7")]
    pub start_time: u64,
    #[prost(uint64, tag = "8")]
    pub stale_time: u64,
    #[prost(string, tag = "9")]
    pub how: String,
    #[prost(double, tag = "10")]
    pub lat: f64,
    #[prost(double, tag = "11")]
    pub lon: f64,
    #[prost(double, tag = "12")]
    pub hae: f64,
    #[prost(double, tag = "13")]
    pub ce: f64,
    #[prost(double, tag = "14")]
    pub le: f64,
    #[prost(message, optional, tag = "15")]
    pub detail: Option<Detail>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Detail {
    #[prost(string, tag = "1")]
    pub xml_detail: String,
    #[prost(message, optional, tag = "2")]
    pub contact: Option<Contact>,
    #[prost(message, optional, tag = "3")]
    pub group: Option<Group>,
    #[prost(message, optional, tag = "4")]
    pub precision_location: Option<PrecisionLocation>,
    #[prost(message, optional, tag = "5")]
    pub status: Option<Status>,
    #[prost(message, optional, tag = "6")]
    pub takv: Option<Takv>,
    #[prost(message, optional, tag = "7")]
    pub track: Option<Track>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Contact {
    #[prost(string, tag = "1")]
    pub endpoint: String,
    #[prost(string, tag = "2")]
    pub callsign: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Group {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(string, tag = "2")]
    pub role: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct PrecisionLocation {
    #[prost(string, tag = "1")]
    pub geopointsrc: String,
    #[prost(string, tag = "2")]
    pub altsrc: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Status {
    #[prost(uint32, tag = "1")]
    pub battery: u32,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Takv {
    #[prost(string, tag = "1")]
    pub device: String,
    #[prost(string, tag = "2")]
    pub platform: String,
    #[prost(string, tag = "3")]
    pub os: String,
    #[prost(string, tag = "4")]
    pub version: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Track {
    #[prost(double, tag = "1")]
    pub speed: f64,
    #[prost(double, tag = "2")]
    pub course: f64,
}

/// The event as one mesh datagram.
pub fn encode_mesh(event: &Event) -> Vec<u8> {
    let msg = to_message(event);
    let mut out = Vec::with_capacity(3 + msg.encoded_len());
    out.extend_from_slice(&[MAGIC, 1, MAGIC]);
    msg.encode_raw(&mut out);
    out
}

/// The event as one stream frame.
pub fn encode_stream(event: &Event) -> Vec<u8> {
    let msg = to_message(event);
    let len = msg.encoded_len();
    let mut out = Vec::with_capacity(11 + len);
    out.push(MAGIC);
    prost::encoding::encode_varint(len as u64, &mut out);
    msg.encode_raw(&mut out);
    out
}

/// Reads one mesh datagram.
pub fn decode_mesh(datagram: &[u8]) -> Result<Event, CotError> {
    let [MAGIC, version_and_rest @ ..] = datagram else {
        return Err(CotError::Header("does not start with 0xbf".into()));
    };
    let mut rest = version_and_rest;
    let version = prost::encoding::decode_varint(&mut rest)
        .map_err(|e| CotError::Header(format!("version: {e}")))?;
    if version != 1 {
        return Err(CotError::Header(format!("version {version}, not 1")));
    }
    let [MAGIC, body @ ..] = rest else {
        return Err(CotError::Header("no 0xbf after the version".into()));
    };
    decode_message(body)
}

/// Reads exactly one stream frame.
pub fn decode_stream(frame: &[u8]) -> Result<Event, CotError> {
    let [MAGIC, rest @ ..] = frame else {
        return Err(CotError::Header("does not start with 0xbf".into()));
    };
    let mut body = rest;
    let len = prost::encoding::decode_varint(&mut body)
        .map_err(|e| CotError::Header(format!("length: {e}")))?;
    if len != body.len() as u64 {
        return Err(CotError::Header(format!(
            "length {len}, but {} bytes follow",
            body.len()
        )));
    }
    decode_message(body)
}

/// A stream frame's total size from its first bytes: `Ok(None)` if more bytes are needed.
pub(crate) fn stream_frame_len(buf: &[u8]) -> Result<Option<usize>, CotError> {
    let mut len: u64 = 0;
    for (i, b) in buf.iter().skip(1).take(10).enumerate() {
        len |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            let total = (len as usize).checked_add(i + 2);
            return total
                .map(Some)
                .ok_or_else(|| CotError::Header("length overflows".into()));
        }
    }
    if buf.len() > 11 {
        return Err(CotError::Header(
            "length: varint longer than 10 bytes".into(),
        ));
    }
    Ok(None)
}

fn decode_message(body: &[u8]) -> Result<Event, CotError> {
    let msg = TakMessage::decode(body).map_err(|e| CotError::Protobuf(e.to_string()))?;
    let ev = msg
        .cot_event
        .ok_or(CotError::Missing("TakMessage.cotEvent"))?;
    from_cot_event(ev)
}

fn opt(s: &Option<String>) -> String {
    s.clone().unwrap_or_default()
}

fn non_empty(s: String) -> Option<String> {
    (!s.is_empty()).then_some(s)
}

/// Negative times (before 1970) have no place in TAK v1's unsigned fields.
fn ms_u64(ms: i64) -> u64 {
    ms.max(0) as u64
}

/// A time that CoT XML can also carry (up to the year 9999).
fn ms_i64(field: &'static str, ms: u64) -> Result<i64, CotError> {
    i64::try_from(ms)
        .ok()
        .filter(|&ms| crate::time::writable(ms))
        .ok_or_else(|| CotError::field(field, format!("{ms} ms is after the year 9999")))
}

/// The event as a `TakMessage` (for a caller that frames it itself or adds a `TakControl`).
pub fn to_message(e: &Event) -> TakMessage {
    let d = &e.detail;
    TakMessage {
        tak_control: None,
        cot_event: Some(CotEvent {
            r#type: e.cot_type.clone(),
            access: opt(&e.access),
            qos: opt(&e.qos),
            opex: opt(&e.opex),
            uid: e.uid.clone(),
            send_time: ms_u64(e.time_unix_ms),
            start_time: ms_u64(e.start_unix_ms),
            stale_time: ms_u64(e.stale_unix_ms),
            how: e.how.clone(),
            lat: e.point.lat_deg,
            lon: e.point.lon_deg,
            hae: e.point.hae_m,
            ce: e.point.ce_m,
            le: e.point.le_m,
            detail: Some(Detail {
                xml_detail: d.xml.clone(),
                contact: d.contact.as_ref().map(|c| Contact {
                    endpoint: opt(&c.endpoint),
                    callsign: c.callsign.clone(),
                }),
                group: d.group.as_ref().map(|g| Group {
                    name: g.name.clone(),
                    role: g.role.clone(),
                }),
                precision_location: d.precision_location.as_ref().map(|p| PrecisionLocation {
                    geopointsrc: opt(&p.geopointsrc),
                    altsrc: opt(&p.altsrc),
                }),
                status: d.status.as_ref().map(|s| Status { battery: s.battery }),
                takv: d.takv.as_ref().map(|t| Takv {
                    device: t.device.clone(),
                    platform: t.platform.clone(),
                    os: t.os.clone(),
                    version: t.version.clone(),
                }),
                track: d.track.as_ref().map(|t| Track {
                    speed: t.speed_mps,
                    course: t.course_deg,
                }),
            }),
        }),
    }
}

fn finite(field: &'static str, x: f64) -> Result<f64, CotError> {
    if x.is_finite() {
        Ok(x)
    } else {
        Err(CotError::field(field, "not a finite number"))
    }
}

/// A `CotEvent` as an [`Event`], checked as [`crate::parse_xml`] checks XML, so that it can
/// be written as XML and relayed.
pub fn from_cot_event(ev: CotEvent) -> Result<Event, CotError> {
    if ev.uid.is_empty() {
        return Err(CotError::Missing("cotEvent.uid"));
    }
    if ev.r#type.is_empty() {
        return Err(CotError::Missing("cotEvent.type"));
    }
    let d = ev.detail.unwrap_or_default();
    crate::detail::check_fragment(&d.xml_detail)
        .map_err(|why| CotError::field("detail.xmlDetail", why))?;
    let point = Point {
        lat_deg: finite("cotEvent.lat", ev.lat)?,
        lon_deg: finite("cotEvent.lon", ev.lon)?,
        hae_m: finite("cotEvent.hae", ev.hae)?,
        ce_m: finite("cotEvent.ce", ev.ce)?,
        le_m: finite("cotEvent.le", ev.le)?,
    };
    if !(-90.0..=90.0).contains(&point.lat_deg) {
        return Err(CotError::field("cotEvent.lat", "outside -90..90"));
    }
    if !(-180.0..=180.0).contains(&point.lon_deg) {
        return Err(CotError::field("cotEvent.lon", "outside -180..180"));
    }
    let track = match d.track {
        Some(t) => Some(crate::Track {
            course_deg: finite("track.course", t.course)?,
            speed_mps: finite("track.speed", t.speed)?,
        }),
        None => None,
    };
    Ok(Event {
        uid: ev.uid,
        cot_type: ev.r#type,
        how: ev.how,
        time_unix_ms: ms_i64("cotEvent.sendTime", ev.send_time)?,
        start_unix_ms: ms_i64("cotEvent.startTime", ev.start_time)?,
        stale_unix_ms: ms_i64("cotEvent.staleTime", ev.stale_time)?,
        access: non_empty(ev.access),
        qos: non_empty(ev.qos),
        opex: non_empty(ev.opex),
        point,
        detail: crate::Detail {
            contact: d.contact.map(|c| crate::Contact {
                callsign: c.callsign,
                endpoint: non_empty(c.endpoint),
            }),
            group: d.group.map(|g| crate::Group {
                name: g.name,
                role: g.role,
            }),
            precision_location: d.precision_location.map(|p| crate::PrecisionLocation {
                geopointsrc: non_empty(p.geopointsrc),
                altsrc: non_empty(p.altsrc),
            }),
            status: d.status.map(|s| crate::Status { battery: s.battery }),
            takv: d.takv.map(|t| crate::Takv {
                device: t.device,
                platform: t.platform,
                os: t.os,
                version: t.version,
            }),
            track,
            xml: d.xml_detail,
        },
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn headers_are_checked_before_the_body() {
        let e = Event {
            uid: "u".into(),
            cot_type: "a-h-A-M-H-Q".into(),
            ..Event::default()
        };
        let mesh = encode_mesh(&e);
        assert_eq!(&mesh[..3], &[0xbf, 1, 0xbf]);
        assert_eq!(decode_mesh(&mesh).unwrap(), e);
        let stream = encode_stream(&e);
        assert_eq!(stream_frame_len(&stream).unwrap(), Some(stream.len()));
        assert_eq!(stream_frame_len(&stream[..1]).unwrap(), None);
        assert_eq!(decode_stream(&stream).unwrap(), e);

        for (bad, want) in [
            (vec![], "0xbf"),
            (vec![0xbf, 2, 0xbf], "version 2"),
            (vec![0xbf, 1, 0x00], "no 0xbf"),
        ] {
            let err = decode_mesh(&bad).unwrap_err().to_string();
            assert!(err.contains(want), "{err}");
        }
        let mut short = stream.clone();
        short.pop();
        assert!(
            decode_stream(&short)
                .unwrap_err()
                .to_string()
                .contains("length")
        );
        let no_event = [0xbf, 0x00];
        assert_eq!(
            decode_stream(&no_event).unwrap_err(),
            CotError::Missing("TakMessage.cotEvent")
        );
        assert!(stream_frame_len(&[0xbf; 12]).is_err());
    }

    #[test]
    fn what_xml_could_not_carry_is_refused_naming_the_field() {
        type Spoil = fn(&mut CotEvent);
        let good = to_message(&Event {
            uid: "u".into(),
            cot_type: "a-f-G".into(),
            ..Event::default()
        })
        .cot_event
        .unwrap();
        let cases: [(Spoil, &str); 5] = [
            (|e| e.uid.clear(), "cotEvent.uid: missing"),
            (|e| e.lat = f64::NAN, "cotEvent.lat: not a finite"),
            (|e| e.lon = 200.0, "cotEvent.lon: outside"),
            (|e| e.stale_time = u64::MAX, "cotEvent.staleTime: "),
            (
                |e| e.detail.get_or_insert_default().xml_detail = "</detail>".into(),
                "detail.xmlDetail: not well-formed XML",
            ),
        ];
        for (spoil, want) in cases {
            let mut ev = good.clone();
            spoil(&mut ev);
            let err = from_cot_event(ev).unwrap_err().to_string();
            assert!(err.starts_with(want), "{want:?}: {err}");
        }
    }
}
