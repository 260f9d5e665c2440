//! Wi-Fi transports of F3411-22a §5.4.7 / EN 4709-002 §4.6:
//!
//! * **Beacon**: a vendor-specific element in a beacon (or probe response),
//!   `dd <len> fa 0b bc 0d <counter> <pack>`. OUI FA:0B:BC is ASD-STAN's, type 0x0D Open
//!   Drone ID. Parrot's OUI 90:3A:E6 with the same type is accepted too, as the
//!   opendroneid Wireshark dissector does.
//! * **NaN**: a Service Discovery Frame, i.e. a public action frame (category 4, action 9,
//!   vendor specific) with the Wi-Fi Alliance OUI 50:6F:9A type 0x13, whose Service
//!   Descriptor attribute (id 3) has the service ID 88:69:19:9d:92:09 (the first 6 bytes
//!   of SHA-256("org.opendroneid.remoteid")) and service info `<counter> <pack>`.

use super::{Frame, MacAddress, OdidFrame, Transport, trim_payload};
use crate::error::TransportError;

/// pcap LINKTYPE_IEEE802_11 (no radiotap).
pub const LINKTYPE_IEEE802_11: u32 = 105;

/// ASD-STAN's OUI for the beacon vendor element.
pub const ASD_STAN_OUI: [u8; 3] = [0xFA, 0x0B, 0xBC];
/// Parrot's OUI, used by some of its drones for the same element.
pub const PARROT_OUI: [u8; 3] = [0x90, 0x3A, 0xE6];
/// The vendor OUI type for Open Drone ID.
pub const ODID_OUI_TYPE: u8 = 0x0D;
/// Wi-Fi Alliance OUI and its NaN OUI type.
pub const WFA_OUI: [u8; 3] = [0x50, 0x6F, 0x9A];
pub const NAN_OUI_TYPE: u8 = 0x13;
/// NaN service ID of `org.opendroneid.remoteid`.
pub const ODID_NAN_SERVICE_ID: [u8; 6] = [0x88, 0x69, 0x19, 0x9D, 0x92, 0x09];

const ELEMENT_VENDOR_SPECIFIC: u8 = 221;
const MGMT_HEADER_LEN: usize = 24;
const SUBTYPE_PROBE_RESPONSE: u8 = 5;
const SUBTYPE_BEACON: u8 = 8;
const SUBTYPE_ACTION: u8 = 13;
const SUBTYPE_ACTION_NO_ACK: u8 = 14;
const CATEGORY_PUBLIC: u8 = 4;
const PUBLIC_ACTION_VENDOR_SPECIFIC: u8 = 9;
const NAN_ATTR_SERVICE_DESCRIPTOR: u8 = 0x03;

/// Extracts the Remote ID payload of an 802.11 frame (no FCS).
pub fn parse_80211(frame: &[u8]) -> Result<Option<OdidFrame<'_>>, TransportError> {
    let f = Frame::new(frame, "802.11");
    let fc0 = f.u8("frame control", 0)?;
    let fc1 = f.u8("frame control", 1)?;
    let frame_type = (fc0 >> 2) & 0x03;
    let subtype = fc0 >> 4;
    if frame_type != 0 {
        return Ok(None); // only management frames carry Remote ID
    }
    if !matches!(
        subtype,
        SUBTYPE_BEACON | SUBTYPE_PROBE_RESPONSE | SUBTYPE_ACTION | SUBTYPE_ACTION_NO_ACK
    ) {
        return Ok(None);
    }
    let transmitter = MacAddress(f.array6("address 2", 10)?);
    // +HTC: the Order bit in a management frame means a 4-byte HT Control field follows.
    let body_at = MGMT_HEADER_LEN + if fc1 & 0x80 != 0 { 4 } else { 0 };
    let body = Frame::new(f.rest("frame body", body_at)?, "802.11 frame body");
    let found = match subtype {
        SUBTYPE_BEACON | SUBTYPE_PROBE_RESPONSE => {
            // Timestamp (8), beacon interval (2), capability (2), then elements.
            find_vendor_element(body.rest("elements", 12)?)?
                .map(|(c, p)| (Transport::WifiBeacon, c, p))
        }
        _ => parse_nan_action(body)?.map(|(c, p)| (Transport::WifiNan, c, p)),
    };
    Ok(found.map(|(transport, counter, payload)| OdidFrame {
        transport,
        transmitter: Some(transmitter),
        counter,
        payload,
        link_crc_ok: None,
        rssi_dbm: None,
    }))
}

/// The Remote ID vendor element in a list of 802.11 elements: `(counter, payload)`.
pub fn find_vendor_element(elements: &[u8]) -> Result<Option<(u8, &[u8])>, TransportError> {
    let f = Frame::new(elements, "802.11 element");
    let mut off = 0;
    while off < elements.len() {
        let id = f.u8("element id", off)?;
        let len = usize::from(f.u8("element length", off + 1)?);
        let body = f.slice("element body", off + 2, len)?;
        if id == ELEMENT_VENDOR_SPECIFIC
            && let [o0, o1, o2, ODID_OUI_TYPE, rest @ ..] = body
        {
            let oui = [*o0, *o1, *o2];
            if oui == ASD_STAN_OUI || oui == PARROT_OUI {
                let Some((&counter, payload)) = rest.split_first() else {
                    return Err(TransportError::Truncated {
                        layer: "Wi-Fi beacon Remote ID element",
                        field: "message counter",
                        offset: off + 6,
                        need: 1,
                        have: 0,
                    });
                };
                return Ok(Some((counter, trim_payload(payload))));
            }
        }
        off += 2 + len;
    }
    Ok(None)
}

/// A public action frame body; `Some` when it is a NaN SDF for the Remote ID service.
fn parse_nan_action(body: Frame<'_>) -> Result<Option<(u8, &[u8])>, TransportError> {
    let hdr = body.slice("action header", 0, 6)?;
    if hdr
        != [
            CATEGORY_PUBLIC,
            PUBLIC_ACTION_VENDOR_SPECIFIC,
            WFA_OUI[0],
            WFA_OUI[1],
            WFA_OUI[2],
            NAN_OUI_TYPE,
        ]
    {
        return Ok(None);
    }
    find_nan_service_info(body.rest("NaN attributes", 6)?)
}

/// Walks NaN attributes (id, 2-byte LE length, body) for the Remote ID Service
/// Descriptor attribute and returns its service info `(counter, payload)`.
pub fn find_nan_service_info(attrs: &[u8]) -> Result<Option<(u8, &[u8])>, TransportError> {
    let f = Frame::new(attrs, "NaN attribute");
    let mut off = 0;
    while off < attrs.len() {
        let id = f.u8("attribute id", off)?;
        let len = usize::from(f.u16_le("attribute length", off + 1)?);
        let body = f.slice("attribute body", off + 3, len)?;
        if id == NAN_ATTR_SERVICE_DESCRIPTOR && body.get(..6) == Some(&ODID_NAN_SERVICE_ID) {
            return service_descriptor_info(body, off + 3).map(Some);
        }
        off += 3 + len;
    }
    Ok(None)
}

/// Service Descriptor attribute body (Wi-Fi Aware spec): service ID (6), instance ID,
/// requestor instance ID, service control, then per service-control bit: binding bitmap
/// (bit 6, 2 bytes), matching filter (bit 2), service response filter (bit 3), service
/// info (bit 4), each of the last three with a 1-byte length.
fn service_descriptor_info(body: &[u8], base: usize) -> Result<(u8, &[u8]), TransportError> {
    let f = Frame::new(body, "NaN service descriptor");
    let control = f.u8("service control", 8)?;
    let mut off = 9;
    if control & 0x40 != 0 {
        off += 2;
    }
    for bit in [0x04, 0x08] {
        if control & bit != 0 {
            off += 1 + usize::from(f.u8("filter length", off)?);
        }
    }
    if control & 0x10 == 0 {
        return Err(f.malformed(
            "service control",
            base + 8,
            "Remote ID service without service info",
        ));
    }
    let len = usize::from(f.u8("service info length", off)?);
    let info = f.slice("service info", off + 1, len)?;
    let Some((&counter, payload)) = info.split_first() else {
        return Err(TransportError::Truncated {
            layer: "NaN service descriptor",
            field: "message counter",
            offset: base + off + 1,
            need: 1,
            have: 0,
        });
    };
    Ok((counter, trim_payload(payload)))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn mgmt(subtype: u8, body: &[u8]) -> Vec<u8> {
        let mut f = vec![subtype << 4, 0, 0, 0];
        f.extend([0xff; 6]);
        f.extend([0x84, 0xcc, 0xa8, 0x60, 0x43, 0x24]);
        f.extend([0x84, 0xcc, 0xa8, 0x60, 0x43, 0x24]);
        f.extend([0, 0]);
        f.extend(body);
        f
    }

    fn pack() -> Vec<u8> {
        let mut p = vec![0xF2, 25, 1, 0x32];
        p.extend([0u8; 24]);
        p
    }

    #[test]
    fn beacon_vendor_element_asd_stan_and_parrot() {
        for oui in [ASD_STAN_OUI, PARROT_OUI] {
            let mut body = vec![0u8; 12];
            body.extend([0, 3, b'a', b'b', b'c']); // SSID
            let p = pack();
            body.extend([221, (5 + p.len()) as u8]);
            body.extend(oui);
            body.extend([0x0D, 0x42]);
            body.extend(&p);
            let frame = mgmt(SUBTYPE_BEACON, &body);
            let f = parse_80211(&frame).unwrap().unwrap();
            assert_eq!(f.transport, Transport::WifiBeacon);
            assert_eq!(f.counter, 0x42);
            assert_eq!(f.payload, &p[..]);
            assert_eq!(f.transmitter.unwrap().to_string(), "84:cc:a8:60:43:24");
        }
    }

    #[test]
    fn nan_sdf_service_info() {
        let p = pack();
        let mut sda = ODID_NAN_SERVICE_ID.to_vec();
        sda.extend([1, 0, 0x10, (1 + p.len()) as u8, 0x07]);
        sda.extend(&p);
        let mut body = vec![4, 9, 0x50, 0x6f, 0x9a, 0x13, 3];
        body.extend((sda.len() as u16).to_le_bytes());
        body.extend(&sda);
        body.extend([0x0e, 4, 0, 1, 0, 2, 0x22]);
        let frame = mgmt(SUBTYPE_ACTION, &body);
        let f = parse_80211(&frame).unwrap().unwrap();
        assert_eq!(f.transport, Transport::WifiNan);
        assert_eq!(f.counter, 7);
        assert_eq!(f.payload, &p[..]);
    }

    #[test]
    fn other_frames_are_not_remote_id() {
        assert_eq!(
            parse_80211(&mgmt(SUBTYPE_BEACON, &[0u8; 12])).unwrap(),
            None
        );
        assert_eq!(parse_80211(&[0x08, 0x00]).unwrap(), None); // data frame
        assert!(parse_80211(&[0x80]).is_err());
        // A broken element list names the element.
        let mut body = vec![0u8; 12];
        body.extend([221, 50, 0xfa]);
        let err = parse_80211(&mgmt(SUBTYPE_BEACON, &body)).unwrap_err();
        assert!(err.to_string().contains("element body"), "{err}");
    }
}
