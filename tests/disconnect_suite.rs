//! Disconnect-Requests against a store (SQLite in `store_sqlite.rs`,
//! PostgreSQL in `store_postgres.rs`): what a change queues, the claim that
//! only one server wins, and two running workers on one database with a
//! NAS stand-in answering on loopback: each request is sent once, the
//! answers land on the request and the session, and a request queued while
//! the workers run is sent at once (the wake-up), not at the safety poll.

#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use authd::config::{ClientConfig, Secret};
use authd::das::worker::{ConfigEndpoint, SAFETY_POLL, Worker};
use authd::metrics::Metrics;
use authd::store::{IssuerName, NewCertificate, RevocationReasonName, Store, UserAttributes};
use radius_proto::{Code, Packet, PacketBuilder, dict};
use tokio::net::UdpSocket;
use tokio_util::sync::CancellationToken;

const SECRET: &str = "das-suite-secret";

/// Runs one statement without arguments on the database at `url`.
pub async fn exec(url: &str, sql: &str) -> u64 {
    use sqlx::Connection;
    let sql = sqlx::AssertSqlSafe(sql.to_owned());
    if url.starts_with("sqlite") {
        let mut c = sqlx::SqliteConnection::connect(url).await.unwrap();
        let n = sqlx::query(sql)
            .execute(&mut c)
            .await
            .unwrap()
            .rows_affected();
        c.close().await.ok();
        n
    } else {
        let mut c = sqlx::PgConnection::connect(url).await.unwrap();
        let n = sqlx::query(sql)
            .execute(&mut c)
            .await
            .unwrap()
            .rows_affected();
        c.close().await.ok();
        n
    }
}

/// Rows of a query selecting two text columns.
pub async fn rows(url: &str, sql: &str) -> Vec<(String, String)> {
    use sqlx::Connection;
    let sql = sqlx::AssertSqlSafe(sql.to_owned());
    if url.starts_with("sqlite") {
        let mut c = sqlx::SqliteConnection::connect(url).await.unwrap();
        let r = sqlx::query_as(sql).fetch_all(&mut c).await.unwrap();
        c.close().await.ok();
        r
    } else {
        let mut c = sqlx::PgConnection::connect(url).await.unwrap();
        let r = sqlx::query_as(sql).fetch_all(&mut c).await.unwrap();
        c.close().await.ok();
        r
    }
}

/// An online (or, with `stop`, finished) accounting session on NAS
/// client `nas` at 127.0.0.1.
pub async fn insert_session(
    url: &str,
    key: &str,
    user_name: &str,
    auth_user: Option<&str>,
    auth_serial: Option<&str>,
    acct_session_id: &str,
    stop: bool,
) {
    let q = |v: Option<&str>| v.map_or("NULL".to_owned(), |v| format!("'{v}'"));
    exec(
        url,
        &format!(
            "INSERT INTO acct_sessions (session_key, acct_session_id, user_name, nas_name, \
             nas_address, calling_station_id, auth_user, auth_serial, start_time, last_update, \
             stop_time, created_at) VALUES ('{key}', '{acct_session_id}', '{user_name}', 'nas', \
             '127.0.0.1', '02-00-00-00-00-01', {}, {}, 1, 1, {}, 1)",
            q(auth_user),
            q(auth_serial),
            if stop { "2" } else { "NULL" }
        ),
    )
    .await;
}

async fn requests(url: &str) -> Vec<(String, String)> {
    rows(
        url,
        "SELECT session_key, state FROM disconnect_requests ORDER BY session_key, requested_at",
    )
    .await
}

/// A NAS stand-in: answers Disconnect-ACK for the Acct-Session-Ids it
/// knows, Disconnect-NAK Error-Cause 503 otherwise; counts what it got.
struct FakeNas {
    port: u16,
    received: Arc<Mutex<HashMap<String, u32>>>,
    stop: CancellationToken,
}

impl FakeNas {
    async fn start(known: &[&str]) -> FakeNas {
        let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let port = socket.local_addr().unwrap().port();
        let received = Arc::new(Mutex::new(HashMap::new()));
        let stop = CancellationToken::new();
        let known: Vec<String> = known.iter().map(|s| s.to_string()).collect();
        let (r, s) = (received.clone(), stop.clone());
        tokio::spawn(async move {
            let mut buf = [0u8; 4096];
            loop {
                let (n, from) = tokio::select! {
                    _ = s.cancelled() => return,
                    r = socket.recv_from(&mut buf) => r.unwrap(),
                };
                let p = Packet::new_checked(&buf[..n]).unwrap();
                assert_eq!(p.code(), Code::DisconnectRequest);
                radius_proto::verify_request(&p, SECRET.as_bytes(), true).unwrap();
                let id =
                    String::from_utf8(p.attr(dict::ACCT_SESSION_ID).unwrap().to_vec()).unwrap();
                *r.lock().unwrap().entry(id.clone()).or_default() += 1;
                let mut b = if known.contains(&id) {
                    PacketBuilder::reply_to(Code::DisconnectAck, &p)
                } else {
                    let mut b = PacketBuilder::reply_to(Code::DisconnectNak, &p);
                    b.add_u32(101, 503).unwrap();
                    b
                };
                b.add_u32(dict::EVENT_TIMESTAMP, 1).unwrap();
                let reply = b.encode_response(&p, SECRET.as_bytes()).unwrap();
                socket.send_to(&reply, from).await.unwrap();
            }
        });
        FakeNas {
            port,
            received,
            stop,
        }
    }

    fn received(&self) -> HashMap<String, u32> {
        self.received.lock().unwrap().clone()
    }
}

impl Drop for FakeNas {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

async fn worker(url: &str, das_port: u16, metrics: Arc<Metrics>) -> Worker {
    let store = Store::connect(url).await.unwrap();
    let client = ClientConfig {
        name: "nas".into(),
        address: "127.0.0.1/32".parse().unwrap(),
        secret: Secret::new(SECRET).unwrap(),
        require_message_authenticator: true,
        limit_proxy_state: true,
        certificate_name: None,
        das_port,
    };
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    Worker::new(
        store,
        socket,
        metrics,
        vec![ConfigEndpoint::from_config(&client)],
    )
}

async fn eventually(limit: Duration, mut f: impl AsyncFnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if f().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

pub async fn run_disconnect_suite(url: &str) {
    let store = Store::connect(url).await.unwrap();
    for u in ["alice", "bob", "carol"] {
        store
            .add_user(u, &UserAttributes::default(), true)
            .await
            .unwrap();
    }
    // alice: one session tied by authd's Class, one by User-Name only (the
    // NAS echoed no Class), one finished; bob: one under another
    // User-Name that authd authorized as alice.
    insert_session(
        url,
        "k-a1",
        "alice@example",
        Some("alice"),
        None,
        "A1",
        false,
    )
    .await;
    insert_session(url, "k-a2", "alice", None, None, "A2", false).await;
    insert_session(url, "k-a3", "alice", Some("alice"), None, "A3", true).await;
    insert_session(url, "k-b1", "bob", Some("bob"), None, "B1", false).await;
    insert_session(url, "k-x1", "alice", Some("bob"), None, "X1", false).await;

    // Enabling queues nothing; disabling queues alice's online sessions,
    // in the same transaction; again: nothing new while they are pending.
    store.set_user_enabled("alice", true).await.unwrap();
    assert!(requests(url).await.is_empty());
    store.set_user_enabled("alice", false).await.unwrap();
    let queued = requests(url).await;
    assert_eq!(
        queued,
        vec![
            ("k-a1".to_owned(), "pending".to_owned()),
            ("k-a2".to_owned(), "pending".to_owned())
        ]
    );
    store.set_user_enabled("alice", false).await.unwrap();
    assert_eq!(requests(url).await.len(), 2);
    // An unknown user changes nothing (and queues nothing).
    assert!(store.set_user_enabled("nobody", false).await.is_err());
    assert_eq!(requests(url).await.len(), 2);

    // The claim: of two servers exactly one wins a request; a stale claim
    // (older than the timeout) can be taken over, a fresh one cannot.
    let other = Store::connect(url).await.unwrap();
    let id = store.claimable_disconnects(100, 60, 10).await.unwrap()[0].clone();
    let (a, b) = tokio::join!(
        store.claim_disconnect(&id, "server-a", 100, 60),
        other.claim_disconnect(&id, "server-b", 100, 60)
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert!(a.is_some() != b.is_some(), "exactly one claim wins");
    let winner = if a.is_some() { "server-a" } else { "server-b" };
    let job = a.or(b).unwrap();
    assert!(
        ["A1", "A2"].contains(&job.acct_session_id.as_str()),
        "{job:?}"
    );
    assert_eq!(job.nas_address, "127.0.0.1");
    assert!(
        other
            .claim_disconnect(&id, "server-c", 150, 60)
            .await
            .unwrap()
            .is_none()
    );
    // Handed back (no Identifier free): only by its claimer; then pending
    // and claimable again.
    store.release_disconnect(&id, "server-c").await.unwrap();
    assert_eq!(
        store.disconnect_request(&id).await.unwrap().state,
        "sending"
    );
    store.release_disconnect(&id, winner).await.unwrap();
    assert_eq!(
        store.disconnect_request(&id).await.unwrap().state,
        "pending"
    );
    assert!(
        store
            .claim_disconnect(&id, winner, 100, 60)
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        store
            .claimable_disconnects(150, 60, 10)
            .await
            .unwrap()
            .len()
            == 1
    );
    // Hand it back as a claim that died long ago, for the workers below.
    exec(
        url,
        &format!("UPDATE disconnect_requests SET claimed_at = 1 WHERE id = '{id}'"),
    )
    .await;
    let stale = store.disconnect_request(&id).await.unwrap();
    assert_eq!(stale.claimed_by.as_deref(), Some(winner));

    // Two workers on one database, one NAS: A1 and A2 are online there,
    // "NOPE" is a session the NAS does not know.
    let nas = FakeNas::start(&["A1", "A2", "B1", "B2"]).await;
    let metrics = Arc::new(Metrics::default());
    let stop = CancellationToken::new();
    let w1 = worker(url, nas.port, metrics.clone()).await;
    let w2 = worker(url, nas.port, metrics.clone()).await;
    let names = [w1.instance().to_owned(), w2.instance().to_owned()];
    tokio::spawn(w1.run(stop.clone()));
    tokio::spawn(w2.run(stop.clone()));
    assert!(
        eventually(Duration::from_secs(10), async || {
            requests(url).await.iter().all(|(_, s)| s == "ack")
        })
        .await,
        "{:?}",
        requests(url).await
    );
    // Each sent once, though two workers saw both rows.
    assert_eq!(
        nas.received(),
        HashMap::from([("A1".to_owned(), 1), ("A2".to_owned(), 1)])
    );
    let sessions = rows(
        url,
        "SELECT session_key, COALESCE(disconnect_status, '-') FROM acct_sessions ORDER BY session_key",
    )
    .await;
    let status: HashMap<_, _> = sessions.into_iter().collect();
    assert_eq!(status["k-a1"], "ack");
    assert_eq!(status["k-a2"], "ack");
    assert_eq!(status["k-b1"], "-", "bob untouched");
    assert_eq!(status["k-a3"], "-", "finished session untouched");
    let claimed = rows(url, "SELECT id, claimed_by FROM disconnect_requests").await;
    assert!(
        claimed.iter().all(|(_, by)| names.contains(by)),
        "{claimed:?}"
    );
    // The server whose claim went stale comes back with a late answer: it
    // is not recorded over the one of the server that took over.
    let late = authd::store::disconnect::DisconnectOutcome {
        state: "timeout",
        error_cause: None,
    };
    assert!(
        !store
            .finish_disconnect(&id, winner, late, 200)
            .await
            .unwrap()
    );
    assert_eq!(store.disconnect_request(&id).await.unwrap().state, "ack");

    // Queued while the workers run: sent at once (PostgreSQL NOTIFY or the
    // SQLite wake socket), well before the safety poll.
    insert_session(url, "k-n1", "carol", Some("carol"), None, "NOPE", false).await;
    let t0 = Instant::now();
    store.set_user_enabled("carol", false).await.unwrap();
    assert!(
        eventually(SAFETY_POLL / 2, async || {
            rows(url, "SELECT state, COALESCE(CAST(error_cause AS TEXT), '') FROM disconnect_requests WHERE session_key = 'k-n1'")
                .await
                == vec![("nak".to_owned(), "503".to_owned())]
        })
        .await,
        "not answered within half the safety poll"
    );
    let elapsed = t0.elapsed();
    assert!(elapsed < SAFETY_POLL / 2, "{elapsed:?}");
    let r = rows(
        url,
        "SELECT disconnect_status, CAST(disconnect_error_cause AS TEXT) FROM acct_sessions WHERE session_key = 'k-n1'",
    )
    .await;
    assert_eq!(r, vec![("nak".to_owned(), "503".to_owned())]);
    assert_eq!(nas.received()["NOPE"], 1);

    // A revoked certificate: its sessions by serial, and its user's.
    let ca = IssuerName {
        der: vec![0x30, 0x00],
        text: "CN=Suite CA".into(),
    };
    store
        .add_certificate(&NewCertificate {
            issuer: ca,
            serial: "0A1B".into(),
            subject: "CN=bob".into(),
            user: "bob".into(),
            not_after: 4_000_000_000,
        })
        .await
        .unwrap();
    let serial = store.certificate("0A1B").await.unwrap().serial;
    insert_session(
        url,
        "k-s1",
        "device",
        Some("device"),
        Some(&serial),
        "S1",
        false,
    )
    .await;
    store
        .revoke_certificate(
            "0A1B",
            RevocationReasonName::KeyCompromise,
            SystemTime::now(),
        )
        .await
        .unwrap();
    assert!(
        eventually(Duration::from_secs(5), async || {
            let r = rows(url, "SELECT session_key, state FROM disconnect_requests WHERE session_key IN ('k-s1', 'k-b1', 'k-x1') ORDER BY session_key").await;
            r == vec![
                ("k-b1".to_owned(), "ack".to_owned()),
                ("k-s1".to_owned(), "nak".to_owned()),
                ("k-x1".to_owned(), "nak".to_owned()),
            ]
        })
        .await,
        "{:?}",
        requests(url).await
    );
    // `authd session disconnect ID`: an unknown key is an error; a known
    // online one queues one request.
    assert!(
        store
            .enqueue_session_disconnect("no-such-key", "test")
            .await
            .is_err()
    );
    assert_eq!(
        store
            .enqueue_session_disconnect("k-b1", "test")
            .await
            .unwrap(),
        1
    );
    assert!(
        eventually(Duration::from_secs(5), async || {
            metrics.disconnect_results().get("ack") == Some(&4)
        })
        .await,
        "{:?}",
        nas.received()
    );
    assert_eq!(nas.received()["B1"], 2);
    let results = metrics.disconnect_results();
    assert_eq!(results.get("ack"), Some(&4), "{results:?}");
    assert_eq!(results.get("nak"), Some(&3), "{results:?}");

    // Deleting a user queues its sessions too.
    insert_session(url, "k-c2", "carol", Some("carol"), None, "C2", false).await;
    store.delete_user("carol").await.unwrap();
    let r = rows(
        url,
        "SELECT session_key, state FROM disconnect_requests WHERE session_key = 'k-c2'",
    )
    .await;
    assert_eq!(r.len(), 1, "{r:?}");

    // `cert revoke --cert FILE`: a certificate of another CA, unknown to
    // the store until now: its sessions by serial, and its user's (the
    // subject CN) by User-Name.
    let mut ca = rcgen::CertificateParams::default();
    ca.distinguished_name
        .push(rcgen::DnType::CommonName, "Other CA");
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca_key = rcgen::KeyPair::generate().unwrap();
    ca.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca, ca_key);
    let mut leaf = rcgen::CertificateParams::default();
    leaf.distinguished_name
        .push(rcgen::DnType::CommonName, "dave");
    leaf.serial_number = Some(rcgen::SerialNumber::from_slice(&[0xd1, 0xa2]));
    let key = rcgen::KeyPair::generate().unwrap();
    let der = leaf.signed_by(&key, &issuer).unwrap().der().to_vec();
    insert_session(
        url,
        "k-d1",
        "laptop",
        Some("laptop"),
        Some("d1a2"),
        "D1",
        false,
    )
    .await;
    insert_session(url, "k-d2", "dave", None, None, "D2", false).await;
    insert_session(url, "k-d3", "erin", None, Some("d1a3"), "D3", false).await;
    let rec = store
        .revoke_presented_certificate(&der, RevocationReasonName::KeyCompromise, SystemTime::now())
        .await
        .unwrap();
    assert_eq!((rec.serial.as_str(), rec.user.as_str()), ("d1a2", "dave"));
    let r = rows(
        url,
        "SELECT session_key, reason FROM disconnect_requests WHERE session_key LIKE 'k-d%' ORDER BY session_key",
    )
    .await;
    assert_eq!(
        r,
        vec![
            ("k-d1".to_owned(), "cert.revoke".to_owned()),
            ("k-d2".to_owned(), "cert.revoke".to_owned())
        ]
    );

    if url.starts_with("postgres") {
        // The LISTEN connection dies (a database restart, a proxy timeout):
        // the listeners reconnect, and a request queued right after is
        // still sent at once.
        assert!(eventually(SAFETY_POLL / 2, async || {
            rows(url, "SELECT session_key, state FROM disconnect_requests WHERE session_key = 'k-c2' AND state = 'nak'").await.len() == 1
        }).await);
        let killed = rows(
            url,
            "SELECT CAST(pid AS TEXT), CAST(pg_terminate_backend(pid) AS TEXT) FROM pg_stat_activity \
             WHERE query LIKE 'LISTEN%'",
        )
        .await;
        assert_eq!(
            killed.len(),
            2,
            "one LISTEN connection per worker: {killed:?}"
        );
        insert_session(url, "k-b2", "bob", Some("bob"), None, "B2", false).await;
        let t0 = Instant::now();
        store
            .enqueue_session_disconnect("k-b2", "test")
            .await
            .unwrap();
        assert!(
            eventually(SAFETY_POLL / 2, async || {
                rows(url, "SELECT session_key, state FROM disconnect_requests WHERE session_key = 'k-b2' AND state = 'ack'").await.len() == 1
            })
            .await,
            "not sent within half the safety poll after the listeners lost their connection"
        );
        assert!(t0.elapsed() < SAFETY_POLL / 2);
        assert_eq!(nas.received()["B2"], 1);
    }
    stop.cancel();
    other.close().await;
    store.close().await;
}
