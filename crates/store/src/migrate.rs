//! The migration runner's backend-neutral part: numbered SQL scripts, applied in order, each
//! in its own transaction together with its row in `schema_migrations (version,
//! applied_at_ns)`. The backends run the transactions (sqlite/mod.rs, postgres/mod.rs).

use crate::StoreError;

/// One numbered schema change.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Migration {
    pub version: u32,
    pub name: &'static str,
    pub sql: &'static str,
}

/// The migrations to apply to a database at `current`, or `SchemaTooNew`. `known` is
/// numbered 1, 2, ... in order (checked by each backend's unit test).
pub(crate) fn pending(current: u32, known: &[Migration]) -> Result<&[Migration], StoreError> {
    let newest = known.last().map_or(0, |m| m.version);
    if current > newest {
        return Err(StoreError::SchemaTooNew {
            found: current,
            known: newest,
        });
    }
    Ok(&known[current as usize..])
}

/// Panics unless `known` is numbered 1, 2, 3... (for the backends' unit tests).
#[cfg(test)]
pub(crate) fn assert_numbered(known: &[Migration]) {
    for (i, m) in known.iter().enumerate() {
        assert_eq!(m.version as usize, i + 1, "migration {}", m.name);
        assert!(!m.sql.trim().is_empty(), "migration {} is empty", m.name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const M: [Migration; 2] = [
        Migration {
            version: 1,
            name: "a",
            sql: "x",
        },
        Migration {
            version: 2,
            name: "b",
            sql: "y",
        },
    ];

    #[test]
    fn pending_is_the_suffix_after_current() {
        assert_eq!(pending(0, &M).map(|p| p.len()).ok(), Some(2));
        assert_eq!(pending(1, &M).map(|p| p[0].name).ok(), Some("b"));
        assert_eq!(pending(2, &M).map(|p| p.len()).ok(), Some(0));
        assert!(matches!(
            pending(3, &M),
            Err(StoreError::SchemaTooNew { found: 3, known: 2 })
        ));
    }
}
