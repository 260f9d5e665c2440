//! Who may do what. Nothing but liveness is readable without authentication.
//!
//! - **Users** have one role and an argon2id password. A password login returns a
//!   short-lived access token (a JWT signed with HS256 by this node's key, 15 minutes by
//!   default) that the client refreshes until `session_max_s` after the login.
//! - **Device tokens** are long-lived secrets for field phones and HTTP sensors, bound to a
//!   user and revocable; only their SHA-256 is stored.
//! - Failed logins in a row lock the account for a while. An unknown user costs the same
//!   argon2 work as a known one, so timing does not tell which names exist.

use std::path::Path;
use std::sync::Arc;

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use dronewatch_model::TimeNs;
use dronewatch_store::{DeviceTokenRecord, Store, StoreError, UserRecord};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::config::AuthConfig;

/// A role, and what it may do.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// A field agent: sees the live picture, reports sightings and its position, receives and
    /// acknowledges its own warnings.
    Agent,
    /// A watch officer: the live picture, alert actions, recent history.
    Operator,
    /// An analyst: history, exports, bulletins.
    Analyst,
    /// Users, device tokens, configuration; everything.
    Admin,
    /// A machine: an HTTP sensor posting detections with a device token. Nothing else.
    Sensor,
}

impl Role {
    pub fn parse(s: &str) -> Option<Role> {
        Some(match s {
            "agent" => Role::Agent,
            "operator" => Role::Operator,
            "analyst" => Role::Analyst,
            "admin" => Role::Admin,
            "sensor" => Role::Sensor,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Agent => "agent",
            Role::Operator => "operator",
            Role::Analyst => "analyst",
            Role::Admin => "admin",
            Role::Sensor => "sensor",
        }
    }

    pub fn may(self, p: Perm) -> bool {
        use Role::*;
        match p {
            Perm::ReadLive => matches!(self, Agent | Operator | Analyst | Admin),
            Perm::Report => matches!(self, Agent | Operator | Admin),
            Perm::ActOnAlerts => matches!(self, Operator | Admin),
            Perm::ReadHistory => matches!(self, Operator | Analyst | Admin),
            Perm::Export => matches!(self, Analyst | Admin),
            Perm::Publish => matches!(self, Analyst | Admin),
            Perm::Ingest => matches!(self, Sensor | Admin),
            Perm::Admin => self == Admin,
        }
    }
}

/// A permission an endpoint needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Perm {
    ReadLive,
    Report,
    ActOnAlerts,
    ReadHistory,
    Export,
    /// Publish and withdraw sector bulletins.
    Publish,
    Ingest,
    Admin,
}

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub user: String,
    pub role: Role,
    /// The device token's id, when authenticated by one.
    pub device: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Claims {
    sub: String,
    role: Role,
    /// Expiry and issue time [s since the epoch].
    exp: u64,
    iat: u64,
    /// When the password login happened [s]: a refresh never extends a session past
    /// `session_max_s` from it.
    auth_time: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Wrong name, wrong password, or a locked or disabled account: one answer for all.
    #[error("invalid username or password")]
    BadCredentials,
    #[error("missing or invalid token")]
    BadToken,
    #[error("the session is too old to refresh; log in again")]
    SessionExpired,
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("auth key file {path}: {source}")]
    KeyFile {
        path: String,
        source: std::io::Error,
    },
}

/// What a login attempt came to (for the audit log).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginOutcome {
    Ok,
    BadPassword,
    UnknownUser,
    Locked,
    Disabled,
}

impl LoginOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            LoginOutcome::Ok => "ok",
            LoginOutcome::BadPassword => "bad_password",
            LoginOutcome::UnknownUser => "unknown_user",
            LoginOutcome::Locked => "locked",
            LoginOutcome::Disabled => "disabled",
        }
    }
}

/// An access token and when it ends.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IssuedToken {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in_s: u64,
    pub role: Role,
    pub user: String,
}

#[derive(Clone)]
pub struct Auth {
    store: Store,
    cfg: AuthConfig,
    enc: Arc<EncodingKey>,
    dec: Arc<DecodingKey>,
    /// A real argon2 hash of nothing, verified against for unknown users.
    dummy_hash: Arc<str>,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth")
            .field("cfg", &self.cfg)
            .finish_non_exhaustive()
    }
}

/// The shortest password accepted for a new account or a change.
pub const MIN_PASSWORD_LEN: usize = 12;

impl Auth {
    /// Loads the signing key from `data_dir/auth.key`, creating it (32 random bytes, mode
    /// 0600) on first start.
    pub async fn new(store: Store, cfg: AuthConfig, data_dir: &Path) -> Result<Self, AuthError> {
        let key = load_or_create_key(&data_dir.join("auth.key"))?;
        let dummy_hash: Arc<str> = tokio::task::spawn_blocking(|| hash_password("no such user"))
            .await
            .map_err(|e| AuthError::Invalid(e.to_string()))??
            .into();
        let bad_key = |e: jsonwebtoken::errors::Error| AuthError::Invalid(format!("auth key: {e}"));
        Ok(Self {
            store,
            cfg,
            enc: Arc::new(EncodingKey::from_secret(&key).map_err(bad_key)?),
            dec: Arc::new(DecodingKey::from_secret(&key).map_err(bad_key)?),
            dummy_hash,
        })
    }

    pub fn config(&self) -> &AuthConfig {
        &self.cfg
    }

    /// On first start (no users), creates `admin` with `DRONEWATCH_ADMIN_PASSWORD`, or a
    /// generated password that is returned to be printed once. Never a default password.
    pub async fn bootstrap_admin(
        &self,
        from_env: Option<String>,
    ) -> Result<Option<String>, AuthError> {
        if !self.store.users().await?.is_empty() {
            return Ok(None);
        }
        let (password, generated) = match from_env {
            Some(p) => (p, false),
            None => (random_secret(15), true),
        };
        check_password_policy(&password)?;
        self.create_user("admin", Role::Admin, &password).await?;
        Ok(generated.then_some(password))
    }

    pub async fn create_user(
        &self,
        name: &str,
        role: Role,
        password: &str,
    ) -> Result<(), AuthError> {
        check_user_name(name)?;
        check_password_policy(password)?;
        let hash = hash_blocking(password.to_string()).await?;
        self.store
            .create_user(&UserRecord {
                name: name.to_string(),
                role: role.as_str().into(),
                password_hash: hash,
                disabled: false,
                failed_logins: 0,
                locked_until: None,
                created_at: crate::clock::now(),
            })
            .await?;
        Ok(())
    }

    pub async fn set_password(&self, name: &str, password: &str) -> Result<(), AuthError> {
        check_password_policy(password)?;
        let mut user = self
            .store
            .user(name)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("user {name}")))?;
        user.password_hash = hash_blocking(password.to_string()).await?;
        user.failed_logins = 0;
        user.locked_until = None;
        self.store.update_user(&user).await?;
        Ok(())
    }

    /// Checks a password login; counts failures and locks the account after too many.
    pub async fn login(
        &self,
        name: &str,
        password: &str,
    ) -> Result<(IssuedToken, LoginOutcome), (AuthError, LoginOutcome)> {
        let now = crate::clock::now();
        let user = self
            .store
            .user(name)
            .await
            .map_err(|e| (e.into(), LoginOutcome::UnknownUser))?;
        let Some(mut user) = user else {
            let _ = verify_blocking(password.to_string(), self.dummy_hash.to_string()).await;
            return Err((AuthError::BadCredentials, LoginOutcome::UnknownUser));
        };
        if user.locked_until.is_some_and(|t| t > now) {
            return Err((AuthError::BadCredentials, LoginOutcome::Locked));
        }
        let ok = verify_blocking(password.to_string(), user.password_hash.clone()).await;
        if !ok {
            user.failed_logins += 1;
            if user.failed_logins >= self.cfg.lockout_failures {
                user.locked_until = Some(now.plus_secs(self.cfg.lockout_s as f64));
                user.failed_logins = 0;
            }
            self.store
                .update_user(&user)
                .await
                .map_err(|e| (e.into(), LoginOutcome::BadPassword))?;
            return Err((AuthError::BadCredentials, LoginOutcome::BadPassword));
        }
        if user.disabled {
            return Err((AuthError::BadCredentials, LoginOutcome::Disabled));
        }
        if user.failed_logins > 0 || user.locked_until.is_some() {
            user.failed_logins = 0;
            user.locked_until = None;
            self.store
                .update_user(&user)
                .await
                .map_err(|e| (e.into(), LoginOutcome::Ok))?;
        }
        let role =
            Role::parse(&user.role).ok_or((AuthError::BadCredentials, LoginOutcome::Disabled))?;
        let secs = unix_s(now);
        let token = self
            .issue(&user.name, role, secs)
            .map_err(|e| (e, LoginOutcome::Ok))?;
        Ok((token, LoginOutcome::Ok))
    }

    /// A new access token for a valid one, within the session's lifetime, if the user still
    /// exists with the same role and is enabled.
    pub async fn refresh(&self, token: &str) -> Result<IssuedToken, AuthError> {
        let claims = self.decode(token)?;
        let now = unix_s(crate::clock::now());
        if now.saturating_sub(claims.auth_time) > self.cfg.session_max_s {
            return Err(AuthError::SessionExpired);
        }
        let user = self
            .store
            .user(&claims.sub)
            .await?
            .ok_or(AuthError::BadToken)?;
        if user.disabled || Role::parse(&user.role) != Some(claims.role) {
            return Err(AuthError::BadToken);
        }
        self.issue(&claims.sub, claims.role, claims.auth_time)
    }

    fn issue(&self, user: &str, role: Role, auth_time: u64) -> Result<IssuedToken, AuthError> {
        let now = unix_s(crate::clock::now());
        let session_end = auth_time + self.cfg.session_max_s;
        let exp = (now + self.cfg.token_ttl_s).min(session_end.max(now + 1));
        let claims = Claims {
            sub: user.to_string(),
            role,
            exp,
            iat: now,
            auth_time,
        };
        let access_token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.enc)
            .map_err(|e| AuthError::Invalid(e.to_string()))?;
        Ok(IssuedToken {
            access_token,
            token_type: "Bearer",
            expires_in_s: exp - now,
            role,
            user: user.to_string(),
        })
    }

    fn decode(&self, token: &str) -> Result<Claims, AuthError> {
        let mut v = Validation::new(Algorithm::HS256);
        v.leeway = 5;
        v.set_required_spec_claims(&["exp", "sub"]);
        jsonwebtoken::decode::<Claims>(token, &self.dec, &v)
            .map(|d| d.claims)
            .map_err(|_| AuthError::BadToken)
    }

    /// Whoever a bearer token (access or device) belongs to.
    pub async fn authenticate(&self, bearer: &str) -> Result<Principal, AuthError> {
        if bearer.starts_with(DEVICE_PREFIX) {
            let digest = sha256(bearer.as_bytes());
            let rec = self
                .store
                .device_token_by_hash(&digest)
                .await?
                .ok_or(AuthError::BadToken)?;
            if rec.revoked_at.is_some() {
                return Err(AuthError::BadToken);
            }
            let user = self
                .store
                .user(&rec.user)
                .await?
                .ok_or(AuthError::BadToken)?;
            if user.disabled {
                return Err(AuthError::BadToken);
            }
            let role = Role::parse(&user.role).ok_or(AuthError::BadToken)?;
            return Ok(Principal {
                user: user.name,
                role,
                device: Some(rec.id),
            });
        }
        let claims = self.decode(bearer)?;
        Ok(Principal {
            user: claims.sub,
            role: claims.role,
            device: None,
        })
    }

    /// A new device token for `user`; the secret is returned once and never stored.
    pub async fn create_device_token(
        &self,
        user: &str,
        label: &str,
    ) -> Result<(DeviceTokenRecord, String), AuthError> {
        if self.store.user(user).await?.is_none() {
            return Err(StoreError::NotFound(format!("user {user}")).into());
        }
        let id = random_secret(6);
        let secret = format!("{DEVICE_PREFIX}{id}_{}", random_secret(32));
        let rec = DeviceTokenRecord {
            id,
            user: user.to_string(),
            label: label.to_string(),
            token_sha256: sha256(secret.as_bytes()),
            created_at: crate::clock::now(),
            revoked_at: None,
        };
        self.store.create_device_token(&rec).await?;
        Ok((rec, secret))
    }
}

const DEVICE_PREFIX: &str = "dwd_";

fn unix_s(t: TimeNs) -> u64 {
    u64::try_from(t.0 / TimeNs::NS_PER_S).unwrap_or(0)
}

pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// `n` random bytes, base64url.
pub fn random_secret(n: usize) -> String {
    let mut buf = vec![0u8; n];
    // The OS random source failing is unrecoverable for a security component; refuse to
    // go on with predictable secrets.
    if let Err(e) = getrandom::fill(&mut buf) {
        panic!("the operating system's random source failed: {e}");
    }
    URL_SAFE_NO_PAD.encode(buf)
}

pub fn check_password_policy(p: &str) -> Result<(), AuthError> {
    if p.chars().count() < MIN_PASSWORD_LEN {
        return Err(AuthError::Invalid(format!(
            "a password needs at least {MIN_PASSWORD_LEN} characters"
        )));
    }
    Ok(())
}

pub fn check_user_name(name: &str) -> Result<(), AuthError> {
    let ok = (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'@'));
    if ok {
        Ok(())
    } else {
        Err(AuthError::Invalid(
            "a user name is 1 to 64 letters, digits and . _ - @".into(),
        ))
    }
}

fn hash_password(p: &str) -> Result<String, AuthError> {
    Argon2::default()
        .hash_password(p.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| AuthError::Invalid(format!("hashing the password: {e}")))
}

async fn hash_blocking(p: String) -> Result<String, AuthError> {
    tokio::task::spawn_blocking(move || hash_password(&p))
        .await
        .map_err(|e| AuthError::Invalid(e.to_string()))?
}

async fn verify_blocking(password: String, hash: String) -> bool {
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .verify_password(password.as_bytes(), hash.as_str())
            .is_ok()
    })
    .await
    .unwrap_or(false)
}

fn load_or_create_key(path: &Path) -> Result<Vec<u8>, AuthError> {
    let err = |source| AuthError::KeyFile {
        path: path.display().to_string(),
        source,
    };
    match std::fs::read(path) {
        Ok(k) if k.len() >= 32 => return Ok(k),
        Ok(_) => {
            return Err(err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "shorter than 32 bytes",
            )));
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(err(e)),
    }
    let mut key = vec![0u8; 32];
    getrandom::fill(&mut key).map_err(|e| err(std::io::Error::other(e.to_string())))?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(err)?;
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    use std::io::Write;
    let mut f = opts.open(path).map_err(err)?;
    f.write_all(&key).map_err(err)?;
    f.sync_all().map_err(err)?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_grant_what_they_say() {
        assert!(Role::Agent.may(Perm::Report));
        assert!(!Role::Agent.may(Perm::ActOnAlerts));
        assert!(!Role::Agent.may(Perm::ReadHistory));
        assert!(Role::Operator.may(Perm::ActOnAlerts));
        assert!(!Role::Operator.may(Perm::Admin));
        assert!(Role::Analyst.may(Perm::Export));
        assert!(!Role::Sensor.may(Perm::ReadLive));
        assert!(Role::Sensor.may(Perm::Ingest));
        for p in [Perm::ReadLive, Perm::ActOnAlerts, Perm::Export, Perm::Admin] {
            assert!(Role::Admin.may(p));
        }
    }

    #[test]
    fn password_hashes_verify_and_differ() {
        let a = hash_password("correct horse battery").unwrap_or_default();
        let b = hash_password("correct horse battery").unwrap_or_default();
        assert!(a.starts_with("$argon2id$"), "{a}");
        assert_ne!(a, b, "salted");
        assert!(
            Argon2::default()
                .verify_password(b"correct horse battery", a.as_str())
                .is_ok()
        );
        assert!(
            Argon2::default()
                .verify_password(b"wrong", a.as_str())
                .is_err()
        );
    }

    #[test]
    fn names_and_passwords_are_checked() {
        assert!(check_user_name("agent.garcia").is_ok());
        assert!(check_user_name("").is_err());
        assert!(check_user_name("a b").is_err());
        assert!(check_password_policy("short").is_err());
        assert!(check_password_policy("twelve chars").is_ok());
    }
}
