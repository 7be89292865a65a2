//! EAP-TTLSv0 (EAP type 21, RFC 5281), server side, with PAP, MS-CHAPv2
//! and EAP-MSCHAPv2 inside; RFC 9427 §2 and §4 for TLS 1.3.
//!
//! After the TLS handshake (no client certificate) the peer sends
//! Diameter AVPs (RFC 5281 §10) as TLS application data:
//!
//! - PAP (§11.2.5): User-Name, User-Password. Success is EAP-Success
//!   itself; nothing answers inside the tunnel.
//! - MS-CHAPv2 (§11.2.4): User-Name, MS-CHAP-Challenge, MS-CHAP2-Response,
//!   the challenge being the implicit one (§11.1: the first 16 octets of
//!   the "ttls challenge" exporter, the 17th the Ident). The server
//!   answers MS-CHAP2-Success, the peer acknowledges, EAP-Success.
//! - EAP (§11.2.6): EAP-Message AVPs carrying EAP-Response/Identity, then
//!   EAP-MSCHAPv2 with full EAP headers.
//!
//! Keys: TLS 1.2 "ttls keying material" (§8), TLS 1.3 the RFC 9427 §2.1
//! exporters with Type-Code 0x15. The RFC 9190 protected success
//! indication (0x00) is not sent: the inner method always runs, and its
//! own result says success (RFC 9427 §2.4).

use std::sync::Arc;

use zeroize::Zeroizing;

use crate::codec::{self, Code, EapType, Packet};
use crate::diameter::{self, codes};
use crate::methods::mschapv2::{MschapServer, MschapServerStep};
use crate::methods::peap::MSCHAP_SERVER_NAME;
use crate::methods::tunnel::{MethodStep, TunnelServer, TunnelStep, random};
use crate::mschapv2;
use crate::reason::Reason;
use crate::server::{Credential, CredentialKind, CredentialQuery, InnerMethod, Verdict};
use crate::tls_common::KeyScheme;

/// MS-CHAP2-Response value (RFC 2548 §2.3.2): Ident, Flags, Peer-Challenge
/// (16), Reserved (8), Response (24).
const MSCHAP2_RESPONSE_LEN: usize = 50;

/// A received MS-CHAP2-Response, checked against the implicit challenge.
struct MschapAvps {
    user: String,
    ident: u8,
    authenticator_challenge: [u8; 16],
    peer_challenge: [u8; 16],
    nt_response: [u8; 24],
    /// Set once the NT-Response verified.
    authenticator_response: Option<[u8; 20]>,
}

/// Where the inner conversation is.
enum Phase {
    Handshake,
    /// The handshake completed: the peer's AVPs are awaited.
    Avps,
    /// PAP: the caller checks the password, then decides.
    Pap(String),
    /// MS-CHAPv2 in AVPs: NT hash, decision, then MS-CHAP2-Success.
    Mschap(Box<MschapAvps>),
    /// MS-CHAP2-Success went out; the peer's acknowledgement is awaited.
    MschapSuccessSent(String),
    /// EAP inside: EAP-Request/Identity is implied (RFC 5281 §11.2.6: the
    /// peer starts with its EAP-Response/Identity).
    Eap {
        identity: Option<String>,
        mschap: Option<Box<MschapServer>>,
        /// Identifier of the outstanding inner EAP-Request.
        identifier: u8,
    },
    Over,
}

/// Server half of EAP-TTLSv0.
pub(crate) struct TtlsServer {
    tunnel: TunnelServer,
    tls: Arc<rustls::ServerConfig>,
    phase: Phase,
}

impl TtlsServer {
    /// Starts TTLS: the method and its Start Type-Data.
    pub(crate) fn start(
        tls: Arc<rustls::ServerConfig>,
        fragment_size: usize,
        max_tls_message_len: usize,
    ) -> Result<(TtlsServer, Vec<u8>), Reason> {
        let (tunnel, start) = TunnelServer::start(
            tls.clone(),
            KeyScheme::TTLS,
            fragment_size,
            max_tls_message_len,
        )?;
        Ok((
            TtlsServer {
                tunnel,
                tls,
                phase: Phase::Handshake,
            },
            start,
        ))
    }

    fn over(&mut self, reason: Reason) -> MethodStep {
        self.phase = Phase::Over;
        MethodStep::Fail(reason)
    }

    /// Processes the Type-Data of an EAP-Response/EAP-TTLS.
    pub(crate) fn process(&mut self, type_data: &[u8]) -> MethodStep {
        match self.tunnel.process(type_data) {
            TunnelStep::Send(td) => MethodStep::Send(td),
            TunnelStep::Fail(reason) => self.over(reason),
            TunnelStep::Established(data) => {
                self.phase = Phase::Avps;
                if data.is_empty() {
                    // TLS 1.2: our ChangeCipherSpec and Finished; TLS 1.3:
                    // the NewSessionTicket, or an empty request. The peer
                    // then sends its AVPs.
                    return self.flush();
                }
                self.avps(&data)
            }
            TunnelStep::PeerAck => self.acknowledged(),
            TunnelStep::Data(data) if data.is_empty() => self.acknowledged(),
            TunnelStep::Data(data) => self.avps(&data),
        }
    }

    fn flush(&mut self) -> MethodStep {
        match self.tunnel.flush() {
            TunnelStep::Send(td) => MethodStep::Send(td),
            TunnelStep::Fail(reason) => self.over(reason),
            _ => self.over(Reason::HandshakeIncomplete),
        }
    }

    fn send_avps(&mut self, avps: &[u8]) -> MethodStep {
        match self.tunnel.send_data(avps) {
            TunnelStep::Send(td) => MethodStep::Send(td),
            TunnelStep::Fail(reason) => self.over(reason),
            _ => self.over(Reason::HandshakeIncomplete),
        }
    }

    /// The peer acknowledged (or sent empty application data).
    fn acknowledged(&mut self) -> MethodStep {
        match core::mem::replace(&mut self.phase, Phase::Over) {
            // RFC 5281 §11.2.4: the peer's answer to MS-CHAP2-Success.
            Phase::MschapSuccessSent(user) => self.tunnel.done(user, InnerMethod::MschapV2),
            _ => self.over(Reason::InnerProtocol(
                "TTLS peer acknowledged without sending AVPs",
            )),
        }
    }

    /// One decrypted AVP message.
    fn avps(&mut self, data: &[u8]) -> MethodStep {
        let avps = match diameter::parse(data) {
            Ok(avps) => avps,
            Err(_) => return self.over(Reason::InnerProtocol("malformed Diameter AVPs")),
        };
        // RFC 5281 §10.1: an AVP with the M bit that is not understood
        // fails the negotiation.
        let known = |a: &diameter::Avp<'_>| match a.vendor {
            None => matches!(
                a.code,
                codes::USER_NAME | codes::USER_PASSWORD | codes::EAP_MESSAGE
            ),
            Some(codes::VENDOR_MICROSOFT) => {
                matches!(a.code, codes::MS_CHAP_CHALLENGE | codes::MS_CHAP2_RESPONSE)
            }
            Some(_) => false,
        };
        if avps.iter().any(|a| a.mandatory && !known(a)) {
            return self.over(Reason::InnerProtocol("mandatory AVP not understood"));
        }
        let find = |vendor: Option<u32>, code: u32| {
            avps.iter()
                .find(|a| a.vendor == vendor && a.code == code)
                .map(|a| a.data)
        };
        let eap: Vec<u8> = avps
            .iter()
            .filter(|a| a.vendor.is_none() && a.code == codes::EAP_MESSAGE)
            .flat_map(|a| a.data.iter().copied())
            .collect();
        match core::mem::replace(&mut self.phase, Phase::Over) {
            Phase::Avps if !eap.is_empty() => {
                self.phase = Phase::Eap {
                    identity: None,
                    mschap: None,
                    identifier: 0,
                };
                self.inner_eap(&eap)
            }
            Phase::Avps => {
                let Some(user) = find(None, codes::USER_NAME)
                    .and_then(|u| core::str::from_utf8(u).ok())
                    .map(str::to_owned)
                else {
                    return self.over(Reason::InnerProtocol("no valid User-Name AVP"));
                };
                if let Some(password) = find(None, codes::USER_PASSWORD) {
                    // RFC 5281 §11.2.5: the password is padded with nulls
                    // to a multiple of 16 octets.
                    let end = password.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
                    let password = Zeroizing::new(password[..end].to_vec());
                    self.phase = Phase::Pap(user.clone());
                    return MethodStep::NeedCredential(CredentialQuery {
                        user,
                        kind: CredentialKind::Password(password),
                    });
                }
                let challenge = find(Some(codes::VENDOR_MICROSOFT), codes::MS_CHAP_CHALLENGE);
                let response = find(Some(codes::VENDOR_MICROSOFT), codes::MS_CHAP2_RESPONSE);
                match (challenge, response) {
                    (Some(c), Some(r)) => self.mschap_avps(user, c, r),
                    _ => self.over(Reason::InnerProtocol(
                        "no supported inner method (PAP, MS-CHAPv2 or EAP) in the AVPs",
                    )),
                }
            }
            phase @ Phase::Eap { .. } => {
                self.phase = phase;
                if eap.is_empty() {
                    return self.over(Reason::InnerProtocol("expected an EAP-Message AVP"));
                }
                self.inner_eap(&eap)
            }
            _ => self.over(Reason::InnerProtocol("AVPs at the wrong time")),
        }
    }

    /// RFC 5281 §11.2.4: the challenge must be the implicit one, the Ident
    /// its 17th octet.
    fn mschap_avps(&mut self, user: String, challenge: &[u8], response: &[u8]) -> MethodStep {
        let implicit = match self.tunnel.export_raw(b"ttls challenge", 17) {
            Ok(c) => c,
            Err(reason) => return self.over(reason),
        };
        if response.len() != MSCHAP2_RESPONSE_LEN {
            return self.over(Reason::InnerProtocol(
                "MS-CHAP2-Response of the wrong length",
            ));
        }
        let expected_challenge = &implicit[..16];
        let expected_ident = implicit[16];
        if !constant_time_eq(challenge, expected_challenge) || response[0] != expected_ident {
            return self.over(Reason::InnerProtocol(
                "MS-CHAP-Challenge is not the implicit challenge",
            ));
        }
        let mut authenticator_challenge = [0u8; 16];
        authenticator_challenge.copy_from_slice(expected_challenge);
        let mut peer_challenge = [0u8; 16];
        peer_challenge.copy_from_slice(&response[2..18]);
        let mut nt_response = [0u8; 24];
        nt_response.copy_from_slice(&response[26..50]);
        self.phase = Phase::Mschap(Box::new(MschapAvps {
            user: user.clone(),
            ident: response[0],
            authenticator_challenge,
            peer_challenge,
            nt_response,
            authenticator_response: None,
        }));
        MethodStep::NeedCredential(CredentialQuery {
            user,
            kind: CredentialKind::NtHash,
        })
    }

    /// An inner EAP packet (the joined EAP-Message AVPs).
    fn inner_eap(&mut self, eap: &[u8]) -> MethodStep {
        let Phase::Eap {
            identity,
            mschap,
            identifier,
        } = core::mem::replace(&mut self.phase, Phase::Over)
        else {
            return self.over(Reason::InnerProtocol("inner EAP at the wrong time"));
        };
        let Ok(packet) = Packet::new_checked(eap) else {
            return self.over(Reason::InnerProtocol("malformed inner EAP packet"));
        };
        if packet.code() != Code::Response {
            return self.over(Reason::InnerProtocol("inner EAP packet is not a Response"));
        }
        match (identity, mschap, packet.eap_type()) {
            (None, None, Some(EapType::Identity)) => {
                let Ok(name) = core::str::from_utf8(packet.type_data()) else {
                    return self.over(Reason::InvalidIdentity);
                };
                let (challenge, id) = match (random::<16>(&self.tls), random::<1>(&self.tls)) {
                    (Ok(c), Ok([id])) => (c, id),
                    (Err(reason), _) | (_, Err(reason)) => return self.over(reason),
                };
                let (m, td) = MschapServer::start(id, challenge, MSCHAP_SERVER_NAME);
                let identifier = packet.identifier().wrapping_add(1);
                self.phase = Phase::Eap {
                    identity: Some(name.to_owned()),
                    mschap: Some(Box::new(m)),
                    identifier,
                };
                self.send_inner_eap(identifier, &td)
            }
            (Some(identity), Some(mut m), Some(EapType::MsChapV2))
                if packet.identifier() == identifier =>
            {
                let step = m.process(packet.type_data());
                self.mschap_step(identity, m, identifier, step)
            }
            (Some(_), Some(_), Some(EapType::Nak)) => {
                self.over(Reason::InnerNak(packet.type_data().to_vec()))
            }
            _ => self.over(Reason::InnerProtocol("unexpected inner EAP packet")),
        }
    }

    fn send_inner_eap(&mut self, identifier: u8, type_data: &[u8]) -> MethodStep {
        let packet = codec::build(Code::Request, identifier, EapType::MsChapV2, type_data);
        let mut avps = Vec::with_capacity(packet.len() + 12);
        diameter::emit(&mut avps, codes::EAP_MESSAGE, None, true, &packet);
        self.send_avps(&avps)
    }

    fn mschap_step(
        &mut self,
        identity: String,
        m: Box<MschapServer>,
        identifier: u8,
        step: MschapServerStep,
    ) -> MethodStep {
        match step {
            MschapServerStep::Send(td) => {
                let identifier = identifier.wrapping_add(1);
                self.phase = Phase::Eap {
                    identity: Some(identity),
                    mschap: Some(m),
                    identifier,
                };
                self.send_inner_eap(identifier, &td)
            }
            MschapServerStep::NeedNtHash { user_name } => {
                if mschapv2::user_name_without_domain(user_name.as_bytes())
                    != mschapv2::user_name_without_domain(identity.as_bytes())
                {
                    return self.over(Reason::InnerProtocol(
                        "MS-CHAPv2 name differs from the inner identity",
                    ));
                }
                self.phase = Phase::Eap {
                    identity: Some(identity.clone()),
                    mschap: Some(m),
                    identifier,
                };
                MethodStep::NeedCredential(CredentialQuery {
                    user: identity,
                    kind: CredentialKind::NtHash,
                })
            }
            MschapServerStep::Verified => {
                self.phase = Phase::Eap {
                    identity: Some(identity.clone()),
                    mschap: Some(m),
                    identifier,
                };
                MethodStep::Decide {
                    identity,
                    inner: InnerMethod::EapMschapV2,
                }
            }
            // The peer answered the Success request: EAP-Success follows
            // outside the tunnel (RFC 5281 §11.2.6 leaves the inner
            // EAP-Success out).
            MschapServerStep::Done => self.tunnel.done(identity, InnerMethod::EapMschapV2),
            MschapServerStep::Fail(reason) => self.over(reason),
        }
    }

    /// The caller's answer to [`MethodStep::NeedCredential`].
    pub(crate) fn credential(&mut self, answer: Credential) -> MethodStep {
        match (core::mem::replace(&mut self.phase, Phase::Over), answer) {
            (Phase::Pap(user), Credential::PasswordChecked(true)) => {
                self.phase = Phase::Pap(user.clone());
                MethodStep::Decide {
                    identity: user,
                    inner: InnerMethod::Pap,
                }
            }
            (Phase::Pap(_), _) => self.over(Reason::WrongPassword),
            (Phase::Mschap(mut m), Credential::NtHash(Some(hash))) => {
                let user_name = mschapv2::user_name_without_domain(m.user.as_bytes());
                if !mschapv2::verify_nt_response(
                    &m.authenticator_challenge,
                    &m.peer_challenge,
                    user_name,
                    &hash,
                    &m.nt_response,
                ) {
                    return self.over(Reason::WrongPassword);
                }
                m.authenticator_response = Some(mschapv2::generate_authenticator_response(
                    &hash,
                    &m.nt_response,
                    &m.peer_challenge,
                    &m.authenticator_challenge,
                    user_name,
                ));
                let identity = m.user.clone();
                self.phase = Phase::Mschap(m);
                MethodStep::Decide {
                    identity,
                    inner: InnerMethod::MschapV2,
                }
            }
            (Phase::Mschap(_), _) => self.over(Reason::NoCredential),
            (
                Phase::Eap {
                    identity: Some(identity),
                    mschap: Some(mut m),
                    identifier,
                },
                answer,
            ) => {
                let step = match answer {
                    Credential::NtHash(hash) => m.nt_hash(hash.as_ref()),
                    Credential::PasswordChecked(_) => m.nt_hash(None),
                };
                self.mschap_step(identity, m, identifier, step)
            }
            _ => self.over(Reason::InnerProtocol("credential without a query")),
        }
    }

    /// The caller's answer to [`MethodStep::Decide`].
    pub(crate) fn decide(&mut self, verdict: Verdict) -> MethodStep {
        match (core::mem::replace(&mut self.phase, Phase::Over), verdict) {
            (Phase::Pap(user), Verdict::Allow) => self.tunnel.done(user, InnerMethod::Pap),
            (Phase::Mschap(m), Verdict::Allow) => {
                let Some(response) = m.authenticator_response else {
                    return self.over(Reason::InnerProtocol("decision before verification"));
                };
                // RFC 5281 §11.2.4: MS-CHAP2-Success = Ident || "S=" 40 hex.
                let mut value = vec![m.ident];
                value.extend_from_slice(
                    mschapv2::authenticator_response_string(&response).as_bytes(),
                );
                let mut avps = Vec::with_capacity(64);
                diameter::emit(
                    &mut avps,
                    codes::MS_CHAP2_SUCCESS,
                    Some(codes::VENDOR_MICROSOFT),
                    true,
                    &value,
                );
                self.phase = Phase::MschapSuccessSent(m.user.clone());
                self.send_avps(&avps)
            }
            (
                Phase::Eap {
                    identity: Some(identity),
                    mschap: Some(mut m),
                    identifier,
                },
                verdict,
            ) => {
                let step = match verdict {
                    Verdict::Allow => m.allow(),
                    Verdict::Deny => m.deny(),
                };
                self.mschap_step(identity, m, identifier, step)
            }
            (_, Verdict::Deny) => self.over(Reason::AccessDenied),
            _ => self.over(Reason::InnerProtocol("decision without a question")),
        }
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |d, (x, y)| d | (x ^ y)) == 0
}

/// The inner method a TTLS peer uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TtlsInner {
    /// PAP (RFC 5281 §11.2.5).
    Pap,
    /// MS-CHAPv2 in AVPs (RFC 5281 §11.2.4).
    MschapV2,
    /// EAP-MSCHAPv2 in EAP-Message AVPs (RFC 5281 §11.2.6).
    EapMschapV2,
}

/// Peer half of EAP-TTLSv0.
pub(crate) struct TtlsPeer {
    tunnel: crate::methods::tunnel::TunnelPeer,
    inner: TtlsInner,
    user: String,
    password: Zeroizing<String>,
    peer_challenge: [u8; 16],
    /// AVPs sent (the inner method started).
    started: bool,
    /// MS-CHAPv2 in AVPs: the authenticator response the server must send.
    expected_success: Option<[u8; 20]>,
    mschap: Option<crate::methods::mschapv2::MschapPeer>,
    succeeded: bool,
}

impl TtlsPeer {
    /// Answers the TTLS Start.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn start(
        tls: Arc<rustls::ClientConfig>,
        server_name: rustls_pki_types::ServerName<'static>,
        fragment_size: usize,
        max_tls_message_len: usize,
        inner: TtlsInner,
        user: &str,
        password: &str,
        peer_challenge: [u8; 16],
    ) -> Result<(TtlsPeer, Vec<u8>), Reason> {
        let (tunnel, hello) = crate::methods::tunnel::TunnelPeer::start(
            tls,
            server_name,
            KeyScheme::TTLS,
            fragment_size,
            max_tls_message_len,
        )?;
        Ok((
            TtlsPeer {
                tunnel,
                inner,
                user: user.to_owned(),
                password: Zeroizing::new(password.to_owned()),
                peer_challenge,
                started: false,
                expected_success: None,
                mschap: None,
                succeeded: false,
            },
            hello,
        ))
    }

    fn send(&mut self, plain: &[u8]) -> crate::methods::peap::PeerMethodStep {
        use crate::methods::peap::PeerMethodStep;
        use crate::methods::tunnel::PeerTunnelStep;
        match self.tunnel.send_data(plain) {
            PeerTunnelStep::Send(td) => PeerMethodStep::Send(td),
            PeerTunnelStep::Fail(r) => PeerMethodStep::Fail(r),
            PeerTunnelStep::Data(_) => PeerMethodStep::Fail(Reason::HandshakeIncomplete),
        }
    }

    /// The first AVPs, sent as soon as the handshake completed (RFC 5281
    /// §7.3: the client starts the inner method).
    fn first_avps(&mut self) -> Result<Vec<u8>, Reason> {
        let mut avps = Vec::with_capacity(128);
        match self.inner {
            TtlsInner::Pap => {
                diameter::emit(
                    &mut avps,
                    codes::USER_NAME,
                    None,
                    true,
                    self.user.as_bytes(),
                );
                // RFC 5281 §11.2.5: padded with nulls to a multiple of 16.
                let mut pw = Zeroizing::new(self.password.as_bytes().to_vec());
                let padded = pw.len().div_ceil(16).max(1) * 16;
                pw.resize(padded, 0);
                diameter::emit(&mut avps, codes::USER_PASSWORD, None, true, &pw);
            }
            TtlsInner::MschapV2 => {
                let implicit = self.tunnel.export_raw(b"ttls challenge", 17)?;
                let mut challenge = [0u8; 16];
                challenge.copy_from_slice(&implicit[..16]);
                let hash = mschapv2::NtHash::of_password(&self.password);
                let name = mschapv2::user_name_without_domain(self.user.as_bytes());
                let nt_response =
                    mschapv2::generate_nt_response(&challenge, &self.peer_challenge, name, &hash);
                self.expected_success = Some(mschapv2::generate_authenticator_response(
                    &hash,
                    &nt_response,
                    &self.peer_challenge,
                    &challenge,
                    name,
                ));
                let mut response = Vec::with_capacity(MSCHAP2_RESPONSE_LEN);
                response.push(implicit[16]);
                response.push(0);
                response.extend_from_slice(&self.peer_challenge);
                response.extend_from_slice(&[0u8; 8]);
                response.extend_from_slice(&nt_response);
                diameter::emit(
                    &mut avps,
                    codes::USER_NAME,
                    None,
                    true,
                    self.user.as_bytes(),
                );
                diameter::emit(
                    &mut avps,
                    codes::MS_CHAP_CHALLENGE,
                    Some(codes::VENDOR_MICROSOFT),
                    true,
                    &challenge,
                );
                diameter::emit(
                    &mut avps,
                    codes::MS_CHAP2_RESPONSE,
                    Some(codes::VENDOR_MICROSOFT),
                    true,
                    &response,
                );
            }
            TtlsInner::EapMschapV2 => {
                let identity =
                    codec::build(Code::Response, 0, EapType::Identity, self.user.as_bytes());
                diameter::emit(&mut avps, codes::EAP_MESSAGE, None, true, &identity);
            }
        }
        Ok(avps)
    }

    /// Processes the Type-Data of an EAP-Request/EAP-TTLS (not Start).
    pub(crate) fn process(&mut self, type_data: &[u8]) -> crate::methods::peap::PeerMethodStep {
        use crate::methods::mschapv2::{MschapPeer, MschapPeerStep};
        use crate::methods::peap::PeerMethodStep;
        use crate::methods::tunnel::PeerTunnelStep;
        let data = match self.tunnel.process(type_data) {
            PeerTunnelStep::Send(td) => return PeerMethodStep::Send(td),
            PeerTunnelStep::Fail(r) => return PeerMethodStep::Fail(r),
            PeerTunnelStep::Data(data) => data,
        };
        if !self.started {
            if !data.is_empty() {
                return PeerMethodStep::Fail(Reason::UnexpectedApplicationData);
            }
            self.started = true;
            return match self.first_avps() {
                Ok(avps) => self.send(&avps),
                Err(r) => PeerMethodStep::Fail(r),
            };
        }
        if data.is_empty() {
            return PeerMethodStep::Fail(Reason::InnerProtocol("empty request inside the tunnel"));
        }
        let Ok(avps) = diameter::parse(&data) else {
            return PeerMethodStep::Fail(Reason::InnerProtocol("malformed Diameter AVPs"));
        };
        if let Some(success) = avps.iter().find(|a| {
            a.vendor == Some(codes::VENDOR_MICROSOFT) && a.code == codes::MS_CHAP2_SUCCESS
        }) {
            let ok = match (&self.expected_success, success.data.split_first()) {
                (Some(expected), Some((_ident, text))) => {
                    mschapv2::check_authenticator_response(expected, text)
                }
                _ => false,
            };
            if !ok {
                return PeerMethodStep::Fail(Reason::InnerProtocol(
                    "MS-CHAP2-Success does not prove the password",
                ));
            }
            self.succeeded = true;
            // RFC 5281 §11.2.4: acknowledge with an empty message.
            return match self.tunnel.flush() {
                PeerTunnelStep::Send(td) => PeerMethodStep::Send(td),
                PeerTunnelStep::Fail(r) => PeerMethodStep::Fail(r),
                PeerTunnelStep::Data(_) => PeerMethodStep::Fail(Reason::HandshakeIncomplete),
            };
        }
        let eap: Vec<u8> = avps
            .iter()
            .filter(|a| a.vendor.is_none() && a.code == codes::EAP_MESSAGE)
            .flat_map(|a| a.data.iter().copied())
            .collect();
        let Ok(packet) = Packet::new_checked(&eap[..]) else {
            return PeerMethodStep::Fail(Reason::InnerProtocol("no inner EAP request"));
        };
        if packet.code() != Code::Request || packet.eap_type() != Some(EapType::MsChapV2) {
            return PeerMethodStep::Fail(Reason::InnerProtocol("unexpected inner EAP request"));
        }
        let mschap = self.mschap.get_or_insert_with(|| {
            MschapPeer::new(&self.user, &self.password, self.peer_challenge)
        });
        let out = match mschap.process(packet.type_data()) {
            MschapPeerStep::Send(out) => out,
            MschapPeerStep::Succeeded(out) => {
                self.succeeded = true;
                out
            }
            MschapPeerStep::Fail(r) => return PeerMethodStep::Fail(r),
        };
        let response = codec::build(Code::Response, packet.identifier(), EapType::MsChapV2, &out);
        let mut avps = Vec::with_capacity(response.len() + 12);
        diameter::emit(&mut avps, codes::EAP_MESSAGE, None, true, &response);
        self.send(&avps)
    }

    /// EAP-Success arrived: the keys if the tunnel and the inner method
    /// succeeded (TTLS-PAP has no inner success message: the tunnel
    /// completing and our AVPs sent is all there is).
    pub(crate) fn success(&self) -> Result<crate::methods::tunnel::PeerResult, Reason> {
        let inner_ok = match self.inner {
            TtlsInner::Pap => self.started,
            _ => self.succeeded,
        };
        if !inner_ok || !self.tunnel.complete() {
            return Err(Reason::HandshakeIncomplete);
        }
        crate::methods::tunnel::PeerResult::of(&self.tunnel)
    }
}
