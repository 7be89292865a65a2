//! The Disconnect-Request queue (RFC 5176): rows of `disconnect_requests`
//! written in the same transaction as the change that asks for them, and
//! claimed by exactly one running server, which sends, retries and records
//! the NAS's answer here and on the session (`crate::das`).
//!
//! A change enqueues one row per online session (`stop_time IS NULL`) of
//! the user: sessions whose `auth_user` (from authd's Class) is the user,
//! or, when the NAS did not echo the Class, whose `user_name` is; for a
//! revoked certificate also the sessions with that `auth_serial`. A
//! session that already has a request pending or being sent gets no
//! second one. On PostgreSQL the transaction also sends `NOTIFY
//! authd_disconnect` (delivered at commit); on SQLite the writer wakes
//! every server of that database file after the commit
//! ([`crate::das::wake`]).

use super::BeginWrite;
use std::path::PathBuf;

use sqlx::{Postgres, Sqlite, Transaction};

use super::{Pool, Store, StoreError, unix_micros, unix_now};

/// The PostgreSQL channel servers `LISTEN` on.
pub const NOTIFY_CHANNEL: &str = "authd_disconnect";

/// Whose sessions to disconnect.
#[derive(Debug, Clone, Copy)]
pub enum Target<'a> {
    /// A user: by `auth_user`, else by `user_name`.
    User(&'a str),
    /// A certificate (issuer key and serial, as stored): its sessions by
    /// `auth_serial`, and its user's.
    Certificate { issuer: &'a str, serial: &'a str },
    /// One session, by its key.
    Session(&'a str),
}

/// Online sessions of user `$1`, without a request in progress.
pub(super) const SESSIONS_OF_USER: &str = "SELECT session_key FROM acct_sessions s \
     WHERE stop_time IS NULL AND (auth_user = $1 OR (auth_user IS NULL AND user_name = $1)) \
     AND NOT EXISTS (SELECT 1 FROM disconnect_requests d WHERE d.session_key = s.session_key \
     AND d.state IN ('pending', 'sending')) ORDER BY session_key";

/// Online sessions of certificate serial `$1` or of user `$2`.
pub(super) const SESSIONS_OF_CERT: &str = "SELECT session_key FROM acct_sessions s \
     WHERE stop_time IS NULL AND (auth_serial = $1 OR auth_user = $2 \
     OR (auth_user IS NULL AND user_name = $2)) \
     AND NOT EXISTS (SELECT 1 FROM disconnect_requests d WHERE d.session_key = s.session_key \
     AND d.state IN ('pending', 'sending')) ORDER BY session_key";

/// Session `$1` if online, without a request in progress.
pub(super) const SESSION_BY_KEY: &str = "SELECT session_key FROM acct_sessions s \
     WHERE session_key = $1 AND stop_time IS NULL \
     AND NOT EXISTS (SELECT 1 FROM disconnect_requests d WHERE d.session_key = s.session_key \
     AND d.state IN ('pending', 'sending'))";

pub(super) const INSERT_REQUEST: &str = "INSERT INTO disconnect_requests \
     (id, session_key, reason, requested_by, requested_at, state, attempts) \
     VALUES ($1, $2, $3, $4, $5, 'pending', 0)";

/// A fresh request id: 128 random bits in hex.
pub(super) fn new_id() -> String {
    hex::encode(rand::random::<[u8; 16]>())
}

/// The statement that wakes listening servers, per backend.
pub(super) trait Notify {
    const NOTIFY: Option<&'static str>;
}
impl Notify for Sqlite {
    const NOTIFY: Option<&'static str> = None;
}
impl Notify for Postgres {
    const NOTIFY: Option<&'static str> = Some("SELECT pg_notify('authd_disconnect', '')");
}
pub(super) fn notify_sql<DB: sqlx::Database + Notify>(
    _: &Transaction<'_, DB>,
) -> Option<&'static str> {
    DB::NOTIFY
}

/// Enqueues a Disconnect-Request for each online session of `$target`
/// ([`Target`]) within transaction `$tx`; evaluates to the number queued.
macro_rules! enqueue_disconnects {
    ($tx:expr, $target:expr, $reason:expr, $actor:expr) => {{
        use $crate::store::disconnect as d;
        let keys: Vec<String> = match $target {
            d::Target::User(user) => {
                sqlx::query_scalar(d::SESSIONS_OF_USER)
                    .bind(user)
                    .fetch_all(&mut *$tx)
                    .await?
            }
            d::Target::Session(key) => {
                sqlx::query_scalar(d::SESSION_BY_KEY)
                    .bind(key)
                    .fetch_all(&mut *$tx)
                    .await?
            }
            d::Target::Certificate { issuer, serial } => {
                let user: Option<String> = sqlx::query_scalar(
                    "SELECT user_name FROM certificates WHERE issuer = $1 AND serial = $2",
                )
                .bind(issuer)
                .bind(serial)
                .fetch_optional(&mut *$tx)
                .await?;
                sqlx::query_scalar(d::SESSIONS_OF_CERT)
                    .bind(serial)
                    .bind(user)
                    .fetch_all(&mut *$tx)
                    .await?
            }
        };
        let now = unix_now();
        for key in &keys {
            sqlx::query(d::INSERT_REQUEST)
                .bind(d::new_id())
                .bind(key)
                .bind($reason)
                .bind($actor)
                .bind(now)
                .execute(&mut *$tx)
                .await?;
        }
        if !keys.is_empty() {
            if let Some(sql) = d::notify_sql(&$tx) {
                sqlx::query(sql).execute(&mut *$tx).await?;
            }
        }
        keys.len() as u64
    }};
}

/// A queued request as the admin CLI shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, sqlx::FromRow)]
pub struct DisconnectRequestRecord {
    pub id: String,
    pub session_key: String,
    pub reason: String,
    pub requested_by: String,
    pub requested_at: i64,
    /// pending, sending, ack, nak or timeout.
    pub state: String,
    pub claimed_by: Option<String>,
    pub attempts: i64,
    pub finished_at: Option<i64>,
    pub error_cause: Option<i64>,
    pub user_name: Option<String>,
    pub nas_name: Option<String>,
    pub acct_session_id: Option<String>,
}

const REQUEST_SELECT: &str = "SELECT d.id, d.session_key, d.reason, d.requested_by, \
     d.requested_at, d.state, d.claimed_by, d.attempts, d.finished_at, d.error_cause, \
     s.user_name, s.nas_name, s.acct_session_id \
     FROM disconnect_requests d LEFT JOIN acct_sessions s ON s.session_key = d.session_key";

/// What a claimed request needs to be sent.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct DisconnectJob {
    pub id: String,
    pub session_key: String,
    pub user_name: String,
    pub nas_name: String,
    pub nas_address: String,
    pub nas_ip_address: Option<String>,
    pub acct_session_id: String,
    pub calling_station_id: Option<String>,
}

/// The answer to record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DisconnectOutcome {
    /// ack, nak or timeout.
    pub state: &'static str,
    pub error_cause: Option<u32>,
}

impl Store {
    /// Queues a Disconnect-Request for session `key` (if online and none is
    /// in progress); returns the number queued (0 or 1). Unknown key:
    /// [`StoreError::NotFound`].
    pub async fn enqueue_session_disconnect(
        &self,
        key: &str,
        reason: &str,
    ) -> Result<u64, StoreError> {
        let n = with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let known: i64 = count!(tx, "SELECT COUNT(*) FROM acct_sessions WHERE session_key = $1", key);
            if known == 0 {
                return Err(StoreError::NotFound { kind: "session", name: key.to_owned() });
            }
            let n = enqueue_disconnects!(tx, Target::Session(key), reason, &self.actor);
            audit!(tx, &self.actor, "session.disconnect", key, format!("queued={n}"));
            tx.commit().await?;
            n
        });
        self.disconnects_queued(n);
        Ok(n)
    }

    /// Queues a Disconnect-Request for every online session of `user`.
    pub async fn enqueue_user_disconnect(
        &self,
        user: &str,
        reason: &str,
    ) -> Result<u64, StoreError> {
        let n = with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let n = enqueue_disconnects!(tx, Target::User(user), reason, &self.actor);
            audit!(tx, &self.actor, "session.disconnect", user, format!("queued={n}"));
            tx.commit().await?;
            n
        });
        self.disconnects_queued(n);
        Ok(n)
    }

    /// After a commit that queued `n` requests: wakes the servers of this
    /// SQLite file (PostgreSQL's NOTIFY was part of the transaction).
    pub(super) fn disconnects_queued(&self, n: u64) {
        if n > 0
            && let Some(dir) = self.wake_dir()
        {
            crate::das::wake::wake_all(&dir);
        }
    }

    /// The directory where the servers of this SQLite database bind their
    /// wake-up sockets: beside the file, `<file>.wake`. `None` on
    /// PostgreSQL.
    pub fn wake_dir(&self) -> Option<PathBuf> {
        match &self.pool {
            Pool::Sqlite(pool) => {
                let file = pool.connect_options().get_filename().to_owned();
                let mut name = file.file_name()?.to_owned();
                name.push(".wake");
                Some(file.with_file_name(name))
            }
            Pool::Postgres(_) => None,
        }
    }

    /// The PostgreSQL pool, for `LISTEN`.
    pub(crate) fn pg_pool(&self) -> Option<sqlx::PgPool> {
        match &self.pool {
            Pool::Postgres(p) => Some(p.clone()),
            Pool::Sqlite(_) => None,
        }
    }

    /// Requests a server may claim at `now`: pending, or claimed before
    /// `now - claim_timeout` by a server that did not finish. Oldest first.
    pub async fn claimable_disconnects(
        &self,
        now: i64,
        claim_timeout: i64,
        limit: i64,
    ) -> Result<Vec<String>, StoreError> {
        Ok(with_pool!(self, pool => {
            sqlx::query_scalar(
                "SELECT id FROM disconnect_requests WHERE state = 'pending' \
                 OR (state = 'sending' AND claimed_at < $1) ORDER BY requested_at, id LIMIT $2",
            )
            .bind(now - claim_timeout)
            .bind(limit)
            .fetch_all(pool)
            .await?
        }))
    }

    /// Claims request `id` for server `me`: one UPDATE that changes the row
    /// only if it is still pending or its claim is stale, so of several
    /// servers exactly one gets it. Returns what to send, or `None` if
    /// another server has it (or it is finished). A request whose session
    /// is gone is finished as `timeout` without sending.
    pub async fn claim_disconnect(
        &self,
        id: &str,
        me: &str,
        now: i64,
        claim_timeout: i64,
    ) -> Result<Option<DisconnectJob>, StoreError> {
        let claimed = with_pool!(self, pool => {
            sqlx::query(
                "UPDATE disconnect_requests SET state = 'sending', claimed_by = $1, \
                 claimed_at = $2, attempts = attempts + 1 WHERE id = $3 AND \
                 (state = 'pending' OR (state = 'sending' AND claimed_at < $4))",
            )
            .bind(me)
            .bind(now)
            .bind(id)
            .bind(now - claim_timeout)
            .execute(pool)
            .await?
            .rows_affected()
        });
        if claimed == 0 {
            return Ok(None);
        }
        let job: Option<DisconnectJob> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT d.id, d.session_key, s.user_name, s.nas_name, s.nas_address, \
                 s.nas_ip_address, s.acct_session_id, s.calling_station_id \
                 FROM disconnect_requests d JOIN acct_sessions s ON s.session_key = d.session_key \
                 WHERE d.id = $1",
            )
            .bind(id)
            .fetch_optional(pool)
            .await?
        });
        if job.is_none() {
            self.finish_disconnect(
                id,
                me,
                DisconnectOutcome {
                    state: "timeout",
                    error_cause: None,
                },
                now,
            )
            .await?;
        }
        Ok(job)
    }

    /// Hands request `id` back to the queue (pending, unclaimed) when
    /// server `me` claimed it but cannot send it now (256 requests already
    /// outstanding to that NAS).
    pub async fn release_disconnect(&self, id: &str, me: &str) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            sqlx::query(
                "UPDATE disconnect_requests SET state = 'pending', claimed_by = NULL, \
                 claimed_at = NULL WHERE id = $1 AND state = 'sending' AND claimed_by = $2",
            )
            .bind(id)
            .bind(me)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(())
    }

    /// Records the answer to request `id` (claimed by `me`) on the request
    /// and on its session. Returns false if the claim was taken over in the
    /// meantime (nothing written).
    pub async fn finish_disconnect(
        &self,
        id: &str,
        me: &str,
        outcome: DisconnectOutcome,
        now: i64,
    ) -> Result<bool, StoreError> {
        let cause = outcome.error_cause.map(i64::from);
        Ok(with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let done = sqlx::query(
                "UPDATE disconnect_requests SET state = $1, finished_at = $2, error_cause = $3 \
                 WHERE id = $4 AND state = 'sending' AND claimed_by = $5",
            )
            .bind(outcome.state)
            .bind(now)
            .bind(cause)
            .bind(id)
            .bind(me)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if done == 1 {
                sqlx::query(
                    "UPDATE acct_sessions SET disconnect_status = $1, disconnect_error_cause = $2, \
                     disconnect_at = $3 WHERE session_key = \
                     (SELECT session_key FROM disconnect_requests WHERE id = $4)",
                )
                .bind(outcome.state)
                .bind(cause)
                .bind(now)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            done == 1
        }))
    }

    /// Request `id`.
    pub async fn disconnect_request(
        &self,
        id: &str,
    ) -> Result<DisconnectRequestRecord, StoreError> {
        let row: Option<DisconnectRequestRecord> = with_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!("{REQUEST_SELECT} WHERE d.id = $1")))
                .bind(id)
                .fetch_optional(pool)
                .await?
        });
        row.ok_or_else(|| StoreError::NotFound {
            kind: "disconnect request",
            name: id.to_owned(),
        })
    }

    /// Requests made at or after `since` (Unix seconds) by `requested_by`,
    /// oldest first: what an admin command just queued.
    pub async fn disconnect_requests_since(
        &self,
        since: i64,
        requested_by: &str,
    ) -> Result<Vec<DisconnectRequestRecord>, StoreError> {
        Ok(with_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "{REQUEST_SELECT} WHERE d.requested_at >= $1 AND d.requested_by = $2 \
                 ORDER BY d.requested_at, d.id"
            )))
            .bind(since)
            .bind(requested_by)
            .fetch_all(pool)
            .await?
        }))
    }

    /// Who this store's changes are recorded as.
    pub fn actor(&self) -> &str {
        &self.actor
    }
}
