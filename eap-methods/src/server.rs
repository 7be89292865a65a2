//! The EAP server session: the backend authenticator state machine of
//! RFC 4137 §5, reduced to Identity followed by EAP-TLS.
//!
//! One [`ServerSession`] lives per RADIUS State (RFC 3579 §2.1). It is
//! sans-IO: the caller passes each EAP packet of the peer (the joined
//! EAP-Message attributes of one Access-Request) to [`ServerSession::handle`]
//! and turns the returned [`Outcome`] into an Access-Challenge,
//! Access-Accept or Access-Reject, or drops the request.
//!
//! Authorization is the caller's: once TLS has authenticated the peer,
//! [`Outcome::Decide`] hands over who it is, and nothing that says success
//! (the TLS 1.3 commitment message, the TLS 1.2 server Finished,
//! EAP-Success) leaves before [`ServerSession::decide`] answers. A refusal
//! becomes a TLS access_denied alert and then EAP-Failure (RFC 9190 §2.5,
//! RFC 5216 §2.1.3).

use std::fmt;
use std::sync::Arc;

use rustls_pki_types::CertificateDer;

use crate::codec::{self, Code, EapType, Packet};
use crate::keys::{Emsk, Msk};
use crate::methods::identity;
use crate::methods::peap::PeapServer;
use crate::methods::tls::{PeerEvidence, ServerStep, TlsResult, TlsServer};
use crate::methods::ttls::TtlsServer;
use crate::methods::tunnel::{MethodStep, TunnelResult};
use crate::tls_common::{DEFAULT_MAX_TLS_MESSAGE_LEN, Fragmenter};

pub use crate::reason::Reason;

/// Configuration shared by all server sessions.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// EAP-TLS, built by the caller: certificate, client verifier (CA and
    /// CRLs), protocol versions, resumption.
    pub tls: Arc<rustls::ServerConfig>,
    /// PEAP: the server certificate without a client certificate request
    /// (the user authenticates inside the tunnel). `None`: not offered.
    pub peap: Option<Arc<rustls::ServerConfig>>,
    /// EAP-TTLS, like `peap`. `None`: not offered.
    pub ttls: Option<Arc<rustls::ServerConfig>>,
    /// The methods offered, most preferred first (EAP-TLS, PEAP, EAP-TTLS).
    /// The first is proposed after the Identity; a Nak switches to the
    /// first of this list the peer asked for (RFC 3748 §5.3.1).
    pub methods: Vec<EapType>,
    /// Bound on one reassembled TLS message from the peer.
    pub max_tls_message_len: usize,
}

impl ServerConfig {
    /// EAP-TLS only, with the default 64 KiB bound on TLS messages.
    pub fn new(tls: Arc<rustls::ServerConfig>) -> Self {
        ServerConfig {
            tls,
            peap: None,
            ttls: None,
            methods: vec![EapType::Tls],
            max_tls_message_len: DEFAULT_MAX_TLS_MESSAGE_LEN,
        }
    }

    /// Whether `method` is offered (listed, and configured).
    pub fn offers(&self, method: EapType) -> bool {
        self.methods.contains(&method)
            && match method {
                EapType::Tls => true,
                EapType::Peap => self.peap.is_some(),
                EapType::Ttls => self.ttls.is_some(),
                _ => false,
            }
    }
}

/// The method that authenticated the user inside a PEAP or TTLS tunnel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InnerMethod {
    /// EAP-MSCHAPv2 (PEAP, or TTLS with EAP inside).
    EapMschapV2,
    /// MS-CHAPv2 carried in TTLS AVPs (RFC 5281 §11.2.4).
    MschapV2,
    /// PAP carried in TTLS AVPs (RFC 5281 §11.2.5).
    Pap,
}

impl InnerMethod {
    /// Stable label for logs and metrics.
    pub fn label(self) -> &'static str {
        match self {
            InnerMethod::EapMschapV2 => "eap-mschapv2",
            InnerMethod::MschapV2 => "mschapv2",
            InnerMethod::Pap => "pap",
        }
    }

    /// Whether the method needs the NT hash (else the cleartext password
    /// is checked).
    pub fn needs_nt_hash(self) -> bool {
        !matches!(self, InnerMethod::Pap)
    }
}

/// What the inner method needs from the caller to check the user.
pub struct CredentialQuery {
    /// The inner identity as the peer sent it (a `DOMAIN\` prefix or a
    /// realm included): the caller maps it to its user name.
    pub user: String,
    /// What is to be checked.
    pub kind: CredentialKind,
}

/// The kind of a [`CredentialQuery`].
pub enum CredentialKind {
    /// MS-CHAPv2: answer with [`Credential::NtHash`].
    NtHash,
    /// PAP: the cleartext password the peer sent (trailing padding
    /// removed); answer with [`Credential::PasswordChecked`].
    Password(zeroize::Zeroizing<Vec<u8>>),
}

impl fmt::Debug for CredentialQuery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind {
            CredentialKind::NtHash => "nt_hash",
            CredentialKind::Password(_) => "password",
        };
        f.debug_struct("CredentialQuery")
            .field("user", &self.user)
            .field("kind", &kind)
            .finish()
    }
}

/// The caller's answer to [`Outcome::NeedCredential`].
pub enum Credential {
    /// The user's NT hash; `None` when there is none to use (unknown user,
    /// no NT hash stored): the peer gets the same failure as for a wrong
    /// password.
    NtHash(Option<crate::mschapv2::NtHash>),
    /// Whether the password the query carried is the user's.
    PasswordChecked(bool),
}

/// What the caller does with the packet it passed in.
#[derive(Debug)]
pub enum Outcome {
    /// Send this EAP-Request in an Access-Challenge.
    Request(Vec<u8>),
    /// The inner method of PEAP or TTLS needs the user's credential:
    /// answer with [`ServerSession::credential`], which returns the
    /// outcome to send for this same packet.
    NeedCredential(Box<CredentialQuery>),
    /// The peer is authenticated: decide whether it may in (store,
    /// policy) and answer with [`ServerSession::decide`], which returns the
    /// outcome to send for this same packet.
    Decide(Box<PeerVerified>),
    /// Authentication succeeded and the caller allowed it: send this
    /// EAP-Success in an Access-Accept with the keys of `auth`.
    Success {
        /// The EAP-Success packet.
        eap: Vec<u8>,
        /// Who authenticated, and the keys.
        auth: Box<Authenticated>,
    },
    /// Authentication failed: send this EAP-Failure in an Access-Reject.
    Failure {
        /// The EAP-Failure packet.
        eap: Vec<u8>,
        /// Why.
        reason: Reason,
    },
    /// Silently discard the packet (RFC 3748 §4.1); the session is unchanged.
    Discard(Reason),
}

/// The caller's answer to [`Outcome::Decide`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Let the peer in: the success indication follows.
    Allow,
    /// Refuse: a TLS access_denied alert, then EAP-Failure.
    Deny,
}

/// A peer the TLS handshake authenticated (its chain verified by the
/// rustls client verifier), or, resuming, the peer of the earlier session;
/// or, for PEAP and TTLS, a user whose inner method verified the password.
#[derive(Clone)]
pub struct PeerVerified {
    /// EAP-TLS: the EAP-Response/Identity (unauthenticated: the
    /// certificate names the peer). PEAP, TTLS: the inner identity the
    /// inner method verified, as the peer sent it.
    pub identity: String,
    /// PEAP, TTLS: the outer EAP-Response/Identity (may be anonymous;
    /// never trusted).
    pub outer_identity: Option<String>,
    /// The method that authenticated the peer.
    pub method: EapType,
    /// PEAP, TTLS: the inner method.
    pub inner: Option<InnerMethod>,
    /// Negotiated TLS version.
    pub tls_version: Option<rustls::ProtocolVersion>,
    /// The client certificate chain, leaf first.
    pub peer_certificates: Vec<CertificateDer<'static>>,
    /// The TLS handshake resumed an earlier session (its certificate was
    /// not verified again by TLS).
    pub resumed: bool,
}

impl fmt::Debug for PeerVerified {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PeerVerified")
            .field("identity", &self.identity)
            .field("outer_identity", &self.outer_identity)
            .field("method", &self.method)
            .field("inner", &self.inner)
            .field("tls_version", &self.tls_version)
            .field("peer_certificates", &self.peer_certificates.len())
            .field("resumed", &self.resumed)
            .finish()
    }
}

/// A successfully authenticated and allowed peer, with the keys.
pub struct Authenticated {
    /// Who, as decided on.
    pub peer: PeerVerified,
    /// Master Session Key.
    pub msk: Msk,
    /// Extended Master Session Key.
    pub emsk: Emsk,
    /// Session-Id (RFC 5247 §1.4): TLS 1.2: 0x0D || client.random ||
    /// server.random (RFC 5216 §2.3); TLS 1.3: 0x0D || Method-Id
    /// (RFC 9190 §2.3).
    pub session_id: Vec<u8>,
}

impl fmt::Debug for Authenticated {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authenticated")
            .field("peer", &self.peer)
            .field("session_id_len", &self.session_id.len())
            .finish_non_exhaustive()
    }
}

/// EAP-Failure with the given identifier (RFC 3748 §4.2). Use the
/// identifier of the Success it replaces when refusing after
/// authentication.
pub fn failure_packet(identifier: u8) -> Vec<u8> {
    codec::build_result(Code::Failure, identifier)
}

/// EAP-Success with the given identifier (RFC 3748 §4.2).
pub fn success_packet(identifier: u8) -> Vec<u8> {
    codec::build_result(Code::Success, identifier)
}

/// One state per awaited Response.
enum State {
    /// Nothing sent yet: expects EAP-Start or an EAP-Response/Identity that
    /// the NAS solicited itself (RFC 3579 §2.1).
    Idle,
    /// EAP-Request/Identity sent.
    AwaitIdentity,
    /// EAP-TLS running.
    Tls(Box<TlsServer>),
    /// PEAP or TTLS running.
    Tunnel(Tunnel),
    /// PEAP or TTLS waits for the caller: a credential or a decision. The
    /// Identifier is that of the Response that asked.
    TunnelWaiting(Tunnel, u8, Waiting),
    /// The peer is authenticated; the caller's decision is awaited. The
    /// Identifier is that of the Response that completed the handshake.
    Deciding(Box<TlsServer>, u8),
    /// The caller refused: the alert flight (fragmented) is being sent;
    /// the peer's acknowledgement of its end is answered with Failure.
    Denied(Fragmenter),
    /// Success or Failure sent.
    Finished,
}

/// A PEAP or TTLS method in progress.
enum Tunnel {
    Peap(Box<PeapServer>),
    Ttls(Box<TtlsServer>),
}

impl Tunnel {
    fn eap_type(&self) -> EapType {
        match self {
            Tunnel::Peap(_) => EapType::Peap,
            Tunnel::Ttls(_) => EapType::Ttls,
        }
    }

    fn process(&mut self, type_data: &[u8]) -> MethodStep {
        match self {
            Tunnel::Peap(m) => m.process(type_data),
            Tunnel::Ttls(m) => m.process(type_data),
        }
    }

    fn credential(&mut self, answer: Credential) -> MethodStep {
        match self {
            Tunnel::Peap(m) => m.credential(answer),
            Tunnel::Ttls(m) => m.credential(answer),
        }
    }

    fn decide(&mut self, verdict: Verdict) -> MethodStep {
        match self {
            Tunnel::Peap(m) => m.decide(verdict),
            Tunnel::Ttls(m) => m.decide(verdict),
        }
    }
}

/// What a waiting tunnel method waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Waiting {
    Credential,
    Decision,
}

/// The EAP server side of one authentication.
pub struct ServerSession {
    config: Arc<ServerConfig>,
    fragment_size: usize,
    state: State,
    /// Identifier of the next Request.
    next_identifier: u8,
    /// Identifier of the outstanding Request.
    current: Option<u8>,
    identity: Option<String>,
    /// Methods proposed so far (each at most once).
    proposed: Vec<EapType>,
    /// The current method has sent only its Start: a Nak may still
    /// switch methods (RFC 3748 §5.3.1).
    fresh: bool,
}

impl fmt::Debug for ServerSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerSession")
            .field("identity", &self.identity)
            .field("current_identifier", &self.current)
            .finish_non_exhaustive()
    }
}

impl ServerSession {
    /// A new session. `fragment_size`: maximum EAP-TLS TLS-data octets per
    /// EAP-Request (derived by the caller from Framed-MTU or config).
    pub fn new(config: Arc<ServerConfig>, fragment_size: usize) -> Self {
        Self::with_initial_identifier(config, fragment_size, 0)
    }

    /// Like [`ServerSession::new`], with the Identifier of the first
    /// Request chosen by the caller (RFC 3748 §4.1 suggests starting at a
    /// random value; the session itself draws no randomness).
    pub fn with_initial_identifier(
        config: Arc<ServerConfig>,
        fragment_size: usize,
        identifier: u8,
    ) -> Self {
        ServerSession {
            config,
            fragment_size,
            state: State::Idle,
            next_identifier: identifier,
            current: None,
            identity: None,
            proposed: Vec::new(),
            fresh: false,
        }
    }

    /// The Identifier of the outstanding Request, if one was sent.
    pub fn outstanding_identifier(&self) -> Option<u8> {
        self.current
    }

    /// The EAP identity once known.
    pub fn identity(&self) -> Option<&str> {
        self.identity.as_deref()
    }

    /// The method proposed last (the one running, or the one that ended
    /// the conversation); `None` before the identity was answered.
    pub fn method(&self) -> Option<EapType> {
        self.proposed.last().copied()
    }

    /// Whether Success or Failure was produced.
    pub fn is_finished(&self) -> bool {
        matches!(self.state, State::Finished)
    }

    fn request(&mut self, eap_type: EapType, data: &[u8]) -> Outcome {
        let id = self.next_identifier;
        self.next_identifier = id.wrapping_add(1);
        self.current = Some(id);
        Outcome::Request(codec::build(Code::Request, id, eap_type, data))
    }

    fn fail(&mut self, identifier: u8, reason: Reason) -> Outcome {
        self.state = State::Finished;
        Outcome::Failure {
            eap: failure_packet(identifier),
            reason,
        }
    }

    /// Handles one EAP packet from the peer. An empty slice is EAP-Start
    /// (RFC 3579 §2.1: an Access-Request with an empty EAP-Message) and is
    /// answered with EAP-Request/Identity.
    pub fn handle(&mut self, eap: &[u8]) -> Outcome {
        if matches!(self.state, State::Finished) {
            return Outcome::Discard(Reason::SessionFinished);
        }
        if eap.is_empty() {
            return match self.state {
                State::Idle => {
                    self.state = State::AwaitIdentity;
                    self.request(EapType::Identity, &[])
                }
                _ => Outcome::Discard(Reason::UnexpectedCode),
            };
        }
        let packet = match Packet::new_checked(eap) {
            Ok(p) => p,
            Err(e) => return Outcome::Discard(Reason::Malformed(e)),
        };
        if packet.code() != Code::Response {
            return Outcome::Discard(Reason::UnexpectedCode);
        }
        let id = packet.identifier();
        match self.current {
            Some(expected) if expected != id => {
                return Outcome::Discard(Reason::UnexpectedIdentifier { expected, got: id });
            }
            None if !matches!(self.state, State::Idle) => {
                return Outcome::Discard(Reason::UnexpectedCode);
            }
            _ => {}
        }
        let eap_type = packet.eap_type();
        let data = packet.type_data();
        match core::mem::replace(&mut self.state, State::Finished) {
            State::Idle | State::AwaitIdentity if eap_type == Some(EapType::Identity) => {
                if self.current.is_none() {
                    // The NAS solicited the identity itself: continue with
                    // the identifier after the peer's.
                    self.next_identifier = id.wrapping_add(1);
                }
                match identity::parse_response(data) {
                    Ok(name) => self.identity = Some(name),
                    Err(reason) => return self.fail(id, reason),
                }
                match self
                    .config
                    .methods
                    .iter()
                    .copied()
                    .find(|m| self.config.offers(*m))
                {
                    Some(method) => self.start_method(id, method),
                    None => self.fail(id, Reason::NoCommonMethod(Vec::new())),
                }
            }
            state @ (State::Idle | State::AwaitIdentity) => {
                self.state = state;
                Outcome::Discard(Reason::UnexpectedType)
            }
            State::Tls(mut tls) => match eap_type {
                Some(EapType::Tls) => {
                    self.fresh = false;
                    let step = tls.process(data);
                    self.tls_step(tls, id, step)
                }
                // RFC 3748 §5.3.1: a Nak lists the methods the peer wants.
                Some(EapType::Nak) => self.nak(id, data),
                // RFC 3748 §5.3.2: an Expanded Nak names vendor methods;
                // none is offered, so this too ends the conversation.
                Some(EapType::Expanded) => self.fail(id, Reason::ExpandedNak),
                _ => {
                    self.state = State::Tls(tls);
                    Outcome::Discard(Reason::UnexpectedType)
                }
            },
            State::Tunnel(mut tunnel) => match eap_type {
                Some(t) if t == tunnel.eap_type() => {
                    self.fresh = false;
                    let step = tunnel.process(data);
                    self.tunnel_step(tunnel, id, step)
                }
                Some(EapType::Nak) => self.nak(id, data),
                Some(EapType::Expanded) => self.fail(id, Reason::ExpandedNak),
                _ => {
                    self.state = State::Tunnel(tunnel);
                    Outcome::Discard(Reason::UnexpectedType)
                }
            },
            state @ (State::Deciding(..) | State::TunnelWaiting(..)) => {
                // The caller has not answered yet; nothing may advance.
                self.state = state;
                Outcome::Discard(Reason::UnexpectedCode)
            }
            State::Denied(mut out) => {
                if eap_type == Some(EapType::Tls)
                    && out.has_more()
                    && crate::tls_common::TlsPacket::new_checked(data).is_ok_and(|p| p.is_ack())
                    && let Some(fragment) = out.next_type_data()
                {
                    self.state = State::Denied(out);
                    return self.request(EapType::Tls, &fragment);
                }
                // The peer acknowledged (or answered) the alert: end.
                self.fail(id, Reason::AccessDenied)
            }
            State::Finished => Outcome::Discard(Reason::SessionFinished),
        }
    }

    /// Turns a step of the TLS half into the session's outcome.
    fn tls_step(&mut self, tls: Box<TlsServer>, id: u8, step: ServerStep) -> Outcome {
        match step {
            ServerStep::Send(td) => {
                self.state = State::Tls(tls);
                self.request(EapType::Tls, &td)
            }
            ServerStep::Decide(evidence) => {
                self.state = State::Deciding(tls, id);
                Outcome::Decide(Box::new(self.verified(*evidence)))
            }
            ServerStep::Refuse => self.send_denied(tls, id),
            ServerStep::Done(result) => self.succeed(id, *result),
            ServerStep::Fail(reason) => self.fail(id, reason),
        }
    }

    /// A Nak (RFC 3748 §5.3.1): valid only in answer to a method's first
    /// Request. The first method of our list that the peer asks for and
    /// that was not proposed yet starts; none ends the conversation, and
    /// the reason lists what the peer wanted.
    fn nak(&mut self, id: u8, desired: &[u8]) -> Outcome {
        if !self.fresh {
            return self.fail(id, Reason::UnexpectedType);
        }
        let wanted: Vec<EapType> = desired.iter().map(|&t| EapType::from(t)).collect();
        let next =
            self.config.methods.iter().copied().find(|m| {
                wanted.contains(m) && self.config.offers(*m) && !self.proposed.contains(m)
            });
        match next {
            Some(method) => self.start_method(id, method),
            None => self.fail(id, Reason::NoCommonMethod(desired.to_vec())),
        }
    }

    /// Proposes `method` with its first Request.
    fn start_method(&mut self, id: u8, method: EapType) -> Outcome {
        self.proposed.push(method);
        self.fresh = true;
        let c = &self.config;
        let started = match method {
            EapType::Tls => return self.start_tls(id),
            EapType::Peap => match &c.peap {
                Some(tls) => {
                    PeapServer::start(tls.clone(), self.fragment_size, c.max_tls_message_len)
                        .map(|(m, start)| (Tunnel::Peap(Box::new(m)), start))
                }
                None => Err(Reason::NoCommonMethod(Vec::new())),
            },
            EapType::Ttls => match &c.ttls {
                Some(tls) => {
                    TtlsServer::start(tls.clone(), self.fragment_size, c.max_tls_message_len)
                        .map(|(m, start)| (Tunnel::Ttls(Box::new(m)), start))
                }
                None => Err(Reason::NoCommonMethod(Vec::new())),
            },
            _ => Err(Reason::NoCommonMethod(Vec::new())),
        };
        match started {
            Ok((tunnel, start)) => {
                let eap_type = tunnel.eap_type();
                self.state = State::Tunnel(tunnel);
                self.request(eap_type, &start)
            }
            Err(reason) => self.fail(id, reason),
        }
    }

    /// Turns a step of PEAP or TTLS into the session's outcome.
    fn tunnel_step(&mut self, tunnel: Tunnel, id: u8, step: MethodStep) -> Outcome {
        match step {
            MethodStep::Send(td) => {
                let eap_type = tunnel.eap_type();
                self.state = State::Tunnel(tunnel);
                self.request(eap_type, &td)
            }
            MethodStep::NeedCredential(query) => {
                self.state = State::TunnelWaiting(tunnel, id, Waiting::Credential);
                Outcome::NeedCredential(Box::new(query))
            }
            MethodStep::Decide { identity, inner } => {
                let method = tunnel.eap_type();
                self.state = State::TunnelWaiting(tunnel, id, Waiting::Decision);
                Outcome::Decide(Box::new(PeerVerified {
                    identity,
                    outer_identity: self.identity.clone(),
                    method,
                    inner: Some(inner),
                    tls_version: None,
                    peer_certificates: Vec::new(),
                    resumed: false,
                }))
            }
            MethodStep::Done(result) => {
                let method = tunnel.eap_type();
                self.tunnel_succeed(id, method, *result)
            }
            MethodStep::Fail(reason) => self.fail(id, reason),
        }
    }

    fn tunnel_succeed(&mut self, id: u8, method: EapType, r: TunnelResult) -> Outcome {
        self.state = State::Finished;
        Outcome::Success {
            eap: success_packet(id),
            auth: Box::new(Authenticated {
                peer: PeerVerified {
                    identity: r.identity,
                    outer_identity: self.identity.clone(),
                    method,
                    inner: Some(r.inner),
                    tls_version: r.tls_version,
                    peer_certificates: Vec::new(),
                    resumed: r.resumed,
                },
                msk: r.keys.msk,
                emsk: r.keys.emsk,
                session_id: r.keys.session_id,
            }),
        }
    }

    /// The caller's answer to [`Outcome::NeedCredential`]: the outcome to
    /// send for the packet that produced it. Without a pending query the
    /// call changes nothing and says so with a Discard.
    pub fn credential(&mut self, answer: Credential) -> Outcome {
        match core::mem::replace(&mut self.state, State::Finished) {
            State::TunnelWaiting(mut tunnel, id, Waiting::Credential) => {
                let step = tunnel.credential(answer);
                self.tunnel_step(tunnel, id, step)
            }
            other => {
                self.state = other;
                Outcome::Discard(Reason::UnexpectedCode)
            }
        }
    }

    /// Starts sending the access_denied alert flight.
    fn send_denied(&mut self, tls: Box<TlsServer>, id: u8) -> Outcome {
        let mut out = tls.into_denied();
        match out.next_type_data() {
            Some(fragment) => {
                self.state = State::Denied(out);
                self.request(EapType::Tls, &fragment)
            }
            None => self.fail(id, Reason::AccessDenied),
        }
    }

    fn verified(&self, e: PeerEvidence) -> PeerVerified {
        PeerVerified {
            identity: self.identity.clone().unwrap_or_default(),
            outer_identity: None,
            method: EapType::Tls,
            inner: None,
            tls_version: e.tls_version,
            peer_certificates: e.peer_certificates,
            resumed: e.resumed,
        }
    }

    /// The caller's answer to [`Outcome::Decide`]: the outcome to send for
    /// the packet that produced it. Without a pending decision the call
    /// changes nothing and says so with a Discard.
    pub fn decide(&mut self, verdict: Verdict) -> Outcome {
        let (mut tls, id) = match core::mem::replace(&mut self.state, State::Finished) {
            State::Deciding(tls, id) => (tls, id),
            State::TunnelWaiting(mut tunnel, id, Waiting::Decision) => {
                let step = tunnel.decide(verdict);
                return self.tunnel_step(tunnel, id, step);
            }
            other => {
                self.state = other;
                return Outcome::Discard(Reason::UnexpectedCode);
            }
        };
        match verdict {
            Verdict::Allow => {
                let step = tls.allow();
                self.tls_step(tls, id, step)
            }
            Verdict::Deny if tls.decision_is_early() => {
                let step = tls.deny_early();
                self.tls_step(tls, id, step)
            }
            Verdict::Deny => self.send_denied(tls, id),
        }
    }

    fn start_tls(&mut self, id: u8) -> Outcome {
        match TlsServer::start(
            self.config.tls.clone(),
            self.fragment_size,
            self.config.max_tls_message_len,
        ) {
            Ok((tls, start)) => {
                self.state = State::Tls(Box::new(tls));
                self.request(EapType::Tls, &start)
            }
            Err(reason) => self.fail(id, reason),
        }
    }

    fn succeed(&mut self, id: u8, r: TlsResult) -> Outcome {
        self.state = State::Finished;
        let peer = self.verified(PeerEvidence {
            tls_version: r.tls_version,
            peer_certificates: r.peer_certificates,
            resumed: r.resumed,
        });
        Outcome::Success {
            eap: success_packet(id),
            auth: Box::new(Authenticated {
                peer,
                msk: r.msk,
                emsk: r.emsk,
                session_id: r.session_id,
            }),
        }
    }
}
