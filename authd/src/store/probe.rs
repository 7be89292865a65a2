//! The store as `authd check` sees it: reachable, and at which schema
//! version, without changing anything (no migration, no file created).

use std::str::FromStr;

use sqlx::Row;
use sqlx::postgres::PgConnectOptions;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection};

use super::{Backend, CONNECT_TIMEOUT, Store, StoreError};
use crate::logsafe::redact_database_url;

/// What the database holds, as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Schema {
    /// A SQLite file that does not exist yet: created at start.
    NoFile,
    /// Reachable, no migration applied yet.
    Empty,
    /// The highest migration applied.
    Version(i64),
}

/// Connects once to `url` and reads the highest applied migration.
pub async fn schema_of(url: &str) -> Result<Schema, StoreError> {
    let shown = redact_database_url(url);
    let invalid = |source| StoreError::InvalidUrl {
        url: shown.clone(),
        source,
    };
    let unreachable = |source| StoreError::Unreachable {
        url: shown.clone(),
        source,
    };
    let query = "SELECT MAX(version) FROM _sqlx_migrations WHERE success";
    let read = |r: Result<Option<i64>, sqlx::Error>| match r {
        Ok(Some(v)) => Ok(Schema::Version(v)),
        Ok(None) => Ok(Schema::Empty),
        // No migrations table: nothing applied yet.
        Err(sqlx::Error::Database(e)) if e.message().contains("_sqlx_migrations") => {
            Ok(Schema::Empty)
        }
        Err(e) => Err(unreachable(e)),
    };
    let connect = async {
        match Backend::of_url(url)? {
            Backend::Sqlite => {
                let options = SqliteConnectOptions::from_str(url).map_err(invalid)?;
                if !options.get_filename().exists() {
                    return Ok(Schema::NoFile);
                }
                let mut conn = options
                    .create_if_missing(false)
                    .read_only(true)
                    .connect()
                    .await
                    .map_err(unreachable)?;
                let r = sqlx::query(query)
                    .fetch_one(&mut conn)
                    .await
                    .and_then(|row| row.try_get::<Option<i64>, _>(0));
                let _ = conn.close().await;
                read(r)
            }
            Backend::Postgres => {
                super::unknown_postgres_parameter(url).map_err(invalid)?;
                let options = PgConnectOptions::from_str(url).map_err(invalid)?;
                let mut conn = options.connect().await.map_err(unreachable)?;
                let r = sqlx::query(query)
                    .fetch_one(&mut conn)
                    .await
                    .and_then(|row| row.try_get::<Option<i64>, _>(0));
                let _ = conn.close().await;
                read(r)
            }
        }
    };
    match tokio::time::timeout(CONNECT_TIMEOUT, connect).await {
        Ok(r) => r,
        Err(_) => Err(unreachable(sqlx::Error::PoolTimedOut)),
    }
}

/// The schema this binary migrates to.
pub fn known_version() -> i64 {
    Store::schema_version()
}
