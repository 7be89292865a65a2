//! RADIUS over TLS (RFC 6614) for the simulated AP: one TLS connection with
//! the AP's own client certificate, packets cut from the stream by
//! `radius_proto::stream` (the sans-IO framer), replies matched to their
//! request by Identifier.
//!
//! No retransmission: TLS is reliable, and a RadSec client does not resend
//! a request on the same connection (RFC 6614 §2.5 leaves retransmission to
//! a new connection); a request unanswered within the time limit fails.
//! The AP's secret over RadSec is "radsec" (RFC 6614 §2.3).
//!
//! With `radius_1_1` the AP offers only the ALPN protocol "radius/1.1"
//! over TLS 1.3 (RFC 9765 §3.4) and closes the connection when the
//! server does not select it (RFC 9765 §3.3, a client that requires
//! RADIUS/1.1); replies are then matched by Token, not Identifier.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use radius_proto::stream::StreamFramer;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use crate::radius_client::TransportError;
use crate::station::{StationTls, TlsChoice, client_config};

/// The shared secret of RADIUS over TLS (RFC 6614 §2.3).
pub const RADSEC_SECRET: &[u8] = b"radsec";

/// Where and with which certificate the AP connects.
#[derive(Debug, Clone)]
pub struct RadsecOptions {
    pub server: SocketAddr,
    /// The AP's client certificate and key (PEM).
    pub cert: PathBuf,
    pub key: PathBuf,
    /// CA that issued the server's certificate.
    pub ca: PathBuf,
    /// Check the server certificate for this name (also sent as SNI);
    /// `None`: the chain only, SNI "localhost".
    pub server_name: Option<String>,
    /// Speak RADIUS/1.1 (RFC 9765): ALPN "radius/1.1", TLS 1.3.
    pub radius_1_1: bool,
}

/// An open RadSec connection.
pub struct RadsecLink {
    tls: TlsStream<TcpStream>,
    framer: StreamFramer,
    buf: Vec<u8>,
    server: SocketAddr,
    radius_1_1: bool,
    /// The next RADIUS/1.1 Token: a 32-bit counter of this connection,
    /// started at a random value (RFC 9765 §4.2.1).
    next_token: u32,
}

impl RadsecLink {
    /// Connects and finishes the TLS handshake.
    pub async fn connect(opts: &RadsecOptions) -> Result<RadsecLink, String> {
        let config = client_config(&StationTls {
            cert: &opts.cert,
            key: &opts.key,
            ca: &opts.ca,
            // RFC 9765 §3.4: RADIUS/1.1 only over TLS 1.3.
            version: opts.radius_1_1.then_some(TlsChoice::Tls13),
            server_name: opts.server_name.as_deref(),
            resumption: false,
            verify_signature: true,
        })
        .map_err(|e| format!("RadSec TLS client: {e}"))?;
        let config = if opts.radius_1_1 {
            let mut c = std::sync::Arc::unwrap_or_clone(config);
            c.alpn_protocols = vec![radius_proto::v11::ALPN_RADIUS_1_1.to_vec()];
            std::sync::Arc::new(c)
        } else {
            config
        };
        let name = ServerName::try_from(
            opts.server_name
                .clone()
                .unwrap_or_else(|| "localhost".to_owned()),
        )
        .map_err(|e| format!("RadSec server name: {e}"))?;
        let tcp = TcpStream::connect(opts.server)
            .await
            .map_err(|e| format!("RadSec connect {}: {e}", opts.server))?;
        let _ = tcp.set_nodelay(true);
        let tls = TlsConnector::from(config)
            .connect(name, tcp)
            .await
            .map_err(|e| format!("RadSec TLS handshake with {}: {e}", opts.server))?;
        let alpn = tls.get_ref().1.alpn_protocol();
        if opts.radius_1_1 && alpn != Some(radius_proto::v11::ALPN_RADIUS_1_1) {
            return Err(format!(
                "RadSec server {} did not select ALPN radius/1.1 (RFC 9765 §3.3: a client that requires RADIUS/1.1 closes the connection)",
                opts.server
            ));
        }
        Ok(RadsecLink {
            tls,
            framer: StreamFramer::new(),
            buf: vec![0u8; 4096],
            server: opts.server,
            radius_1_1: opts.radius_1_1,
            next_token: rand::random(),
        })
    }

    /// On RADIUS/1.1, the Token of the next request: RFC 9765 §4.2.1,
    /// "the Token values MUST be generated from a 32-bit counter which is
    /// unique to each connection", incremented for every new packet (so
    /// stations sharing the connection never share a Token). `None` on
    /// classic RadSec.
    pub fn next_token(&mut self) -> Option<[u8; 4]> {
        if !self.radius_1_1 {
            return None;
        }
        let t = self.next_token;
        self.next_token = t.wrapping_add(1);
        Some(t.to_be_bytes())
    }

    /// Whether the connection speaks RADIUS/1.1.
    pub fn radius_1_1(&self) -> bool {
        self.radius_1_1
    }

    /// Sends `request` and returns the packet answering `identifier`
    /// (others are skipped), within `limit`. On RADIUS/1.1 the answer is
    /// the packet with the request's Token (RFC 9765 §4.1).
    pub async fn exchange(
        &mut self,
        request: &[u8],
        identifier: u8,
        limit: Duration,
    ) -> Result<Vec<u8>, TransportError> {
        let token = radius_proto::v11::token_of(request).filter(|_| self.radius_1_1);
        self.tls.write_all(request).await?;
        self.tls.flush().await?;
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let n = match tokio::time::timeout_at(deadline, self.tls.read(&mut self.buf)).await {
                Err(_) => {
                    return Err(TransportError::Timeout {
                        server: self.server,
                        attempts: 1,
                    });
                }
                Ok(r) => r?,
            };
            if n == 0 {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "RadSec connection closed by the server",
                )
                .into());
            }
            let mut input = &self.buf[..n];
            let mut found = None;
            while let Some(p) = self
                .framer
                .next_packet(&mut input)
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()))?
            {
                let ours = match token {
                    Some(t) => radius_proto::v11::token_of(&p) == Some(t),
                    None => p[1] == identifier,
                };
                if ours && found.is_none() {
                    found = Some(p);
                }
            }
            if let Some(p) = found {
                return Ok(p);
            }
        }
    }
}
