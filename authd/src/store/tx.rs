//! Write transactions that wait for the lock instead of failing.
//!
//! A SQLite transaction opened with a plain `BEGIN` is deferred: it takes
//! the write lock only at its first write. When another connection (the
//! server writing accounting, a second CLI) committed after this one's
//! first read, WAL mode cannot upgrade the read snapshot to a writer and
//! SQLite answers SQLITE_BUSY at once, without waiting for the busy
//! timeout (sqlite.org/lang_transaction.html, "Read transactions", and
//! sqlite.org/wal.html: SQLITE_BUSY_SNAPSHOT). `authd cert revoke` then
//! failed with "database is locked" while a Disconnect worker was writing.
//! `BEGIN IMMEDIATE` takes the write lock first, so it waits
//! (busy_timeout) and the read that follows sees the latest commit.
//! PostgreSQL's `BEGIN` needs none of this: row locks and MVCC handle it.

use sqlx::postgres::PgPool;
use sqlx::sqlite::SqlitePool;
use sqlx::{Database, Postgres, Sqlite, Transaction};

/// `begin_write()` on either pool: the transaction every store method that
/// writes opens.
pub(crate) trait BeginWrite {
    type Db: Database;
    fn begin_write(
        &self,
    ) -> impl std::future::Future<Output = Result<Transaction<'static, Self::Db>, sqlx::Error>> + Send;
}

impl BeginWrite for SqlitePool {
    type Db = Sqlite;
    fn begin_write(
        &self,
    ) -> impl std::future::Future<Output = Result<Transaction<'static, Sqlite>, sqlx::Error>> + Send
    {
        self.begin_with("BEGIN IMMEDIATE")
    }
}

impl BeginWrite for PgPool {
    type Db = Postgres;
    fn begin_write(
        &self,
    ) -> impl std::future::Future<Output = Result<Transaction<'static, Postgres>, sqlx::Error>> + Send
    {
        self.begin()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
    use std::time::Duration;

    async fn pool(path: &std::path::Path) -> SqlitePool {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .busy_timeout(Duration::from_secs(5));
        SqlitePoolOptions::new()
            .max_connections(2)
            .connect_with(options)
            .await
            .unwrap()
    }

    /// Read, another connection commits, then write: the interleaving of
    /// `authd cert revoke` against a server writing at the same time.
    async fn read_then_write(pool: &SqlitePool, immediate: bool) -> Result<(), sqlx::Error> {
        let mut tx = if immediate {
            pool.begin_write().await?
        } else {
            pool.begin().await?
        };
        let _: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM t")
            .fetch_one(&mut *tx)
            .await?;
        let other = pool.clone();
        let writer = tokio::spawn(async move {
            sqlx::query("INSERT INTO t VALUES ('other')")
                .execute(&other)
                .await
        });
        // Give the other writer time to commit (deferred) or to queue
        // behind our lock (immediate).
        tokio::time::sleep(Duration::from_millis(200)).await;
        let ours = sqlx::query("INSERT INTO t VALUES ('ours')")
            .execute(&mut *tx)
            .await;
        let ours = match ours {
            Ok(_) => tx.commit().await,
            Err(e) => Err(e),
        };
        writer.await.unwrap()?;
        ours
    }

    fn is_busy(e: &sqlx::Error) -> bool {
        matches!(e, sqlx::Error::Database(d) if d.code().as_deref().is_some_and(|c| c == "5" || c == "517"))
    }

    #[tokio::test]
    async fn a_write_transaction_waits_instead_of_failing_busy() {
        let dir = std::env::temp_dir().join(format!("authd-tx-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let pool = pool(&dir.join("t.db")).await;
        sqlx::query("CREATE TABLE t (v TEXT)")
            .execute(&pool)
            .await
            .unwrap();

        // Control: a deferred transaction fails at once, busy timeout or not.
        let deferred = read_then_write(&pool, false).await;
        assert!(
            deferred.as_ref().is_err_and(is_busy),
            "a deferred read-then-write after another commit should be SQLITE_BUSY: {deferred:?}"
        );
        // The same interleaving with begin_write commits both writes.
        read_then_write(&pool, true).await.unwrap();
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM t WHERE v = 'ours'")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(n, 1);
        pool.close().await;
        let _ = std::fs::remove_dir_all(&dir);
    }
}
