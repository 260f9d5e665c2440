//! CoT type codes. An "atom" (`a-...`) is a thing on the map: `a-<affiliation>-<battle
//! dimension>-<MIL-STD-2525 function...>`, e.g. `a-h-A-M-H-Q` a hostile military rotary-wing
//! drone (MITRE CoTtypes.xml). Other types are bits (`b-`), tasks (`t-`) and so on.

/// The standard identity in the second field of an atom.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Affiliation {
    Pending,
    Unknown,
    AssumedFriend,
    Friend,
    Neutral,
    Suspect,
    Hostile,
    Joker,
    Faker,
    None,
}

const LETTERS: [(Affiliation, char); 10] = [
    (Affiliation::Pending, 'p'),
    (Affiliation::Unknown, 'u'),
    (Affiliation::AssumedFriend, 'a'),
    (Affiliation::Friend, 'f'),
    (Affiliation::Neutral, 'n'),
    (Affiliation::Suspect, 's'),
    (Affiliation::Hostile, 'h'),
    (Affiliation::Joker, 'j'),
    (Affiliation::Faker, 'k'),
    (Affiliation::None, 'o'),
];

impl Affiliation {
    pub fn letter(self) -> char {
        LETTERS
            .iter()
            .find(|(a, _)| *a == self)
            .map_or('u', |(_, c)| *c)
    }

    pub fn from_letter(c: char) -> Option<Self> {
        LETTERS.iter().find(|(_, l)| *l == c).map(|(a, _)| *a)
    }
}

/// An atom: `a-<affiliation letter>-...`.
pub fn is_atom(cot_type: &str) -> bool {
    affiliation(cot_type).is_some()
}

/// The affiliation of an atom; `None` for anything else.
pub fn affiliation(cot_type: &str) -> Option<Affiliation> {
    let mut parts = cot_type.split('-');
    if parts.next() != Some("a") {
        return None;
    }
    let mut letter = parts.next()?.chars();
    let a = Affiliation::from_letter(letter.next()?)?;
    letter.next().is_none().then_some(a)
}

/// The same atom with another affiliation; other types are returned as they are.
pub fn with_affiliation(cot_type: &str, a: Affiliation) -> String {
    if !is_atom(cot_type) {
        return cot_type.to_owned();
    }
    let rest = cot_type.get(3..).unwrap_or_default();
    format!("a-{}{rest}", a.letter())
}

/// A rotary-wing drone (`a-?-A-M-H-Q`), the symbol TAK users know for a quadcopter.
pub fn uav(a: Affiliation) -> String {
    format!("a-{}-A-M-H-Q", a.letter())
}

/// A crewed civil aircraft: fixed wing `a-?-A-C-F` or rotary `a-?-A-C-H`.
pub fn manned_aircraft(a: Affiliation, rotary: bool) -> String {
    format!("a-{}-A-C-{}", a.letter(), if rotary { 'H' } else { 'F' })
}

/// The MIL-STD-2525B symbol code (15 characters) of an atom: coding scheme `S`, the
/// affiliation, the battle dimension, status `P` (present), the function (up to six
/// letters, dashes after), and dashes for modifier, country and order of battle. This is
/// the mapping ATAK's own 2525 icons use (CoT `a-h-A-M-H-Q` ↔ `SHAPMHQ--------`).
pub fn sidc_2525b(cot_type: &str) -> Option<String> {
    let a = affiliation(cot_type)?;
    let mut parts = cot_type.split('-').skip(2);
    let dimension = parts.next()?;
    if dimension.len() != 1 || !dimension.chars().all(|c| c.is_ascii_uppercase()) {
        return None;
    }
    let function: String = parts.collect();
    if function.len() > 6 || !function.chars().all(|c| c.is_ascii_alphanumeric()) {
        return None;
    }
    // 2525B's standard identities are CoT's letters upper-cased: P U A F N S H J K O.
    let identity = a.letter().to_ascii_uppercase();
    let mut sidc = format!("S{identity}{dimension}P{}", function.to_ascii_uppercase());
    while sidc.len() < 15 {
        sidc.push('-');
    }
    Some(sidc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atoms_carry_their_affiliation_and_2525_code() {
        assert_eq!(affiliation("a-h-A-M-H-Q"), Some(Affiliation::Hostile));
        assert_eq!(affiliation("a-u-G"), Some(Affiliation::Unknown));
        assert_eq!(affiliation("b-t-f"), None);
        assert_eq!(affiliation("a-hx-A"), None);
        assert_eq!(affiliation("a"), None);
        assert_eq!(
            with_affiliation("a-u-A-M-H-Q", Affiliation::Suspect),
            "a-s-A-M-H-Q"
        );
        assert_eq!(with_affiliation("a-u", Affiliation::Friend), "a-f");
        assert_eq!(with_affiliation("b-t-f", Affiliation::Friend), "b-t-f");
        assert_eq!(uav(Affiliation::Hostile), "a-h-A-M-H-Q");
        assert_eq!(manned_aircraft(Affiliation::Neutral, true), "a-n-A-C-H");
        assert_eq!(
            sidc_2525b("a-h-A-M-H-Q").as_deref(),
            Some("SHAPMHQ--------")
        );
        assert_eq!(sidc_2525b("a-f-G-U-C").as_deref(), Some("SFGPUC---------"));
        assert_eq!(sidc_2525b("a-n-A").as_deref(), Some("SNAP-----------"));
        assert_eq!(sidc_2525b("a-n-a"), None);
        assert_eq!(sidc_2525b("a-u-G").as_deref(), Some("SUGP-----------"));
        assert_eq!(
            sidc_2525b("a-o-A-C-F-q").as_deref(),
            Some("SOAPCFQ--------")
        );
        assert_eq!(sidc_2525b("b-m-p-s-p-i"), None);
        for (a, c) in LETTERS {
            assert_eq!(Affiliation::from_letter(c), Some(a));
            assert_eq!(a.letter(), c);
        }
    }
}
