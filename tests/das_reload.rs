//! Where Disconnect-Requests go, as an operator changes it: SIGHUP's
//! reload hands the configuration file's NAS clients (secret, `das_port`)
//! to the running Disconnect worker, and `authd client add --das-port`
//! sets a stored client's port (shown by `authd client list`).

mod common;

use std::net::UdpSocket;
use std::path::Path;
use std::time::{Duration, Instant};

use authd::config::Config;
use common::{SECRET, Server, TempDir, TestPki, admin_cli};
use radius_proto::{Code, Packet, PacketBuilder, dict};

fn sql(db: &Path, sql: &str) {
    use sqlx::Connection;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut c = sqlx::SqliteConnection::connect(&format!("sqlite://{}", db.display()))
            .await
            .unwrap();
        sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
            .execute(&mut c)
            .await
            .unwrap();
        c.close().await.ok();
    });
}

fn insert_session(db: &Path, key: &str, acct_id: &str) {
    sql(
        db,
        &format!(
            "INSERT INTO acct_sessions (session_key, acct_session_id, user_name, nas_name, \
             nas_address, calling_station_id, start_time, last_update, created_at) VALUES \
             ('{key}', '{acct_id}', 'alice', 'loopback', '127.0.0.1', '02-00-00-00-00-01', \
             1, 1, 1)"
        ),
    );
}

/// The Acct-Session-Ids of the Disconnect-Requests `nas` receives within
/// `limit` (signed with the secret; each answered ACK when `answer`).
fn receive(nas: &UdpSocket, limit: Duration, answer: bool, until: &str) -> Vec<String> {
    let deadline = Instant::now() + limit;
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while Instant::now() < deadline {
        nas.set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        let Ok((n, from)) = nas.recv_from(&mut buf) else {
            continue;
        };
        let p = Packet::new_checked(&buf[..n]).unwrap();
        assert_eq!(p.code(), Code::DisconnectRequest);
        radius_proto::verify_request(&p, SECRET.as_bytes(), true).unwrap();
        let id = String::from_utf8(p.attr(dict::ACCT_SESSION_ID).unwrap().to_vec()).unwrap();
        if answer {
            let mut b = PacketBuilder::reply_to(Code::DisconnectAck, &p);
            b.add_u32(dict::EVENT_TIMESTAMP, 1).unwrap();
            nas.send_to(&b.encode_response(&p, SECRET.as_bytes()).unwrap(), from)
                .unwrap();
        }
        let done = id == until;
        got.push(id);
        if done {
            break;
        }
    }
    got
}

#[test]
fn sighup_moves_disconnect_requests_to_the_reloaded_das_port() {
    let dir = TempDir::new("das-reload");
    let pki = TestPki::create(dir.path());
    let old_nas = UdpSocket::bind("127.0.0.1:0").unwrap();
    let new_nas = UdpSocket::bind("127.0.0.1:0").unwrap();
    let old_port = old_nas.local_addr().unwrap().port();
    let new_port = new_nas.local_addr().unwrap().port();
    let port = common::free_udp_port();
    let config = common::write_store_config(dir.path(), &pki, port, |c| {
        c.clients[0].das_port = old_port;
    });
    let server = Server::spawn(config.clone(), port);
    assert!(server.wait_for_log("Disconnect worker started", common::LOG_WAIT));
    let db = dir.path().join("authd.db");
    insert_session(&db, "s1", "acct-1");
    insert_session(&db, "s2", "acct-2");

    // Before the reload: the configured port (the positive control).
    admin_cli(&config, &["session", "disconnect", "s1"], "");
    let before = receive(&old_nas, Duration::from_secs(10), false, "acct-1");
    assert!(
        before.contains(&"acct-1".to_owned()),
        "{before:?}\n{}",
        server.log()
    );

    let mut c = Config::load(&config).unwrap();
    c.clients[0].das_port = new_port;
    std::fs::write(&config, c.to_toml()).unwrap();
    let kill = std::process::Command::new("kill")
        .args(["-HUP", &server.pid().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    assert!(server.wait_for_log("SIGHUP: configuration reloaded", common::LOG_WAIT));

    let waiter = {
        let config = config.clone();
        std::thread::spawn(move || {
            admin_cli(
                &config,
                &["session", "disconnect", "s2", "--wait", "10"],
                "",
            )
        })
    };
    let after = receive(&new_nas, Duration::from_secs(10), true, "acct-2");
    assert_eq!(after, vec!["acct-2".to_owned()], "{}", server.log());
    let out = waiter.join().unwrap();
    assert!(out.contains("ACK"), "{out}");
    // The old port hears only acct-1's retransmissions, never acct-2.
    let old = receive(&old_nas, Duration::from_secs(1), false, "");
    assert!(!old.contains(&"acct-2".to_owned()), "{old:?}");
}

#[test]
fn client_add_das_port_is_stored_and_listed() {
    let dir = TempDir::new("das-port-cli");
    let pki = TestPki::create(dir.path());
    let config = common::write_store_config(dir.path(), &pki, common::free_udp_port(), |_| {});
    admin_cli(
        &config,
        &["client", "add", "ap1", "192.0.2.1", "--das-port", "4799"],
        "secret-of-ap1\n",
    );
    admin_cli(
        &config,
        &["client", "add", "ap2", "192.0.2.2"],
        "secret-of-ap2\n",
    );
    let list = admin_cli(&config, &["client", "list"], "");
    let line = |name: &str| {
        list.lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("{name} in {list}"))
            .split_whitespace()
            .last()
            .unwrap()
            .to_owned()
    };
    assert!(list.contains("DAS-PORT"), "{list}");
    assert_eq!(line("ap1"), "4799", "{list}");
    assert_eq!(line("ap2"), "3799", "the default: {list}");
    let json: serde_json::Value =
        serde_json::from_str(&admin_cli(&config, &["client", "list", "--json"], "")).unwrap();
    let ports: Vec<_> = json
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["name"].as_str().unwrap(), c["das_port"].as_u64().unwrap()))
        .collect();
    assert_eq!(ports, vec![("ap1", 4799), ("ap2", 3799)]);
    // Port 0 is refused before anything is stored.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_authd"))
        .args([
            "client",
            "add",
            "ap3",
            "192.0.2.3",
            "--das-port",
            "0",
            "--config",
        ])
        .arg(&config)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(!admin_cli(&config, &["client", "list"], "").contains("ap3"));
}
