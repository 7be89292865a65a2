//! The TLS tunnel of PEAP and EAP-TTLS, server side: what hostapd's
//! eap_server_tls_common does for them. The outer framing, fragmentation,
//! reassembly, rustls over buffers and key export come from
//! [`crate::tls_common`], shared with EAP-TLS; this layer runs the
//! handshake without a client certificate (PEAP and TTLS authenticate the
//! user inside the tunnel) and then carries the inner method's messages as
//! TLS application data.
//!
//! The Flags octet of PEAP and TTLS keeps EAP-TLS's L, M and S bits; its
//! low three bits carry the version (PEAPv0, TTLSv0: both zero, which is
//! what [`crate::tls_common::Fragmenter`] emits). A peer that answers with
//! another version is refused (it would expect another framing).

use std::sync::Arc;

use rustls::ProtocolVersion;
use zeroize::Zeroizing;

use crate::reason::Reason;
use crate::tls_common::{Channel, ExportedKeys, Inbound, KeyScheme, TlsEngine, TlsPacket, TlsRepr};

/// Version bits of the Flags octet (PEAP, TTLS: the low three).
const VERSION_MASK: u8 = 0x07;

/// What the tunnel asks the method to do with one peer message.
pub(crate) enum TunnelStep {
    /// Send an EAP-Request of the method with this Type-Data (a fragment,
    /// an ACK, a handshake flight).
    Send(Vec<u8>),
    /// The handshake just completed. Holds the application data that came
    /// with the peer's last handshake message (often empty). What the TLS
    /// stack still has to send (TLS 1.2: ChangeCipherSpec and Finished;
    /// TLS 1.3: NewSessionTicket) leaves with the method's next
    /// [`TunnelServer::send_data`] or [`TunnelServer::flush`].
    Established(Zeroizing<Vec<u8>>),
    /// Application data from the peer after the handshake (may be empty:
    /// a record that carried none).
    Data(Zeroizing<Vec<u8>>),
    /// The peer acknowledged our last message and sent nothing.
    PeerAck,
    /// End with EAP-Failure.
    Fail(Reason),
}

/// Server side of the tunnel.
pub(crate) struct TunnelServer {
    engine: TlsEngine,
    channel: Channel,
    scheme: KeyScheme,
    established: bool,
    /// A TLS alert went out; the peer's next message ends the session.
    alert_sent: Option<Reason>,
}

impl TunnelServer {
    /// Starts the method: the tunnel and the Start Type-Data (S flag,
    /// version 0).
    pub(crate) fn start(
        tls: Arc<rustls::ServerConfig>,
        scheme: KeyScheme,
        fragment_size: usize,
        max_tls_message_len: usize,
    ) -> Result<(TunnelServer, Vec<u8>), Reason> {
        let conn = rustls::ServerConnection::new(tls).map_err(Reason::Tls)?;
        let tunnel = TunnelServer {
            engine: TlsEngine::new(conn.into()),
            channel: Channel::new(fragment_size, max_tls_message_len),
            scheme,
            established: false,
            alert_sent: None,
        };
        let start = TlsRepr {
            start: true,
            ..TlsRepr::default()
        };
        Ok((tunnel, start.to_vec()))
    }

    fn send_flight(&mut self, flight: Vec<u8>) -> TunnelStep {
        match self.channel.send(flight) {
            Ok(first) => TunnelStep::Send(first),
            Err(reason) => TunnelStep::Fail(reason),
        }
    }

    /// Processes the Type-Data of one EAP-Response of the method.
    pub(crate) fn process(&mut self, type_data: &[u8]) -> TunnelStep {
        let Ok(p) = TlsPacket::new_checked(type_data) else {
            return TunnelStep::Fail(Reason::FragmentProtocol("response without flags"));
        };
        if p.flags() & VERSION_MASK != 0 {
            return TunnelStep::Fail(Reason::InnerProtocol(
                "peer answered with a version other than 0",
            ));
        }
        let was_sending = self.channel.sending();
        let inbound = self.channel.receive(&p);
        if !was_sending && let Some(reason) = self.alert_sent.take() {
            return TunnelStep::Fail(reason);
        }
        let message = match inbound {
            Inbound::Reply(td) => return TunnelStep::Send(td),
            Inbound::Fail(reason) => return TunnelStep::Fail(reason),
            Inbound::Ack => return TunnelStep::PeerAck,
            Inbound::Message(message) => message,
        };
        if let Err(e) = self.engine.feed(&message) {
            let reason = Reason::from_tls(e);
            let alert = self.engine.drain();
            if alert.is_empty() || matches!(reason, Reason::PeerAlert(_)) {
                return TunnelStep::Fail(reason);
            }
            self.alert_sent = Some(reason);
            return self.send_flight(alert);
        }
        let data = Zeroizing::new(self.engine.read_plaintext());
        if self.established {
            return TunnelStep::Data(data);
        }
        if self.engine.is_handshaking() {
            if !data.is_empty() {
                return TunnelStep::Fail(Reason::UnexpectedApplicationData);
            }
            let flight = self.engine.drain();
            if flight.is_empty() {
                return TunnelStep::Fail(Reason::HandshakeIncomplete);
            }
            return self.send_flight(flight);
        }
        self.established = true;
        TunnelStep::Established(data)
    }

    /// Seals `data` as application data behind whatever the TLS stack has
    /// pending, and returns the first fragment to send.
    pub(crate) fn send_data(&mut self, data: &[u8]) -> TunnelStep {
        if let Err(e) = self.engine.write_plaintext(data) {
            return TunnelStep::Fail(Reason::Tls(e));
        }
        let flight = self.engine.drain();
        self.send_flight(flight)
    }

    /// Sends what the TLS stack has pending; with nothing pending, an
    /// empty request (flags only), which asks the peer to go on.
    pub(crate) fn flush(&mut self) -> TunnelStep {
        let flight = self.engine.drain();
        if flight.is_empty() {
            return TunnelStep::Send(TlsRepr::ack().to_vec());
        }
        self.send_flight(flight)
    }

    /// MSK, EMSK and Session-Id of the method (RFC 9427 §2.1 for TLS 1.3).
    pub(crate) fn export(&self) -> Result<ExportedKeys, Reason> {
        self.engine.export_for(self.scheme)
    }

    /// `len` octets of the exporter with `label` and no context.
    pub(crate) fn export_raw(
        &self,
        label: &[u8],
        len: usize,
    ) -> Result<Zeroizing<Vec<u8>>, Reason> {
        self.engine.export_raw(label, len)
    }

    /// Negotiated TLS version.
    pub(crate) fn tls_version(&self) -> Option<ProtocolVersion> {
        self.engine.protocol_version()
    }

    /// The handshake resumed an earlier session.
    pub(crate) fn resumed(&self) -> bool {
        self.engine.resumed()
    }
}

/// What PEAP and TTLS ask the session to do next.
pub(crate) enum MethodStep {
    /// Send an EAP-Request of the method with this Type-Data.
    Send(Vec<u8>),
    /// The inner method needs the user's credential.
    NeedCredential(crate::server::CredentialQuery),
    /// The inner method verified the user: the caller decides before
    /// anything that says success leaves.
    Decide {
        /// The inner identity, as the peer sent it.
        identity: String,
        /// Which inner method verified it.
        inner: crate::server::InnerMethod,
    },
    /// The method succeeded: EAP-Success follows, with these keys.
    Done(Box<TunnelResult>),
    /// End with EAP-Failure.
    Fail(Reason),
}

/// A PEAP or TTLS authentication that succeeded.
pub(crate) struct TunnelResult {
    pub identity: String,
    pub inner: crate::server::InnerMethod,
    pub tls_version: Option<ProtocolVersion>,
    pub resumed: bool,
    pub keys: ExportedKeys,
}

impl TunnelServer {
    /// The method's result once the inner method succeeded: keys from the
    /// tunnel (RFC 9427 §2.1; the inner method's own keys never reach the
    /// MSK without cryptobinding).
    pub(crate) fn done(&self, identity: String, inner: crate::server::InnerMethod) -> MethodStep {
        match self.export() {
            Ok(keys) => MethodStep::Done(Box::new(TunnelResult {
                identity,
                inner,
                tls_version: self.tls_version(),
                resumed: self.resumed(),
                keys,
            })),
            Err(reason) => MethodStep::Fail(reason),
        }
    }
}

/// Draws `N` random octets from the crypto provider of a rustls
/// configuration (the core has no randomness of its own).
pub(crate) fn random<const N: usize>(tls: &rustls::ServerConfig) -> Result<[u8; N], Reason> {
    let mut out = [0u8; N];
    tls.crypto_provider()
        .secure_random
        .fill(&mut out)
        .map_err(|_| Reason::Tls(rustls::Error::FailedToGetRandomBytes))?;
    Ok(out)
}

/// What the peer side of the tunnel reports for one server message.
pub(crate) enum PeerTunnelStep {
    /// Send an EAP-Response of the method with this Type-Data.
    Send(Vec<u8>),
    /// The handshake is complete (now or earlier) and the message carried
    /// this application data (may be empty). What TLS has to send (the
    /// client's Finished) leaves with the method's next
    /// [`TunnelPeer::send_data`] or [`TunnelPeer::flush`].
    Data(Zeroizing<Vec<u8>>),
    /// Give up.
    Fail(Reason),
}

/// Peer side of the tunnel (PEAP, TTLS): no client certificate.
pub(crate) struct TunnelPeer {
    engine: TlsEngine,
    channel: Channel,
    scheme: KeyScheme,
    established: bool,
    failed: Option<Reason>,
}

impl TunnelPeer {
    /// Answers the method's Start with the ClientHello (first fragment).
    pub(crate) fn start(
        tls: Arc<rustls::ClientConfig>,
        server_name: rustls_pki_types::ServerName<'static>,
        scheme: KeyScheme,
        fragment_size: usize,
        max_tls_message_len: usize,
    ) -> Result<(TunnelPeer, Vec<u8>), Reason> {
        let conn = rustls::ClientConnection::new(tls, server_name).map_err(Reason::Tls)?;
        let mut peer = TunnelPeer {
            engine: TlsEngine::new(conn.into()),
            channel: Channel::new(fragment_size, max_tls_message_len),
            scheme,
            established: false,
            failed: None,
        };
        let hello = peer.engine.drain();
        match peer.send_flight(hello) {
            PeerTunnelStep::Send(first) => Ok((peer, first)),
            PeerTunnelStep::Fail(reason) => Err(reason),
            PeerTunnelStep::Data(_) => Err(Reason::HandshakeIncomplete),
        }
    }

    fn send_flight(&mut self, flight: Vec<u8>) -> PeerTunnelStep {
        if flight.is_empty() {
            return PeerTunnelStep::Send(TlsRepr::ack().to_vec());
        }
        match self.channel.send(flight) {
            Ok(first) => PeerTunnelStep::Send(first),
            Err(reason) => PeerTunnelStep::Fail(reason),
        }
    }

    /// Processes the Type-Data of an EAP-Request of the method (not Start).
    pub(crate) fn process(&mut self, type_data: &[u8]) -> PeerTunnelStep {
        let Ok(p) = TlsPacket::new_checked(type_data) else {
            return PeerTunnelStep::Fail(Reason::FragmentProtocol("request without flags"));
        };
        let was_sending = self.channel.sending();
        let inbound = self.channel.receive(&p);
        if !was_sending && let Some(reason) = &self.failed {
            return PeerTunnelStep::Fail(reason.clone());
        }
        let message = match inbound {
            Inbound::Reply(td) => return PeerTunnelStep::Send(td),
            Inbound::Fail(reason) => return PeerTunnelStep::Fail(reason),
            // An empty request after the handshake asks us to go on.
            Inbound::Ack if self.established => {
                return PeerTunnelStep::Data(Zeroizing::new(Vec::new()));
            }
            Inbound::Ack => {
                return PeerTunnelStep::Fail(Reason::FragmentProtocol("unexpected empty request"));
            }
            Inbound::Message(message) => message,
        };
        if let Err(e) = self.engine.feed(&message) {
            self.failed = Some(Reason::from_tls(e));
            let alert = self.engine.drain();
            return self.send_flight(alert);
        }
        let data = Zeroizing::new(self.engine.read_plaintext());
        if self.engine.is_handshaking() {
            if !data.is_empty() {
                return PeerTunnelStep::Fail(Reason::UnexpectedApplicationData);
            }
            let flight = self.engine.drain();
            if flight.is_empty() {
                self.failed = Some(Reason::HandshakeIncomplete);
            }
            return self.send_flight(flight);
        }
        self.established = true;
        PeerTunnelStep::Data(data)
    }

    /// Seals `data` behind what TLS has pending and returns the first
    /// fragment to send.
    pub(crate) fn send_data(&mut self, data: &[u8]) -> PeerTunnelStep {
        if let Err(e) = self.engine.write_plaintext(data) {
            return PeerTunnelStep::Fail(Reason::Tls(e));
        }
        let flight = self.engine.drain();
        self.send_flight(flight)
    }

    /// Sends what TLS has pending, or an ACK.
    pub(crate) fn flush(&mut self) -> PeerTunnelStep {
        let flight = self.engine.drain();
        self.send_flight(flight)
    }

    /// Whether the handshake completed without failure and nothing is
    /// left to send.
    pub(crate) fn complete(&self) -> bool {
        self.established && self.failed.is_none() && !self.channel.sending()
    }

    /// Keys of the method.
    pub(crate) fn export(&self) -> Result<ExportedKeys, Reason> {
        self.engine.export_for(self.scheme)
    }

    /// Exporter output without context.
    pub(crate) fn export_raw(
        &self,
        label: &[u8],
        len: usize,
    ) -> Result<Zeroizing<Vec<u8>>, Reason> {
        self.engine.export_raw(label, len)
    }

    pub(crate) fn tls_version(&self) -> Option<ProtocolVersion> {
        self.engine.protocol_version()
    }

    pub(crate) fn resumed(&self) -> bool {
        self.engine.resumed()
    }
}

/// Keys and facts of a PEAP or TTLS success, peer side.
pub(crate) struct PeerResult {
    pub keys: ExportedKeys,
    pub tls_version: Option<ProtocolVersion>,
    pub resumed: bool,
}

impl PeerResult {
    pub(crate) fn of(tunnel: &TunnelPeer) -> Result<PeerResult, Reason> {
        Ok(PeerResult {
            keys: tunnel.export()?,
            tls_version: tunnel.tls_version(),
            resumed: tunnel.resumed(),
        })
    }
}
