//! `authd session disconnect` and what `user disable`, `user delete` and
//! `cert revoke` print about the Disconnect-Requests they queued.
//!
//! The CLI only writes the queue (in the same transaction as the change);
//! a running server claims each request, sends it and records the NAS's
//! answer, which the CLI then reads back.

use std::fmt::Write as _;
use std::time::{Duration, Instant, SystemTime};

use super::{AdminError, DbArgs, json};
use crate::das::error_cause_name;
use crate::store::disconnect::DisconnectRequestRecord;
use crate::store::{Store, unix_seconds};

/// How often `--wait` reads the results.
const WAIT_POLL: Duration = Duration::from_millis(100);

/// Without a store nothing records sessions: say so rather than "no
/// [database] section".
pub(super) fn no_store_check(db: &DbArgs) -> Result<(), AdminError> {
    if db.database.is_some() {
        return Ok(());
    }
    if let Some(path) = &db.config {
        let config = crate::config::Config::load(path)?;
        if config.database.is_none() {
            return Err(AdminError::Usage(format!(
                "{}: no [database]: without a store authd records no sessions, so there is nothing to disconnect",
                path.display()
            )));
        }
    }
    Ok(())
}

/// `authd session disconnect [ID] [--user USER] [--wait SECS]`.
pub(super) async fn disconnect(
    store: &Store,
    json_output: bool,
    id: Option<String>,
    user: Option<String>,
    wait: u64,
    out: &mut String,
) -> Result<(), AdminError> {
    let since = unix_seconds(SystemTime::now());
    match (id, user) {
        (Some(id), None) => {
            // A session key, or a unique Acct-Session-Id (as `session show`).
            let key = store.session(&id).await?.session_key;
            store
                .enqueue_session_disconnect(&key, "session.disconnect")
                .await?;
        }
        (None, Some(user)) => {
            store
                .enqueue_user_disconnect(&user, "session.disconnect")
                .await?;
        }
        _ => {
            return Err(AdminError::Usage(
                "name the session: ID or --user USER (not both)".into(),
            ));
        }
    }
    let queued = store
        .disconnect_requests_since(since, store.actor())
        .await?;
    let queued: Vec<_> = queued
        .into_iter()
        .filter(|r| r.reason == "session.disconnect")
        .collect();
    let results = wait_for(store, &queued, Duration::from_secs(wait)).await?;
    if json_output {
        return json(out, &results);
    }
    print_requests(out, &results, wait > 0);
    Ok(())
}

/// Reads `queued` again until none is pending or sending, or `wait` passed.
async fn wait_for(
    store: &Store,
    queued: &[DisconnectRequestRecord],
    wait: Duration,
) -> Result<Vec<DisconnectRequestRecord>, AdminError> {
    let deadline = Instant::now() + wait;
    let mut current = queued.to_vec();
    loop {
        let open = current
            .iter()
            .any(|r| r.state == "pending" || r.state == "sending");
        if !open || Instant::now() >= deadline {
            return Ok(current);
        }
        tokio::time::sleep(WAIT_POLL).await;
        let mut next = Vec::with_capacity(current.len());
        for r in &current {
            next.push(store.disconnect_request(&r.id).await?);
        }
        current = next;
    }
}

fn print_requests(out: &mut String, requests: &[DisconnectRequestRecord], waited: bool) {
    let _ = writeln!(out, "{} Disconnect-Request(s) queued", requests.len());
    for r in requests {
        let _ = writeln!(
            out,
            "  {} session {} user {:?} NAS {:?} Acct-Session-Id {:?}: {}",
            r.id,
            r.session_key,
            r.user_name.as_deref().unwrap_or(""),
            r.nas_name.as_deref().unwrap_or(""),
            r.acct_session_id.as_deref().unwrap_or(""),
            result_text(r, waited)
        );
    }
}

/// ACK, NAK with its Error-Cause, timeout, or what is still going on.
pub fn result_text(r: &DisconnectRequestRecord, waited: bool) -> String {
    match r.state.as_str() {
        "ack" => "ACK".into(),
        "nak" => match r.error_cause {
            Some(c) => format!(
                "NAK, Error-Cause {c} ({})",
                u32::try_from(c).map(error_cause_name).unwrap_or("unknown")
            ),
            None => "NAK".into(),
        },
        "timeout" => "no answer (timeout)".into(),
        "sending" if waited => "still sending (see `authd session show`)".into(),
        "pending" if waited => "not picked up: is a server running on this database?".into(),
        other => other.into(),
    }
}

/// After `user disable`, `user delete` or `cert revoke`: the requests this
/// command queued since `since`.
pub async fn print_queued(store: &Store, since: i64, out: &mut String) -> Result<(), AdminError> {
    let queued = store
        .disconnect_requests_since(since, store.actor())
        .await?;
    if !queued.is_empty() {
        print_requests(out, &queued, false);
    }
    Ok(())
}
