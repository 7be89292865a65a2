//! `[accounting]`: RFC 2866 accounting into the store.
//!
//! The accounting port is `[listen] acct`; it is served only with a
//! `[database]` (an Accounting-Response acknowledges a request that was
//! recorded, RFC 2866 section 4.1, and without a store nothing could be).

use serde::{Deserialize, Serialize};

/// How SQLite syncs a commit to disk (PRAGMA synchronous, in WAL mode).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SqliteSynchronous {
    /// The WAL is synced at every commit: an acknowledged Accounting-Request
    /// survives a power loss.
    #[default]
    Full,
    /// The WAL is synced at checkpoints only: a commit survives a crash of
    /// authd (SIGKILL), but a power loss or a kernel crash may lose the
    /// last commits, acknowledged ones included.
    Normal,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AccountingConfig {
    /// The interim interval a session is assumed to have when its NAS sent
    /// no Acct-Interim-Interval, seconds.
    #[serde(default = "default_interim_interval")]
    pub interim_interval_secs: u32,
    /// An open session with no update for this many interim intervals is
    /// closed by the sweeper (Acct-Terminate-Cause Lost-Service); 0: never.
    #[serde(default = "default_stale_after")]
    pub stale_after_intervals: u32,
    /// SQLite only: `full` (default) or `normal`. PostgreSQL commits are
    /// durable by its own `synchronous_commit` (default on).
    #[serde(default)]
    pub sqlite_synchronous: SqliteSynchronous,
}

fn default_interim_interval() -> u32 {
    600
}

fn default_stale_after() -> u32 {
    3
}

impl Default for AccountingConfig {
    fn default() -> AccountingConfig {
        AccountingConfig {
            interim_interval_secs: default_interim_interval(),
            stale_after_intervals: default_stale_after(),
            sqlite_synchronous: SqliteSynchronous::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_keys() {
        let c: AccountingConfig = toml::from_str("").unwrap();
        assert_eq!(c, AccountingConfig::default());
        assert_eq!(c.sqlite_synchronous, SqliteSynchronous::Full);
        let c: AccountingConfig = toml::from_str(
            "interim_interval_secs = 60\nstale_after_intervals = 0\nsqlite_synchronous = \"normal\"",
        )
        .unwrap();
        assert_eq!(c.interim_interval_secs, 60);
        assert_eq!(c.stale_after_intervals, 0);
        assert_eq!(c.sqlite_synchronous, SqliteSynchronous::Normal);
        assert!(toml::from_str::<AccountingConfig>("interim = 5").is_err());
        assert!(toml::from_str::<AccountingConfig>("sqlite_synchronous = \"off\"").is_err());
    }
}
