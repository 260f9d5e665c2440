//! Bluetooth LE advertising (F3411-22a §5.4.6.1, opendroneid-core-c `bluetooth.h`).
//!
//! Remote ID rides in a Service Data AD structure (type 0x16) with the 16-bit UUID
//! 0xFFFA (ASTM Remote ID) and application code 0x0D, then the message counter, then one
//! message (legacy advertising) or a message pack (extended advertising):
//! `len 16 fa ff 0d <counter> <payload>`.

use super::{Frame, MacAddress, OdidFrame, Transport, trim_payload};
use crate::error::TransportError;

/// AD type "Service Data - 16-bit UUID".
pub const AD_TYPE_SERVICE_DATA_16: u8 = 0x16;
/// ASTM International's 16-bit service UUID for Remote ID.
pub const ODID_SERVICE_UUID: u16 = 0xFFFA;
/// The Open Drone ID application code after the UUID.
pub const ODID_APP_CODE: u8 = 0x0D;
/// The advertising physical channel access address (Core spec Vol 6 Part B §2.1.2).
pub const ADVERTISING_ACCESS_ADDRESS: u32 = 0x8E89_BED6;

/// The Remote ID service data in a list of AD structures: `(counter, payload)`.
pub fn find_service_data(ad: &[u8]) -> Result<Option<(u8, &[u8])>, TransportError> {
    let f = Frame::new(ad, "BLE AD structure");
    let mut off = 0;
    while off < ad.len() {
        let len = usize::from(f.u8("length", off)?);
        if len == 0 {
            // Early termination: the rest is padding (Core spec Vol 3 Part C §11).
            break;
        }
        let body = f.slice("data", off + 1, len)?;
        if let [AD_TYPE_SERVICE_DATA_16, u0, u1, app, rest @ ..] = body
            && u16::from_le_bytes([*u0, *u1]) == ODID_SERVICE_UUID
            && *app == ODID_APP_CODE
        {
            let Some((&counter, payload)) = rest.split_first() else {
                return Err(TransportError::Truncated {
                    layer: "BLE Remote ID service data",
                    field: "message counter",
                    offset: off + 5,
                    need: 1,
                    have: 0,
                });
            };
            return Ok(Some((counter, trim_payload(payload))));
        }
        off += 1 + len;
    }
    Ok(None)
}

/// Where an advertising PDU was received, which decides how its type field reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PduContext {
    pub link_crc_ok: Option<bool>,
    pub rssi_dbm: Option<i16>,
}

/// An advertising physical channel PDU (2-byte header + payload, no access address, no
/// CRC), Core spec Vol 6 Part B §2.3.
pub fn parse_advertising_pdu(
    pdu: &[u8],
    ctx: PduContext,
) -> Result<Option<OdidFrame<'_>>, TransportError> {
    let f = Frame::new(pdu, "BLE advertising PDU");
    let h0 = f.u8("header", 0)?;
    let len = usize::from(f.u8("length", 1)?);
    let payload = f.slice("payload", 2, len)?;
    let p = Frame::new(payload, "BLE advertising PDU payload");
    let pdu_type = h0 & 0x0F;
    let (transport, adv_a, found) = match pdu_type {
        // ADV_IND, ADV_NONCONN_IND, SCAN_RSP, ADV_SCAN_IND: AdvA then AdvData.
        0x0 | 0x2 | 0x4 | 0x6 => (
            Transport::BluetoothLegacy,
            Some(p.array6("AdvA", 0)?),
            find_service_data(p.rest("AdvData", 6)?)?,
        ),
        // ADV_EXT_IND / AUX_ADV_IND / AUX_CHAIN_IND: common extended advertising payload.
        0x7 => {
            let ext = extended_payload(p)?;
            let mut found = find_service_data(ext.data)?;
            if found.is_none() && ext.after_fields.len() > ext.data.len() {
                // A header length byte damaged on air hides the AdvData; look where the
                // flagged fields end (only adds a find, never an error).
                found = find_service_data(ext.after_fields).ok().flatten();
            }
            (Transport::BluetoothLongRange, ext.adv_a, found)
        }
        _ => return Ok(None),
    };
    let Some((counter, payload)) = found else {
        return Ok(None);
    };
    Ok(Some(OdidFrame {
        transport,
        transmitter: adv_a.map(MacAddress::from_ble_le),
        counter,
        payload,
        link_crc_ok: ctx.link_crc_ok,
        rssi_dbm: ctx.rssi_dbm,
    }))
}

/// Common Extended Advertising Payload Format (Core spec Vol 6 Part B §2.3.4): extended
/// header length (6 bits) + AdvMode, flags, the optional fields the flags announce, then
/// ACAD up to the declared length, then AdvData.
///
/// Returns AdvA, the AdvData at the declared header length, and the AdvData right after
/// the flagged fields (differs when ACAD is present or the length byte is damaged).
fn extended_payload(p: Frame<'_>) -> Result<ExtendedPayload<'_>, TransportError> {
    let b0 = p.u8("extended header length", 0)?;
    let hlen = usize::from(b0 & 0x3F);
    let data = p.rest("AdvData", 1 + hlen)?;
    if hlen == 0 {
        return Ok(ExtendedPayload {
            adv_a: None,
            data,
            after_fields: data,
        });
    }
    let flags = p.u8("extended header flags", 1)?;
    // AdvA, TargetA, CTEInfo, ADI, AuxPtr, SyncInfo, TxPower: flag bits 0-6.
    const FIELD_LEN: [usize; 7] = [6, 6, 1, 2, 3, 18, 1];
    let fields: usize = FIELD_LEN
        .iter()
        .enumerate()
        .filter(|(bit, _)| flags & (1 << bit) != 0)
        .map(|(_, len)| len)
        .sum();
    let adv_a = if flags & 0x01 != 0 {
        if hlen < 7 {
            return Err(p.malformed(
                "extended header length",
                0,
                "shorter than the AdvA it flags",
            ));
        }
        Some(p.array6("AdvA", 2)?)
    } else {
        None
    };
    let after_fields = p.bytes.get(2 + fields..).unwrap_or(&[]);
    Ok(ExtendedPayload {
        adv_a,
        data,
        after_fields,
    })
}

struct ExtendedPayload<'a> {
    adv_a: Option<[u8; 6]>,
    /// AdvData at the declared extended header length.
    data: &'a [u8],
    /// The bytes right after the fields the flags announce.
    after_fields: &'a [u8],
}

/// A link-layer packet on the advertising channel: access address (4), for the LE
/// Coded PHY a coding indicator (1), PDU, CRC (3).
pub fn parse_link_layer(
    packet: &[u8],
    coded_phy: bool,
    ctx: PduContext,
) -> Result<Option<OdidFrame<'_>>, TransportError> {
    let f = Frame::new(packet, "BLE link layer");
    if f.u32_le("access address", 0)? != ADVERTISING_ACCESS_ADDRESS {
        return Ok(None);
    }
    let pdu_start = if coded_phy { 5 } else { 4 };
    let pdu = f.rest("PDU", pdu_start)?;
    parse_advertising_pdu(pdu, ctx)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    const CTX: PduContext = PduContext {
        link_crc_ok: None,
        rssi_dbm: None,
    };

    fn legacy_ad(counter: u8) -> Vec<u8> {
        let mut ad = vec![0x02, 0x01, 0x06]; // flags AD first
        ad.extend([0x1e, 0x16, 0xfa, 0xff, 0x0d, counter]);
        ad.extend([0x32; 25]);
        ad
    }

    #[test]
    fn finds_service_data_after_other_structures() {
        let ad = legacy_ad(7);
        let (counter, payload) = find_service_data(&ad).unwrap().unwrap();
        assert_eq!(counter, 7);
        assert_eq!(payload, &[0x32; 25]);
        assert_eq!(
            find_service_data(&[0x02, 0x01, 0x06, 0, 0, 0]).unwrap(),
            None
        );
    }

    #[test]
    fn wrong_uuid_or_app_code_is_not_remote_id() {
        let mut ad = legacy_ad(1);
        ad[6] = 0x0e;
        assert_eq!(find_service_data(&ad).unwrap(), None);
    }

    #[test]
    fn truncated_structure_names_offset() {
        let mut ad = legacy_ad(1);
        ad.truncate(20);
        let err = find_service_data(&ad).unwrap_err();
        assert!(
            matches!(
                err,
                TransportError::Truncated {
                    offset: 4,
                    need: 30,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn legacy_pdu_gives_address_and_transport() {
        let ad = legacy_ad(9);
        let mut pdu = vec![0x42, (6 + ad.len()) as u8];
        pdu.extend([1, 2, 3, 4, 5, 6]);
        pdu.extend(&ad);
        let f = parse_advertising_pdu(&pdu, CTX).unwrap().unwrap();
        assert_eq!(f.transport, Transport::BluetoothLegacy);
        assert_eq!(f.transmitter.unwrap().to_string(), "06:05:04:03:02:01");
        assert_eq!(f.counter, 9);
    }

    #[test]
    fn extended_pdu_with_adva_and_adi() {
        let mut ad = vec![0x1e, 0x16, 0xfa, 0xff, 0x0d, 3, 0xF2, 25, 1];
        ad.extend([0x32; 25]);
        ad[0] = (ad.len() - 1) as u8;
        let mut payload = vec![0x09, 0x09, 1, 2, 3, 4, 5, 6, 0xaa, 0xbb];
        payload.extend(&ad);
        let mut pdu = vec![0x07, payload.len() as u8];
        pdu.extend(&payload);
        let f = parse_advertising_pdu(&pdu, CTX).unwrap().unwrap();
        assert_eq!(f.transport, Transport::BluetoothLongRange);
        assert_eq!(f.payload.len(), 28);
        assert!(f.transmitter.is_some());
    }
}
