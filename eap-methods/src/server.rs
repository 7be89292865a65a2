//! The EAP server session: the backend authenticator state machine of
//! RFC 4137 §5, reduced to Identity followed by EAP-TLS.
//!
//! One [`ServerSession`] lives per RADIUS State (RFC 3579 §2.1). It is
//! sans-IO: the caller passes each EAP packet of the peer (the joined
//! EAP-Message attributes of one Access-Request) to [`ServerSession::handle`]
//! and turns the returned [`Outcome`] into an Access-Challenge,
//! Access-Accept or Access-Reject, or drops the request.

use std::fmt;
use std::sync::Arc;

use rustls_pki_types::CertificateDer;

use crate::codec::{self, Code, EapType, Packet};
use crate::keys::{Emsk, Msk};
use crate::methods::identity;
use crate::methods::tls::{ServerStep, TlsResult, TlsServer};
use crate::tls_common::DEFAULT_MAX_TLS_MESSAGE_LEN;

pub use crate::reason::Reason;

/// Configuration shared by all server sessions.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Built by the caller: certificate, client verifier (CA and CRLs),
    /// protocol versions, resumption.
    pub tls: Arc<rustls::ServerConfig>,
    /// Bound on one reassembled TLS message from the peer.
    pub max_tls_message_len: usize,
}

impl ServerConfig {
    /// A configuration with the default 64 KiB bound on TLS messages.
    pub fn new(tls: Arc<rustls::ServerConfig>) -> Self {
        ServerConfig {
            tls,
            max_tls_message_len: DEFAULT_MAX_TLS_MESSAGE_LEN,
        }
    }
}

/// What the caller does with the packet it passed in.
#[derive(Debug)]
pub enum Outcome {
    /// Send this EAP-Request in an Access-Challenge.
    Request(Vec<u8>),
    /// Authentication succeeded: send this EAP-Success in an Access-Accept
    /// with the keys of `auth`. The caller may still refuse (authorization)
    /// with [`failure_packet`] of the same identifier.
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

/// A successfully authenticated peer.
pub struct Authenticated {
    /// The EAP-Response/Identity.
    pub identity: String,
    /// The method that authenticated the peer.
    pub method: EapType,
    /// Negotiated TLS version.
    pub tls_version: Option<rustls::ProtocolVersion>,
    /// The client certificate chain, leaf first.
    pub peer_certificates: Vec<CertificateDer<'static>>,
    /// Master Session Key.
    pub msk: Msk,
    /// Extended Master Session Key.
    pub emsk: Emsk,
    /// Session-Id (RFC 5247 §1.4): TLS 1.2: 0x0D || client.random ||
    /// server.random (RFC 5216 §2.3); TLS 1.3: 0x0D || Method-Id
    /// (RFC 9190 §2.3).
    pub session_id: Vec<u8>,
    /// The TLS handshake resumed an earlier session.
    pub resumed: bool,
}

impl fmt::Debug for Authenticated {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authenticated")
            .field("identity", &self.identity)
            .field("method", &self.method)
            .field("tls_version", &self.tls_version)
            .field("peer_certificates", &self.peer_certificates.len())
            .field("session_id_len", &self.session_id.len())
            .field("resumed", &self.resumed)
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
    /// Success or Failure sent.
    Finished,
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
        }
    }

    /// The EAP identity once known.
    pub fn identity(&self) -> Option<&str> {
        self.identity.as_deref()
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
                self.start_tls(id)
            }
            state @ (State::Idle | State::AwaitIdentity) => {
                self.state = state;
                Outcome::Discard(Reason::UnexpectedType)
            }
            State::Tls(mut tls) => match eap_type {
                Some(EapType::Tls) => match tls.process(data) {
                    ServerStep::Send(td) => {
                        self.state = State::Tls(tls);
                        self.request(EapType::Tls, &td)
                    }
                    ServerStep::Done(result) => self.succeed(id, *result),
                    ServerStep::Fail(reason) => self.fail(id, reason),
                },
                // RFC 3748 §5.3.1: a Nak lists the methods the peer wants;
                // EAP-TLS is all we offer.
                Some(EapType::Nak) => self.fail(id, Reason::NoCommonMethod(data.to_vec())),
                _ => {
                    self.state = State::Tls(tls);
                    Outcome::Discard(Reason::UnexpectedType)
                }
            },
            State::Finished => Outcome::Discard(Reason::SessionFinished),
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
        Outcome::Success {
            eap: success_packet(id),
            auth: Box::new(Authenticated {
                identity: self.identity.clone().unwrap_or_default(),
                method: EapType::Tls,
                tls_version: r.tls_version,
                peer_certificates: r.peer_certificates,
                msk: r.msk,
                emsk: r.emsk,
                session_id: r.session_id,
                resumed: r.resumed,
            }),
        }
    }
}
