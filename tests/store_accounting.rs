//! Accounting sessions in the store, one suite on SQLite and on a
//! throwaway PostgreSQL cluster: idempotent Start / Interim-Update / Stop,
//! no reopening after Stop, Accounting-On closing one NAS's sessions, the
//! stale sweep, and the queries of `authd session`.

#[path = "store_suite/mod.rs"]
#[allow(unused)]
mod suite;

use authd::accounting::{self, AcctRecord, StatusType};
use authd::store::{Recorded, SessionFilter, Store, StoreError};
use radius_proto::{Code, Packet, PacketBuilder, dict};

const SECRET: &[u8] = b"a-long-test-secret";

/// The record of an Accounting-Request built with these attributes, from
/// NAS client `nas`, arrived at `now`.
fn record(nas: &str, now: i64, attrs: &[(u8, &[u8])]) -> AcctRecord {
    let mut b = PacketBuilder::new(Code::AccountingRequest, 1);
    for (t, v) in attrs {
        b.add(*t, v).unwrap();
    }
    let bytes = b.encode_request([0; 16], SECRET).unwrap();
    let p = Packet::new_checked(&bytes[..]).unwrap();
    accounting::parse(&p, nas, "192.0.2.7".parse().unwrap(), now).unwrap()
}

fn status(s: u32) -> [u8; 4] {
    s.to_be_bytes()
}

fn session(nas: &str, id: &str, st: u32, now: i64, time: u32, octets: u32) -> AcctRecord {
    record(
        nas,
        now,
        &[
            (dict::ACCT_STATUS_TYPE, &status(st)),
            (dict::ACCT_SESSION_ID, id.as_bytes()),
            (dict::USER_NAME, b"anonymous"),
            (dict::CALLING_STATION_ID, b"02-00-00-00-01-00"),
            (dict::CLASS, b"authd1;tls;1.0000000000000000;3a4b;alice"),
            (dict::ACCT_SESSION_TIME, &time.to_be_bytes()),
            (dict::ACCT_INPUT_OCTETS, &octets.to_be_bytes()),
            (dict::ACCT_OUTPUT_OCTETS, &octets.to_be_bytes()),
            (dict::ACCT_TERMINATE_CAUSE, &1u32.to_be_bytes()),
        ],
    )
}

async fn suite(store: &Store) {
    let t0 = 1_800_000_000;
    // Start, and its retransmission with a new Acct-Delay-Time: one row.
    let start = session("ap1", "S1", 1, t0, 0, 0);
    assert_eq!(
        store.record_accounting(&start).await.unwrap(),
        Recorded::Written(1)
    );
    let mut again = start.clone();
    again.event_time = t0; // same event, later arrival minus delay
    store.record_accounting(&again).await.unwrap();
    let rows = store
        .list_sessions(&SessionFilter::default())
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    let s = &rows[0];
    assert!(s.online());
    assert_eq!(s.start_time, Some(t0));
    assert_eq!(s.auth_user.as_deref(), Some("alice"));
    assert_eq!(s.auth_method.as_deref(), Some("tls"));
    assert_eq!(s.auth_serial.as_deref(), Some("3a4b"));
    assert_eq!(s.user_name, "anonymous");

    // Interim-Update: counters and last_update move; an older one does not
    // move them back.
    store
        .record_accounting(&session("ap1", "S1", 3, t0 + 60, 60, 1000))
        .await
        .unwrap();
    store
        .record_accounting(&session("ap1", "S1", 3, t0 + 30, 30, 500))
        .await
        .unwrap();
    let s = store.session(&start.session_key).await.unwrap();
    assert_eq!(
        (s.session_time, s.input_octets, s.last_update),
        (60, 1000, t0 + 60)
    );

    // Stop closes; a late Interim-Update and a second Stop change nothing
    // but are acknowledged (Ok).
    let mut stop = session("ap1", "S1", 2, t0 + 90, 90, 0xffff_ffff);
    stop.input_octets = 5 << 32; // as with Acct-Input-Gigawords
    store.record_accounting(&stop).await.unwrap();
    assert_eq!(
        store
            .record_accounting(&session("ap1", "S1", 3, t0 + 120, 120, 1))
            .await
            .unwrap(),
        Recorded::Unchanged
    );
    assert_eq!(
        store.record_accounting(&stop).await.unwrap(),
        Recorded::Unchanged
    );
    let s = store.session("S1").await.unwrap();
    assert!(!s.online());
    assert_eq!(s.stop_time, Some(t0 + 90));
    assert_eq!(s.input_octets, 5 << 32);
    assert_eq!(s.session_time, 90);
    assert_eq!(s.terminate_cause, Some(1));
    // A late Start does not reopen either.
    store.record_accounting(&start).await.unwrap();
    assert!(!store.session("S1").await.unwrap().online());

    // Interim for an unknown session creates an open one; Stop for an
    // unknown session creates a closed one.
    store
        .record_accounting(&session("ap1", "S2", 3, t0 + 100, 40, 7))
        .await
        .unwrap();
    let s2 = store.session("S2").await.unwrap();
    assert!(s2.online());
    assert_eq!(s2.start_time, Some(t0 + 60));
    store
        .record_accounting(&session("ap2", "S3", 2, t0 + 100, 10, 7))
        .await
        .unwrap();
    assert!(!store.session("S3").await.unwrap().online());

    // Filters: online, NAS, user (User-Name or the Class's user).
    let online = store
        .list_sessions(&SessionFilter {
            online: true,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(online.len(), 1);
    assert_eq!(online[0].acct_session_id, "S2");
    let ap2 = store
        .list_sessions(&SessionFilter {
            nas: Some("ap2".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(ap2.len(), 1);
    for user in ["alice", "anonymous"] {
        let by_user = store
            .list_sessions(&SessionFilter {
                user: Some(user.into()),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(by_user.len(), 3, "{user}");
    }
    let nobody = store
        .list_sessions(&SessionFilter {
            user: Some("bob".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(nobody.is_empty());

    // Accounting-On of ap1 closes its open sessions (NAS-Reboot), not ap2's.
    store
        .record_accounting(&session("ap2", "S4", 1, t0 + 100, 0, 0))
        .await
        .unwrap();
    let on = record("ap1", t0 + 200, &[(dict::ACCT_STATUS_TYPE, &status(7))]);
    assert_eq!(on.status, StatusType::AccountingOn);
    assert_eq!(
        store.record_accounting(&on).await.unwrap(),
        Recorded::Written(1)
    );
    let s2 = store.session("S2").await.unwrap();
    assert_eq!(
        (s2.stop_time, s2.terminate_cause),
        (Some(t0 + 200), Some(11))
    );
    assert!(store.session("S4").await.unwrap().online());

    // Sweep: S4 last updated at t0+100; interval 60 x 3 = 180 s.
    assert_eq!(
        store.close_stale_sessions(t0 + 279, 3, 60).await.unwrap(),
        0
    );
    assert_eq!(
        store.close_stale_sessions(t0 + 281, 3, 60).await.unwrap(),
        1
    );
    let s4 = store.session("S4").await.unwrap();
    assert_eq!(
        (s4.stop_time, s4.terminate_cause),
        (Some(t0 + 100), Some(3))
    );

    // An Acct-Session-Id on two NASes is ambiguous; the key is not.
    store
        .record_accounting(&session("ap2", "S1", 1, t0, 0, 0))
        .await
        .unwrap();
    assert!(matches!(
        store.session("S1").await,
        Err(StoreError::Invalid { .. })
    ));
    assert_eq!(
        store.session(&start.session_key).await.unwrap().nas_name,
        "ap1"
    );
    assert!(matches!(
        store.session("nope").await,
        Err(StoreError::NotFound { .. })
    ));
}

#[tokio::test]
async fn accounting_on_sqlite() {
    let dir = suite::TempDir::new("store-acct");
    let url = format!("sqlite://{}", dir.path().join("authd.db").display());
    let store = Store::connect(&url).await.unwrap();
    suite(&store).await;
    store.close().await;
}

#[tokio::test]
async fn accounting_on_postgres() {
    let cluster = suite::PgCluster::start();
    let url = cluster.create_database("acct").await;
    let store = Store::connect(&url).await.unwrap();
    suite(&store).await;
    store.close().await;
}
