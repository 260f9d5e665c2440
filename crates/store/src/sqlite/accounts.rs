//! Users, device tokens, cursors and documents on SQLite: writes on the writer thread (no
//! second writer to wait for), reads on the readers.

use dronewatch_model::TimeNs;
use rusqlite::{OptionalExtension, Row, ffi, params};

use super::{SqliteStore, db};
use crate::event::now_ns;
use crate::{DeviceTokenRecord, StoreError, UserRecord};

/// The extended result code of a failed statement.
fn code(e: &rusqlite::Error) -> Option<i32> {
    e.sqlite_extended_error_code()
}

const USER_COLUMNS: &str =
    "name, role, password_hash, disabled, failed_logins, locked_until_ns, created_at_ns";
const TOKEN_COLUMNS: &str = "id, user_name, label, token_sha256, created_at_ns, revoked_at_ns";

fn user_row(r: &Row<'_>) -> rusqlite::Result<UserRecord> {
    Ok(UserRecord {
        name: r.get(0)?,
        role: r.get(1)?,
        password_hash: r.get(2)?,
        disabled: r.get(3)?,
        failed_logins: r.get(4)?,
        locked_until: r.get::<_, Option<i64>>(5)?.map(TimeNs),
        created_at: TimeNs(r.get(6)?),
    })
}

fn token_row(r: &Row<'_>) -> rusqlite::Result<DeviceTokenRecord> {
    Ok(DeviceTokenRecord {
        id: r.get(0)?,
        user: r.get(1)?,
        label: r.get(2)?,
        token_sha256: r.get(3)?,
        created_at: TimeNs(r.get(4)?),
        revoked_at: r.get::<_, Option<i64>>(5)?.map(TimeNs),
    })
}

impl SqliteStore {
    pub(crate) async fn cursor(&self, name: &str) -> Result<Option<u64>, StoreError> {
        let name = name.to_string();
        self.readers
            .run(move |c| {
                c.prepare_cached("SELECT value FROM cursors WHERE name = ?1")
                    .and_then(|mut st| st.query_row([&name], |r| r.get::<_, i64>(0)).optional())
                    .map(|v| v.map(|v| v as u64))
                    .map_err(db)
            })
            .await
    }

    pub(crate) async fn set_cursor(&self, name: &str, value: u64) -> Result<(), StoreError> {
        let name = name.to_string();
        self.writer
            .run(move |c| {
                c.execute(
                    "INSERT INTO cursors (name, value) VALUES (?1, ?2)
                     ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                    params![name, value as i64],
                )
                .map(drop)
                .map_err(db)
            })
            .await
    }

    pub(crate) async fn document(&self, name: &str) -> Result<Option<String>, StoreError> {
        let name = name.to_string();
        self.readers
            .run(move |c| {
                c.prepare_cached("SELECT json FROM documents WHERE name = ?1")
                    .and_then(|mut st| st.query_row([&name], |r| r.get(0)).optional())
                    .map_err(db)
            })
            .await
    }

    pub(crate) async fn put_document(&self, name: &str, json: &str) -> Result<(), StoreError> {
        let (name, json) = (name.to_string(), json.to_string());
        self.writer
            .run(move |c| {
                c.execute(
                    "INSERT INTO documents (name, json, updated_at_ns) VALUES (?1, ?2, ?3)
                     ON CONFLICT (name) DO UPDATE SET json = excluded.json,
                                                      updated_at_ns = excluded.updated_at_ns",
                    params![name, json, now_ns().0],
                )
                .map(drop)
                .map_err(db)
            })
            .await
    }

    pub(crate) async fn create_user(&self, u: &UserRecord) -> Result<(), StoreError> {
        let u = u.clone();
        self.writer
            .run(move |c| {
                c.execute(
                    &format!(
                        "INSERT INTO users ({USER_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
                    ),
                    params![
                        u.name,
                        u.role,
                        u.password_hash,
                        u.disabled,
                        u.failed_logins,
                        u.locked_until.map(|t| t.0),
                        u.created_at.0
                    ],
                )
                .map(drop)
                .map_err(|e| match code(&e) {
                    Some(ffi::SQLITE_CONSTRAINT_PRIMARYKEY) => {
                        StoreError::Conflict(format!("user {:?}", u.name))
                    }
                    _ => db(e),
                })
            })
            .await
    }

    pub(crate) async fn user(&self, name: &str) -> Result<Option<UserRecord>, StoreError> {
        let name = name.to_string();
        self.readers
            .run(move |c| {
                c.prepare_cached(&format!("SELECT {USER_COLUMNS} FROM users WHERE name = ?1"))
                    .and_then(|mut st| st.query_row([&name], user_row).optional())
                    .map_err(db)
            })
            .await
    }

    pub(crate) async fn users(&self) -> Result<Vec<UserRecord>, StoreError> {
        self.readers
            .run(move |c| {
                c.prepare_cached(&format!("SELECT {USER_COLUMNS} FROM users ORDER BY name"))
                    .and_then(|mut st| st.query_map([], user_row)?.collect())
                    .map_err(db)
            })
            .await
    }

    pub(crate) async fn update_user(&self, u: &UserRecord) -> Result<(), StoreError> {
        let u = u.clone();
        self.writer
            .run(move |c| {
                let n = c
                    .execute(
                        "UPDATE users SET role = ?2, password_hash = ?3, disabled = ?4,
                             failed_logins = ?5, locked_until_ns = ?6, created_at_ns = ?7
                         WHERE name = ?1",
                        params![
                            u.name,
                            u.role,
                            u.password_hash,
                            u.disabled,
                            u.failed_logins,
                            u.locked_until.map(|t| t.0),
                            u.created_at.0
                        ],
                    )
                    .map_err(db)?;
                match n {
                    0 => Err(StoreError::NotFound(format!("user {:?}", u.name))),
                    _ => Ok(()),
                }
            })
            .await
    }

    pub(crate) async fn delete_user(&self, name: &str) -> Result<(), StoreError> {
        let name = name.to_string();
        self.writer
            .run(move |c| {
                match c
                    .execute("DELETE FROM users WHERE name = ?1", [&name])
                    .map_err(db)?
                {
                    0 => Err(StoreError::NotFound(format!("user {name:?}"))),
                    _ => Ok(()),
                }
            })
            .await
    }

    pub(crate) async fn create_device_token(
        &self,
        t: &DeviceTokenRecord,
    ) -> Result<(), StoreError> {
        let t = t.clone();
        self.writer
            .run(move |c| {
                c.execute(
                    &format!("INSERT INTO device_tokens ({TOKEN_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"),
                    params![
                        t.id,
                        t.user,
                        t.label,
                        t.token_sha256,
                        t.created_at.0,
                        t.revoked_at.map(|t| t.0)
                    ],
                )
                .map(drop)
                .map_err(|e| match code(&e) {
                    Some(ffi::SQLITE_CONSTRAINT_PRIMARYKEY) => {
                        StoreError::Conflict(format!("device token {:?}", t.id))
                    }
                    Some(ffi::SQLITE_CONSTRAINT_UNIQUE) => {
                        StoreError::Conflict("a device token with this SHA-256".to_string())
                    }
                    Some(ffi::SQLITE_CONSTRAINT_FOREIGNKEY) => {
                        StoreError::NotFound(format!("user {:?}", t.user))
                    }
                    _ => db(e),
                })
            })
            .await
    }

    pub(crate) async fn device_token_by_hash(
        &self,
        sha256: &[u8; 32],
    ) -> Result<Option<DeviceTokenRecord>, StoreError> {
        let h = *sha256;
        self.readers
            .run(move |c| {
                c.prepare_cached(&format!(
                    "SELECT {TOKEN_COLUMNS} FROM device_tokens WHERE token_sha256 = ?1"
                ))
                .and_then(|mut st| st.query_row([&h[..]], token_row).optional())
                .map_err(db)
            })
            .await
    }

    pub(crate) async fn device_tokens(&self) -> Result<Vec<DeviceTokenRecord>, StoreError> {
        self.readers
            .run(move |c| {
                c.prepare_cached(&format!(
                    "SELECT {TOKEN_COLUMNS} FROM device_tokens ORDER BY created_at_ns, id"
                ))
                .and_then(|mut st| st.query_map([], token_row)?.collect())
                .map_err(db)
            })
            .await
    }

    pub(crate) async fn revoke_device_token(&self, id: &str, at: TimeNs) -> Result<(), StoreError> {
        let id = id.to_string();
        self.writer
            .run(move |c| {
                // The first revocation's time stays.
                let n = c
                    .execute(
                        "UPDATE device_tokens SET revoked_at_ns = coalesce(revoked_at_ns, ?2)
                         WHERE id = ?1",
                        params![id, at.0],
                    )
                    .map_err(db)?;
                match n {
                    0 => Err(StoreError::NotFound(format!("device token {id:?}"))),
                    _ => Ok(()),
                }
            })
            .await
    }
}
