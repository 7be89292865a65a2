//! A store the size of a large deployment (100,000 NAS clients, users in
//! the tens of thousands), seeded by bench/scale_seed.sh's own SQL, on
//! SQLite and on a throwaway PostgreSQL cluster: the server's client table
//! holds every client and finds each kind by address, a poll with nothing
//! changed rebuilds nothing, a change is picked up, and users are
//! authorized from the large table.

#[path = "store_suite/mod.rs"]
mod suite;

use std::process::{Command, Stdio};

use authd::config::Secret;
use authd::policy::{Decision, Policy};
use authd::store::{ClientEntry, ClientSync, Store, UserAttributes};

const CLIENTS: u32 = 100_000;
const USERS: u32 = 20_000;
const SECRET: &str = "bench-secret-0123456789";

/// bench/scale_seed.sh's SQL for `kind` (sqlite or postgres), run by the
/// database's own client, as the bench runs it.
fn seed(kind: &str, url: &str) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../bench/scale_seed.sh");
    let sql = Command::new("bash")
        .args([script, "sql", kind, &USERS.to_string(), &CLIENTS.to_string(), SECRET])
        .arg("$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaA")
        .output()
        .expect("run scale_seed.sh");
    assert!(
        sql.status.success(),
        "{}",
        String::from_utf8_lossy(&sql.stderr)
    );
    let mut client = match kind {
        "sqlite" => {
            let path = url.trim_start_matches("sqlite://");
            let mut c = Command::new(suite_tool("sqlite3"));
            c.args(["-bail", path]);
            c
        }
        _ => {
            let mut c = Command::new(suite_tool("psql"));
            c.args(["-q", "-v", "ON_ERROR_STOP=1", url]);
            c
        }
    };
    let mut child = client
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("start the database client");
    use std::io::Write;
    child.stdin.take().unwrap().write_all(&sql.stdout).unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "seed SQL failed on {kind}");
}

fn suite_tool(name: &str) -> std::path::PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("{name} not installed"))
}

fn config_entry(name: &str, net: &str) -> ClientEntry {
    ClientEntry {
        name: name.into(),
        net: net.parse().unwrap(),
        secret: radius_proto::SharedSecret::new(b"config-secret"),
        require_message_authenticator: true,
        limit_proxy_state: true,
    }
}

async fn run(kind: &str, url: &str) {
    let store = Store::connect(url).await.unwrap();
    store
        .add_user("benchuser", &UserAttributes::default(), true)
        .await
        .unwrap();
    seed(kind, url);

    // The configuration file's clients: one of its own, one the store
    // replaces by name, one by address.
    let config = vec![
        config_entry("cfg", "127.0.0.0/8"),
        config_entry("nas0000002", "192.0.2.2"),
        config_entry("cfg-ap3", "10.0.0.3/32"),
    ];
    let sync = ClientSync::new(store.clone(), config);
    let table = sync.refresh().await.unwrap().expect("first refresh reads");
    assert_eq!(
        table.len(),
        CLIENTS as usize + 1,
        "every store client and cfg"
    );
    let lookup = |t: &authd::clients::NasClients, ip: &str| {
        t.lookup(ip.parse().unwrap())
            .map(|c| (c.name.clone(), c.secret.as_bytes().to_vec()))
    };
    let name = |t: &authd::clients::NasClients, ip: &str| lookup(t, ip).map(|(n, _)| n);
    assert_eq!(
        lookup(&table, "127.0.0.1"),
        Some(("nas0000001".into(), SECRET.as_bytes().to_vec()))
    );
    assert_eq!(name(&table, "127.0.0.2").as_deref(), Some("cfg"));
    assert_eq!(name(&table, "192.0.2.2"), None, "replaced by name");
    assert_eq!(name(&table, "10.0.0.3").as_deref(), Some("nas0000003"));
    assert_eq!(name(&table, "11.0.4.5").as_deref(), Some("nas0000016"));
    assert_eq!(
        name(&table, "2001:db8:0:8::1").as_deref(),
        Some("nas0000008")
    );
    assert_eq!(name(&table, "2001:db8:0:8::2"), None, "a /128");
    assert_eq!(
        name(&table, "2001:db8:8000:9::77").as_deref(),
        Some("nas0000009")
    );
    assert_eq!(
        name(&table, "2001:1000:13:ff::1").as_deref(),
        Some("nas0000019")
    );
    assert_eq!(name(&table, "10.1.134.150").as_deref(), Some("nas0099990"));

    // Nothing changed: the poll answers from the marker, no table.
    assert!(sync.refresh().await.unwrap().is_none());
    assert!(sync.refresh().await.unwrap().is_none());
    // Control: a change is read.
    store
        .add_client(
            "late",
            "192.0.2.77".parse().unwrap(),
            &Secret::new("late-secret-0123456789").unwrap(),
            true,
        )
        .await
        .unwrap();
    let table = sync.refresh().await.unwrap().expect("a change is read");
    assert_eq!(table.len(), CLIENTS as usize + 2);
    assert_eq!(name(&table, "192.0.2.77").as_deref(), Some("late"));

    // Users among the seeded ones, with their group's attributes.
    let a = store.authorization("user0012345").await.unwrap().unwrap();
    assert!(a.enabled);
    assert_eq!(a.group.as_deref(), Some("group5"));
    assert_eq!(a.vlan.as_deref(), Some("105"));
    assert!(
        !store
            .authorization("user0000050")
            .await
            .unwrap()
            .unwrap()
            .enabled
    );
    assert!(store.authorization("user0020001").await.unwrap().is_none());
    let policy = Policy::with_store(store.clone());
    assert!(matches!(
        policy.authorize_peer("user0012345", None).await,
        Decision::Accept(_)
    ));
    assert!(matches!(
        policy.authorize_peer("user0000050", None).await,
        Decision::Reject {
            label: "user_disabled",
            ..
        }
    ));
    store.close().await;
}

#[tokio::test]
async fn large_store_on_sqlite() {
    let dir = suite::TempDir::new("store-scale-sqlite");
    let url = format!("sqlite://{}", dir.path().join("authd.db").display());
    run("sqlite", &url).await;
}

#[tokio::test]
async fn large_store_on_postgres() {
    let cluster = suite::PgCluster::start();
    let url = cluster.create_database("scale").await;
    run("postgres", &url).await;
}
