//! Identifier formats (BSI Flex 335 v2.0: node ids are UUIDs, report/object/task/alert/region
//! ids are ULIDs), checked the strict way Apex does with `strictIdFormat`: UUID version 4 in
//! lower-case hyphenated form, ULID in upper-case Crockford base32 whose first character keeps
//! the value within 128 bits.

/// True for a lower-case hyphenated UUID of version 4 and RFC 4122 variant, e.g.
/// `a8654cdf-4328-47de-81fa-c495589e30c8`.
pub fn is_strict_uuid_v4(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 36 {
        return false;
    }
    for (i, &c) in b.iter().enumerate() {
        let ok = match i {
            8 | 13 | 18 | 23 => c == b'-',
            14 => c == b'4',
            19 => matches!(c, b'8' | b'9' | b'a' | b'b'),
            _ => c.is_ascii_digit() || (b'a'..=b'f').contains(&c),
        };
        if !ok {
            return false;
        }
    }
    true
}

/// True for a 26-character upper-case ULID, e.g. `01GGYFBAXGDG7AGAHRZ6XSNY12`.
pub fn is_strict_ulid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 26
        && matches!(b.first(), Some(b'0'..=b'7'))
        && b.iter().all(|&c| is_crockford_upper(c))
}

/// Crockford base32 digits, upper case: 0-9 and A-Z without I, L, O, U.
fn is_crockford_upper(c: u8) -> bool {
    c.is_ascii_digit() || (c.is_ascii_uppercase() && !matches!(c, b'I' | b'L' | b'O' | b'U'))
}

/// A new ULID string (time-ordered, random low bits) for report, task and alert ids we send.
pub fn new_ulid() -> String {
    ulid::Ulid::generate().to_string()
}

/// 128 bits that are always the same for the same key: FNV-1a over it, the second half
/// seeded from the first. Not random; only stable (node ids, object ids of simulated nodes).
pub fn stable_bits(key: &str) -> u128 {
    let fnv = |seed: u64| {
        key.bytes().fold(seed, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        })
    };
    let hi = fnv(0xcbf2_9ce4_8422_2325);
    let lo = fnv(hi ^ 0x9e37_79b9_7f4a_7c15);
    (u128::from(hi) << 64) | u128::from(lo)
}

/// A ULID that is always the same for the same key (e.g. a simulated sensor's own track
/// number, sent as every report's `object_id`). Not time-ordered; only stable.
pub fn stable_ulid(key: &str) -> String {
    ulid::Ulid(stable_bits(key)).to_string()
}

/// A new random UUID version 4, lower-case hyphenated (for our own node id).
pub fn new_uuid_v4() -> String {
    // 128 random bits from a fresh ULID's generator would keep its timestamp; take two.
    let hi = ulid::Ulid::generate().0 as u64;
    let lo = ulid::Ulid::generate().0 as u64;
    uuid_v4_from_bits((u128::from(hi) << 64) | u128::from(lo))
}

/// These bits as a UUID version 4 (the version and variant bits set), lower-case hyphenated.
pub fn uuid_v4_from_bits(bits: u128) -> String {
    let mut b = bits.to_be_bytes();
    b[6] = (b[6] & 0x0f) | 0x40; // version 4
    b[8] = (b[8] & 0x3f) | 0x80; // RFC 4122 variant
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// The low 64 bits of a ULID (its random part), used as an observation id; `None` when the
/// string is not a ULID.
pub fn ulid_low_u64(s: &str) -> Option<u64> {
    ulid::Ulid::from_string(s).ok().map(|u| u.0 as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stable_ulids_are_valid_and_stable() {
        let a = stable_ulid("radar-1/17");
        assert!(is_strict_ulid(&a), "{a}");
        assert_eq!(a, stable_ulid("radar-1/17"));
        assert_ne!(a, stable_ulid("radar-1/18"));
        assert!(is_strict_ulid(&stable_ulid("")));
    }

    #[test]
    fn uuid_v4_strict() {
        assert!(is_strict_uuid_v4("a8654cdf-4328-47de-81fa-c495589e30c8"));
        // upper case, wrong version, wrong variant, braces, missing dash
        assert!(!is_strict_uuid_v4("A8654CDF-4328-47DE-81FA-C495589E30C8"));
        assert!(!is_strict_uuid_v4("a8654cdf-4328-17de-81fa-c495589e30c8"));
        assert!(!is_strict_uuid_v4("a8654cdf-4328-47de-c1fa-c495589e30c8"));
        assert!(!is_strict_uuid_v4("{a8654cdf-4328-47de-81fa-c495589e30c8}"));
        assert!(!is_strict_uuid_v4("a8654cdf43284-7de-81fa-c495589e30c8"));
        assert!(!is_strict_uuid_v4("01H4R63D7NVN8444Z5M77WEBY6"));
        assert!(!is_strict_uuid_v4(""));
    }

    #[test]
    fn ulid_strict() {
        assert!(is_strict_ulid("01GGYFBAXGDG7AGAHRZ6XSNY12"));
        assert!(!is_strict_ulid("01ggyfbaxgdg7agahrz6xsny12"));
        assert!(!is_strict_ulid("81GGYFBAXGDG7AGAHRZ6XSNY12"));
        assert!(!is_strict_ulid("01GGYFBAXGDG7AGAHRZ6XSNYI2"));
        assert!(!is_strict_ulid("01GGYFBAXGDG7AGAHRZ6XSNY1"));
        assert!(!is_strict_ulid("a8654cdf-4328-47de-81fa-c495589e30c8"));
    }

    #[test]
    fn new_ulids_are_strict_and_give_an_id() {
        let u = new_ulid();
        assert!(is_strict_ulid(&u), "{u}");
        assert!(ulid_low_u64(&u).is_some());
        assert_eq!(ulid_low_u64("not a ulid"), None);
        let n = new_uuid_v4();
        assert!(is_strict_uuid_v4(&n), "{n}");
        assert_ne!(n, new_uuid_v4());
    }
}
