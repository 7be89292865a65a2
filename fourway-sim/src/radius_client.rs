//! RADIUS transport of the simulated AP: one UDP socket, a request in flight,
//! retransmission of the same bytes on timeout (RFC 5080 §2.2.1: a
//! retransmission keeps Identifier and Request Authenticator so the server
//! can recognise it).

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use tokio::net::UdpSocket;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    #[error("socket: {0}")]
    Io(#[from] std::io::Error),
    #[error("no answer from {server} after {attempts} attempts")]
    Timeout { server: SocketAddr, attempts: u32 },
}

/// Retransmission policy.
#[derive(Debug, Clone, Copy)]
pub struct Retransmit {
    pub timeout: Duration,
    pub attempts: u32,
}

impl Default for Retransmit {
    fn default() -> Self {
        Retransmit {
            timeout: Duration::from_secs(2),
            attempts: 3,
        }
    }
}

pub struct Transport {
    sock: UdpSocket,
    /// With RadSec, requests go over this TLS connection instead.
    radsec: Option<crate::radsec_client::RadsecLink>,
    server: SocketAddr,
    policy: Retransmit,
    buf: Vec<u8>,
    pub retransmits: u64,
}

impl Transport {
    pub async fn connect(server: SocketAddr, policy: Retransmit) -> std::io::Result<Self> {
        Self::connect_from(server, None, policy).await
    }

    /// As [`Transport::connect`], sending from `source` (for example one of
    /// several loopback addresses, each a different NAS to the server).
    pub async fn connect_from(
        server: SocketAddr,
        source: Option<IpAddr>,
        policy: Retransmit,
    ) -> std::io::Result<Self> {
        let local: SocketAddr = match source {
            Some(ip) => (ip, 0).into(),
            None if server.is_ipv4() => ([0, 0, 0, 0], 0).into(),
            None => (std::net::Ipv6Addr::UNSPECIFIED, 0).into(),
        };
        let sock = UdpSocket::bind(local).await?;
        sock.connect(server).await?;
        Ok(Transport {
            sock,
            radsec: None,
            server,
            policy,
            buf: vec![0u8; 4096],
            retransmits: 0,
        })
    }

    /// A transport that sends over the RadSec connection `link` (no
    /// retransmission: each request waits `timeout` x `attempts`).
    pub async fn radsec(
        link: crate::radsec_client::RadsecLink,
        server: SocketAddr,
        policy: Retransmit,
    ) -> std::io::Result<Self> {
        let mut t = Self::connect(server, policy).await?;
        t.radsec = Some(link);
        Ok(t)
    }

    /// Whether requests go over a RADIUS/1.1 connection (RFC 9765).
    pub fn radius_1_1(&self) -> bool {
        self.radsec
            .as_ref()
            .is_some_and(crate::radsec_client::RadsecLink::radius_1_1)
    }

    /// On a RADIUS/1.1 connection, the Token the next request must carry
    /// ([`crate::radsec_client::RadsecLink::next_token`]).
    pub fn next_token(&mut self) -> Option<[u8; 4]> {
        self.radsec
            .as_mut()
            .and_then(crate::radsec_client::RadsecLink::next_token)
    }

    /// Send `request` and return the first datagram for which `accept`
    /// returns true (others, such as late answers to an earlier request, are
    /// skipped), retransmitting on timeout.
    pub async fn exchange(
        &mut self,
        request: &[u8],
        identifier: u8,
    ) -> Result<Vec<u8>, TransportError> {
        if let Some(link) = &mut self.radsec {
            let limit = self.policy.timeout * self.policy.attempts.max(1);
            return link.exchange(request, identifier, limit).await;
        }
        for attempt in 0..self.policy.attempts.max(1) {
            if attempt > 0 {
                self.retransmits += 1;
            }
            self.sock.send(request).await?;
            let deadline = tokio::time::Instant::now() + self.policy.timeout;
            loop {
                match tokio::time::timeout_at(deadline, self.sock.recv(&mut self.buf)).await {
                    Err(_) => break,
                    Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                        // ICMP port unreachable: wait for the timeout like a
                        // real NAS would, then retry.
                        tokio::time::sleep_until(deadline).await;
                        break;
                    }
                    Ok(Err(e)) => return Err(e.into()),
                    Ok(Ok(n)) => {
                        let reply = &self.buf[..n];
                        if reply.len() >= 2 && reply[1] == identifier {
                            return Ok(reply.to_vec());
                        }
                    }
                }
            }
        }
        Err(TransportError::Timeout {
            server: self.server,
            attempts: self.policy.attempts.max(1),
        })
    }
}
