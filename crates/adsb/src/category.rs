//! ADS-B emitter category (identification message, TC 1..4 and its 3-bit CA) and the
//! classification we give the object.

use dronewatch_model::Classification;

/// Emitter category as dump1090/readsb write it: set `A`..`D` (TC 4..1) and code 0..7.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EmitterCategory {
    /// `'A'`, `'B'`, `'C'` or `'D'`.
    pub set: char,
    pub code: u8,
}

impl EmitterCategory {
    /// From the identification message's type code (1..4) and CA field (0..7).
    pub fn from_type_code(type_code: u8, ca: u8) -> Option<Self> {
        let set = match type_code {
            4 => 'A',
            3 => 'B',
            2 => 'C',
            1 => 'D',
            _ => return None,
        };
        (ca <= 7).then_some(Self { set, code: ca })
    }

    /// From a string such as `"A3"`.
    pub fn parse(s: &str) -> Option<Self> {
        let mut c = s.trim().chars();
        let set = c.next()?.to_ascii_uppercase();
        let code = c.next()?.to_digit(8)?;
        if c.next().is_some() || !('A'..='D').contains(&set) {
            return None;
        }
        Some(Self {
            set,
            code: u8::try_from(code).ok()?,
        })
    }

    /// What the category says the object is (DO-260B Table 2-12):
    /// A1..A7 and B1..B4, B7 are crewed aircraft (B3 parachutist, B4 ultralight), B6 is an
    /// unmanned aircraft, C1..C3 surface vehicles, C4..C7 obstructions; 0 is "no
    /// information" and D is reserved.
    pub fn class_label(&self) -> String {
        let base = match (self.set, self.code) {
            ('B', 6) => "uav.cooperative",
            ('C', 1..=3) => "vehicle.surface",
            ('C', 4..=7) => "obstruction",
            _ => "aircraft.manned",
        };
        format!("{base}.{}", self.to_string().to_ascii_lowercase())
    }
}

impl std::fmt::Display for EmitterCategory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}{}", self.set, self.code)
    }
}

/// Confidence that an ADS-B emitter is what its category says; without a category, that
/// it is a crewed aircraft (almost every 1090ES emitter is).
const CONFIDENCE_DECLARED: f64 = 0.95;
const CONFIDENCE_UNDECLARED: f64 = 0.9;

/// The classification an ADS-B observation carries: `aircraft.manned.<category>` (e.g.
/// `aircraft.manned.a3`), plain `aircraft.manned` without a category; see
/// [`EmitterCategory::class_label`] for the few non-aircraft categories. Consumers match on
/// the prefix, as with `uav.multirotor`.
pub fn classification(category: Option<EmitterCategory>) -> Classification {
    match category {
        Some(c) => Classification {
            class: c.class_label(),
            confidence: CONFIDENCE_DECLARED,
        },
        None => Classification {
            class: "aircraft.manned".to_owned(),
            confidence: CONFIDENCE_UNDECLARED,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_follow_the_category_sets() {
        let c = |s| EmitterCategory::parse(s).map(|c| c.class_label());
        assert_eq!(c("A3").as_deref(), Some("aircraft.manned.a3"));
        assert_eq!(c("a7").as_deref(), Some("aircraft.manned.a7"));
        assert_eq!(c("B6").as_deref(), Some("uav.cooperative.b6"));
        assert_eq!(c("C1").as_deref(), Some("vehicle.surface.c1"));
        assert_eq!(c("C5").as_deref(), Some("obstruction.c5"));
        assert_eq!(c("E1"), None);
        assert_eq!(c("A8"), None);
        assert_eq!(c("A33"), None);
        assert_eq!(
            EmitterCategory::from_type_code(4, 3),
            EmitterCategory::parse("A3")
        );
        assert_eq!(EmitterCategory::from_type_code(5, 3), None);
        assert_eq!(classification(None).class, "aircraft.manned");
    }
}
