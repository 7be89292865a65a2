//! The store suite against SQLite, and what only SQLite does: the file is
//! created with mode 0600 in WAL mode, and a missing directory is an error.

#[path = "store_suite.rs"]
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
