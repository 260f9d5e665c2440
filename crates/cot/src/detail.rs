//! `<detail>`: read into TAK v1's split (six typed children, the rest as XML text), written
//! back, and looked into.

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event as Xml};

use crate::xml::{number, push_attr, push_text};
use crate::{Contact, CotError, Detail, Group, PrecisionLocation, Status, Takv, Track};

const XML_1_0: quick_xml::XmlVersion = quick_xml::XmlVersion::Implicit1_0;

/// An element's attributes, unescaped; a broken or repeated one is an error.
pub(crate) fn attrs(e: &BytesStart) -> Result<Vec<(String, String)>, CotError> {
    let mut out = Vec::new();
    for a in e.attributes() {
        let a = a.map_err(|e| CotError::Xml(e.to_string()))?;
        let key = a.key.as_ref().to_owned();
        let value = a.normalized_value(XML_1_0)?;
        out.push((key, value.into_owned()));
    }
    Ok(out)
}

/// Reads the children of `<detail>` up to its end tag; `text` is the whole document the
/// reader reads, so that other children are kept as they were written.
pub(crate) fn read_detail(r: &mut Reader<&[u8]>, text: &str) -> Result<Detail, CotError> {
    let mut d = Detail::default();
    loop {
        let at = r.buffer_position();
        let (e, empty) = match r.read_event()? {
            Xml::Empty(e) => (e, true),
            Xml::Start(e) => (e, false),
            Xml::End(_) => {
                check_fragment(&d.xml).map_err(|why| CotError::field("detail", why))?;
                return Ok(d);
            }
            Xml::Eof => return Err(CotError::Truncated),
            // Whitespace and comments between children are not kept.
            _ => continue,
        };
        let mut inner_empty = true;
        if !empty {
            let span = r.read_to_end(e.name())?;
            inner_empty = slice(text, span.start, span.end).trim().is_empty();
        }
        let typed = inner_empty && d.take_typed(&e)?;
        if !typed {
            d.xml.push_str(slice(text, at, r.buffer_position()));
        }
    }
}

fn slice(text: &str, from: u64, to: u64) -> &str {
    text.get(from as usize..to as usize).unwrap_or_default()
}

/// Attribute `k` of a list, if every attribute is one of `allowed`.
fn only<'a>(
    a: &'a [(String, String)],
    allowed: &[&str],
) -> Option<impl Fn(&str) -> Option<&'a str>> {
    a.iter()
        .all(|(k, _)| allowed.contains(&k.as_str()))
        .then_some(move |k: &str| a.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str()))
}

/// An empty string as no value: TAK v1's strings cannot tell the two apart.
fn some(v: Option<&str>) -> Option<String> {
    v.filter(|s| !s.is_empty()).map(str::to_owned)
}

impl Detail {
    /// Takes `e` into its typed field when it holds only what TAK v1's message for it holds
    /// and the field is free; `false`: it stays XML.
    fn take_typed(&mut self, e: &BytesStart) -> Result<bool, CotError> {
        let a = attrs(e)?;
        let name = e.name();
        let taken = match name.as_ref() {
            "contact" if self.contact.is_none() => only(&a, &["callsign", "endpoint"])
                .and_then(|get| {
                    Some(Contact {
                        callsign: get("callsign")?.to_owned(),
                        endpoint: some(get("endpoint")),
                    })
                })
                .map(|c| self.contact = Some(c)),
            "__group" if self.group.is_none() => only(&a, &["name", "role"])
                .map(|get| Group {
                    name: get("name").unwrap_or_default().to_owned(),
                    role: get("role").unwrap_or_default().to_owned(),
                })
                .map(|g| self.group = Some(g)),
            "precisionlocation" if self.precision_location.is_none() => {
                only(&a, &["geopointsrc", "altsrc"])
                    .map(|get| PrecisionLocation {
                        geopointsrc: some(get("geopointsrc")),
                        altsrc: some(get("altsrc")),
                    })
                    .map(|p| self.precision_location = Some(p))
            }
            "status" if self.status.is_none() => only(&a, &["battery"])
                .and_then(|get| get("battery")?.trim().parse().ok())
                .map(|battery| self.status = Some(Status { battery })),
            "takv" if self.takv.is_none() => only(&a, &["device", "platform", "os", "version"])
                .map(|get| Takv {
                    device: get("device").unwrap_or_default().to_owned(),
                    platform: get("platform").unwrap_or_default().to_owned(),
                    os: get("os").unwrap_or_default().to_owned(),
                    version: get("version").unwrap_or_default().to_owned(),
                })
                .map(|t| self.takv = Some(t)),
            "track" if self.track.is_none() => {
                let Some(get) = only(&a, &["course", "speed"]) else {
                    return Ok(false);
                };
                let (Some(course), Some(speed)) = (get("course"), get("speed")) else {
                    return Ok(false);
                };
                // Not numbers: kept as written rather than refusing the event.
                let (Ok(course_deg), Ok(speed_mps)) =
                    (number("track@course", course), number("track@speed", speed))
                else {
                    return Ok(false);
                };
                self.track = Some(Track {
                    course_deg,
                    speed_mps,
                });
                Some(())
            }
            _ => None,
        };
        Ok(taken.is_some())
    }

    /// Appends `<name a="v"...>text</name>` (self-closing without text) to [`Detail::xml`].
    pub fn push_element(&mut self, name: &str, attrs: &[(&str, &str)], text: Option<&str>) {
        self.open(name, attrs);
        match text {
            None => self.xml.push_str("/>"),
            Some(t) => {
                self.xml.push('>');
                push_text(&mut self.xml, t);
                self.close(name);
            }
        }
    }

    /// Appends `<name a="v"...>` holding one empty element per child, escaped as
    /// [`Detail::push_element`] escapes (ATAK's `<__chat><chatgrp/></__chat>`,
    /// `<marti><dest/></marti>`).
    pub fn push_parent(
        &mut self,
        name: &str,
        attrs: &[(&str, &str)],
        children: &[(&str, &[(&str, &str)])],
    ) {
        self.open(name, attrs);
        self.xml.push('>');
        for (child, child_attrs) in children {
            self.push_element(child, child_attrs, None);
        }
        self.close(name);
    }

    fn open(&mut self, name: &str, attrs: &[(&str, &str)]) {
        self.xml.push('<');
        self.xml.push_str(name);
        for (k, v) in attrs {
            push_attr(&mut self.xml, k, v);
        }
    }

    fn close(&mut self, name: &str) {
        self.xml.push_str("</");
        self.xml.push_str(name);
        self.xml.push('>');
    }

    /// The text of the first `<remarks>` in [`Detail::xml`], unescaped (CDATA included).
    pub fn remarks(&self) -> Option<String> {
        let mut r = Reader::from_str(&self.xml);
        loop {
            match r.read_event().ok()? {
                Xml::Empty(e) if e.name().as_ref() == "remarks" => return Some(String::new()),
                Xml::Start(e) if e.name().as_ref() == "remarks" => return text_until_end(&mut r),
                Xml::Eof => return None,
                _ => {}
            }
        }
    }

    /// The attributes of the first element `name` anywhere in [`Detail::xml`] (e.g. `link`).
    pub fn element_attrs(&self, name: &str) -> Option<Vec<(String, String)>> {
        let mut r = Reader::from_str(&self.xml);
        loop {
            match r.read_event().ok()? {
                Xml::Empty(e) | Xml::Start(e) if e.name().as_ref() == name => {
                    return attrs(&e).ok();
                }
                Xml::Eof => return None,
                _ => {}
            }
        }
    }
}

/// The text inside an element just opened, up to its end tag, nested elements' included.
fn text_until_end(r: &mut Reader<&[u8]>) -> Option<String> {
    let mut out = String::new();
    let mut depth = 0usize;
    loop {
        match r.read_event().ok()? {
            Xml::Text(t) => out.push_str(&t.xml_content(XML_1_0)),
            Xml::CData(t) => out.push_str(&t.xml_content(XML_1_0)),
            Xml::GeneralRef(g) => match g.resolve_char_ref().ok()? {
                Some(c) => out.push(c),
                None => out.push_str(quick_xml::escape::resolve_predefined_entity(&g)?),
            },
            Xml::Start(_) => depth += 1,
            Xml::End(_) if depth == 0 => return Some(out),
            Xml::End(_) => depth -= 1,
            Xml::Eof => return None,
            _ => {}
        }
    }
}

/// Checks that `xml` is what `<detail>` may hold besides its typed children: elements that
/// open and close in balance, with well-formed attributes, and nothing that would end the
/// event or start another when written out: no `<event`, `</event` or `<?xml`, not even in
/// a comment or CDATA, where a stream splitter (ours, TAK Server's) would still cut. TAK
/// v1's `xmlDetail` is checked so, so that a TAK peer cannot forge structure in the XML we
/// relay.
pub(crate) fn check_fragment(xml: &str) -> Result<(), String> {
    let b = xml.as_bytes();
    for (i, _) in xml.match_indices('<') {
        let tail = &b[i..];
        let after = |n: usize| {
            tail.get(n)
                .is_none_or(|c| c.is_ascii_whitespace() || b"/>".contains(c))
        };
        if (tail.starts_with(b"<event") && after(6))
            || (tail.starts_with(b"</event") && after(7))
            || tail.starts_with(b"<?xml")
        {
            return Err("holds an <event>, </event> or <?xml, which would cut a stream".into());
        }
    }
    let mut r = Reader::from_str(xml);
    let mut depth = 0usize;
    loop {
        match r
            .read_event()
            .map_err(|e| format!("not well-formed XML: {e}"))?
        {
            Xml::Start(e) => {
                element_ok(&e)?;
                depth += 1;
            }
            Xml::Empty(e) => element_ok(&e)?,
            Xml::End(e) => {
                depth = depth
                    .checked_sub(1)
                    .ok_or_else(|| format!("</{}> closes nothing", e.name().as_ref()))?;
            }
            Xml::Decl(_) | Xml::PI(_) | Xml::DocType(_) => {
                return Err("holds a declaration or processing instruction".into());
            }
            Xml::Eof if depth > 0 => return Err("an element is not closed".into()),
            Xml::Eof => return Ok(()),
            _ => {}
        }
    }
}

fn element_ok(e: &BytesStart) -> Result<(), String> {
    for a in e.attributes() {
        let a = a.map_err(|err| format!("not well-formed XML: {err}"))?;
        if a.value.contains('<') {
            return Err("a \"<\" in an attribute value".into());
        }
        a.normalized_value(XML_1_0)
            .map_err(|err| format!("not well-formed XML: {err}"))?;
    }
    Ok(())
}

/// `<detail>` with the typed children first, then the rest as it is.
pub(crate) fn write_detail(out: &mut String, d: &Detail) {
    out.push_str("<detail>");
    if let Some(c) = &d.contact {
        out.push_str("<contact");
        push_attr(out, "callsign", &c.callsign);
        if let Some(e) = &c.endpoint {
            push_attr(out, "endpoint", e);
        }
        out.push_str("/>");
    }
    if let Some(g) = &d.group {
        out.push_str("<__group");
        push_attr(out, "name", &g.name);
        push_attr(out, "role", &g.role);
        out.push_str("/>");
    }
    if let Some(p) = &d.precision_location {
        out.push_str("<precisionlocation");
        for (k, v) in [("geopointsrc", &p.geopointsrc), ("altsrc", &p.altsrc)] {
            if let Some(v) = v {
                push_attr(out, k, v);
            }
        }
        out.push_str("/>");
    }
    if let Some(s) = &d.status {
        out.push_str("<status");
        push_attr(out, "battery", &s.battery.to_string());
        out.push_str("/>");
    }
    if let Some(t) = &d.takv {
        out.push_str("<takv");
        push_attr(out, "device", &t.device);
        push_attr(out, "platform", &t.platform);
        push_attr(out, "os", &t.os);
        push_attr(out, "version", &t.version);
        out.push_str("/>");
    }
    if let Some(t) = &d.track {
        out.push_str("<track");
        push_attr(out, "course", &format!("{:?}", t.course_deg));
        push_attr(out, "speed", &format!("{:?}", t.speed_mps));
        out.push_str("/>");
    }
    out.push_str(&d.xml);
    out.push_str("</detail>");
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn detail(inner: &str) -> Detail {
        let doc = format!(
            "<event uid='u' type='a-f-G' time='2024-01-01T00:00:00Z' stale='2024-01-01T00:01:00Z'>\
             <point lat='1' lon='2'/><detail>{inner}</detail></event>"
        );
        crate::parse_xml(doc.as_bytes()).unwrap().detail
    }

    #[test]
    fn children_tak_has_messages_for_are_typed_only_when_nothing_would_be_lost() {
        let d = detail(
            "<contact callsign='A 1' endpoint='*:-1:stcp'/><status battery='87'/>\
             <track course='181.5' speed='12'/><takv os='34' version='5.2' device='x' platform='ATAK-CIV'/>",
        );
        assert_eq!(d.contact.unwrap().endpoint.as_deref(), Some("*:-1:stcp"));
        assert_eq!(d.status.unwrap().battery, 87);
        assert_eq!(d.track.unwrap().course_deg, 181.5);
        assert_eq!(d.takv.unwrap().platform, "ATAK-CIV");
        assert_eq!(d.xml, "");

        // ATAK's readiness flag and a phone number have no place in TAK v1's messages.
        let d = detail("<status readiness='true'/>\n  <contact callsign='B' phone='555'/>");
        assert_eq!((d.status, d.contact), (None, None));
        assert_eq!(
            d.xml,
            "<status readiness='true'/><contact callsign='B' phone='555'/>"
        );

        // A second contact stays XML; so does one with content.
        let d = detail(
            "<contact callsign='A'/><contact callsign='B'/><track course='1' speed='2'><x/></track>",
        );
        assert_eq!(d.contact.unwrap().callsign, "A");
        assert_eq!(d.track, None);
        assert_eq!(
            d.xml,
            "<contact callsign='B'/><track course='1' speed='2'><x/></track>"
        );
    }

    #[test]
    fn elements_are_appended_escaped_and_found_again() {
        let mut d = Detail::default();
        d.push_element("link", &[("uid", "a&b"), ("relation", "p-p")], None);
        d.push_element("remarks", &[], Some("x < y & \"z\""));
        assert_eq!(
            d.xml,
            "<link uid=\"a&amp;b\" relation=\"p-p\"/><remarks>x &lt; y &amp; \"z\"</remarks>"
        );
        assert_eq!(d.remarks().unwrap(), "x < y & \"z\"");
        assert_eq!(
            d.element_attrs("link").unwrap(),
            vec![
                ("uid".into(), "a&b".into()),
                ("relation".into(), "p-p".into())
            ]
        );
        assert_eq!(d.element_attrs("nothing"), None);
        let mut d = Detail::default();
        d.push_parent("marti", &[], &[("dest", &[("callsign", "A&B")])]);
        assert_eq!(d.xml, "<marti><dest callsign=\"A&amp;B\"/></marti>");
        assert_eq!(
            d.element_attrs("dest").unwrap(),
            vec![("callsign".into(), "A&B".into())]
        );
        assert_eq!(Detail::default().remarks(), None);
    }

    #[test]
    fn remarks_read_cdata_and_references() {
        let d = detail("<remarks>a &amp; <![CDATA[<b>]]>&#65;</remarks>");
        assert_eq!(d.remarks().unwrap(), "a & <b>A");
        assert_eq!(detail("<remarks/>").remarks().unwrap(), "");
    }

    #[test]
    fn detail_that_would_cut_a_stream_or_is_not_balanced_is_refused() {
        for bad in [
            "<x><!-- </event> --></x>",
            "<x><![CDATA[<event uid='forged'>]]></x>",
            "<x><?xml version='1.0'?></x>",
            "<x>",
            "</x>",
            "<x></y>",
            "<x a='1' a/>",
            "<event/>",
        ] {
            assert!(check_fragment(bad).is_err(), "{bad}");
        }
        for good in [
            "",
            "<x/>",
            "<eventually/>",
            "text<x a='&lt;event'>&lt;/event&gt;</x>",
        ] {
            assert_eq!(check_fragment(good), Ok(()), "{good}");
        }
        let doc = "<event uid='u' type='a-f-G' time='2024-01-01T00:00:00Z' \
                   stale='2024-01-01T00:01:00Z'><point lat='1' lon='2'/>\
                   <detail><x><!-- </event> --></x></detail></event>";
        let e = crate::parse_xml(doc.as_bytes()).unwrap_err().to_string();
        assert!(e.starts_with("detail: holds an <event>"), "{e}");
    }
}
