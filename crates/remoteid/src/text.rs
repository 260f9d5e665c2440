//! Fixed-size character fields (UAS ID, Self-ID description, Operator ID).
//!
//! F3411 fills these with ASCII and pads with NUL. Receivers see corrupted frames with
//! arbitrary bytes, so the field keeps every raw byte and offers views: the text up to
//! the first NUL, a printable-ASCII check and a lossless Latin-1 rendering (each byte as
//! U+0000..U+00FF, which is also how the reference decoder's golden output escapes them).

use serde::{Serialize, Serializer};

/// `N` raw bytes of a character field, NUL padded, allocation free.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct OdidText<const N: usize> {
    bytes: [u8; N],
}

impl<const N: usize> OdidText<N> {
    /// All NUL: the field is empty.
    pub const EMPTY: Self = Self { bytes: [0; N] };

    pub const fn from_raw(bytes: [u8; N]) -> Self {
        Self { bytes }
    }

    /// `text` NUL padded; `None` when it is longer than `N` bytes.
    pub fn new(text: &str) -> Option<Self> {
        Self::from_bytes(text.as_bytes())
    }

    /// `bytes` NUL padded; `None` when longer than `N`.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let mut out = [0u8; N];
        out.get_mut(..bytes.len())?.copy_from_slice(bytes);
        Some(Self { bytes: out })
    }

    /// Every byte of the field, padding included.
    pub const fn raw(&self) -> &[u8; N] {
        &self.bytes
    }

    /// The bytes before the first NUL (how the reference decoder reads the field).
    pub fn as_bytes(&self) -> &[u8] {
        let end = self.bytes.iter().position(|&b| b == 0).unwrap_or(N);
        self.bytes.get(..end).unwrap_or(&[])
    }

    /// The bytes with trailing NULs removed (keeps anything hidden after an inner NUL).
    pub fn trimmed(&self) -> &[u8] {
        let end = self
            .bytes
            .iter()
            .rposition(|&b| b != 0)
            .map_or(0, |i| i + 1);
        self.bytes.get(..end).unwrap_or(&[])
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.first().is_none_or(|&b| b == 0)
    }

    /// The text before the first NUL, when it is printable ASCII.
    pub fn as_str(&self) -> Option<&str> {
        let b = self.as_bytes();
        if b.iter().all(|&c| is_printable(c)) {
            std::str::from_utf8(b).ok()
        } else {
            None
        }
    }

    /// True when the text before the first NUL is printable ASCII and nothing but NUL
    /// follows it: what a well-formed transmitter sends.
    pub fn is_clean(&self) -> bool {
        self.as_bytes().iter().all(|&c| is_printable(c))
            && self.as_bytes().len() == self.trimmed().len()
    }

    /// The text before the first NUL, each byte as the Unicode code point of equal value.
    pub fn to_latin1(&self) -> String {
        self.as_bytes().iter().map(|&b| char::from(b)).collect()
    }
}

/// Printable ASCII, space to tilde.
pub(crate) const fn is_printable(b: u8) -> bool {
    matches!(b, 0x20..=0x7e)
}

impl<const N: usize> Default for OdidText<N> {
    fn default() -> Self {
        Self::EMPTY
    }
}

impl<const N: usize> std::fmt::Debug for OdidText<N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s: String = self.trimmed().iter().map(|&b| char::from(b)).collect();
        write!(f, "{s:?}")
    }
}

impl<const N: usize> std::fmt::Display for OdidText<N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_latin1())
    }
}

/// Serialized as the Latin-1 rendering of the bytes up to the last non-NUL byte, so an
/// inner NUL followed by garbage stays visible (as `\u0000`) in JSON.
impl<const N: usize> Serialize for OdidText<N> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let s: String = self.trimmed().iter().map(|&b| char::from(b)).collect();
        serializer.serialize_str(&s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn views_of_a_padded_field() {
        let t = OdidText::<8>::new("AB C").unwrap_or_default();
        assert_eq!(t.as_bytes(), b"AB C");
        assert_eq!(t.as_str(), Some("AB C"));
        assert!(t.is_clean());
        assert!(OdidText::<3>::new("ABCD").is_none());
    }

    #[test]
    fn garbage_after_nul_is_kept_and_flagged() {
        let t = OdidText::<6>::from_raw(*b"AB\0\xa7z\0");
        assert_eq!(t.as_bytes(), b"AB");
        assert_eq!(t.trimmed(), b"AB\0\xa7z");
        assert!(!t.is_clean());
        let json = serde_json::to_string(&t).unwrap_or_default();
        assert_eq!(json, "\"AB\\u0000§z\"");
    }

    #[test]
    fn non_ascii_is_not_a_str() {
        let t = OdidText::<4>::from_raw(*b"A\xc9Q\0");
        assert_eq!(t.as_str(), None);
        assert_eq!(t.to_latin1(), "AÉQ");
    }
}
