//! A raw RadSec client for the RadSec tests: rustls over a blocking
//! `TcpStream`, with the NAS certificate, and the framing helpers the tests
//! read and build packets with.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use authd::config::{ClientConfig, Secret};
use radius_proto::Code;
use rustls::pki_types::ServerName;
use rustls::{ClientConnection, RootCertStore, StreamOwned, SupportedProtocolVersion};

pub type Tls = StreamOwned<ClientConnection, TcpStream>;

/// A `[[client]]` identified by its certificate's name, connecting from
/// `address`; its secret is the fixed "radsec" (RFC 6614 section 2.3).
pub fn radsec_client(name: &str, address: &str, certificate_name: &str) -> ClientConfig {
    ClientConfig {
        name: name.into(),
        address: address.parse().unwrap(),
        secret: Secret::new("radsec").unwrap(),
        require_message_authenticator: true,
        limit_proxy_state: true,
        certificate_name: Some(certificate_name.into()),
        das_port: authd::das::default_das_port(),
    }
}

/// A TCP port free on loopback right now (bound and released).
pub fn free_tcp_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A TLS connection to 127.0.0.1:`port` trusting `ca`, authenticated with
/// `cert`/`key`, offering `alpn` over `versions` (None: rustls's safe
/// defaults), handshake completed; the handshake's error as text when it
/// fails. Reads time out after 10 s.
pub fn connect_tls(
    ca: &Path,
    (cert, key): (&Path, &Path),
    port: u16,
    versions: Option<&[&'static SupportedProtocolVersion]>,
    alpn: &[&[u8]],
) -> Result<Tls, String> {
    let mut roots = RootCertStore::empty();
    for c in authd::tls::load_certificates(ca).unwrap() {
        roots.add(c).unwrap();
    }
    let builder = rustls::ClientConfig::builder_with_provider(authd::tls::crypto_provider());
    let builder = match versions {
        Some(v) => builder.with_protocol_versions(v),
        None => builder.with_safe_default_protocol_versions(),
    }
    .unwrap();
    let mut config = builder
        .with_root_certificates(roots)
        .with_client_auth_cert(
            authd::tls::load_certificates(cert).unwrap(),
            authd::tls::load_private_key(key).unwrap(),
        )
        .unwrap();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    let conn = ClientConnection::new(Arc::new(config), ServerName::try_from("localhost").unwrap())
        .unwrap();
    let tcp = TcpStream::connect(("127.0.0.1", port)).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut tls = StreamOwned::new(conn, tcp);
    tls.flush().map_err(|e| e.to_string())?;
    while tls.conn.is_handshaking() {
        tls.conn
            .complete_io(&mut tls.sock)
            .map_err(|e| e.to_string())?;
    }
    Ok(tls)
}

/// One RADIUS packet from the stream, or `None` once it closed or stayed
/// silent past the read timeout.
pub fn read_packet(tls: &mut Tls) -> Option<Vec<u8>> {
    let mut head = [0u8; 4];
    tls.read_exact(&mut head).ok()?;
    let len = usize::from(u16::from_be_bytes([head[2], head[3]]));
    let mut p = head.to_vec();
    p.resize(len, 0);
    tls.read_exact(&mut p[4..]).ok()?;
    Some(p)
}

/// A RADIUS/1.1 request laid out by hand (RFC 9765 §4): Reserved-1 zero,
/// the Token, twelve zero octets, then `attrs`.
pub fn v11_request(code: Code, token: [u8; 4], attrs: &[(u8, &[u8])]) -> Vec<u8> {
    let mut p = vec![u8::from(code), 0, 0, 0];
    p.extend_from_slice(&token);
    p.extend_from_slice(&[0; 12]);
    for (t, v) in attrs {
        p.push(*t);
        p.push(v.len() as u8 + 2);
        p.extend_from_slice(v);
    }
    let len = p.len() as u16;
    p[2..4].copy_from_slice(&len.to_be_bytes());
    p
}
