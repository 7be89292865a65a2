//! The store: users, groups, NAS clients, issued certificates and the audit
//! log of administrative changes, in SQL.
//!
//! Two backends share one schema (`authd/migrations`, applied on connect):
//! SQLite, the embedded default (one file, WAL journal, created with mode
//! 0600), and PostgreSQL, which several authd instances can share. The
//! backend is chosen by the URL scheme: `sqlite://PATH` or `postgres://...`.
//!
//! `Store` wraps one pool per backend (`enum Pool`) rather than
//! `sqlx::Any`: `Any` maps every value to a handful of lossy kinds (no
//! native boolean on SQLite, integer width mismatches on PostgreSQL) and
//! its migration support is thinner. The queries are written once in the
//! SQL both backends accept (`$1` placeholders work in SQLite too) and
//! compiled once per backend by the `with_pool!` macro, so each runs on its
//! native driver with native types.
//!
//! Every change runs in a transaction together with its audit row, so the
//! log never misses a change and never records one that did not happen.
//! Audit rows never hold a secret or a password.
//!
//! Passwords are stored as an Argon2id hash, and, for MS-CHAPv2, as an NT
//! hash encrypted under the credential key, a file kept outside the
//! database (`credentials.rs`, [`crate::credkey`]).

pub mod breaker;
mod model;
mod nas;
pub mod probe;
mod tx;
mod validate;

pub(crate) use tx::BeginWrite;

use std::fs::OpenOptions;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use argon2::password_hash::PasswordHasher;
use sqlx::AssertSqlSafe;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use zeroize::Zeroizing;

use crate::cidr::IpNet;
use crate::config::Secret;
use crate::credkey::CredentialKey;
use crate::logsafe::{POSTGRES_PARAMETERS, redact_database_url};

pub use accounting::{Recorded, SessionFilter, SessionRecord};
pub use credentials::{ImportSummary, NtCredential, PreparedPassword, UserImport};
pub use model::{
    AuditEntry, Authorization, CertificateRecord, CertificateStatus, Change, Group, GroupUpdate,
    IssuerName, NasClientRecord, NewCertificate, RevocationReasonName, TicketKeyRecord, User,
    UserAttributes, UserUpdate, issuer_key,
};
pub use nas::{
    CLIENT_REFRESH_INTERVAL, ClientEntry, ClientSync, DEFAULT_DAS_PORT, DasEndpoint, merge_clients,
    run_client_refresh,
};
pub use validate::normalize_serial;

/// The schema migrations, embedded in the binary.
pub static MIGRATOR: Migrator = sqlx::migrate!();

/// How long a connection attempt may take before the database counts as
/// unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long SQLite waits for another writer (another process, e.g. the
/// admin CLI while the server runs) before giving up.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The URL names no backend this build knows.
    #[error("unsupported database URL `{0}`: use sqlite://PATH or postgres://...")]
    UnsupportedUrl(String),
    /// The URL does not parse.
    #[error("invalid database URL `{url}`: {source}")]
    InvalidUrl {
        /// The URL, password removed.
        url: String,
        /// What the driver said.
        source: sqlx::Error,
    },
    /// Creating or checking the SQLite file failed.
    #[error("{}: {reason}", path.display())]
    File {
        /// The database file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The database could not be reached or opened.
    #[error("cannot connect to the database {url}: {source}")]
    Unreachable {
        /// The URL, password removed.
        url: String,
        /// What the driver said.
        source: sqlx::Error,
    },
    /// Applying the schema migrations failed.
    #[error("migrating the database schema: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A query failed.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// The named object does not exist.
    #[error("{kind} `{name}` does not exist")]
    NotFound {
        /// `user`, `group`, `client` or `certificate`.
        kind: &'static str,
        /// Its name (or serial).
        name: String,
    },
    /// An object with that name (or address) exists already.
    #[error("{kind} `{name}` already exists")]
    Duplicate {
        /// `user`, `group`, `client`, `client address` or `certificate`.
        kind: &'static str,
        /// The conflicting name or value.
        name: String,
    },
    /// The object cannot be removed while others refer to it.
    #[error("{kind} `{name}` is in use: {detail}")]
    InUse {
        /// `group`.
        kind: &'static str,
        /// Its name.
        name: String,
        /// Who uses it.
        detail: String,
    },
    /// A value is not acceptable (bad name, VLAN, timeout, serial, ...).
    #[error("invalid {what}: {reason}")]
    Invalid {
        /// What the value is.
        what: &'static str,
        /// Why it is refused.
        reason: String,
    },
    /// Hashing a password failed.
    #[error("password hashing failed")]
    PasswordHash,
    /// A user's stored NT hash cannot be used: sealed under another
    /// credential key, or altered, or copied from another user's row.
    #[error("the NT hash of user `{user}` does not decrypt: {reason}")]
    Credential {
        /// The user.
        user: String,
        /// Why (never the key or the hash).
        reason: String,
    },
    /// One record of a batch (an import) failed; nothing was written.
    #[error("record {}: {source}", index + 1)]
    InRecord {
        /// Its index in the batch, from 0.
        index: usize,
        /// What is wrong with it.
        source: Box<StoreError>,
    },
}

impl StoreError {
    fn invalid(what: &'static str, reason: impl Into<String>) -> StoreError {
        StoreError::Invalid {
            what,
            reason: reason.into(),
        }
    }
}

/// Which SQL backend a URL selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Backend {
    /// `sqlite:` URLs.
    Sqlite,
    /// `postgres:` and `postgresql:` URLs.
    Postgres,
}

impl Backend {
    /// The backend of `url`, by its scheme.
    pub fn of_url(url: &str) -> Result<Backend, StoreError> {
        let scheme = url.split_once(':').map(|(s, _)| s.to_ascii_lowercase());
        match scheme.as_deref() {
            Some("sqlite") => Ok(Backend::Sqlite),
            Some("postgres" | "postgresql") => Ok(Backend::Postgres),
            _ => Err(StoreError::UnsupportedUrl(redact_database_url(url))),
        }
    }
}

/// Refuses a PostgreSQL URL with a query parameter the driver does not
/// read: the driver would only warn, printing the value, which for a
/// misspelt `pasword=` is the password. The error names the parameter by
/// position, not by name (a bare word may be a secret too).
fn unknown_postgres_parameter(url: &str) -> Result<(), sqlx::Error> {
    let Some((_, query)) = url.split_once('?') else {
        return Ok(());
    };
    let query = query.split('#').next().unwrap_or_default();
    for (i, pair) in query.split('&').enumerate() {
        let key = pair.split_once('=').map_or(pair, |(k, _)| k);
        let known = POSTGRES_PARAMETERS.contains(&key)
            || (key.starts_with("options[") && key.ends_with(']'));
        if !key.is_empty() && !known {
            return Err(sqlx::Error::Configuration(
                format!(
                    "query parameter {} is not one the PostgreSQL driver reads ({})",
                    i + 1,
                    POSTGRES_PARAMETERS.join(", ")
                )
                .into(),
            ));
        }
    }
    Ok(())
}

/// The store of the embedded development default: `sqlite://DIR/authd.db`,
/// created on first start and seeded once with the demo user of the
/// development PKI and its certificate, so the demo works out of the box;
/// its credential key is `DIR/credential.key`.
/// Blocking (runs its own small runtime): call it before the server's.
pub fn embedded_default(
    data_dir: &Path,
    pki: &crate::pki::DevPki,
) -> Result<crate::config::DatabaseConfig, StoreError> {
    let url = default_url(data_dir);
    let cert_pem = std::fs::read_to_string(&pki.client_cert).map_err(|e| StoreError::File {
        path: pki.client_cert.clone(),
        reason: e.to_string(),
    })?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| StoreError::File {
            path: data_dir.to_owned(),
            reason: format!("cannot start a runtime: {e}"),
        })?;
    runtime.block_on(async {
        let store = Store::connect(&url)
            .await?
            .with_actor("authd (embedded default)");
        let seeded = store.seed_demo_user(&pki.demo_user, &cert_pem).await;
        store.close().await;
        seeded
    })?;
    Ok(crate::config::DatabaseConfig {
        url,
        credential_key: Some(data_dir.join(crate::credkey::DEFAULT_FILE)),
    })
}

/// The default store URL of a data directory: `sqlite://DIR/authd.db`.
pub fn default_url(data_dir: &Path) -> String {
    format!("sqlite://{}", data_dir.join("authd.db").display())
}

#[derive(Clone)]
enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs `$body` with `$pool` bound to the backend's pool; the body is
/// compiled once per backend.
macro_rules! with_pool {
    ($self:expr, $pool:ident => $body:expr) => {
        match &$self.pool {
            Pool::Sqlite($pool) => $body,
            Pool::Postgres($pool) => $body,
        }
    };
}

/// Inserts an audit row within transaction `$tx`, and bumps the `changes`
/// counter servers poll to drop cached user data.
macro_rules! audit {
    ($tx:expr, $actor:expr, $action:expr, $object:expr, $detail:expr) => {
        sqlx::query("UPDATE counters SET value = value + 1 WHERE name = 'changes'")
            .execute(&mut *$tx)
            .await?;
        sqlx::query(
            "INSERT INTO audit_log (at_micros, actor, action, object, detail) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(unix_micros())
        .bind($actor)
        .bind($action)
        .bind($object)
        .bind($detail)
        .execute(&mut *$tx)
        .await?
    };
}

/// Number of rows of `$sql` (a `SELECT COUNT(*) ... $1`) for `$arg`.
macro_rules! count {
    ($conn:expr, $sql:expr, $arg:expr) => {
        sqlx::query_scalar::<_, i64>($sql)
            .bind($arg)
            .fetch_one(&mut *$conn)
            .await?
    };
}

// After the macros, which they use (and after `disconnect`, whose
// `enqueue_disconnects!` users.rs and certificates.rs use).
mod accounting;
mod credentials;
#[macro_use]
pub mod disconnect;
mod certificates;
mod users;

/// A handle on the store; cheap to clone (the pool is shared).
#[derive(Clone)]
pub struct Store {
    pool: Pool,
    actor: String,
    url: String,
    /// Seals and opens NT hashes; `None`: passwords are Argon2id only.
    credential_key: Option<Arc<CredentialKey>>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("url", &self.url)
            .field("actor", &self.actor)
            .field("credential_key", &self.credential_key)
            .finish_non_exhaustive()
    }
}

fn unix_now() -> i64 {
    unix_seconds(SystemTime::now())
}

/// Seconds since the Unix epoch (negative before it).
pub fn unix_seconds(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => i64::try_from(e.duration().as_secs()).map_or(i64::MIN, |s| -s),
    }
}

/// The time `secs` seconds after the Unix epoch.
pub fn system_time(secs: i64) -> SystemTime {
    if secs >= 0 {
        UNIX_EPOCH + Duration::from_secs(secs.unsigned_abs())
    } else {
        UNIX_EPOCH
            .checked_sub(Duration::from_secs(secs.unsigned_abs()))
            .unwrap_or(UNIX_EPOCH)
    }
}

fn unix_micros() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
}

/// Maps a unique-constraint violation to [`StoreError::Duplicate`].
fn unique<'a>(kind: &'static str, name: &'a str) -> impl FnOnce(sqlx::Error) -> StoreError + 'a {
    move |e| match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Duplicate {
            kind,
            name: name.to_owned(),
        },
        _ => StoreError::Database(e),
    }
}

/// Creates the SQLite file with mode 0600 if it does not exist, so the WAL
/// and shared-memory files SQLite derives from it get the same mode.
fn create_private_file(path: &Path) -> Result<(), StoreError> {
    if path.as_os_str().is_empty() || path == Path::new(":memory:") {
        return Ok(());
    }
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if !parent.is_dir() {
        return Err(StoreError::File {
            path: path.to_owned(),
            reason: format!("directory {} does not exist", parent.display()),
        });
    }
    match OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(StoreError::File {
            path: path.to_owned(),
            reason: e.to_string(),
        }),
    }
}

impl Store {
    /// Connects to the database at `url`, creating the SQLite file (mode
    /// 0600, in an existing directory) if needed, and applies the schema
    /// migrations. Several processes may connect at once: PostgreSQL
    /// migrations take an advisory lock, SQLite ones a write lock.
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        Self::connect_with(url, crate::config::SqliteSynchronous::Full).await
    }

    /// [`Store::connect`] with SQLite's commit durability chosen
    /// (`[accounting] sqlite_synchronous`).
    pub async fn connect_with(
        url: &str,
        synchronous: crate::config::SqliteSynchronous,
    ) -> Result<Store, StoreError> {
        let shown = redact_database_url(url);
        let invalid = |source| StoreError::InvalidUrl {
            url: shown.clone(),
            source,
        };
        let unreachable = |source| StoreError::Unreachable {
            url: shown.clone(),
            source,
        };
        let pool = match Backend::of_url(url)? {
            Backend::Sqlite => {
                let options = SqliteConnectOptions::from_str(url).map_err(invalid)?;
                create_private_file(options.get_filename())?;
                let options = options
                    .create_if_missing(false)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(match synchronous {
                        crate::config::SqliteSynchronous::Full => SqliteSynchronous::Full,
                        crate::config::SqliteSynchronous::Normal => SqliteSynchronous::Normal,
                    })
                    .busy_timeout(SQLITE_BUSY_TIMEOUT)
                    .foreign_keys(true);
                let pool = SqlitePoolOptions::new()
                    .max_connections(4)
                    .acquire_timeout(CONNECT_TIMEOUT)
                    .connect_with(options)
                    .await
                    .map_err(unreachable)?;
                Pool::Sqlite(pool)
            }
            Backend::Postgres => {
                unknown_postgres_parameter(url).map_err(invalid)?;
                let options = PgConnectOptions::from_str(url).map_err(invalid)?;
                let pool = PgPoolOptions::new()
                    .max_connections(8)
                    .acquire_timeout(CONNECT_TIMEOUT)
                    .connect_with(options)
                    .await
                    .map_err(unreachable)?;
                Pool::Postgres(pool)
            }
        };
        let store = Store {
            pool,
            actor: "authd".to_owned(),
            url: shown,
            credential_key: None,
        };
        with_pool!(store, pool => MIGRATOR.run(pool).await?);
        Ok(store)
    }

    /// The same store, recording `actor` as the author of changes in the
    /// audit log (e.g. `cli:alice`).
    pub fn with_actor(mut self, actor: impl Into<String>) -> Store {
        self.actor = actor.into();
        self
    }

    /// The backend in use.
    pub fn backend(&self) -> Backend {
        match self.pool {
            Pool::Sqlite(_) => Backend::Sqlite,
            Pool::Postgres(_) => Backend::Postgres,
        }
    }

    /// The URL, without its password.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Closes the pool, waiting for connections to finish.
    pub async fn close(&self) {
        with_pool!(self, pool => pool.close().await)
    }

    /// The newest schema version this binary knows.
    pub fn schema_version() -> i64 {
        MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0)
    }

    // ----- NAS clients -------------------------------------------------

    /// Adds a NAS client. The name and the network must both be new.
    /// Servers pick the change up within [`CLIENT_REFRESH_INTERVAL`].
    pub async fn add_client(
        &self,
        name: &str,
        address: IpNet,
        secret: &Secret,
        require_message_authenticator: bool,
    ) -> Result<(), StoreError> {
        validate::client_name(name)?;
        let secret_text = std::str::from_utf8(secret.expose())
            .map_err(|_| StoreError::invalid("secret", "not UTF-8"))?;
        let address_text = address.to_string();
        let detail = format!(
            "address={address_text} require_message_authenticator={require_message_authenticator}"
        );
        let now = unix_now();
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            if count!(tx, "SELECT COUNT(*) FROM nas_clients WHERE name = $1", name) > 0 {
                return Err(StoreError::Duplicate { kind: "client", name: name.to_owned() });
            }
            if count!(tx, "SELECT COUNT(*) FROM nas_clients WHERE address = $1", &address_text) > 0 {
                return Err(StoreError::Duplicate { kind: "client address", name: address_text });
            }
            sqlx::query(
                "INSERT INTO nas_clients (name, address, secret, require_message_authenticator, created_at) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(name)
            .bind(&address_text)
            .bind(secret_text)
            .bind(require_message_authenticator)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(unique("client", name))?;
            sqlx::query("UPDATE counters SET value = value + 1 WHERE name = 'clients'")
                .execute(&mut *tx)
                .await?;
            audit!(tx, &self.actor, "client.add", name, detail);
            tx.commit().await?;
        });
        Ok(())
    }

    /// Removes a NAS client.
    pub async fn remove_client(&self, name: &str) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let done = sqlx::query("DELETE FROM nas_clients WHERE name = $1")
                .bind(name)
                .execute(&mut *tx)
                .await?;
            if done.rows_affected() == 0 {
                return Err(StoreError::NotFound { kind: "client", name: name.to_owned() });
            }
            sqlx::query("UPDATE counters SET value = value + 1 WHERE name = 'clients'")
                .execute(&mut *tx)
                .await?;
            audit!(tx, &self.actor, "client.remove", name, "");
            tx.commit().await?;
        });
        Ok(())
    }

    /// All NAS clients, by name, without their secrets.
    pub async fn list_clients(&self) -> Result<Vec<NasClientRecord>, StoreError> {
        let rows: Vec<model::ClientRow> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT name, address, require_message_authenticator, das_port, created_at \
                 FROM nas_clients ORDER BY name",
            )
            .fetch_all(pool)
            .await?
        });
        Ok(rows.into_iter().map(NasClientRecord::from).collect())
    }

    /// The clients' generation: it changes whenever a NAS client is added
    /// or removed. One cheap query, for servers to poll.
    pub async fn clients_generation(&self) -> Result<i64, StoreError> {
        Ok(with_pool!(self, pool => {
            sqlx::query_scalar::<_, i64>("SELECT value FROM counters WHERE name = 'clients'")
                .fetch_one(pool)
                .await?
        }))
    }

    /// The NAS clients with their secrets, for the server, and the
    /// generation they belong to (read in the same transaction). Rows whose
    /// address no longer parses are skipped with a warning.
    pub async fn client_entries(&self) -> Result<(i64, Vec<ClientEntry>), StoreError> {
        let (generation, rows): (i64, Vec<model::ClientSecretRow>) = with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let generation = sqlx::query_scalar::<_, i64>(
                "SELECT value FROM counters WHERE name = 'clients'",
            )
            .fetch_one(&mut *tx)
            .await?;
            let rows = sqlx::query_as(
                "SELECT name, address, secret, require_message_authenticator FROM nas_clients",
            )
            .fetch_all(&mut *tx)
            .await?;
            tx.commit().await?;
            (generation, rows)
        });
        let entries = rows
            .into_iter()
            .filter_map(|row| {
                let net = match row.address.parse::<IpNet>() {
                    Ok(net) => net,
                    Err(e) => {
                        tracing::warn!(client = %row.name, "NAS client in the store skipped: {e}");
                        return None;
                    }
                };
                Some(ClientEntry {
                    name: row.name,
                    net,
                    secret: radius_proto::SharedSecret::new(row.secret.as_bytes()),
                    require_message_authenticator: row.require_message_authenticator,
                    limit_proxy_state: true,
                })
            })
            .collect();
        Ok((generation, entries))
    }

    // ----- TLS session ticket keys ---------------------------------------

    /// The ticket keys still valid at `now` (Unix seconds), oldest first.
    /// Rows whose secret is not 32 octets of hex are skipped with a warning.
    pub async fn ticket_keys(&self, now: i64) -> Result<Vec<TicketKeyRecord>, StoreError> {
        let rows: Vec<model::TicketKeyRow> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT generation, secret, not_before, not_after FROM tls_ticket_keys \
                 WHERE not_after > $1 ORDER BY generation",
            )
            .bind(now)
            .fetch_all(pool)
            .await?
        });
        Ok(rows
            .into_iter()
            .filter_map(|r| {
                let secret = Zeroizing::new(r.secret);
                match hex::decode(secret.as_bytes()) {
                    Ok(bytes) if bytes.len() == 32 => Some(TicketKeyRecord {
                        generation: r.generation,
                        secret: Zeroizing::new(bytes),
                        not_before: r.not_before,
                        not_after: r.not_after,
                    }),
                    _ => {
                        tracing::warn!(
                            generation = r.generation,
                            "ticket key in the store is not 32 octets of hex: ignored"
                        );
                        None
                    }
                }
            })
            .collect())
    }

    /// Adds a ticket key unless one of that generation exists (another
    /// server rotated first): `true` if this one was stored. Expired keys
    /// are deleted in the same transaction.
    pub async fn add_ticket_key(
        &self,
        key: &TicketKeyRecord,
        now: i64,
    ) -> Result<bool, StoreError> {
        let secret = Zeroizing::new(hex::encode(&key.secret[..]));
        Ok(with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            sqlx::query("DELETE FROM tls_ticket_keys WHERE not_after <= $1")
                .bind(now)
                .execute(&mut *tx)
                .await?;
            let done = sqlx::query(
                "INSERT INTO tls_ticket_keys (generation, secret, not_before, not_after) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (generation) DO NOTHING",
            )
            .bind(key.generation)
            .bind(secret.as_str())
            .bind(key.not_before)
            .bind(key.not_after)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            done.rows_affected() == 1
        }))
    }

    // ----- audit -------------------------------------------------------

    /// The newest `limit` audit entries, oldest first.
    pub async fn audit_log(&self, limit: u32) -> Result<Vec<AuditEntry>, StoreError> {
        let mut rows: Vec<model::AuditRow> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT at_micros, actor, action, object, detail FROM audit_log \
                 ORDER BY at_micros DESC LIMIT $1",
            )
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await?
        });
        rows.reverse();
        Ok(rows.into_iter().map(AuditEntry::from).collect())
    }
}

fn show<T: std::fmt::Display>(v: &Option<T>) -> String {
    match v {
        Some(v) => v.to_string(),
        None => "-".to_owned(),
    }
}

/// An Argon2id (RFC 9106) PHC string for `password`, with a random salt
/// and the crate's default parameters (19 MiB, 2 passes, 1 lane: the OWASP
/// minimum).
pub fn hash_password(password: &str) -> Result<String, StoreError> {
    let password = Zeroizing::new(password.as_bytes().to_vec());
    argon2::Argon2::default()
        .hash_password(&password)
        .map(|h| h.to_string())
        .map_err(|_| StoreError::PasswordHash)
}

/// Whether `password` matches the PHC string `hash`.
pub fn verify_password(hash: &str, password: &str) -> bool {
    verify_password_in(hash, password.as_bytes(), &mut Vec::new())
}

/// Most memory a stored hash may ask of [`verify_password_in`]: 256 MiB.
const MAX_ARGON2_BLOCKS: usize = 256 * 1024;

/// [`verify_password`] for a password as received (RFC 2865 User-Password
/// is octets, not necessarily UTF-8), computing in `memory`, which the caller keeps
/// between calls: Argon2id needs m KiB per check (19 MiB by default), and a
/// fresh allocation each time leaves the allocator holding many such blocks
/// across threads. The memory is wiped after use.
pub fn verify_password_in(hash: &str, password: &[u8], memory: &mut Vec<argon2::Block>) -> bool {
    let Ok(parsed) = argon2::password_hash::phc::PasswordHash::new(hash) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (&parsed.salt, &parsed.hash) else {
        return false;
    };
    let Ok(algorithm) = argon2::Algorithm::try_from(parsed.algorithm.as_str()) else {
        return false;
    };
    let version = match parsed.version.map(argon2::Version::try_from).transpose() {
        Ok(v) => v.unwrap_or_default(),
        Err(_) => return false,
    };
    let Ok(params) = argon2::Params::try_from(&parsed) else {
        return false;
    };
    if params.block_count() > MAX_ARGON2_BLOCKS {
        return false;
    }
    memory.resize(params.block_count(), argon2::Block::default());
    let mut out = Zeroizing::new(vec![0u8; expected.as_bytes().len()]);
    let computed = argon2::Argon2::new(algorithm, version, params)
        .hash_password_into_with_memory(password, salt.as_ref(), &mut out, &mut memory[..])
        .is_ok();
    memory.fill(argon2::Block::default());
    computed && aws_lc_rs::constant_time::verify_slices_are_equal(&out, expected.as_bytes()).is_ok()
}

#[cfg(test)]
mod tests;
