//! One received Mode S (or Mode A/C) reply, as the framing formats carry it.

/// The three payload sizes a 1090 MHz receiver hands on (Beast types `'1'`, `'2'`, `'3'`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FrameKind {
    /// Mode A/C reply: 2 bytes (squawk or Gillham altitude, undecoded).
    ModeAc,
    /// Mode S short reply: 56 bits (DF0/4/5/11).
    ModeSShort,
    /// Mode S long reply: 112 bits (DF16/17/18/19/20/21/24).
    ModeSLong,
}

impl FrameKind {
    /// Payload length in bytes.
    pub const fn len_bytes(self) -> usize {
        match self {
            FrameKind::ModeAc => 2,
            FrameKind::ModeSShort => 7,
            FrameKind::ModeSLong => 14,
        }
    }

    /// The kind whose payload is `n` bytes long.
    pub const fn from_len_bytes(n: usize) -> Option<Self> {
        match n {
            2 => Some(FrameKind::ModeAc),
            7 => Some(FrameKind::ModeSShort),
            14 => Some(FrameKind::ModeSLong),
            _ => None,
        }
    }

    /// The Beast type byte (`'1'`, `'2'`, `'3'`).
    pub const fn beast_type(self) -> u8 {
        match self {
            FrameKind::ModeAc => b'1',
            FrameKind::ModeSShort => b'2',
            FrameKind::ModeSLong => b'3',
        }
    }

    pub const fn from_beast_type(ty: u8) -> Option<Self> {
        match ty {
            b'1' => Some(FrameKind::ModeAc),
            b'2' => Some(FrameKind::ModeSShort),
            b'3' => Some(FrameKind::ModeSLong),
            _ => None,
        }
    }
}

/// Largest value of the 48-bit Beast/AVR MLAT counter.
pub const MLAT_TICKS_MAX: u64 = (1 << 48) - 1;

/// The Beast MLAT counter runs at 12 MHz (dump1090 `MODES_BEAST` timestamps).
pub const MLAT_TICKS_PER_S: f64 = 12e6;

/// One reply as received: payload plus what the receiver added (MLAT counter, signal level).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RawFrame {
    pub(crate) kind: FrameKind,
    pub(crate) bytes: [u8; 14],
    /// 48-bit receiver counter at 12 MHz; not an absolute time (free-running on most
    /// receivers), so it orders frames but never dates them.
    pub mlat_ticks: Option<u64>,
    /// Beast signal byte: amplitude scaled to 0..=255.
    pub signal: Option<u8>,
}

impl RawFrame {
    /// A frame from one whole *unescaped* Beast record (`1a <type> <6 B counter> <signal>
    /// <payload>`), as recordings such as `long_flight.csv` store them; `None` unless the
    /// marker, the type and the payload length agree.
    pub fn from_unescaped_beast(record: &[u8]) -> Option<Self> {
        let (&[0x1a, beast_type], rest) = record.split_first_chunk::<2>()? else {
            return None;
        };
        let (counter, rest) = rest.split_first_chunk::<6>()?;
        let (&signal, payload) = rest.split_first()?;
        let mut frame = Self::new(payload)?;
        if frame.kind.beast_type() != beast_type {
            return None;
        }
        frame.mlat_ticks = Some(counter.iter().fold(0u64, |a, x| (a << 8) | u64::from(*x)));
        frame.signal = Some(signal);
        Some(frame)
    }

    /// A frame from its payload; `None` unless the payload is 2, 7 or 14 bytes long.
    pub fn new(payload: &[u8]) -> Option<Self> {
        let kind = FrameKind::from_len_bytes(payload.len())?;
        let mut bytes = [0u8; 14];
        bytes.get_mut(..payload.len())?.copy_from_slice(payload);
        Some(Self {
            kind,
            bytes,
            mlat_ticks: None,
            signal: None,
        })
    }

    pub fn kind(&self) -> FrameKind {
        self.kind
    }

    /// The reply bytes (2, 7 or 14 of them).
    pub fn payload(&self) -> &[u8] {
        self.bytes.get(..self.kind.len_bytes()).unwrap_or(&[])
    }

    /// The MLAT counter in seconds (counter / 12 MHz), when present.
    pub fn mlat_s(&self) -> Option<f64> {
        self.mlat_ticks.map(|t| t as f64 / MLAT_TICKS_PER_S)
    }

    /// Signal level in dBFS as dump1090 reports `rssi`: `10·log10((signal/255)²)`.
    /// `None` without a signal byte or when it is 0 (no level).
    pub fn rssi_dbfs(&self) -> Option<f64> {
        let s = self.signal.filter(|s| *s > 0)?;
        let level = f64::from(s) / 255.0;
        Some(10.0 * (level * level).log10())
    }

    /// Downlink format (first 5 bits) of a Mode S frame; `None` for Mode A/C.
    pub fn downlink_format(&self) -> Option<u8> {
        match self.kind {
            FrameKind::ModeAc => None,
            _ => self.bytes.first().map(|b| b >> 3),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unescaped_beast_record_reads_by_its_fixed_layout() {
        let mut rec = vec![0x1a, b'2', 0, 0, 0, 0, 1, 2, 0x80];
        rec.extend_from_slice(&[0x5d, 0x3c, 0x65, 0x86, 0x1a, 0x2b, 0x3c]);
        let Some(f) = RawFrame::from_unescaped_beast(&rec) else {
            panic!("a well-formed record was refused")
        };
        assert_eq!(f.mlat_ticks, Some(0x0102));
        assert_eq!(f.signal, Some(0x80));
        assert_eq!(f.payload(), &rec[9..]);
        // Wrong marker, a type that disagrees with the length, or a short record: refused.
        let mut bad = rec.clone();
        bad[0] = 0x1b;
        assert!(RawFrame::from_unescaped_beast(&bad).is_none());
        bad = rec.clone();
        bad[1] = b'3';
        assert!(RawFrame::from_unescaped_beast(&bad).is_none());
        assert!(RawFrame::from_unescaped_beast(&rec[..8]).is_none());
    }

    #[test]
    fn payload_lengths_follow_the_kind() {
        for n in 0..20 {
            let data = vec![0xab; n];
            match RawFrame::new(&data) {
                Some(f) => {
                    assert!(matches!(n, 2 | 7 | 14));
                    assert_eq!(f.payload(), &data[..]);
                    assert_eq!(f.kind().len_bytes(), n);
                }
                None => assert!(!matches!(n, 2 | 7 | 14)),
            }
        }
    }

    #[test]
    fn rssi_matches_dump1090_scaling() {
        let mut f = RawFrame::new(&[0; 7]).unwrap_or_else(|| panic!("7 bytes"));
        f.signal = Some(255);
        assert_eq!(f.rssi_dbfs(), Some(0.0));
        f.signal = Some(0);
        assert_eq!(f.rssi_dbfs(), None);
        f.signal = Some(128);
        let r = f.rssi_dbfs().unwrap_or_default();
        assert!((r - 20.0 * (128.0f64 / 255.0).log10()).abs() < 1e-12);
    }
}
