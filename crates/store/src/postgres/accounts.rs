//! Users, device tokens, cursors and documents on PostgreSQL.

use dronewatch_model::TimeNs;
use tokio_postgres::Row;
use tokio_postgres::error::SqlState;

use super::{PgStore, pg};
use crate::event::now_ns;
use crate::{DeviceTokenRecord, StoreError, UserRecord};

const USER_COLUMNS: &str =
    "name, role, password_hash, disabled, failed_logins, locked_until_ns, created_at_ns";
const TOKEN_COLUMNS: &str = "id, user_name, label, token_sha256, created_at_ns, revoked_at_ns";

fn user_row(r: &Row) -> Result<UserRecord, StoreError> {
    let failed: i64 = r.try_get(4).map_err(pg)?;
    Ok(UserRecord {
        name: r.try_get(0).map_err(pg)?,
        role: r.try_get(1).map_err(pg)?,
        password_hash: r.try_get(2).map_err(pg)?,
        disabled: r.try_get(3).map_err(pg)?,
        failed_logins: u32::try_from(failed)
            .map_err(|_| StoreError::Backend(format!("failed_logins {failed} out of range")))?,
        locked_until: r.try_get::<_, Option<i64>>(5).map_err(pg)?.map(TimeNs),
        created_at: TimeNs(r.try_get(6).map_err(pg)?),
    })
}

fn token_row(r: &Row) -> Result<DeviceTokenRecord, StoreError> {
    let sha: Vec<u8> = r.try_get(3).map_err(pg)?;
    Ok(DeviceTokenRecord {
        id: r.try_get(0).map_err(pg)?,
        user: r.try_get(1).map_err(pg)?,
        label: r.try_get(2).map_err(pg)?,
        token_sha256: <[u8; 32]>::try_from(sha.as_slice()).map_err(|_| {
            StoreError::Backend(format!("token_sha256 has {} bytes, not 32", sha.len()))
        })?,
        created_at: TimeNs(r.try_get(4).map_err(pg)?),
        revoked_at: r.try_get::<_, Option<i64>>(5).map_err(pg)?.map(TimeNs),
    })
}

/// The violated constraint's state and name, if `e` is a constraint violation.
fn violation(e: &tokio_postgres::Error) -> Option<(&SqlState, &str)> {
    let d = e.as_db_error()?;
    Some((d.code(), d.constraint().unwrap_or("")))
}

impl PgStore {
    pub(crate) async fn cursor(&self, name: &str) -> Result<Option<u64>, StoreError> {
        let c = self.client().await?;
        let row = c
            .query_opt("SELECT value FROM cursors WHERE name = $1", &[&name])
            .await
            .map_err(pg)?;
        row.map(|r| r.try_get::<_, i64>(0).map(|v| v as u64))
            .transpose()
            .map_err(pg)
    }

    pub(crate) async fn set_cursor(&self, name: &str, value: u64) -> Result<(), StoreError> {
        let c = self.client().await?;
        c.execute(
            "INSERT INTO cursors (name, value) VALUES ($1, $2)
             ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            &[&name, &(value as i64)],
        )
        .await
        .map(drop)
        .map_err(pg)
    }

    pub(crate) async fn document(&self, name: &str) -> Result<Option<String>, StoreError> {
        let c = self.client().await?;
        let row = c
            .query_opt("SELECT json FROM documents WHERE name = $1", &[&name])
            .await
            .map_err(pg)?;
        row.map(|r| r.try_get(0)).transpose().map_err(pg)
    }

    pub(crate) async fn put_document(&self, name: &str, json: &str) -> Result<(), StoreError> {
        let c = self.client().await?;
        c.execute(
            "INSERT INTO documents (name, json, updated_at_ns) VALUES ($1, $2, $3)
             ON CONFLICT (name) DO UPDATE SET json = excluded.json,
                                              updated_at_ns = excluded.updated_at_ns",
            &[&name, &json, &now_ns().0],
        )
        .await
        .map(drop)
        .map_err(pg)
    }

    pub(crate) async fn create_user(&self, u: &UserRecord) -> Result<(), StoreError> {
        let c = self.client().await?;
        c.execute(
            &format!("INSERT INTO users ({USER_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"),
            &[
                &u.name,
                &u.role,
                &u.password_hash,
                &u.disabled,
                &i64::from(u.failed_logins),
                &u.locked_until.map(|t| t.0),
                &u.created_at.0,
            ],
        )
        .await
        .map(drop)
        .map_err(|e| match violation(&e) {
            Some((&SqlState::UNIQUE_VIOLATION, _)) => {
                StoreError::Conflict(format!("user {:?}", u.name))
            }
            _ => pg(e),
        })
    }

    pub(crate) async fn user(&self, name: &str) -> Result<Option<UserRecord>, StoreError> {
        let c = self.client().await?;
        let row = c
            .query_opt(
                &format!("SELECT {USER_COLUMNS} FROM users WHERE name = $1"),
                &[&name],
            )
            .await
            .map_err(pg)?;
        row.as_ref().map(user_row).transpose()
    }

    pub(crate) async fn users(&self) -> Result<Vec<UserRecord>, StoreError> {
        let c = self.client().await?;
        let rows = c
            .query(
                &format!("SELECT {USER_COLUMNS} FROM users ORDER BY name COLLATE \"C\""),
                &[],
            )
            .await
            .map_err(pg)?;
        rows.iter().map(user_row).collect()
    }

    pub(crate) async fn update_user(&self, u: &UserRecord) -> Result<(), StoreError> {
        let c = self.client().await?;
        let n = c
            .execute(
                "UPDATE users SET role = $2, password_hash = $3, disabled = $4,
                     failed_logins = $5, locked_until_ns = $6, created_at_ns = $7
                 WHERE name = $1",
                &[
                    &u.name,
                    &u.role,
                    &u.password_hash,
                    &u.disabled,
                    &i64::from(u.failed_logins),
                    &u.locked_until.map(|t| t.0),
                    &u.created_at.0,
                ],
            )
            .await
            .map_err(pg)?;
        match n {
            0 => Err(StoreError::NotFound(format!("user {:?}", u.name))),
            _ => Ok(()),
        }
    }

    pub(crate) async fn delete_user(&self, name: &str) -> Result<(), StoreError> {
        let c = self.client().await?;
        match c
            .execute("DELETE FROM users WHERE name = $1", &[&name])
            .await
            .map_err(pg)?
        {
            0 => Err(StoreError::NotFound(format!("user {name:?}"))),
            _ => Ok(()),
        }
    }

    pub(crate) async fn create_device_token(
        &self,
        t: &DeviceTokenRecord,
    ) -> Result<(), StoreError> {
        let c = self.client().await?;
        c.execute(
            &format!("INSERT INTO device_tokens ({TOKEN_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)"),
            &[
                &t.id,
                &t.user,
                &t.label,
                &&t.token_sha256[..],
                &t.created_at.0,
                &t.revoked_at.map(|t| t.0),
            ],
        )
        .await
        .map(drop)
        .map_err(|e| match violation(&e) {
            Some((&SqlState::UNIQUE_VIOLATION, "device_tokens_pkey")) => {
                StoreError::Conflict(format!("device token {:?}", t.id))
            }
            Some((&SqlState::UNIQUE_VIOLATION, _)) => {
                StoreError::Conflict("a device token with this SHA-256".to_string())
            }
            Some((&SqlState::FOREIGN_KEY_VIOLATION, _)) => {
                StoreError::NotFound(format!("user {:?}", t.user))
            }
            _ => pg(e),
        })
    }

    pub(crate) async fn device_token_by_hash(
        &self,
        sha256: &[u8; 32],
    ) -> Result<Option<DeviceTokenRecord>, StoreError> {
        let c = self.client().await?;
        let row = c
            .query_opt(
                &format!("SELECT {TOKEN_COLUMNS} FROM device_tokens WHERE token_sha256 = $1"),
                &[&&sha256[..]],
            )
            .await
            .map_err(pg)?;
        row.as_ref().map(token_row).transpose()
    }

    pub(crate) async fn device_tokens(&self) -> Result<Vec<DeviceTokenRecord>, StoreError> {
        let c = self.client().await?;
        let rows = c
            .query(
                &format!(
                    "SELECT {TOKEN_COLUMNS} FROM device_tokens ORDER BY created_at_ns, id COLLATE \"C\""
                ),
                &[],
            )
            .await
            .map_err(pg)?;
        rows.iter().map(token_row).collect()
    }

    pub(crate) async fn revoke_device_token(&self, id: &str, at: TimeNs) -> Result<(), StoreError> {
        let c = self.client().await?;
        // The first revocation's time stays.
        let n = c
            .execute(
                "UPDATE device_tokens SET revoked_at_ns = coalesce(revoked_at_ns, $2) WHERE id = $1",
                &[&id, &at.0],
            )
            .await
            .map_err(pg)?;
        match n {
            0 => Err(StoreError::NotFound(format!("device token {id:?}"))),
            _ => Ok(()),
        }
    }
}
