//! A fresh PostgreSQL database for a test, on the real server (127.0.0.1:5432, database
//! `test`, or `DRONEWATCH_TEST_POSTGRES` as an admin URL); dropped when the guard goes.

use std::time::{SystemTime, UNIX_EPOCH};

/// A database created for one test; dropped (best effort) with the guard.
#[derive(Debug)]
pub struct FreshDb {
    pub url: String,
    admin_url: String,
    name: String,
}

fn admin_url() -> String {
    std::env::var("DRONEWATCH_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// `url` with its database name replaced.
fn with_dbname(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let base = match base.rfind('/') {
        Some(i) if i > "postgres://".len() => &base[..i],
        _ => base,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

/// A new empty database, or `None` after saying why (a failure under CI).
pub async fn fresh_database(tag: &str) -> Option<FreshDb> {
    let admin_url = admin_url();
    let client = match tokio_postgres::connect(&admin_url, tokio_postgres::NoTls).await {
        Ok((client, conn)) => {
            tokio::spawn(conn);
            client
        }
        Err(e) => {
            let msg = format!(
                "PostgreSQL not reachable at {admin_url} ({e}): this test needs it (set \
                 DRONEWATCH_TEST_POSTGRES to an admin URL)"
            );
            assert!(std::env::var_os("CI").is_none(), "{msg}");
            eprintln!("SKIPPED: {msg}");
            return None;
        }
    };
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let name = format!("dw_{tag}_{}_{nanos}", std::process::id());
    if let Err(e) = client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
    {
        panic!("CREATE DATABASE {name}: {e}");
    }
    Some(FreshDb {
        url: with_dbname(&admin_url, &name),
        admin_url,
        name,
    })
}

impl Drop for FreshDb {
    fn drop(&mut self) {
        let (url, name) = (self.admin_url.clone(), self.name.clone());
        // Its own thread and runtime: Drop cannot await, and may run inside a runtime.
        let t = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async {
                if let Ok((client, conn)) =
                    tokio_postgres::connect(&url, tokio_postgres::NoTls).await
                {
                    tokio::spawn(conn);
                    let _ = client
                        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .await;
                }
            });
        });
        let _ = t.join();
    }
}

#[cfg(test)]
mod tests {
    use super::with_dbname;

    #[test]
    fn the_database_name_is_replaced() {
        assert_eq!(
            with_dbname("postgres://postgres@127.0.0.1:5432/test", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(
            with_dbname("postgres://u@h/test?sslmode=disable", "x"),
            "postgres://u@h/x?sslmode=disable"
        );
    }
}
