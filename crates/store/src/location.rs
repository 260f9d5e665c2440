//! Which backend a store URL names, and its options.

use std::path::PathBuf;

use crate::StoreError;

/// How SQLite makes a commit durable (`?synchronous=` in a `sqlite:` URL; docs/store.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SqliteSync {
    /// WAL commit without fsync: survives a killed process, may lose the last commits (never
    /// the database) on power loss. The default.
    Normal,
    /// fsync of the WAL at every commit: survives power loss too.
    Full,
}

/// `url` with the password of a `scheme://user:password@host` URL replaced by `***`, for
/// messages and logs.
pub(crate) fn redact(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return url.to_string();
    };
    let rest = &url[scheme_end..];
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => match rest[..at].find(':') {
            Some(colon) => format!(
                "{}{}:***{}",
                &url[..scheme_end],
                &rest[..colon],
                &rest[at..]
            ),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Location {
    Sqlite { path: PathBuf, sync: SqliteSync },
    Postgres { url: String },
}

fn bad(url: &str, reason: impl Into<String>) -> StoreError {
    StoreError::Url {
        url: url.to_string(),
        reason: reason.into(),
    }
}

impl Location {
    /// A plain path, `sqlite://PATH`, `sqlite:PATH` (both may end in `?synchronous=full`), or
    /// `postgres://...` / `postgresql://...`.
    pub(crate) fn parse(url: &str) -> Result<Location, StoreError> {
        if url.trim().is_empty() {
            return Err(bad(url, "empty"));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Location::Postgres {
                url: url.to_string(),
            });
        }
        let (rest, with_options) = if let Some(rest) = url.strip_prefix("sqlite://") {
            (rest, true)
        } else if let Some(rest) = url.strip_prefix("sqlite:") {
            (rest, true)
        } else if let Some((scheme, _)) = url.split_once("://") {
            return Err(bad(
                url,
                format!("unknown scheme {scheme:?} (use a path, sqlite:PATH or postgres://...)"),
            ));
        } else {
            (url, false)
        };
        let (path, options) = match rest.split_once('?') {
            Some((p, o)) if with_options => (p, Some(o)),
            _ => (rest, None),
        };
        if path.is_empty() {
            return Err(bad(url, "no file path"));
        }
        if path == ":memory:" || path.starts_with("file::memory:") {
            return Err(bad(
                url,
                "an in-memory SQLite database cannot be shared by the writer and the readers; \
                 use a file (in a temporary directory for tests)",
            ));
        }
        let mut sync = SqliteSync::Normal;
        for opt in options.into_iter().flat_map(|o| o.split('&')) {
            match opt.split_once('=') {
                Some(("synchronous", v)) if v.eq_ignore_ascii_case("normal") => {
                    sync = SqliteSync::Normal
                }
                Some(("synchronous", v)) if v.eq_ignore_ascii_case("full") => {
                    sync = SqliteSync::Full
                }
                _ => {
                    return Err(bad(
                        url,
                        format!("unknown option {opt:?} (known: synchronous=normal|full)"),
                    ));
                }
            }
        }
        Ok(Location::Sqlite {
            path: PathBuf::from(path),
            sync,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sqlite(path: &str, sync: SqliteSync) -> Location {
        Location::Sqlite {
            path: PathBuf::from(path),
            sync,
        }
    }

    #[test]
    fn sqlite_forms() {
        let n = SqliteSync::Normal;
        assert_eq!(
            Location::parse("data/dw.db").ok(),
            Some(sqlite("data/dw.db", n))
        );
        assert_eq!(
            Location::parse("sqlite:///var/dw.db").ok(),
            Some(sqlite("/var/dw.db", n))
        );
        assert_eq!(
            Location::parse("sqlite://rel/dw.db").ok(),
            Some(sqlite("rel/dw.db", n))
        );
        assert_eq!(
            Location::parse("sqlite:dw.db").ok(),
            Some(sqlite("dw.db", n))
        );
        assert_eq!(
            Location::parse("sqlite:dw.db?synchronous=FULL").ok(),
            Some(sqlite("dw.db", SqliteSync::Full))
        );
        // A plain path keeps a question mark as part of the file name.
        assert_eq!(
            Location::parse("odd?name").ok(),
            Some(sqlite("odd?name", n))
        );
    }

    #[test]
    fn postgres_forms() {
        for url in [
            "postgres://u@h/db",
            "postgresql://u@h:5432/db?sslmode=disable",
        ] {
            assert_eq!(
                Location::parse(url).ok(),
                Some(Location::Postgres {
                    url: url.to_string()
                })
            );
        }
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact("postgres://dw:s3cr3t@db.local:5432/dw?x=1"),
            "postgres://dw:***@db.local:5432/dw?x=1"
        );
        assert_eq!(redact("postgres://dw@h/db"), "postgres://dw@h/db");
        assert_eq!(
            redact("postgres://h/db?user=a@b"),
            "postgres://h/db?user=a@b"
        );
        assert_eq!(redact("/var/dw.db"), "/var/dw.db");
    }

    #[test]
    fn bad_urls_are_named() {
        for url in [
            "",
            "mysql://h/db",
            "sqlite://",
            "sqlite::memory:",
            ":memory:",
            "sqlite:x.db?journal=off",
        ] {
            match Location::parse(url) {
                Err(StoreError::Url { url: u, .. }) => assert_eq!(u, url),
                other => panic!("{url:?}: {other:?}"),
            }
        }
    }
}
