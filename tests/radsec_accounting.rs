//! Accounting over RadSec (RFC 6614 section 2.4: a RadSec connection
//! carries authentication and accounting alike; section 2.3: the shared
//! secret is "radsec"). A raw TLS client (rustls) with a NAS client
//! certificate from the test PKI authenticates a PAP user and sends
//! Accounting-Request Start and Stop echoing the Class, all on one
//! connection to an authd with a SQLite store; each gets its verified
//! answer, and `authd session list --json` shows the session, tied to the
//! authentication, closed with the Stop's counters.

mod common;

use std::io::{Read, Write};
use std::time::Duration;

use common::admin_cli;
use radius_proto::{Code, Packet, PacketBuilder, dict};

use common::radsec::{NAS_NAME, RadsecServer, classic_exchange};

const RADSEC: &[u8] = b"radsec";

fn accounting(id: u8, status: u32, class: &[u8], extra: &[(u8, u32)]) -> Vec<u8> {
    let mut b = PacketBuilder::new(Code::AccountingRequest, id);
    b.add_u32(dict::ACCT_STATUS_TYPE, status).unwrap();
    b.add(dict::ACCT_SESSION_ID, b"RADSEC-0001").unwrap();
    b.add(dict::USER_NAME, b"pat").unwrap();
    b.add(dict::CALLING_STATION_ID, b"02-00-00-00-00-03")
        .unwrap();
    b.add(dict::NAS_IDENTIFIER, b"radsec-nas").unwrap();
    b.add(dict::CLASS, class).unwrap();
    for (t, v) in extra {
        b.add_u32(*t, *v).unwrap();
    }
    b.encode_request([0; 16], RADSEC).unwrap()
}

#[test]
fn access_and_accounting_on_one_radsec_connection() {
    let f = RadsecServer::builder("radsec-acct")
        .client("radsec-nas", NAS_NAME)
        .user("pat", Some("pat-password"))
        .start();
    let mut tls = f.connect(None, &[]).unwrap();

    // Access-Request first: accepted, with authd's Class.
    let access = common::radius::pap_request(1, "pat", "pat-password", RADSEC);
    let reply = classic_exchange(&mut tls, &access);
    let p = Packet::new_checked(&reply[..]).unwrap();
    assert_eq!(p.code(), Code::AccessAccept, "{}", f.server.log());
    let class = p
        .attr(dict::CLASS)
        .expect("Class in the Access-Accept")
        .to_vec();

    // Start, then Stop with counters, on the same connection.
    let start = accounting(2, dict::ACCT_STATUS_TYPE_START, &class, &[]);
    let reply = classic_exchange(&mut tls, &start);
    assert_eq!(
        Packet::new_checked(&reply[..]).unwrap().code(),
        Code::AccountingResponse
    );
    let online = admin_cli(&f.config, &["session", "list", "--online", "--json"], "");
    let online: serde_json::Value = serde_json::from_str(&online).unwrap();
    assert_eq!(online.as_array().unwrap().len(), 1, "{online}");
    assert_eq!(online[0]["acct_session_id"], "RADSEC-0001");
    assert_eq!(online[0]["nas_name"], "radsec-nas");

    let stop = accounting(
        3,
        dict::ACCT_STATUS_TYPE_STOP,
        &class,
        &[
            (dict::ACCT_SESSION_TIME, 42),
            (dict::ACCT_INPUT_OCTETS, 1000),
            (dict::ACCT_OUTPUT_OCTETS, 2000),
            (dict::ACCT_INPUT_GIGAWORDS, 1),
            (dict::ACCT_TERMINATE_CAUSE, 1),
        ],
    );
    let reply = classic_exchange(&mut tls, &stop);
    assert_eq!(
        Packet::new_checked(&reply[..]).unwrap().code(),
        Code::AccountingResponse
    );
    // A tampered Accounting-Request (wrong secret) on the connection is
    // not answered: the connection is closed or nothing comes back.
    let mut bad = accounting(4, dict::ACCT_STATUS_TYPE_INTERIM_UPDATE, &class, &[]);
    *bad.last_mut().unwrap() ^= 1;
    tls.write_all(&bad).unwrap();
    tls.sock
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    let mut one = [0u8; 1];
    assert!(!matches!(tls.read(&mut one), Ok(n) if n > 0));

    let all = admin_cli(&f.config, &["session", "list", "--json"], "");
    let all: serde_json::Value = serde_json::from_str(&all).unwrap();
    let s = &all.as_array().unwrap()[0];
    assert_eq!(all.as_array().unwrap().len(), 1, "{all}");
    assert_eq!(s["acct_session_id"], "RADSEC-0001");
    assert_eq!(s["auth_user"], "pat", "tied to the authentication: {s}");
    assert_eq!(s["session_time"], 42);
    assert_eq!(s["input_octets"], (1u64 << 32) + 1000);
    assert_eq!(s["output_octets"], 2000);
    assert_eq!(s["terminate_cause"], 1);
    assert!(s["stop_time"].is_i64(), "{s}");
    let online = admin_cli(&f.config, &["session", "list", "--online", "--json"], "");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&online).unwrap(),
        serde_json::json!([])
    );
}
