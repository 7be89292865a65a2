use super::*;
use radius_proto::{Code, PacketBuilder};

const SECRET: &[u8] = b"a-long-test-secret";

fn request(attrs: &[(u8, &[u8])]) -> Vec<u8> {
    let mut b = PacketBuilder::new(Code::AccountingRequest, 1);
    for (t, v) in attrs {
        b.add(*t, v).unwrap();
    }
    b.encode_request([0; 16], SECRET).unwrap()
}

fn parsed(bytes: &[u8], now: i64) -> Result<AcctRecord, Refusal> {
    let p = Packet::new_checked(bytes).unwrap();
    parse(&p, "ap1", "192.0.2.7".parse().unwrap(), now)
}

fn u32b(v: u32) -> [u8; 4] {
    v.to_be_bytes()
}

#[test]
fn stop_with_gigawords_and_every_field() {
    let class = crate::class::encode(
        crate::class::Method::Tls,
        "alice",
        Some("3a4b"),
        1_700_000_000,
        [1; 8],
    );
    let bytes = request(&[
        (dict::ACCT_STATUS_TYPE, &u32b(2)),
        (dict::ACCT_SESSION_ID, b"5A4B3C2D1E0F0001"),
        (dict::ACCT_MULTI_SESSION_ID, b"multi-1"),
        (dict::USER_NAME, b"alice"),
        (dict::NAS_IP_ADDRESS, &[192, 0, 2, 7]),
        (dict::NAS_IDENTIFIER, b"ap1.example"),
        (dict::NAS_PORT, &u32b(3)),
        (dict::CALLED_STATION_ID, b"02-00-00-00-00-01:lab"),
        (dict::CALLING_STATION_ID, b"02-00-00-00-01-00"),
        (dict::FRAMED_IP_ADDRESS, &[10, 0, 0, 5]),
        (dict::CLASS, class.as_bytes()),
        (dict::ACCT_SESSION_TIME, &u32b(120)),
        (dict::ACCT_INPUT_OCTETS, &u32b(5)),
        (dict::ACCT_INPUT_GIGAWORDS, &u32b(2)),
        (dict::ACCT_OUTPUT_OCTETS, &u32b(0xffff_ffff)),
        (dict::ACCT_INPUT_PACKETS, &u32b(9)),
        (dict::ACCT_OUTPUT_PACKETS, &u32b(11)),
        (dict::ACCT_TERMINATE_CAUSE, &u32b(1)),
        (dict::ACCT_INTERIM_INTERVAL, &u32b(60)),
        (dict::ACCT_DELAY_TIME, &u32b(4)),
    ]);
    let r = parsed(&bytes, 1_700_000_500).unwrap();
    assert_eq!(r.status, StatusType::Stop);
    assert_eq!(r.acct_session_id, "5A4B3C2D1E0F0001");
    assert_eq!(r.acct_multi_session_id.as_deref(), Some("multi-1"));
    assert_eq!(r.nas_ip_address.as_deref(), Some("192.0.2.7"));
    assert_eq!(r.nas_address, "192.0.2.7");
    assert_eq!(r.nas_port, Some(3));
    assert_eq!(r.framed_ip_address.as_deref(), Some("10.0.0.5"));
    assert_eq!(r.input_octets, (2 << 32) + 5);
    assert_eq!(r.output_octets, 0xffff_ffff);
    assert_eq!((r.input_packets, r.output_packets), (9, 11));
    assert_eq!(r.terminate_cause, Some(1));
    assert_eq!(r.interim_interval, Some(60));
    // No Event-Timestamp: arrival minus Acct-Delay-Time.
    assert_eq!(r.event_time, 1_700_000_496);
    assert_eq!(r.start_time(), 1_700_000_376);
    assert_eq!(r.class.as_deref(), Some(class.as_str()));
    let auth = r.auth.unwrap();
    assert_eq!(auth.user.as_deref(), Some("alice"));
    assert_eq!(auth.serial.as_deref(), Some("3a4b"));
    // The key: the port part is NAS-Port in decimal.
    assert_eq!(
        r.session_key,
        session_key("ap1", b"5A4B3C2D1E0F0001", b"02-00-00-00-01-00", b"3")
    );
}

#[test]
fn retransmission_with_new_delay_keeps_key_and_event_time() {
    let base = |delay: u32| {
        request(&[
            (dict::ACCT_STATUS_TYPE, &u32b(1)),
            (dict::ACCT_SESSION_ID, b"S1"),
            (dict::CALLING_STATION_ID, b"02-00-00-00-01-00"),
            (dict::ACCT_DELAY_TIME, &u32b(delay)),
        ])
    };
    let a = parsed(&base(0), 1000).unwrap();
    let b = parsed(&base(3), 1003).unwrap();
    assert_eq!(a.session_key, b.session_key);
    assert_eq!(a.event_time, b.event_time);
    // Event-Timestamp wins over the arrival time.
    let c = request(&[
        (dict::ACCT_STATUS_TYPE, &u32b(1)),
        (dict::ACCT_SESSION_ID, b"S1"),
        (dict::EVENT_TIMESTAMP, &u32b(777)),
        (dict::ACCT_DELAY_TIME, &u32b(3)),
    ]);
    assert_eq!(parsed(&c, 1003).unwrap().event_time, 777);
}

#[test]
fn key_separates_fields_and_nas() {
    let k = session_key("ap1", b"ab", b"c", b"");
    assert_eq!(k.len(), 64);
    assert!(
        k.bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    );
    // Length prefixes: moving an octet between fields changes the key.
    assert_ne!(k, session_key("ap1", b"a", b"bc", b""));
    assert_ne!(k, session_key("ap2", b"ab", b"c", b""));
    // NAS-Port-Id is preferred over NAS-Port.
    let with_id = request(&[
        (dict::ACCT_STATUS_TYPE, &u32b(3)),
        (dict::ACCT_SESSION_ID, b"S"),
        (dict::NAS_PORT, &u32b(1)),
        (dict::NAS_PORT_ID, b"eth0"),
    ]);
    assert_eq!(
        parsed(&with_id, 0).unwrap().session_key,
        session_key("ap1", b"S", b"", b"eth0")
    );
}

#[test]
fn refusals() {
    let no_status = request(&[(dict::ACCT_SESSION_ID, b"S")]);
    assert_eq!(parsed(&no_status, 0), Err(Refusal::MissingStatusType));
    for status in [1, 2, 3] {
        let no_id = request(&[(dict::ACCT_STATUS_TYPE, &u32b(status))]);
        assert_eq!(parsed(&no_id, 0), Err(Refusal::MissingSessionId));
    }
    let failed = request(&[(dict::ACCT_STATUS_TYPE, &u32b(15))]);
    assert_eq!(
        parsed(&failed, 0).unwrap_err().label(),
        "acct_unsupported_status_type"
    );
    let short = request(&[
        (dict::ACCT_STATUS_TYPE, &u32b(3)),
        (dict::ACCT_SESSION_ID, b"S"),
        (dict::ACCT_INPUT_OCTETS, &[0, 1]),
    ]);
    assert_eq!(
        parsed(&short, 0),
        Err(Refusal::BadLength("Acct-Input-Octets"))
    );
    let bad_ip = request(&[
        (dict::ACCT_STATUS_TYPE, &u32b(1)),
        (dict::ACCT_SESSION_ID, b"S"),
        (dict::FRAMED_IP_ADDRESS, &[10, 0, 0]),
    ]);
    assert_eq!(
        parsed(&bad_ip, 0).unwrap_err().label(),
        "acct_bad_attribute_length"
    );
    // Accounting-On needs no session id (positive control of the rule).
    let on = request(&[(dict::ACCT_STATUS_TYPE, &u32b(7))]);
    assert_eq!(parsed(&on, 0).unwrap().status, StatusType::AccountingOn);
}

#[test]
fn counters_clamp_and_text_falls_back_to_hex() {
    let max = request(&[
        (dict::ACCT_STATUS_TYPE, &u32b(3)),
        (dict::ACCT_SESSION_ID, b"S\x01"),
        (dict::ACCT_INPUT_OCTETS, &u32b(u32::MAX)),
        (dict::ACCT_INPUT_GIGAWORDS, &u32b(u32::MAX)),
        (dict::CLASS, &[0xff, 0x00]),
    ]);
    let r = parsed(&max, 0).unwrap();
    assert_eq!(r.input_octets, i64::MAX);
    assert_eq!(r.acct_session_id, "hex:5301");
    assert_eq!(r.class.as_deref(), Some("hex:ff00"));
    assert_eq!(r.auth, None);
}

/// What a real hostapd 2.10 (`driver=wired`, PEAP with authd) sent to
/// authd's accounting port, captured on loopback; shared secret
/// `testing123`. No Message-Authenticator (hostapd's
/// `radius_msg_finish_acct`), Event-Timestamp and Acct-Delay-Time present,
/// authd's Class echoed.
const HOSTAPD_ON: &str = "04000063551dd1d907f61b8f6776a13e9ef7527628060000000704067f000001200b61757468642d6532651e1446322d32462d44352d34342d41352d43343a3d060000001337066b0eef5c2906000000002c1231323932443637433941423436334532";
const HOSTAPD_START: &str = "040900ca6cdebaee66d90e1c9cdb91773d03729d2806000000012d06000000010105626f6204067f000001200b61757468642d6532651e1446322d32462d44352d34342d41352d43343a3d06000000130606000000021f1331362d33382d36412d46362d35362d38424d17434f4e4e45435420304d627073203830322e3131622c1238303836423746414543333446464333192c6175746864313b706561703b36623065656635662e383037666463363831656134333335663b3b626f6237066b0eef5f290600000000";
const HOSTAPD_STOP: &str = "040a00d6fce0dda6db97bf5d986e8303de2f601c2806000000022d06000000010105626f6204067f000001200b61757468642d6532651e1446322d32462d44352d34342d41352d43343a3d06000000130606000000021f1331362d33382d36412d46362d35362d38424d17434f4e4e45435420304d627073203830322e3131622c1238303836423746414543333446464333192c6175746864313b706561703b36623065656635662e383037666463363831656134333335663b3b626f6237066b0eef5f2906000000002e0600000000310600000001";

#[test]
fn hostapd_capture_is_admitted_and_parsed() {
    use crate::admission::{Origin, Port, admit};
    use crate::clients::{NasClient, NasClients};
    let clients = NasClients::new(vec![NasClient {
        name: "loopback".into(),
        net: "127.0.0.1/32".parse().unwrap(),
        secret: radius_proto::SharedSecret::new(b"testing123"),
        // The default: required on Access-Requests, not on accounting.
        require_message_authenticator: true,
        limit_proxy_state: true,
        counters: Default::default(),
    }]);
    let peer = "127.0.0.1:55352".parse().unwrap();
    let mut records = Vec::new();
    for hexed in [HOSTAPD_ON, HOSTAPD_START, HOSTAPD_STOP] {
        let bytes = hex::decode(hexed).unwrap();
        let a = admit(&clients, Origin::udp_to(peer, Port::Acct), &bytes)
            .unwrap_or_else(|e| panic!("{}", e.detail));
        records.push(parse(&a.packet, &a.client.name, peer.ip(), 0).unwrap());
        // Positive control of the authenticator check: one bit flipped.
        let mut bad = bytes.clone();
        *bad.last_mut().unwrap() ^= 1;
        let e = admit(&clients, Origin::udp_to(peer, Port::Acct), &bad)
            .err()
            .expect("tampered request refused");
        assert_eq!(e.label, "bad_accounting_authenticator");
    }
    assert_eq!(records[0].status, StatusType::AccountingOn);
    assert_eq!(records[0].nas_identifier.as_deref(), Some("authd-e2e"));
    let (start, stop) = (&records[1], &records[2]);
    assert_eq!(start.status, StatusType::Start);
    assert_eq!(start.acct_session_id, "8086B7FAEC34FFC3");
    assert_eq!(
        start.calling_station_id.as_deref(),
        Some("16-38-6A-F6-56-8B")
    );
    assert_eq!(
        start.called_station_id.as_deref(),
        Some("F2-2F-D5-44-A5-C4:")
    );
    assert_eq!(start.nas_ip_address.as_deref(), Some("127.0.0.1"));
    assert_eq!(start.event_time, 0x6b0e_ef5f);
    let auth = start.auth.as_ref().expect("authd's Class");
    assert_eq!(auth.user.as_deref(), Some("bob"));
    assert_eq!(auth.method, crate::class::Method::Peap);
    assert_eq!(stop.status, StatusType::Stop);
    assert_eq!(stop.terminate_cause, Some(1));
    assert_eq!(stop.session_key, start.session_key);
}
