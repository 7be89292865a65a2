//! Accounting sessions in the store (table `acct_sessions`, schema
//! version 5): idempotent writes of [`AcctRecord`]s, the stale-session
//! sweep and the queries of `authd session`.
//!
//! Every write is one statement, so it is its own transaction: when the
//! call returns `Ok`, it is committed and the Accounting-Response may go
//! out (RFC 2866 section 4.1). The same SQL text serves SQLite and
//! PostgreSQL (`$n` placeholders, `INSERT ... ON CONFLICT ... DO UPDATE`,
//! which both accept).
//!
//! Idempotence, by status:
//! - Start: creates the session, or completes one an Interim-Update
//!   created; a stopped session stays stopped.
//! - Interim-Update: creates an unknown session, updates the counters of an
//!   open one (never with older counters: Acct-Session-Time must not go
//!   back), and never reopens a stopped one.
//! - Stop: closes with the final counters and terminate cause; a Stop for
//!   an unknown session creates a closed row; a second Stop changes
//!   nothing.
//!
//! A retransmission (new Identifier, new Acct-Delay-Time) has the same
//! session key and event time, so it lands on the same row with the same
//! values.

use serde::Serialize;

use super::{Pool, Store, StoreError, unix_now};
use crate::accounting::{AcctRecord, StatusType, terminate_cause};

/// Columns written by every session write, in bind order.
macro_rules! insert_session {
    () => {
        "INSERT INTO acct_sessions (session_key, acct_session_id, acct_multi_session_id, \
         user_name, nas_name, nas_address, nas_ip_address, nas_identifier, nas_port, \
         nas_port_id, called_station_id, calling_station_id, framed_ip_address, class, \
         auth_user, auth_method, auth_serial, start_time, last_update, stop_time, \
         session_time, input_octets, output_octets, input_packets, output_packets, \
         terminate_cause, interim_interval, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, \
         $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28) \
         ON CONFLICT (session_key) DO UPDATE SET "
    };
}

/// What the NAS may tell late (a Start after an Interim-Update, a Class the
/// first packet lacked): kept when the new packet does not carry it.
macro_rules! keep_known {
    () => {
        "user_name = CASE WHEN excluded.user_name = '' THEN acct_sessions.user_name \
         ELSE excluded.user_name END, \
         acct_multi_session_id = COALESCE(excluded.acct_multi_session_id, acct_sessions.acct_multi_session_id), \
         nas_ip_address = COALESCE(excluded.nas_ip_address, acct_sessions.nas_ip_address), \
         nas_identifier = COALESCE(excluded.nas_identifier, acct_sessions.nas_identifier), \
         called_station_id = COALESCE(excluded.called_station_id, acct_sessions.called_station_id), \
         framed_ip_address = COALESCE(excluded.framed_ip_address, acct_sessions.framed_ip_address), \
         class = COALESCE(excluded.class, acct_sessions.class), \
         auth_user = COALESCE(excluded.auth_user, acct_sessions.auth_user), \
         auth_method = COALESCE(excluded.auth_method, acct_sessions.auth_method), \
         auth_serial = COALESCE(excluded.auth_serial, acct_sessions.auth_serial), \
         interim_interval = COALESCE(excluded.interim_interval, acct_sessions.interim_interval), \
         last_update = CASE WHEN excluded.last_update > acct_sessions.last_update \
         THEN excluded.last_update ELSE acct_sessions.last_update END"
    };
}

const START_SQL: &str = concat!(
    insert_session!(),
    keep_known!(),
    ", start_time = excluded.start_time \
     WHERE acct_sessions.stop_time IS NULL"
);

const INTERIM_SQL: &str = concat!(
    insert_session!(),
    keep_known!(),
    ", session_time = excluded.session_time, input_octets = excluded.input_octets, \
     output_octets = excluded.output_octets, input_packets = excluded.input_packets, \
     output_packets = excluded.output_packets \
     WHERE acct_sessions.stop_time IS NULL \
     AND excluded.session_time >= acct_sessions.session_time"
);

const STOP_SQL: &str = concat!(
    insert_session!(),
    keep_known!(),
    ", session_time = excluded.session_time, input_octets = excluded.input_octets, \
     output_octets = excluded.output_octets, input_packets = excluded.input_packets, \
     output_packets = excluded.output_packets, stop_time = excluded.stop_time, \
     terminate_cause = excluded.terminate_cause \
     WHERE acct_sessions.stop_time IS NULL"
);

const CLOSE_NAS_SQL: &str = "UPDATE acct_sessions SET stop_time = $2, terminate_cause = $3, \
     last_update = CASE WHEN $2 > last_update THEN $2 ELSE last_update END \
     WHERE nas_name = $1 AND stop_time IS NULL";

const SWEEP_SQL: &str = "UPDATE acct_sessions SET stop_time = last_update, terminate_cause = $4 \
     WHERE stop_time IS NULL \
     AND last_update + $2 * COALESCE(NULLIF(interim_interval, 0), $3) < $1";

const SELECT_SESSIONS: &str = "SELECT session_key, acct_session_id, acct_multi_session_id, \
     user_name, nas_name, nas_address, nas_ip_address, nas_identifier, nas_port, nas_port_id, \
     called_station_id, calling_station_id, framed_ip_address, class, auth_user, auth_method, \
     auth_serial, start_time, last_update, stop_time, session_time, input_octets, \
     output_octets, input_packets, output_packets, terminate_cause, interim_interval, \
     created_at, disconnect_status, disconnect_error_cause, disconnect_at FROM acct_sessions";

/// What a write did; both are acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// A row was created or changed (Accounting-On/Off: this many closed).
    Written(u64),
    /// Nothing to change (a late Interim-Update after Stop, a second Stop).
    Unchanged,
}

/// One accounting session, as `authd session list/show --json` prints it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct SessionRecord {
    pub session_key: String,
    pub acct_session_id: String,
    pub acct_multi_session_id: Option<String>,
    pub user_name: String,
    pub nas_name: String,
    pub nas_address: String,
    pub nas_ip_address: Option<String>,
    pub nas_identifier: Option<String>,
    pub nas_port: Option<i64>,
    pub nas_port_id: Option<String>,
    pub called_station_id: Option<String>,
    pub calling_station_id: Option<String>,
    pub framed_ip_address: Option<String>,
    pub class: Option<String>,
    pub auth_user: Option<String>,
    pub auth_method: Option<String>,
    pub auth_serial: Option<String>,
    pub start_time: Option<i64>,
    pub last_update: i64,
    pub stop_time: Option<i64>,
    pub session_time: i64,
    pub input_octets: i64,
    pub output_octets: i64,
    pub input_packets: i64,
    pub output_packets: i64,
    pub terminate_cause: Option<i64>,
    pub interim_interval: Option<i64>,
    pub created_at: i64,
    pub disconnect_status: Option<String>,
    pub disconnect_error_cause: Option<i64>,
    pub disconnect_at: Option<i64>,
}

impl SessionRecord {
    /// No Stop yet (nor closed by Accounting-On/Off or the sweeper).
    pub fn online(&self) -> bool {
        self.stop_time.is_none()
    }
}

/// Filters of [`Store::list_sessions`]; `None` matches all.
#[derive(Debug, Clone, Default)]
pub struct SessionFilter {
    /// User-Name, or the user authd's Class names.
    pub user: Option<String>,
    /// The NAS client's name.
    pub nas: Option<String>,
    /// Only sessions without a Stop.
    pub online: bool,
    /// At most this many, the most recently updated first.
    pub limit: u32,
}

/// Binds the columns of [`insert_session!`] for `r`, `$1`..`$28`.
macro_rules! bind_record {
    ($q:expr, $r:expr, $now:expr) => {{
        let r: &AcctRecord = $r;
        let auth = r.auth.as_ref();
        $q.bind(&r.session_key)
            .bind(&r.acct_session_id)
            .bind(&r.acct_multi_session_id)
            .bind(&r.user_name)
            .bind(&r.nas_name)
            .bind(&r.nas_address)
            .bind(&r.nas_ip_address)
            .bind(&r.nas_identifier)
            .bind(r.nas_port)
            .bind(&r.nas_port_id)
            .bind(&r.called_station_id)
            .bind(&r.calling_station_id)
            .bind(&r.framed_ip_address)
            .bind(&r.class)
            .bind(auth.and_then(|a| a.user.clone()))
            .bind(auth.map(|a| a.method.label()))
            .bind(auth.and_then(|a| a.serial.clone()))
            .bind(r.start_time())
            .bind(r.event_time)
            .bind((r.status == StatusType::Stop).then_some(r.event_time))
            .bind(r.session_time)
            .bind(r.input_octets)
            .bind(r.output_octets)
            .bind(r.input_packets)
            .bind(r.output_packets)
            .bind(r.terminate_cause)
            .bind(r.interim_interval)
            .bind($now)
    }};
}

impl Store {
    /// Records one Accounting-Request. `Ok` means committed.
    pub async fn record_accounting(&self, r: &AcctRecord) -> Result<Recorded, StoreError> {
        let now = unix_now();
        let n = match r.status {
            StatusType::AccountingOn | StatusType::AccountingOff => {
                let cause = if r.status == StatusType::AccountingOn {
                    terminate_cause::NAS_REBOOT
                } else {
                    terminate_cause::ADMIN_REBOOT
                };
                with_pool!(self, pool => {
                    sqlx::query(CLOSE_NAS_SQL)
                        .bind(&r.nas_name)
                        .bind(r.event_time)
                        .bind(cause)
                        .execute(pool)
                        .await?
                        .rows_affected()
                })
            }
            status => {
                let sql = match status {
                    StatusType::Start => START_SQL,
                    StatusType::InterimUpdate => INTERIM_SQL,
                    _ => STOP_SQL,
                };
                with_pool!(self, pool => {
                    bind_record!(sqlx::query(sql), r, now)
                        .execute(pool)
                        .await?
                        .rows_affected()
                })
            }
        };
        Ok(match (r.status, n) {
            (StatusType::AccountingOn | StatusType::AccountingOff, n) => Recorded::Written(n),
            (_, 0) => Recorded::Unchanged,
            (_, n) => Recorded::Written(n),
        })
    }

    /// Closes the open sessions with no update for `intervals` times their
    /// interim interval (Acct-Interim-Interval as the NAS sent it, else
    /// `default_interval` seconds) at `now` (Unix seconds); they get
    /// Acct-Terminate-Cause Lost-Service and the time of their last update
    /// as stop time. Returns how many were closed.
    pub async fn close_stale_sessions(
        &self,
        now: i64,
        intervals: u32,
        default_interval: u32,
    ) -> Result<u64, StoreError> {
        Ok(with_pool!(self, pool => {
            sqlx::query(SWEEP_SQL)
                .bind(now)
                .bind(i64::from(intervals))
                .bind(i64::from(default_interval))
                .bind(terminate_cause::LOST_SERVICE)
                .execute(pool)
                .await?
                .rows_affected()
        }))
    }

    /// Sessions matching `filter`, the most recently updated first.
    pub async fn list_sessions(
        &self,
        filter: &SessionFilter,
    ) -> Result<Vec<SessionRecord>, StoreError> {
        let sql = format!(
            "{SELECT_SESSIONS} WHERE (CAST($1 AS TEXT) IS NULL OR user_name = $1 OR auth_user = $1) \
             AND (CAST($2 AS TEXT) IS NULL OR nas_name = $2) \
             AND (CAST($3 AS BIGINT) = 0 OR stop_time IS NULL) \
             ORDER BY last_update DESC, session_key LIMIT $4"
        );
        let limit = if filter.limit == 0 {
            i64::MAX
        } else {
            i64::from(filter.limit)
        };
        Ok(with_pool!(self, pool => {
            sqlx::query_as::<_, SessionRecord>(sqlx::AssertSqlSafe(sql))
                .bind(&filter.user)
                .bind(&filter.nas)
                .bind(i64::from(filter.online))
                .bind(limit)
                .fetch_all(pool)
                .await?
        }))
    }

    /// The session with key `id`, else the one session whose
    /// Acct-Session-Id is `id` (several: [`StoreError::Invalid`] saying so).
    pub async fn session(&self, id: &str) -> Result<SessionRecord, StoreError> {
        let by_key = format!("{SELECT_SESSIONS} WHERE session_key = $1");
        let by_id = format!("{SELECT_SESSIONS} WHERE acct_session_id = $1 LIMIT 2");
        let found: Option<SessionRecord> = with_pool!(self, pool => {
            sqlx::query_as::<_, SessionRecord>(sqlx::AssertSqlSafe(by_key))
                .bind(id)
                .fetch_optional(pool)
                .await?
        });
        if let Some(s) = found {
            return Ok(s);
        }
        let mut rows: Vec<SessionRecord> = with_pool!(self, pool => {
            sqlx::query_as::<_, SessionRecord>(sqlx::AssertSqlSafe(by_id))
                .bind(id)
                .fetch_all(pool)
                .await?
        });
        match rows.len() {
            0 => Err(StoreError::NotFound {
                kind: "session",
                name: id.to_owned(),
            }),
            1 => Ok(rows.remove(0)),
            _ => Err(StoreError::Invalid {
                what: "session",
                reason: format!(
                    "Acct-Session-Id `{id}` names several sessions: give the session key"
                ),
            }),
        }
    }
}
