//! The store suite against SQLite, and what only SQLite does: the file is
//! created with mode 0600 in WAL mode, and a missing directory is an error.

#[path = "disconnect_suite.rs"]
mod disconnect_suite;
#[path = "store_suite/mod.rs"]
mod suite;

use std::os::unix::fs::PermissionsExt;

use authd::store::{Backend, Store, StoreError};
use suite::TempDir;

#[tokio::test]
async fn suite_on_sqlite() {
    let dir = TempDir::new("store-sqlite");
    let url = format!("sqlite://{}", dir.path().join("authd.db").display());
    suite::run_suite(&url).await;
}

#[tokio::test]
async fn file_is_private_and_in_wal_mode() {
    let dir = TempDir::new("store-sqlite-file");
    let path = dir.path().join("authd.db");
    let store = Store::connect(&authd::store::default_url(dir.path()))
        .await
        .unwrap();
    assert_eq!(store.backend(), Backend::Sqlite);
    store.add_group("g", None, None).await.unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    // The WAL file exists while the pool is open, with the same mode.
    let wal = dir.path().join("authd.db-wal");
    assert!(wal.exists(), "journal_mode=WAL");
    assert_eq!(
        std::fs::metadata(&wal).unwrap().permissions().mode() & 0o777,
        0o600
    );
    store.close().await;
    // Data survives a reconnect.
    let store = Store::connect(&format!("sqlite:{}", path.display()))
        .await
        .unwrap();
    assert_eq!(store.list_groups().await.unwrap().len(), 1);
    store.close().await;
}

#[tokio::test]
async fn missing_directory_is_a_clear_error() {
    let dir = TempDir::new("store-sqlite-missing");
    let url = format!("sqlite://{}/nope/authd.db", dir.path().display());
    let e = Store::connect(&url).await.unwrap_err();
    assert!(matches!(e, StoreError::File { .. }), "{e}");
    assert!(e.to_string().contains("does not exist"), "{e}");
    assert!(!dir.path().join("nope").exists());
}

#[tokio::test]
async fn unsupported_scheme() {
    let e = Store::connect("mysql://root:pw@localhost/authd")
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::UnsupportedUrl(_)), "{e}");
    assert!(!e.to_string().contains("pw@"), "{e}");
}

#[tokio::test]
async fn unreachable_postgres_is_a_clear_error() {
    let dir = TempDir::new("store-pg-missing");
    // No server listens on this socket directory.
    let url = format!(
        "postgres://authd:hunter2@localhost/authd?host={}",
        dir.path().display()
    );
    let e = Store::connect(&url).await.unwrap_err();
    assert!(matches!(e, StoreError::Unreachable { .. }), "{e}");
    let text = e.to_string();
    assert!(
        text.starts_with("cannot connect to the database postgres://authd:***@"),
        "{text}"
    );
    assert!(!text.contains("hunter2"), "{text}");
}

/// A database from before certificates were keyed by issuer: its rows keep
/// answering (by serial) and can still be revoked by serial.
#[tokio::test]
async fn certificates_recorded_before_issuers_keep_working() {
    use authd::store::{CertificateStatus, RevocationReasonName};
    use sqlx::sqlite::{SqliteConnectOptions, SqlitePool};
    use std::str::FromStr;

    let dir = TempDir::new("store-v2");
    let url = format!("sqlite://{}", dir.path().join("authd.db").display());
    let pool = SqlitePool::connect_with(
        SqliteConnectOptions::from_str(&url)
            .unwrap()
            .create_if_missing(true),
    )
    .await
    .unwrap();
    let mut v2 = sqlx::migrate!();
    v2.migrations = v2
        .migrations
        .iter()
        .filter(|m| m.version < 20261128000003)
        .cloned()
        .collect::<Vec<_>>()
        .into();
    assert_eq!(v2.migrations.len(), 2);
    v2.run(&pool).await.unwrap();
    sqlx::query("INSERT INTO users (name, enabled, created_at) VALUES ('hank', TRUE, 0)")
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO certificates (serial, subject, user_name, issued_at, not_after) \
         VALUES ('7a01', 'CN=hank', 'hank', 0, 4102444800)",
    )
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;

    let store = Store::connect(&url).await.unwrap();
    let hank = CertificateStatus::Valid {
        user: "hank".into(),
    };
    // Whatever its issuer, the serial finds the row, as before.
    assert_eq!(
        store
            .certificate_status(b"0\x001", &[0x7a, 0x01])
            .await
            .unwrap(),
        hank
    );
    assert_eq!(
        store
            .certificate_status(b"0\x002", &[0x7a, 0x02])
            .await
            .unwrap(),
        CertificateStatus::Unknown
    );
    let rec = store
        .revoke_certificate(
            "7a:01",
            RevocationReasonName::KeyCompromise,
            std::time::SystemTime::now(),
        )
        .await
        .unwrap();
    assert_eq!((rec.issuer.as_str(), rec.user.as_str()), ("", "hank"));
    assert!(matches!(
        store
            .certificate_status(b"0\x001", &[0x7a, 0x01])
            .await
            .unwrap(),
        CertificateStatus::Revoked { .. }
    ));
    store.close().await;
}

#[tokio::test]
async fn disconnect_on_sqlite() {
    let dir = TempDir::new("store-sqlite-das");
    let url = format!("sqlite://{}", dir.path().join("authd.db").display());
    disconnect_suite::run_disconnect_suite(&url).await;
}
