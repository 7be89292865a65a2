//! Admission: the first stage of the request path (ARCHITECTURE.md).
//!
//! Bytes from a transport, with their [`Origin`], become an [`Admitted`]
//! request of a known NAS client, or a [`Refused`] with a counter label and
//! a sentence for the log. Checks, in order:
//!
//! 1. the origin names a NAS client (UDP: longest-prefix match of the
//!    source address);
//! 2. the packet parses with every length checked (`Packet::new_checked`);
//! 3. the code is one this port answers: Access-Request on the
//!    authentication port, Accounting-Request on the accounting port,
//!    Status-Server on both (RFC 5997 §3);
//! 4. the authenticators with that client's secret: Message-Authenticator
//!    required unless the client relaxes it, always with EAP-Message
//!    (RFC 3579 §3.2) and for Status-Server (RFC 5997 §3). An
//!    Accounting-Request's Request Authenticator is an MD5 over the whole
//!    packet and the secret (RFC 2866 §3), checked always; its
//!    Message-Authenticator is checked when present but not required,
//!    whatever `require_message_authenticator` says: hostapd 2.10 sends
//!    none (`radius_msg_finish_acct` only computes the authenticator), and
//!    BlastRADIUS forges a response to an Access-Request, whose
//!    authenticator is not keyed;
//! 5. `limit_proxy_state`: Proxy-State without Message-Authenticator is
//!    refused even where the client does not require it (BlastRADIUS,
//!    CVE-2024-3596: the attack rides on attacker-chosen Proxy-State); an
//!    Accounting-Request's keyed authenticator already covers its
//!    Proxy-State.
//!
//! No socket, no clock of its own, no logging: the caller counts and logs
//! what is refused, so the stage is tested with bytes alone.

use std::net::SocketAddr;
use std::sync::Arc;

use radius_proto::{Code, Packet, dict};

use crate::clients::{NasClient, NasClients};

/// How a request reached the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    /// RADIUS over UDP (RFC 2865).
    Udp,
    /// RADIUS over TLS (RFC 6614): the NAS client is the one the
    /// connection's certificate named (`crate::radsec`), and `connection`
    /// tells one connection from another from the same address, so that
    /// duplicate detection runs per connection. `radius_1_1`: the
    /// connection negotiated RADIUS/1.1 by ALPN (RFC 9765): no MD5, the
    /// Token instead of Identifier and Authenticator.
    Tls { connection: u64, radius_1_1: bool },
}

/// The service a request was sent to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Port {
    /// Authentication (RFC 2865, UDP 1812).
    Auth,
    /// Accounting (RFC 2866, UDP 1813).
    Acct,
    /// A RadSec connection: access and accounting travel over the same
    /// connection (RFC 6614 §2.4).
    Radsec,
}

impl Port {
    /// Whether `code` is answered on this port.
    pub fn accepts(self, code: Code) -> bool {
        matches!(
            (self, code),
            (_, Code::StatusServer)
                | (Port::Auth | Port::Radsec, Code::AccessRequest)
                | (Port::Acct | Port::Radsec, Code::AccountingRequest)
        )
    }

    fn name(self) -> &'static str {
        match self {
            Port::Auth => "authentication",
            Port::Acct => "accounting",
            Port::Radsec => "RadSec",
        }
    }
}

/// Where a request came from: the transport, the peer's address and the
/// port it was sent to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Origin {
    pub transport: Transport,
    pub peer: SocketAddr,
    pub port: Port,
}

impl Origin {
    /// A datagram from `peer` to the authentication port.
    pub fn udp(peer: SocketAddr) -> Origin {
        Origin::udp_to(peer, Port::Auth)
    }

    /// A datagram from `peer` to `port`.
    pub fn udp_to(peer: SocketAddr, port: Port) -> Origin {
        Origin {
            transport: Transport::Udp,
            peer,
            port,
        }
    }

    /// A packet of classic RadSec connection `connection` from `peer`.
    pub fn tls(peer: SocketAddr, connection: u64) -> Origin {
        Origin::tls_with(peer, connection, false)
    }

    /// A packet of TLS connection `connection` from `peer`, which speaks
    /// RADIUS/1.1 when `radius_1_1` (RFC 9765, negotiated by ALPN).
    pub fn tls_with(peer: SocketAddr, connection: u64, radius_1_1: bool) -> Origin {
        Origin {
            transport: Transport::Tls {
                connection,
                radius_1_1,
            },
            peer,
            port: Port::Radsec,
        }
    }

    /// Whether the request came over a RADIUS/1.1 connection: no
    /// authenticator to check or compute, no MD5 hiding (RFC 9765 §4.1, §5.1).
    pub fn radius_1_1(&self) -> bool {
        matches!(
            self.transport,
            Transport::Tls {
                radius_1_1: true,
                ..
            }
        )
    }
}

/// A request that passed admission.
pub struct Admitted<'a> {
    pub client: Arc<NasClient>,
    pub packet: Packet<&'a [u8]>,
    pub origin: Origin,
}

/// Why a request was not admitted. `label` names the counter; `detail` is
/// the log sentence (never with a secret in it).
#[derive(Debug)]
pub struct Refused {
    pub label: &'static str,
    pub detail: String,
    /// The NAS client, when the origin named one.
    pub client: Option<Arc<NasClient>>,
}

/// Runs the admission checks on one request.
pub fn admit<'a>(
    clients: &NasClients,
    origin: Origin,
    data: &'a [u8],
) -> Result<Admitted<'a>, Refused> {
    let Some(client) = clients.lookup(origin.peer.ip()) else {
        return Err(Refused {
            label: "unknown_client",
            detail: "packet from unknown client (no [[client]] matches its address)".to_owned(),
            client: None,
        });
    };
    admit_from(client, origin, data)
}

/// The checks after the first: `client` is known, by source address
/// ([`admit`]) or by the certificate of a TLS connection.
pub fn admit_from(
    client: Arc<NasClient>,
    origin: Origin,
    data: &[u8],
) -> Result<Admitted<'_>, Refused> {
    let refuse = |label: &'static str, detail: String| Refused {
        label,
        detail,
        client: Some(client.clone()),
    };
    let packet = match Packet::new_checked(data) {
        Ok(p) => p,
        Err(e) => return Err(refuse(e.reason(), format!("malformed RADIUS packet: {e}"))),
    };
    if !origin.port.accepts(packet.code()) {
        return Err(refuse(
            "unexpected_code",
            format!(
                "{:?} is not accepted on the {} port",
                packet.code(),
                origin.port.name()
            ),
        ));
    }
    if origin.radius_1_1() {
        // RFC 9765 §4.1: no Request Authenticator, and §5.2: a
        // Message-Authenticator is discarded, not checked. TLS
        // authenticates every octet, so neither step has anything to add;
        // the BlastRADIUS checks below guard an MD5 that is not used.
        return Ok(Admitted {
            client,
            packet,
            origin,
        });
    }
    if let Err(e) = radius_proto::verify_request(
        &packet,
        &client.secret,
        client.require_message_authenticator,
    ) {
        return Err(refuse(
            e.reason(),
            format!(
                "{e} (wrong shared secret, or a request without Message-Authenticator: BlastRADIUS protection)"
            ),
        ));
    }
    if client.limit_proxy_state
        && packet.code() != Code::AccountingRequest
        && packet.attr(dict::PROXY_STATE).is_some()
        && packet.attr(dict::MESSAGE_AUTHENTICATOR).is_none()
    {
        return Err(refuse(
            "proxy_state_without_message_authenticator",
            "Proxy-State without Message-Authenticator (limit_proxy_state: BlastRADIUS protection)"
                .to_owned(),
        ));
    }
    Ok(Admitted {
        client,
        packet,
        origin,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use radius_proto::PacketBuilder;

    pub(crate) const SECRET: &[u8] = b"a-long-test-secret";

    pub(crate) fn client(name: &str, net: &str, require_ma: bool, limit_ps: bool) -> NasClient {
        NasClient {
            name: name.into(),
            net: net.parse().unwrap(),
            secret: radius_proto::SharedSecret::new(SECRET),
            require_message_authenticator: require_ma,
            limit_proxy_state: limit_ps,
            counters: Default::default(),
        }
    }

    fn clients(require_ma: bool, limit_ps: bool) -> NasClients {
        NasClients::new(vec![client("ap", "192.0.2.0/24", require_ma, limit_ps)])
    }

    fn from(ip: &str) -> Origin {
        Origin::udp(SocketAddr::new(ip.parse().unwrap(), 40000))
    }

    /// An Access-Request with User-Name (and the given extra attributes),
    /// without Message-Authenticator: laid out by hand, since the builder
    /// always adds one.
    pub(crate) fn request_without_ma(extra: &[(u8, &[u8])]) -> Vec<u8> {
        let mut attrs = vec![(dict::USER_NAME, &b"bob"[..])];
        attrs.extend_from_slice(extra);
        let mut p = vec![1, 7, 0, 0];
        p.extend_from_slice(&[0x11; 16]);
        for (t, v) in attrs {
            p.push(t);
            p.push(v.len() as u8 + 2);
            p.extend_from_slice(v);
        }
        let len = p.len() as u16;
        p[2..4].copy_from_slice(&len.to_be_bytes());
        p
    }

    pub(crate) fn request_with_ma(code: Code, extra: &[(u8, &[u8])]) -> Vec<u8> {
        let mut b = PacketBuilder::new(code, 9);
        b.add(dict::USER_NAME, b"bob").unwrap();
        for (t, v) in extra {
            b.add(*t, v).unwrap();
        }
        b.encode_request([0x22; 16], SECRET).unwrap()
    }

    fn refused(r: Result<Admitted<'_>, Refused>) -> &'static str {
        match r {
            Ok(_) => panic!("admitted"),
            Err(e) => e.label,
        }
    }

    #[test]
    fn known_client_with_message_authenticator_is_admitted() {
        let c = clients(true, true);
        let req = request_with_ma(Code::AccessRequest, &[]);
        let a = admit(&c, from("192.0.2.7"), &req).expect("admitted");
        assert_eq!(a.client.name, "ap");
        assert_eq!(a.packet.identifier(), 9);
        let status = request_with_ma(Code::StatusServer, &[]);
        assert!(admit(&c, from("192.0.2.7"), &status).is_ok());
    }

    #[test]
    fn unknown_origin_malformed_and_wrong_secret_are_refused() {
        let c = clients(true, true);
        let req = request_with_ma(Code::AccessRequest, &[]);
        let e = admit(&c, from("198.51.100.1"), &req).err().unwrap();
        assert_eq!(e.label, "unknown_client");
        assert!(e.client.is_none());
        // Length field larger than the datagram.
        let mut bad = req.clone();
        bad[3] = bad[3].wrapping_add(1);
        assert_ne!(refused(admit(&c, from("192.0.2.7"), &bad)), "");
        // A bit flipped in User-Name breaks Message-Authenticator.
        let mut tampered = req.clone();
        let last = tampered.len() - 1;
        tampered[last] ^= 1;
        let label = refused(admit(&c, from("192.0.2.7"), &tampered));
        assert!(label.contains("message_authenticator"), "{label}");
    }

    #[test]
    fn request_without_message_authenticator_and_without_eap_is_dropped() {
        // No EAP-Message: RFC 3579 alone does not force the drop, the
        // client's require_message_authenticator does.
        let req = request_without_ma(&[(dict::USER_PASSWORD, &[0u8; 16])]);
        let label = refused(admit(&clients(true, true), from("192.0.2.7"), &req));
        assert_eq!(label, "missing_message_authenticator");
        // Positive control: the same bytes from a client that relaxes the
        // requirement are admitted.
        assert!(admit(&clients(false, true), from("192.0.2.7"), &req).is_ok());
    }

    #[test]
    fn proxy_state_without_message_authenticator_is_dropped() {
        let req = request_without_ma(&[
            (dict::USER_PASSWORD, &[0u8; 16]),
            (dict::PROXY_STATE, b"hop1"),
        ]);
        // Even where the client does not require Message-Authenticator.
        let label = refused(admit(&clients(false, true), from("192.0.2.7"), &req));
        assert_eq!(label, "proxy_state_without_message_authenticator");
        // Controls: with limit_proxy_state off it passes; with
        // Message-Authenticator it passes under the limit.
        assert!(admit(&clients(false, false), from("192.0.2.7"), &req).is_ok());
        let signed = request_with_ma(Code::AccessRequest, &[(dict::PROXY_STATE, b"hop1")]);
        assert!(admit(&clients(false, true), from("192.0.2.7"), &signed).is_ok());
    }

    #[test]
    fn radius_1_1_checks_no_authenticator_and_ignores_message_authenticator() {
        let c = Arc::new(client("proxy", "0.0.0.0/0", true, true));
        let peer: SocketAddr = "192.0.2.9:2083".parse().unwrap();
        let v11 = Origin::tls_with(peer, 1, true);
        let classic = Origin::tls(peer, 1);
        assert!(v11.radius_1_1() && !classic.radius_1_1());
        // A RADIUS/1.1 request: Token header, no Message-Authenticator.
        let mut b = PacketBuilder::new(Code::AccessRequest, 0);
        b.add(dict::USER_NAME, b"bob").unwrap();
        b.add(dict::PROXY_STATE, b"hop").unwrap();
        let req = b.encode_radius_1_1([0, 0, 0, 1]).unwrap();
        assert!(admit_from(c.clone(), v11, &req).is_ok());
        // Control: the same bytes on a classic connection are refused.
        assert_eq!(
            refused(admit_from(c.clone(), classic, &req)),
            "missing_message_authenticator"
        );
        // A Message-Authenticator that verifies nothing is ignored (RFC
        // 9765 §5.2: discarded, the packet still processed).
        let mut with_ma = request_without_ma(&[(dict::MESSAGE_AUTHENTICATOR, &[0xee; 16])]);
        with_ma[1] = 0;
        assert!(admit_from(c.clone(), v11, &with_ma).is_ok());
        // Still refused: what admission checks besides MD5.
        let mut acct = PacketBuilder::new(Code::AccountingRequest, 0);
        acct.add(dict::ACCT_STATUS_TYPE, &[0, 0, 0, 1]).unwrap();
        let acct = acct.encode_radius_1_1([0, 0, 0, 2]).unwrap();
        assert!(admit_from(c.clone(), v11, &acct).is_ok());
        let mut short = req.clone();
        short[3] += 1;
        assert_ne!(refused(admit_from(c.clone(), v11, &short)), "");
        let coa = PacketBuilder::new(Code::CoaRequest, 0)
            .encode_radius_1_1([0; 4])
            .unwrap();
        assert_eq!(refused(admit_from(c, v11, &coa)), "unexpected_code");
    }

    fn to_acct(ip: &str) -> Origin {
        Origin::udp_to(SocketAddr::new(ip.parse().unwrap(), 40000), Port::Acct)
    }

    #[test]
    fn each_code_only_on_its_port() {
        let c = clients(true, true);
        let mut b = PacketBuilder::new(Code::AccountingRequest, 3);
        b.add(dict::ACCT_STATUS_TYPE, &[0, 0, 0, 1]).unwrap();
        let acct = b.encode_request([0; 16], SECRET).unwrap();
        let access = request_with_ma(Code::AccessRequest, &[]);
        let status = request_with_ma(Code::StatusServer, &[]);
        assert_eq!(
            refused(admit(&c, from("192.0.2.7"), &acct)),
            "unexpected_code"
        );
        assert_eq!(
            refused(admit(&c, to_acct("192.0.2.7"), &access)),
            "unexpected_code"
        );
        // Positive controls: each where it belongs, Status-Server on both.
        assert!(admit(&c, to_acct("192.0.2.7"), &acct).is_ok());
        assert!(admit(&c, from("192.0.2.7"), &access).is_ok());
        assert!(admit(&c, to_acct("192.0.2.7"), &status).is_ok());
        assert!(admit(&c, from("192.0.2.7"), &status).is_ok());
    }
}
