//! Disconnect-Request (RFC 5176) against the real NAS: hostapd
//! (`driver=wired`) with its Dynamic Authorization server on, requiring
//! Event-Timestamp and Message-Authenticator; wpa_supplicant authorized by
//! EAP-TLS as alice through authd with a store. `authd user disable alice`
//! must make hostapd answer Disconnect-ACK and drop the station; an
//! `authd session disconnect` of a session hostapd does not know must come
//! back as Disconnect-NAK with hostapd's Error-Cause.
//!
//! The session row is the one authd's accounting records from hostapd's
//! Accounting-Request Start (with the Class of the Access-Accept, naming
//! alice); the unknown session is a row inserted with a made-up
//! Acct-Session-Id for that NAS.
//!
//! Needs root, `ip`, `hostapd`, `hostapd_cli`, `wpa_supplicant` and
//! `wpa_cli`: a missing piece fails the test.

mod common;

use std::path::Path;
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use common::wired::{
    Daemon, Link, hostapd_conf_with, spawn_supplicant, supplicant_conf, supplicant_status,
};
use common::{SECRET, Server, TempDir, TestPki, TlsChoice, require_tool};

fn hostapd_cli(dir: &Path, iface: &str, args: &[&str]) -> String {
    Command::new("hostapd_cli")
        .arg("-p")
        .arg(dir.join("hostapd-ctrl"))
        .args(["-i", iface])
        .args(args)
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default()
}

fn field<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    text.lines()
        .find_map(|l| l.strip_prefix(name).and_then(|r| r.strip_prefix('=')))
}

/// Runs `sql` on the SQLite file, returning the first row's two text columns.
fn sql(db: &Path, sql: &str) -> Option<(String, String)> {
    use sqlx::Connection;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let url = format!("sqlite://{}", db.display());
        let mut c = sqlx::SqliteConnection::connect(&url).await.unwrap();
        let select = sql.trim_start().starts_with("SELECT");
        let sql = sqlx::AssertSqlSafe(sql.to_owned());
        let r = if select {
            sqlx::query_as::<_, (String, String)>(sql)
                .fetch_optional(&mut c)
                .await
                .unwrap()
        } else {
            sqlx::query(sql).execute(&mut c).await.unwrap();
            None
        };
        c.close().await.ok();
        r
    })
}

fn insert_session(db: &Path, key: &str, user: &str, auth_user: &str, acct_id: &str, mac: &str) {
    sql(
        db,
        &format!(
            "INSERT INTO acct_sessions (session_key, acct_session_id, user_name, nas_name, \
             nas_address, nas_ip_address, nas_identifier, calling_station_id, auth_user, \
             auth_method, start_time, last_update, created_at) VALUES ('{key}', '{acct_id}', \
             '{user}', 'loopback', '127.0.0.1', '127.0.0.1', 'authd-e2e', '{mac}', {auth_user}, \
             'eap-tls', 1, 1, 1)"
        ),
    );
}

fn admin(config: &Path, args: &[&str]) -> String {
    common::admin_cli(config, args, "")
}

#[test]
fn disable_disconnects_the_station_and_unknown_session_is_nak() {
    assert!(
        Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| o.stdout.trim_ascii() == b"0"),
        "this test needs root (network namespaces)"
    );
    for tool in ["ip", "hostapd", "hostapd_cli", "wpa_supplicant", "wpa_cli"] {
        require_tool(tool);
    }
    let dir = TempDir::new("hostapd-das");
    let pki = TestPki::create(dir.path());
    let port = common::free_udp_port();
    let das_port = common::free_udp_port();
    let acct = common::free_udp_port();
    let config = common::write_store_config(dir.path(), &pki, port, |c| {
        c.clients[0].das_port = das_port;
        c.listen.acct = Some(format!("127.0.0.1:{acct}").parse().unwrap());
    });
    let db = dir.path().join("authd.db");
    let user = pki.good.name.clone();
    admin(&config, &["user", "add", &user]);
    let server = Server::spawn(config.clone(), port);
    server.expect_log("Disconnect worker started");
    server.expect_log("accounting recorded in the store");

    let link = Link::create();
    let das = format!(
        "radius_das_port={das_port}\n\
         radius_das_client=127.0.0.1 {SECRET}\n\
         radius_das_time_window=300\n\
         radius_das_require_event_timestamp=1\n\
         radius_das_require_message_authenticator=1\n\
         acct_server_addr=127.0.0.1\n\
         acct_server_port={acct}\n\
         acct_server_shared_secret={SECRET}\n"
    );
    let mut hostapd = Daemon::spawn(
        "hostapd",
        Command::new("hostapd")
            .args(["-dd", "-K", "-t"])
            .arg(hostapd_conf_with(dir.path(), &link.outer, port, &das)),
        dir.path().join("hostapd.log"),
    );
    thread::sleep(Duration::from_millis(500));
    hostapd.assert_running();

    let network = common::network_block(&pki.good, &pki.ca_cert, TlsChoice::Only13);
    let (conf, ctrl) = supplicant_conf(dir.path(), &network);
    let mut supplicant = spawn_supplicant(&link, &conf, dir.path());
    let authorized = |status: &str| {
        status.contains("suppPortStatus=Authorized") && status.contains("EAP state=SUCCESS")
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut status = String::new();
    while Instant::now() < deadline && !authorized(&status) {
        hostapd.assert_running();
        supplicant.assert_running();
        thread::sleep(Duration::from_millis(200));
        status = supplicant_status(&link, &ctrl);
    }
    assert!(
        authorized(&status),
        "not authorized:\n{status}\n{}",
        server.log()
    );

    // The station as hostapd knows it, and the session authd's accounting
    // recorded for it: same Acct-Session-Id, station and user, and the
    // user authd's Class names.
    let sta = hostapd_cli(dir.path(), &link.outer, &["all_sta"]);
    assert!(sta.contains("flags=[AUTHORIZED]"), "{sta}");
    let mac = sta.lines().next().unwrap().trim().to_owned();
    let acct_id = field(&sta, "dot1xAuthSessionId")
        .expect("Acct-Session-Id")
        .to_owned();
    assert_eq!(field(&sta, "dot1xAuthSessionUserName"), Some(user.as_str()));
    let calling = mac.to_uppercase().replace(':', "-");
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut recorded = None;
    while Instant::now() < deadline && recorded.is_none() {
        recorded = sql(
            &db,
            &format!(
                "SELECT session_key, COALESCE(auth_user, '') FROM acct_sessions WHERE acct_session_id = '{acct_id}' AND calling_station_id = '{calling}' AND stop_time IS NULL"
            ),
        );
        thread::sleep(Duration::from_millis(100));
    }
    let (alice_key, auth_user) = recorded
        .unwrap_or_else(|| panic!("no accounting session for {acct_id}:\n{}", server.log()));
    assert_eq!(auth_user, user, "the Class names the user");
    // A session hostapd does not know, for the NAK.
    insert_session(
        &db,
        "e2e-ghost",
        "ghost",
        "NULL",
        "0123456789ABCDEF",
        "02-00-00-00-00-99",
    );

    // Disable: the CLI queues, the running server sends at once.
    let t0 = Instant::now();
    let out = admin(&config, &["user", "disable", &user]);
    assert!(out.contains("1 Disconnect-Request(s) queued"), "{out}");
    assert!(out.contains(&alice_key), "{out}");
    let mut row = None;
    while t0.elapsed() < Duration::from_secs(20) {
        row = sql(
            &db,
            &format!(
                "SELECT state, COALESCE(CAST(finished_at - requested_at AS TEXT), '') FROM disconnect_requests WHERE session_key = '{alice_key}'"
            ),
        );
        if row
            .as_ref()
            .is_some_and(|(s, _)| s != "pending" && s != "sending")
        {
            break;
        }
        thread::sleep(Duration::from_millis(10));
    }
    let elapsed = t0.elapsed();
    let (state, secs) = row.expect("no request row");
    assert_eq!(state, "ack", "{}", server.log());
    eprintln!(
        "Disconnect-ACK recorded {elapsed:?} after `authd user disable` started (row: finished_at - requested_at = {secs} s)"
    );
    let session = sql(&db, &format!("SELECT disconnect_status, CAST(disconnect_at AS TEXT) FROM acct_sessions WHERE session_key = '{alice_key}'")).unwrap();
    assert_eq!(session.0, "ack");
    server.expect_log("result=\"ack\"");
    // `authd session show` has it; hostapd then stops the session in
    // accounting (Acct-Terminate-Cause), which closes the row.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut shown = serde_json::Value::Null;
    while Instant::now() < deadline {
        let out = admin(&config, &["session", "show", &alice_key, "--json"]);
        shown = serde_json::from_str(&out).unwrap();
        if shown["online"] == false {
            break;
        }
        thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(shown["disconnect_status"], "ack", "{shown}");
    assert_eq!(
        shown["online"], false,
        "no Accounting Stop after the Disconnect: {shown}"
    );
    eprintln!("authd session show after the ACK: {shown}");

    // hostapd: matched, disconnected, no longer authorized.
    let log = hostapd.output();
    assert!(
        log.contains("RADIUS DAS: Found a matching session"),
        "hostapd did not match the session:\n{log}"
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut sta = String::new();
    while Instant::now() < deadline {
        sta = hostapd_cli(dir.path(), &link.outer, &["all_sta"]);
        if !sta.contains("flags=[AUTHORIZED]") {
            break;
        }
        thread::sleep(Duration::from_millis(100));
    }
    assert!(
        !sta.contains("flags=[AUTHORIZED]"),
        "station still authorized:\n{sta}"
    );
    // The wired supplicant is not told: hostapd's wired driver has no
    // deauthentication frame to send, so wpa_supplicant still shows its
    // port Authorized until it authenticates again. When it does, the new
    // station is refused: alice is disabled.
    let status = supplicant_status(&link, &ctrl);
    let reauth = Command::new("ip")
        .args(["netns", "exec", &link.netns, "wpa_cli", "-p"])
        .arg(&ctrl)
        .args(["-i", &link.inner, "reauthenticate"])
        .output()
        .unwrap();
    assert!(reauth.status.success());
    server.expect_log("user_disabled");
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut after = supplicant_status(&link, &ctrl);
    while Instant::now() < deadline && authorized(&after) {
        thread::sleep(Duration::from_millis(100));
        after = supplicant_status(&link, &ctrl);
    }
    assert!(
        !authorized(&after),
        "supplicant still authorized after re-authenticating:\n{after}"
    );
    eprintln!("wpa_cli status after re-authenticating:\n{after}");
    eprintln!("hostapd all_sta after the ACK:\n{sta}\nwpa_cli status after the ACK:\n{status}");
    for l in log.lines().filter(|l| l.contains("DAS")) {
        eprintln!("hostapd: {l}");
    }

    // Unknown session: Disconnect-NAK, Error-Cause 503.
    let out = admin(
        &config,
        &["session", "disconnect", "e2e-ghost", "--wait", "10"],
    );
    assert!(
        out.contains("NAK, Error-Cause 503 (Session Context Not Found)"),
        "{out}\n{}",
        server.log()
    );
    let ghost = sql(&db, "SELECT disconnect_status, CAST(disconnect_error_cause AS TEXT) FROM acct_sessions WHERE session_key = 'e2e-ghost'").unwrap();
    assert_eq!(ghost, ("nak".to_owned(), "503".to_owned()));
    assert!(
        hostapd
            .output()
            .contains("RADIUS DAS: No matching session found")
    );
    eprintln!("authd session disconnect printed:\n{out}");
    for l in server.log().lines().filter(|l| l.contains("Disconnect")) {
        eprintln!("authd: {l}");
    }
}
