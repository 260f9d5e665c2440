//! CoT XML: one `<event>` in, one out.

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event as Xml};

use crate::detail::{attrs, read_detail, write_detail};
use crate::{CotError, Event, Point, time};

/// Reads one `<event>`, with or without the `<?xml?>` header, quoted either way.
/// Children of `<event>` other than `<point>` and `<detail>` are passed over.
pub fn parse_xml(input: &[u8]) -> Result<Event, CotError> {
    let text = std::str::from_utf8(input).map_err(|e| CotError::Utf8(e.valid_up_to()))?;
    let mut r = Reader::from_str(text);
    let (start, empty) = loop {
        match r.read_event()? {
            Xml::Start(e) if e.name().as_ref() == "event" => break (e, false),
            Xml::Empty(e) if e.name().as_ref() == "event" => break (e, true),
            Xml::Start(_) | Xml::Empty(_) => return Err(CotError::NoEvent),
            Xml::Eof => return Err(CotError::NoEvent),
            _ => {}
        }
    };
    let mut event = event_attrs(&start)?;
    if empty {
        return Err(CotError::Missing("point"));
    }
    let mut point = None;
    loop {
        match r.read_event()? {
            Xml::Empty(e) if e.name().as_ref() == "point" => point = Some(point_attrs(&e)?),
            Xml::Start(e) if e.name().as_ref() == "point" => {
                point = Some(point_attrs(&e)?);
                r.read_to_end(e.name())?;
            }
            Xml::Start(e) if e.name().as_ref() == "detail" => {
                event.detail = read_detail(&mut r, text)?;
            }
            Xml::Start(e) => {
                r.read_to_end(e.name())?;
            }
            Xml::End(_) => break,
            Xml::Eof => return Err(CotError::Truncated),
            _ => {}
        }
    }
    event.point = point.ok_or(CotError::Missing("point"))?;
    Ok(event)
}

fn event_attrs(e: &BytesStart) -> Result<Event, CotError> {
    let mut ev = Event::default();
    let (mut time, mut start, mut stale) = (None, None, None);
    for (k, v) in attrs(e)? {
        match k.as_str() {
            "uid" => ev.uid = v,
            "type" => ev.cot_type = v,
            "how" => ev.how = v,
            "time" => time = Some(time::parse("event@time", &v)?),
            "start" => start = Some(time::parse("event@start", &v)?),
            "stale" => stale = Some(time::parse("event@stale", &v)?),
            // Empty is absent, as TAK v1's strings have it.
            "access" => ev.access = Some(v).filter(|v| !v.is_empty()),
            "qos" => ev.qos = Some(v).filter(|v| !v.is_empty()),
            "opex" => ev.opex = Some(v).filter(|v| !v.is_empty()),
            _ => {}
        }
    }
    if ev.uid.is_empty() {
        return Err(CotError::Missing("event@uid"));
    }
    if ev.cot_type.is_empty() {
        return Err(CotError::Missing("event@type"));
    }
    ev.time_unix_ms = time.ok_or(CotError::Missing("event@time"))?;
    ev.start_unix_ms = start.unwrap_or(ev.time_unix_ms);
    ev.stale_unix_ms = stale.ok_or(CotError::Missing("event@stale"))?;
    Ok(ev)
}

fn point_attrs(e: &BytesStart) -> Result<Point, CotError> {
    let (mut lat, mut lon) = (None, None);
    let mut p = Point {
        hae_m: crate::UNKNOWN,
        ce_m: crate::UNKNOWN,
        le_m: crate::UNKNOWN,
        ..Point::default()
    };
    for (k, v) in attrs(e)? {
        let slot = match k.as_str() {
            "lat" => {
                lat = Some(number("point@lat", &v)?);
                continue;
            }
            "lon" => {
                lon = Some(number("point@lon", &v)?);
                continue;
            }
            "hae" => (&mut p.hae_m, "point@hae"),
            "ce" => (&mut p.ce_m, "point@ce"),
            "le" => (&mut p.le_m, "point@le"),
            _ => continue,
        };
        *slot.0 = number(slot.1, &v)?;
    }
    p.lat_deg = lat.ok_or(CotError::Missing("point@lat"))?;
    p.lon_deg = lon.ok_or(CotError::Missing("point@lon"))?;
    if !(-90.0..=90.0).contains(&p.lat_deg) {
        return Err(CotError::field("point@lat", "outside -90..90"));
    }
    if !(-180.0..=180.0).contains(&p.lon_deg) {
        return Err(CotError::field("point@lon", "outside -180..180"));
    }
    Ok(p)
}

/// A decimal number: CoT has no NaN or infinity.
pub(crate) fn number(field: &'static str, s: &str) -> Result<f64, CotError> {
    let x: f64 = s
        .trim()
        .parse()
        .map_err(|_| CotError::field(field, format!("not a number: {s:?}")))?;
    if !x.is_finite() {
        return Err(CotError::field(
            field,
            format!("not a finite number: {s:?}"),
        ));
    }
    Ok(x)
}

/// The event as CoT XML, with the `<?xml?>` header ATAK writes.
pub fn to_xml(e: &Event) -> String {
    let mut out = String::with_capacity(512 + e.detail.xml.len());
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>");
    out.push_str("<event version=\"2.0\"");
    push_attr(&mut out, "uid", &e.uid);
    push_attr(&mut out, "type", &e.cot_type);
    push_attr(&mut out, "how", &e.how);
    push_attr(&mut out, "time", &time::format(e.time_unix_ms));
    push_attr(&mut out, "start", &time::format(e.start_unix_ms));
    push_attr(&mut out, "stale", &time::format(e.stale_unix_ms));
    for (k, v) in [("access", &e.access), ("qos", &e.qos), ("opex", &e.opex)] {
        if let Some(v) = v {
            push_attr(&mut out, k, v);
        }
    }
    out.push_str("><point");
    let p = &e.point;
    for (k, v) in [
        ("lat", p.lat_deg),
        ("lon", p.lon_deg),
        ("hae", p.hae_m),
        ("ce", p.ce_m),
        ("le", p.le_m),
    ] {
        // `{:?}` writes the shortest text that reads back to the same f64.
        push_attr(&mut out, k, &format!("{v:?}"));
    }
    out.push_str("/>");
    write_detail(&mut out, &e.detail);
    out.push_str("</event>");
    out
}

/// ` name="value"`, escaped so that it reads back exactly: tabs and line ends as character
/// references, which attribute-value normalisation would otherwise turn into spaces.
pub(crate) fn push_attr(out: &mut String, name: &str, value: &str) {
    out.push(' ');
    out.push_str(name);
    out.push_str("=\"");
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\t' => out.push_str("&#9;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Element text, escaped; `\r` as a reference, which line-end handling would drop.
pub(crate) fn push_text(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#13;"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const SA: &str = r#"<?xml version='1.0' encoding='UTF-8' standalone='yes'?>
<event version='2.0' uid='ANDROID-1' type='a-f-G-U-C' time='2024-01-02T03:04:05.678Z' start='2024-01-02T03:04:05.678Z' stale='2024-01-02T03:10:05.678Z' how='m-g'>
  <point lat='31.3' lon='-110.9' hae='1250.5' ce='4.9' le='9999999.0'/>
  <detail><contact callsign='BP &amp; ALPHA' endpoint='*:-1:stcp'/><__group name='Cyan' role='Team Member'/><remarks>on &lt;patrol&gt;</remarks></detail>
</event>"#;

    #[test]
    fn an_atak_position_report_reads_field_by_field() {
        let e = parse_xml(SA.as_bytes()).unwrap();
        assert_eq!(e.uid, "ANDROID-1");
        assert_eq!(e.cot_type, "a-f-G-U-C");
        assert_eq!(e.how, "m-g");
        assert_eq!(e.stale_unix_ms - e.time_unix_ms, 360_000);
        assert_eq!(e.point.hae_m, 1250.5);
        assert_eq!(e.detail.contact.as_ref().unwrap().callsign, "BP & ALPHA");
        assert_eq!(e.detail.group.as_ref().unwrap().role, "Team Member");
        assert_eq!(e.detail.remarks().unwrap(), "on <patrol>");
        assert_eq!(parse_xml(to_xml(&e).as_bytes()).unwrap(), e);

        // Empty optional attributes are absent, as in TAK v1.
        let with = SA.replace("how='m-g'", "how='m-g' access='' qos='1-r-c' opex=''");
        let e = parse_xml(with.as_bytes()).unwrap();
        assert_eq!(
            (e.access, e.qos.as_deref(), e.opex),
            (None, Some("1-r-c"), None)
        );
    }

    #[test]
    fn bad_events_are_refused_naming_the_field() {
        let cases = [
            (
                SA.replace("lat='31.3'", "lat='north'"),
                "point@lat: not a number",
            ),
            (
                SA.replace("lon='-110.9'", "lon='inf'"),
                "point@lon: not a finite number",
            ),
            (SA.replace("lat='31.3'", "lat='91'"), "point@lat: outside"),
            (
                SA.replace(" stale='2024-01-02T03:10:05.678Z'", ""),
                "event@stale: missing",
            ),
            (
                SA.replace("time='2024", "time='x2024"),
                "event@time: not an ISO-8601",
            ),
            (SA.replace(" uid='ANDROID-1'", ""), "event@uid: missing"),
            (SA.replace("</event>", ""), "ends before"),
            ("<x/>".into(), "no <event>"),
            (String::new(), "no <event>"),
        ];
        for (input, want) in cases {
            let e = parse_xml(input.as_bytes()).unwrap_err().to_string();
            assert!(e.contains(want), "{want:?} in {e:?}");
        }
        let e = parse_xml(&[b'<', 0xff]).unwrap_err().to_string();
        assert!(e.contains("UTF-8"), "{e}");
    }

    #[test]
    fn text_that_xml_would_change_is_written_to_read_back_the_same() {
        let mut e = parse_xml(SA.as_bytes()).unwrap();
        e.uid = "a\tb\r\nc \"d\" 'e' <f> & g".into();
        e.detail
            .push_element("remarks", &[("to", "x\ny")], Some("line 1\r\nline 2 & <3>"));
        let back = parse_xml(to_xml(&e).as_bytes()).unwrap();
        assert_eq!(back, e);
    }
}
