//! `authd session`: the accounting sessions the store recorded.
//!
//! `disconnect` is in `disconnect.rs`.
//!
//! `list` prints one line per session (the most recently updated first),
//! `show` every column of one. With `--json`, `list` prints an array and
//! `show` one object, each session with the columns of `acct_sessions`
//! under their column names (README, "Accounting") plus `online`.

use serde::Serialize;

use super::{AdminError, format_time, json, table};
use crate::logsafe;
use crate::store::{SessionFilter, SessionRecord, Store};

#[derive(clap::Subcommand, Debug)]
pub enum SessionCommand {
    /// List sessions, the most recently updated first.
    List {
        /// Only sessions of this user (User-Name, or the user authd's
        /// Class names).
        #[arg(long)]
        user: Option<String>,
        /// Only sessions of this NAS client.
        #[arg(long)]
        nas: Option<String>,
        /// Only sessions without a Stop.
        #[arg(long)]
        online: bool,
        /// At most this many (0: all).
        #[arg(long, default_value_t = 1000)]
        limit: u32,
    },
    /// Show one session, by session key or by a unique Acct-Session-Id.
    Show { id: String },
    /// Ask the NAS to end a session (RFC 5176 Disconnect-Request): session
    /// ID (its key or a unique Acct-Session-Id), or every online session of
    /// --user. A running server
    /// sends it; this waits --wait seconds for the NAS's answer.
    Disconnect {
        /// The session's key, or its Acct-Session-Id if unique.
        id: Option<String>,
        /// Every online session of this user.
        #[arg(long)]
        user: Option<String>,
        /// Seconds to wait for the results (0: do not wait).
        #[arg(long, default_value_t = 5)]
        wait: u64,
    },
}

/// A session as `--json` prints it.
#[derive(Serialize)]
struct JsonSession<'a> {
    online: bool,
    #[serde(flatten)]
    session: &'a SessionRecord,
}

fn time(t: Option<i64>) -> String {
    t.map(format_time).unwrap_or_else(|| "-".to_owned())
}

fn opt(v: &Option<String>) -> String {
    v.as_deref()
        .map(|s| logsafe::escape(s).to_string())
        .unwrap_or_else(|| "-".to_owned())
}

pub(super) async fn session_command(
    store: &Store,
    cmd: SessionCommand,
    as_json: bool,
    out: &mut String,
) -> Result<(), AdminError> {
    match cmd {
        SessionCommand::Disconnect { id, user, wait } => {
            super::disconnect::disconnect(store, as_json, id, user, wait, out).await
        }
        SessionCommand::List {
            user,
            nas,
            online,
            limit,
        } => {
            let rows = store
                .list_sessions(&SessionFilter {
                    user,
                    nas,
                    online,
                    limit,
                })
                .await?;
            if as_json {
                let v: Vec<JsonSession> = rows
                    .iter()
                    .map(|s| JsonSession {
                        online: s.online(),
                        session: s,
                    })
                    .collect();
                return json(out, &v);
            }
            let rows = rows
                .iter()
                .map(|s| {
                    vec![
                        s.session_key.get(..16).unwrap_or_default().to_owned(),
                        logsafe::escape(&s.acct_session_id).to_string(),
                        logsafe::escape(s.auth_user.as_deref().unwrap_or(&s.user_name)).to_string(),
                        s.nas_name.clone(),
                        opt(&s.calling_station_id),
                        time(s.start_time),
                        if s.online() {
                            "online".to_owned()
                        } else {
                            format!("stopped {}", time(s.stop_time))
                        },
                        s.session_time.to_string(),
                        s.input_octets.to_string(),
                        s.output_octets.to_string(),
                    ]
                })
                .collect();
            table(
                out,
                &[
                    "KEY",
                    "SESSION-ID",
                    "USER",
                    "NAS",
                    "STATION",
                    "START",
                    "STATE",
                    "SECONDS",
                    "IN",
                    "OUT",
                ],
                rows,
            );
            Ok(())
        }
        SessionCommand::Show { id } => {
            let s = store.session(&id).await?;
            if as_json {
                return json(
                    out,
                    &JsonSession {
                        online: s.online(),
                        session: &s,
                    },
                );
            }
            let num = |v: Option<i64>| v.map_or("-".to_owned(), |n| n.to_string());
            let rows = vec![
                ("session key", s.session_key.clone()),
                (
                    "Acct-Session-Id",
                    logsafe::escape(&s.acct_session_id).to_string(),
                ),
                ("Acct-Multi-Session-Id", opt(&s.acct_multi_session_id)),
                (
                    "state",
                    if s.online() { "online" } else { "stopped" }.to_owned(),
                ),
                ("User-Name", logsafe::escape(&s.user_name).to_string()),
                ("authorized user", opt(&s.auth_user)),
                ("method", opt(&s.auth_method)),
                ("certificate serial", opt(&s.auth_serial)),
                ("NAS client", s.nas_name.clone()),
                ("NAS address", s.nas_address.clone()),
                ("NAS-IP-Address", opt(&s.nas_ip_address)),
                ("NAS-Identifier", opt(&s.nas_identifier)),
                ("NAS-Port", num(s.nas_port)),
                ("NAS-Port-Id", opt(&s.nas_port_id)),
                ("Called-Station-Id", opt(&s.called_station_id)),
                ("Calling-Station-Id", opt(&s.calling_station_id)),
                ("Framed-IP-Address", opt(&s.framed_ip_address)),
                ("Class", opt(&s.class)),
                ("start", time(s.start_time)),
                ("last update", format_time(s.last_update)),
                ("stop", time(s.stop_time)),
                ("session time (s)", s.session_time.to_string()),
                ("input octets", s.input_octets.to_string()),
                ("output octets", s.output_octets.to_string()),
                ("input packets", s.input_packets.to_string()),
                ("output packets", s.output_packets.to_string()),
                ("Acct-Terminate-Cause", num(s.terminate_cause)),
                ("Acct-Interim-Interval", num(s.interim_interval)),
                ("disconnect", opt(&s.disconnect_status)),
            ];
            table(
                out,
                &["FIELD", "VALUE"],
                rows.into_iter()
                    .map(|(k, v)| vec![k.to_owned(), v])
                    .collect(),
            );
            Ok(())
        }
    }
}
