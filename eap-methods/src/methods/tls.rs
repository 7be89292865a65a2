//! EAP-TLS, server and peer halves (RFC 5216 for TLS 1.2, RFC 9190 for
//! TLS 1.3). The EAP Identifier handling lives in `server.rs` / `peer.rs`;
//! this file consumes and produces EAP-TLS Type-Data only.

use std::sync::Arc;

use rustls::ProtocolVersion;
use rustls_pki_types::{CertificateDer, ServerName};

use crate::keys::{Emsk, Msk};
use crate::reason::Reason;
use crate::tls_common::{Channel, Fragmenter, Inbound, TlsEngine, TlsPacket, TlsRepr};

/// The result of a completed EAP-TLS handshake.
pub(crate) struct TlsResult {
    pub tls_version: Option<ProtocolVersion>,
    pub peer_certificates: Vec<CertificateDer<'static>>,
    pub msk: Msk,
    pub emsk: Emsk,
    pub session_id: Vec<u8>,
    pub resumed: bool,
}

fn result_of(engine: &TlsEngine) -> Result<TlsResult, Reason> {
    let keys = engine.export()?;
    Ok(TlsResult {
        tls_version: engine.protocol_version(),
        peer_certificates: engine.peer_certificates(),
        msk: keys.msk,
        emsk: keys.emsk,
        session_id: keys.session_id,
        resumed: engine.resumed(),
    })
}

/// The TLS 1.3 commitment message: one octet of application data 0x00
/// (RFC 9190 §2.5).
const COMMITMENT_MESSAGE: [u8; 1] = [0x00];

/// What the server half asks the session to do next.
pub(crate) enum ServerStep {
    /// Send an EAP-Request/EAP-TLS with this Type-Data.
    Send(Vec<u8>),
    /// The peer is authenticated (or, resuming, named by its session):
    /// nothing that says success has been sent. The session asks its
    /// caller, then calls [`TlsServer::allow`] or [`TlsServer::deny`].
    Decide(Box<PeerEvidence>),
    /// The caller refused the peer earlier and the handshake is now
    /// complete: end it with the access_denied alert
    /// ([`TlsServer::into_denied`]).
    Refuse,
    /// The handshake completed and the last flight was acknowledged.
    Done(Box<TlsResult>),
    /// End with EAP-Failure.
    Fail(Reason),
}

/// What the caller decides on: the peer's certificate chain and whether
/// the TLS session was resumed.
pub(crate) struct PeerEvidence {
    pub tls_version: Option<ProtocolVersion>,
    pub peer_certificates: Vec<CertificateDer<'static>>,
    pub resumed: bool,
}

/// Where the server half waits for the caller's decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pending {
    /// No decision asked for yet.
    None,
    /// TLS 1.3 resumption with the commitment in the server's first
    /// flight (RFC 9190 figure 3): the flight waits for the decision.
    EarlyFlight,
    /// The handshake completed; the final flight (TLS 1.2 full:
    /// ChangeCipherSpec and Finished; TLS 1.3: the commitment) or, for a
    /// TLS 1.2 resumption, EAP-Success waits for the decision.
    Final,
}

/// Server half of EAP-TLS.
pub(crate) struct TlsServer {
    engine: TlsEngine,
    channel: Channel,
    /// The handshake completed and its final flight is queued or sent.
    final_flight: bool,
    /// A TLS alert went out; the next Response ends the session
    /// (RFC 5216 §2.1.3).
    alert_sent: Option<Reason>,
    /// TLS 1.3 resumption: the commitment message went out with the
    /// server's Finished (RFC 9190 §2.1.2, figure 3).
    early_commitment: bool,
    /// The rustls configuration sends application data before the
    /// handshake completes when no client certificate is asked for.
    half_rtt_data: bool,
    /// The rustls configuration lets the access_denied alert be sealed
    /// with the connection's keys (see `TlsEngine::into_access_denied`).
    secret_extraction: bool,
    /// A decision asked for and not yet given.
    pending: Pending,
    /// The caller refused the peer during the early TLS 1.3 flight: the
    /// alert follows as soon as the handshake completes.
    denied_early: bool,
}

impl TlsServer {
    /// Starts EAP-TLS: returns the method and the EAP-TLS Start Type-Data
    /// (S flag, no data; RFC 5216 §2.1.1).
    pub(crate) fn start(
        tls: Arc<rustls::ServerConfig>,
        fragment_size: usize,
        max_tls_message_len: usize,
    ) -> Result<(TlsServer, Vec<u8>), Reason> {
        let half_rtt_data = tls.send_half_rtt_data;
        let secret_extraction = tls.enable_secret_extraction;
        let conn = rustls::ServerConnection::new(tls).map_err(Reason::Tls)?;
        let server = TlsServer {
            engine: TlsEngine::new(conn.into()),
            channel: Channel::new(fragment_size, max_tls_message_len),
            final_flight: false,
            alert_sent: None,
            early_commitment: false,
            half_rtt_data,
            secret_extraction,
            pending: Pending::None,
            denied_early: false,
        };
        let start = TlsRepr {
            start: true,
            ..TlsRepr::default()
        };
        Ok((server, start.to_vec()))
    }

    fn send_flight(&mut self, flight: Vec<u8>) -> ServerStep {
        match self.channel.send(flight) {
            Ok(first) => ServerStep::Send(first),
            Err(reason) => ServerStep::Fail(reason),
        }
    }

    /// Processes the Type-Data of an EAP-Response/EAP-TLS.
    pub(crate) fn process(&mut self, type_data: &[u8]) -> ServerStep {
        let Ok(p) = TlsPacket::new_checked(type_data) else {
            return ServerStep::Fail(Reason::FragmentProtocol("EAP-TLS response without flags"));
        };
        let was_sending = self.channel.sending();
        let inbound = self.channel.receive(&p);
        if was_sending {
            return match inbound {
                Inbound::Reply(fragment) => ServerStep::Send(fragment),
                Inbound::Fail(reason) => ServerStep::Fail(reason),
                _ => ServerStep::Fail(Reason::HandshakeIncomplete),
            };
        }
        if let Some(reason) = self.alert_sent.take() {
            return ServerStep::Fail(reason);
        }
        match inbound {
            Inbound::Reply(ack) => ServerStep::Send(ack),
            Inbound::Fail(reason) => ServerStep::Fail(reason),
            Inbound::Ack if self.final_flight => {
                // TLS 1.2: ACK of ChangeCipherSpec/Finished; TLS 1.3: ACK of
                // the commitment message (RFC 9190 §2.1.1).
                match result_of(&self.engine) {
                    Ok(r) => ServerStep::Done(Box::new(r)),
                    Err(reason) => ServerStep::Fail(reason),
                }
            }
            // The peer acknowledged our flight without continuing the
            // handshake: it could not make sense of it.
            Inbound::Ack => ServerStep::Fail(Reason::HandshakeIncomplete),
            Inbound::Message(message) => self.on_message(&message),
        }
    }

    fn on_message(&mut self, message: &[u8]) -> ServerStep {
        if let Err(e) = self.engine.feed(message) {
            let reason = Reason::from_tls(e);
            let alert = self.engine.drain();
            if alert.is_empty() || matches!(reason, Reason::PeerAlert(_)) {
                return ServerStep::Fail(reason);
            }
            // RFC 5216 §2.1.3: send the alert, fail on the peer's answer.
            self.alert_sent = Some(reason);
            return self.send_flight(alert);
        }
        if self.final_flight {
            // Data after our final flight (e.g. a late alert was handled
            // above); anything else is a protocol error.
            return ServerStep::Fail(Reason::FragmentProtocol(
                "TLS data after the handshake completed",
            ));
        }
        let tls13 = self.engine.protocol_version() == Some(ProtocolVersion::TLSv1_3);
        if self.engine.is_handshaking() {
            // TLS 1.3 resumption authenticates no client certificate, so the
            // commitment message can follow the server's Finished in the same
            // flight (RFC 9190 §2.1.2, figure 3): the peer's Finished is then
            // the last message and success follows it. Only if the rustls
            // configuration allows half-RTT data (`send_half_rtt_data`);
            // otherwise the commitment follows the peer's Finished, which
            // costs one more round trip. The commitment is a success
            // indication (RFC 9190 §2.5), so the caller decides first.
            if tls13
                && self.half_rtt_data
                && self.engine.resumed()
                && !self.early_commitment
                && !self.denied_early
                && self.pending == Pending::None
            {
                self.pending = Pending::EarlyFlight;
                return ServerStep::Decide(Box::new(self.evidence()));
            }
            let flight = self.engine.drain();
            if flight.is_empty() {
                return ServerStep::Fail(Reason::HandshakeIncomplete);
            }
            return self.send_flight(flight);
        }
        // Handshake complete. EAP-TLS requires a client certificate
        // (RFC 5216 §2.1.1, RFC 9190 §2.1.1).
        if self.engine.peer_certificates().is_empty() {
            return ServerStep::Fail(Reason::NoPeerCertificate);
        }
        if self.denied_early {
            return ServerStep::Refuse;
        }
        if self.early_commitment {
            // Resumed TLS 1.3 and the commitment already sent: the peer's
            // Finished ends the handshake. What rustls would send now is only
            // a NewSessionTicket, which would cost another round trip: it is
            // not sent, so a TLS 1.3 ticket resumes once (single use, as RFC
            // 8446 appendix C.4 recommends to clients) and the next
            // authentication is a full one that issues a fresh ticket.
            let _ = self.engine.drain();
            return match result_of(&self.engine) {
                Ok(r) => ServerStep::Done(Box::new(r)),
                Err(reason) => ServerStep::Fail(reason),
            };
        }
        // Nothing of the final flight has left: the caller decides before
        // any success indication (RFC 9190 §2.5; RFC 5216 §2.1.3 for the
        // alert that replaces the TLS 1.2 server Finished).
        self.pending = Pending::Final;
        ServerStep::Decide(Box::new(self.evidence()))
    }

    fn evidence(&self) -> PeerEvidence {
        PeerEvidence {
            tls_version: self.engine.protocol_version(),
            peer_certificates: self.engine.peer_certificates(),
            resumed: self.engine.resumed(),
        }
    }

    /// Whether the pending decision is the one before the early TLS 1.3
    /// flight (a refusal there cannot be an alert yet).
    pub(crate) fn decision_is_early(&self) -> bool {
        self.pending == Pending::EarlyFlight
    }

    /// The caller allowed the peer: send what was held back.
    pub(crate) fn allow(&mut self) -> ServerStep {
        let tls13 = self.engine.protocol_version() == Some(ProtocolVersion::TLSv1_3);
        match core::mem::replace(&mut self.pending, Pending::None) {
            Pending::None => ServerStep::Fail(Reason::HandshakeIncomplete),
            Pending::EarlyFlight => {
                if let Err(e) = self.engine.write_plaintext(&COMMITMENT_MESSAGE) {
                    return ServerStep::Fail(Reason::Tls(e));
                }
                self.early_commitment = true;
                let flight = self.engine.drain();
                if flight.is_empty() {
                    return ServerStep::Fail(Reason::HandshakeIncomplete);
                }
                self.send_flight(flight)
            }
            Pending::Final => {
                if tls13 && let Err(e) = self.engine.write_plaintext(&COMMITMENT_MESSAGE) {
                    return ServerStep::Fail(Reason::Tls(e));
                }
                self.final_flight = true;
                let flight = self.engine.drain();
                if flight.is_empty() {
                    // TLS 1.2 abbreviated handshake: the peer's Finished was
                    // last (RFC 5216 §2.1.2), success follows at once.
                    return match result_of(&self.engine) {
                        Ok(r) => ServerStep::Done(Box::new(r)),
                        Err(reason) => ServerStep::Fail(reason),
                    };
                }
                self.send_flight(flight)
            }
        }
    }

    /// The caller refused the peer before the early TLS 1.3 flight: the
    /// flight goes out without the commitment, and the alert follows the
    /// peer's Finished.
    pub(crate) fn deny_early(&mut self) -> ServerStep {
        self.pending = Pending::None;
        self.denied_early = true;
        let flight = self.engine.drain();
        if flight.is_empty() {
            return ServerStep::Fail(Reason::AccessDenied);
        }
        self.send_flight(flight)
    }

    /// The caller refused the peer after the handshake: the TLS records
    /// that end it with an access_denied alert (RFC 5216 §2.1.3, RFC 9190
    /// §2.1.3). A TLS 1.2 full handshake's ChangeCipherSpec and Finished,
    /// held back for the decision, are never sent.
    pub(crate) fn into_denied(self: Box<Self>) -> Fragmenter {
        let tls12_full = self.engine.protocol_version() == Some(ProtocolVersion::TLSv1_2)
            && !self.engine.resumed();
        let flight = self
            .engine
            .into_access_denied(tls12_full, self.secret_extraction);
        self.channel.into_fragmenter(flight)
    }
}

/// What the peer half asks the session to do next.
pub(crate) enum PeerStep {
    /// Send an EAP-Response/EAP-TLS with this Type-Data.
    Send(Vec<u8>),
    /// Give up.
    Fail(Reason),
}

/// Peer half of EAP-TLS.
pub(crate) struct TlsPeer {
    engine: TlsEngine,
    channel: Channel,
    /// The handshake failed here (we sent an alert or acknowledged the
    /// server's); the session can only end in failure.
    failed: Option<Reason>,
    /// TLS 1.3 commitment message received (RFC 9190 §2.5).
    commitment: bool,
}

impl TlsPeer {
    /// Answers an EAP-TLS Start with the ClientHello (first fragment).
    pub(crate) fn start(
        tls: Arc<rustls::ClientConfig>,
        server_name: ServerName<'static>,
        fragment_size: usize,
        max_tls_message_len: usize,
    ) -> Result<(TlsPeer, Vec<u8>), Reason> {
        let conn = rustls::ClientConnection::new(tls, server_name).map_err(Reason::Tls)?;
        let mut peer = TlsPeer {
            engine: TlsEngine::new(conn.into()),
            channel: Channel::new(fragment_size, max_tls_message_len),
            failed: None,
            commitment: false,
        };
        let hello = peer.engine.drain();
        match peer.send_flight(hello) {
            PeerStep::Send(first) => Ok((peer, first)),
            PeerStep::Fail(reason) => Err(reason),
        }
    }

    fn send_flight(&mut self, flight: Vec<u8>) -> PeerStep {
        if flight.is_empty() {
            return PeerStep::Send(TlsRepr::ack().to_vec());
        }
        match self.channel.send(flight) {
            Ok(first) => PeerStep::Send(first),
            Err(reason) => PeerStep::Fail(reason),
        }
    }

    /// Whether the TLS 1.3 commitment message arrived.
    pub(crate) fn commitment_received(&self) -> bool {
        self.commitment
    }

    /// Processes the Type-Data of an EAP-Request/EAP-TLS (not Start).
    pub(crate) fn process(&mut self, type_data: &[u8]) -> PeerStep {
        let Ok(p) = TlsPacket::new_checked(type_data) else {
            return PeerStep::Fail(Reason::FragmentProtocol("EAP-TLS request without flags"));
        };
        let message = match self.channel.receive(&p) {
            Inbound::Reply(td) => return PeerStep::Send(td),
            Inbound::Fail(reason) => return PeerStep::Fail(reason),
            Inbound::Ack => {
                return PeerStep::Fail(Reason::FragmentProtocol(
                    "unexpected empty EAP-TLS request",
                ));
            }
            Inbound::Message(message) => message,
        };
        if let Some(reason) = &self.failed {
            return PeerStep::Fail(reason.clone());
        }
        if let Err(e) = self.engine.feed(&message) {
            // Either our alert goes out, or (the server's alert arrived) an
            // empty EAP-TLS response acknowledges it (RFC 5216 §2.1.3).
            self.failed = Some(Reason::from_tls(e));
            let alert = self.engine.drain();
            return self.send_flight(alert);
        }
        let app = self.engine.read_plaintext();
        if !app.is_empty() {
            if app == COMMITMENT_MESSAGE
                && !self.engine.is_handshaking()
                && self.engine.protocol_version() == Some(ProtocolVersion::TLSv1_3)
            {
                self.commitment = true;
            } else {
                return PeerStep::Fail(Reason::UnexpectedApplicationData);
            }
        }
        let flight = self.engine.drain();
        if flight.is_empty() && self.engine.is_handshaking() {
            // A complete server flight that leaves rustls waiting (e.g. a
            // truncated handshake message): acknowledge, and never accept
            // Success for this session.
            self.failed = Some(Reason::HandshakeIncomplete);
        }
        self.send_flight(flight)
    }

    /// The server sent EAP-Success: keys if the handshake completed here.
    /// In TLS 1.3 EAP-Success after the handshake stands for the commitment
    /// message (RFC 9190 §2.5).
    pub(crate) fn success(&self) -> Result<TlsResult, Reason> {
        if let Some(reason) = &self.failed {
            return Err(reason.clone());
        }
        if self.engine.is_handshaking() || self.channel.sending() {
            return Err(Reason::HandshakeIncomplete);
        }
        result_of(&self.engine)
    }

    /// The reason recorded when the handshake failed here, if it did.
    pub(crate) fn failure(&self) -> Option<&Reason> {
        self.failed.as_ref()
    }
}
