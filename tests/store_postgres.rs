//! The store suite against a real PostgreSQL server: a throwaway cluster
//! (initdb + pg_ctl) in a temporary directory, listening on a Unix socket
//! there only, stopped on drop. Also checks that two connections (as two
//! authd instances would hold) see each other's changes and that migrating
//! concurrently is safe.

#[path = "disconnect_suite.rs"]
mod disconnect_suite;
#[path = "store_suite/mod.rs"]
mod suite;

use authd::policy::{Decision, Policy};
use authd::store::{Backend, Store, UserAttributes};

#[tokio::test]
async fn suite_on_postgres() {
    let cluster = suite::PgCluster::start();

    let url = cluster.create_database("suite").await;
    suite::run_suite(&url).await;

    // Two instances starting at once on a fresh database: both migrate
    // (one waits for the other's advisory lock), then share the data.
    let url = cluster.create_database("shared").await;
    let (a, b) = tokio::join!(Store::connect(&url), Store::connect(&url));
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.backend(), Backend::Postgres);
    a.add_user("alice", &UserAttributes::default(), true)
        .await
        .unwrap();
    let policy_b = Policy::with_store(b.clone());
    assert!(matches!(
        policy_b.authorize_peer("alice", None).await,
        Decision::Accept(_)
    ));
    a.set_user_enabled("alice", false).await.unwrap();
    assert!(matches!(
        policy_b.authorize_peer("alice", None).await,
        Decision::Reject {
            label: "user_disabled",
            ..
        }
    ));
    a.close().await;
    b.close().await;
}

#[tokio::test]
async fn disconnect_on_postgres() {
    let cluster = suite::PgCluster::start();
    let url = cluster.create_database("das").await;
    disconnect_suite::run_disconnect_suite(&url).await;
}
