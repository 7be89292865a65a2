//! EAP-MSCHAPv2 (type 26), server and peer halves.
//!
//! The format is draft-kamath-pppext-eap-mschapv2 (what Windows, hostapd
//! and wpa_supplicant speak), which carries the MS-CHAP-V2 exchange of RFC
//! 2759 in EAP. Both halves consume and produce the Type-Data only (the
//! octets after the EAP Type); the PEAP and TTLS tunnels wrap them in EAP
//! headers and handle the EAP Identifier.
//!
//! ```text
//!  Type-Data of a Request, and of the Response to a Challenge (§2):
//!  +--------+--------------+-----------+---------
//!  | OpCode | MS-CHAPv2-ID | MS-Length | Data ...
//!  +--------+--------------+-----------+---------
//!      1           1             2
//!
//!  Challenge (1), server:  Value-Size = 16 | Challenge (16) | Name
//!  Response (2), peer:     Value-Size = 49 | Peer-Challenge (16) |
//!                          Reserved (8) | NT-Response (24) | Flags (1) | Name
//!  Success (3), server:    "S=<40 hex digits> M=<message>"
//!  Success (3), peer:      the OpCode alone
//!  Failure (4), server:    "E=691 R=0 C=<32 hex digits> V=3 M=<message>"
//!  Failure (4), peer:      the OpCode alone
//! ```
//!
//! MS-Length is the EAP Length minus 5 (§2), that is the length of the
//! Type-Data; it is checked to equal the octets received, in both
//! directions. Every other length (Value-Size, the fixed fields) is
//! checked before a field is read, and no input makes these state machines
//! panic: a packet that breaks the format ends the method with
//! [`Reason::InnerProtocol`].
//!
//! Not supported: retries (the Failure request says R=0) and
//! Change-Password (OpCode 7, which only follows E=648).

use crate::keys::Msk;
use crate::mschapv2::{
    self as crypto, AUTHENTICATOR_RESPONSE_LEN, AUTHENTICATOR_RESPONSE_STR_LEN, CHALLENGE_LEN,
    NT_HASH_LEN, NT_RESPONSE_LEN, NtHash,
};
use crate::reason::Reason;

/// OpCodes (draft-kamath-pppext-eap-mschapv2 §2).
mod op {
    pub const CHALLENGE: u8 = 1;
    pub const RESPONSE: u8 = 2;
    pub const SUCCESS: u8 = 3;
    pub const FAILURE: u8 = 4;
}

/// OpCode, MS-CHAPv2-ID and MS-Length.
const HEADER_LEN: usize = 4;

/// Value-Size of a Response: Peer-Challenge, Reserved, NT-Response, Flags
/// (draft-kamath-pppext-eap-mschapv2 §2.2; RFC 2759 §4).
const RESPONSE_VALUE_SIZE: usize = CHALLENGE_LEN + 8 + NT_RESPONSE_LEN + 1;

/// The printable message of the Success request (RFC 2759 §5).
const SUCCESS_MESSAGE: &str = "OK";

/// The Message of every Failure request: ERROR_AUTHENTICATION_FAILURE, no
/// retry, password-change protocol version 3 (RFC 2759 §6;
/// draft-kamath-pppext-eap-mschapv2 §2.5).
///
/// C= "MUST be exactly 32 octets long and MUST be present"; it is the
/// challenge a peer would use to retry or to change its password, neither
/// of which R=0 and E=691 allow, so it is all zeros as hostapd sends it.
/// Unknown user, wrong password and refusal by policy send these same
/// octets, so the wire does not tell them apart.
const FAILURE_MESSAGE: &[u8] =
    b"E=691 R=0 C=00000000000000000000000000000000 V=3 M=Authentication failed";

/// The MS-CHAP-V2 error code for a wrong user name or password (RFC 2759
/// §6: 691 ERROR_AUTHENTICATION_FAILURE).
const ERROR_AUTHENTICATION_FAILURE: u32 = 691;

/// Type-Data with the 4-octet header, MS-Length set to its whole length.
/// `None` when the total would not fit MS-Length.
fn build(opcode: u8, ms_chap_id: u8, body: &[&[u8]]) -> Option<Vec<u8>> {
    let len = HEADER_LEN + body.iter().map(|part| part.len()).sum::<usize>();
    let ms_length = u16::try_from(len).ok()?;
    let mut out = Vec::with_capacity(len);
    out.push(opcode);
    out.push(ms_chap_id);
    out.extend_from_slice(&ms_length.to_be_bytes());
    for part in body {
        out.extend_from_slice(part);
    }
    Some(out)
}

/// A Request, or the Response to a Challenge, split at its header.
struct Header<'a> {
    opcode: u8,
    ms_chap_id: u8,
    data: &'a [u8],
}

/// Checks the header and that MS-Length equals the octets received
/// (draft-kamath-pppext-eap-mschapv2 §2: "MUST be set to the value of the
/// Length field minus 5").
fn parse_header(type_data: &[u8]) -> Result<Header<'_>, Reason> {
    let [opcode, ms_chap_id, len_hi, len_lo, data @ ..] = type_data else {
        return Err(Reason::InnerProtocol(
            "EAP-MSCHAPv2 packet shorter than its 4-octet header",
        ));
    };
    if usize::from(u16::from_be_bytes([*len_hi, *len_lo])) != type_data.len() {
        return Err(Reason::InnerProtocol(
            "EAP-MSCHAPv2 MS-Length does not match the packet length",
        ));
    }
    Ok(Header {
        opcode: *opcode,
        ms_chap_id: *ms_chap_id,
        data,
    })
}

/// The fields of a peer's Response that the check needs.
struct PeerResponse {
    peer_challenge: [u8; CHALLENGE_LEN],
    nt_response: [u8; NT_RESPONSE_LEN],
    /// The Name field as sent, domain included.
    name: String,
}

/// Parses the Data of a Response (draft-kamath-pppext-eap-mschapv2 §2.2).
/// Reserved and Flags "must be zero" but enter no computation; like
/// hostapd, they are not checked.
fn parse_response(data: &[u8]) -> Result<PeerResponse, Reason> {
    let Some((&value_size, rest)) = data.split_first() else {
        return Err(Reason::InnerProtocol(
            "EAP-MSCHAPv2 Response without Value-Size",
        ));
    };
    if usize::from(value_size) != RESPONSE_VALUE_SIZE {
        return Err(Reason::InnerProtocol(
            "EAP-MSCHAPv2 Response Value-Size is not 49",
        ));
    }
    let Some((peer_challenge, rest)) = rest.split_first_chunk::<CHALLENGE_LEN>() else {
        return Err(Reason::InnerProtocol("EAP-MSCHAPv2 Response truncated"));
    };
    let Some((_reserved, rest)) = rest.split_first_chunk::<8>() else {
        return Err(Reason::InnerProtocol("EAP-MSCHAPv2 Response truncated"));
    };
    let Some((nt_response, rest)) = rest.split_first_chunk::<NT_RESPONSE_LEN>() else {
        return Err(Reason::InnerProtocol("EAP-MSCHAPv2 Response truncated"));
    };
    let Some((_flags, name)) = rest.split_first() else {
        return Err(Reason::InnerProtocol("EAP-MSCHAPv2 Response truncated"));
    };
    let Ok(name) = core::str::from_utf8(name) else {
        return Err(Reason::InnerProtocol(
            "EAP-MSCHAPv2 Response Name is not UTF-8",
        ));
    };
    Ok(PeerResponse {
        peer_challenge: *peer_challenge,
        nt_response: *nt_response,
        name: name.to_owned(),
    })
}

/// What the server half asks its caller to do next.
#[derive(Debug, Clone, PartialEq)]
pub enum MschapServerStep {
    /// Send an EAP-Request/EAP-MSCHAPv2 with this Type-Data.
    Send(Vec<u8>),
    /// The peer's Response arrived: the caller looks up the NT hash for
    /// this user name (exactly as the peer sent it, domain included) and
    /// calls [`MschapServer::nt_hash`]. hostapd also checks that this name
    /// matches the EAP identity inside the tunnel; that comparison is the
    /// caller's.
    NeedNtHash {
        /// The Name field of the Response.
        user_name: String,
    },
    /// The NT-Response verified: the caller decides (authorization) and
    /// calls [`MschapServer::allow`] or [`MschapServer::deny`].
    Verified,
    /// The peer acknowledged the Success request: the method succeeded.
    Done,
    /// The method ended in failure (after the Failure request was
    /// answered, or a protocol error).
    Fail(Reason),
}

/// Where the server half is.
enum ServerState {
    /// The Challenge went out; a Response is expected.
    ChallengeSent,
    /// The Response parsed; the caller looks up the NT hash.
    AwaitingHash(Box<PeerResponse>),
    /// The NT-Response verified; the caller decides.
    AwaitingDecision {
        authenticator_response: [u8; AUTHENTICATOR_RESPONSE_LEN],
        msk: Box<Msk>,
    },
    /// The Success request went out; its acknowledgement is expected.
    SuccessSent { msk: Box<Msk> },
    /// The Failure request went out; the method fails with this reason
    /// whatever the peer answers.
    FailureSent(Reason),
    /// The peer acknowledged the Success request.
    Done { msk: Box<Msk> },
    /// The method failed.
    Failed,
}

/// Server half of EAP-MSCHAPv2 (the authenticator).
///
/// ```text
/// let (mut m, challenge) = MschapServer::start(id, random_16, "authd");
/// send(challenge)
/// process(response)  -> NeedNtHash { user_name }
/// nt_hash(Some(&h))  -> Verified             | Send(failure request)
/// allow()            -> Send(success request)   (or deny() -> Send(failure))
/// process([3])       -> Done                 | process([4]) -> Fail(reason)
/// ```
pub struct MschapServer {
    ms_chap_id: u8,
    authenticator_challenge: [u8; CHALLENGE_LEN],
    state: ServerState,
}

impl MschapServer {
    /// Starts the method: returns it and the Type-Data of the Challenge
    /// request (draft-kamath-pppext-eap-mschapv2 §2.1).
    ///
    /// `authenticator_challenge` must be fresh random octets (RFC 2759 §3;
    /// the draft: "MUST be changed each time a Challenge is sent"); the
    /// caller draws them. `ms_chap_id` is usually the EAP Identifier of the
    /// request that will carry the Challenge. `server_name` fills the Name
    /// field; names longer than 256 octets are cut there (RFC 2759 §4
    /// allows 0 to 256 characters).
    pub fn start(
        ms_chap_id: u8,
        authenticator_challenge: [u8; CHALLENGE_LEN],
        server_name: &str,
    ) -> (MschapServer, Vec<u8>) {
        let name = server_name.as_bytes();
        let name = name.get(..256).unwrap_or(name);
        let value_size = [CHALLENGE_LEN as u8];
        // At most 4 + 1 + 16 + 256 octets: always fits MS-Length.
        let challenge = build(
            op::CHALLENGE,
            ms_chap_id,
            &[&value_size, &authenticator_challenge, name],
        )
        .unwrap_or_default();
        let server = MschapServer {
            ms_chap_id,
            authenticator_challenge,
            state: ServerState::ChallengeSent,
        };
        (server, challenge)
    }

    fn fail(&mut self, reason: Reason) -> MschapServerStep {
        self.state = ServerState::Failed;
        MschapServerStep::Fail(reason)
    }

    fn reply(&self, opcode: u8, message: &[u8]) -> Vec<u8> {
        // Success and Failure requests keep the MS-CHAPv2-ID of the
        // Challenge (hostapd: "must be changed for challenges, but not for
        // success/failure"). The messages are at most 48 + 2 octets.
        build(opcode, self.ms_chap_id, &[message]).unwrap_or_default()
    }

    fn send_failure(&mut self, reason: Reason) -> MschapServerStep {
        self.state = ServerState::FailureSent(reason);
        MschapServerStep::Send(self.reply(op::FAILURE, FAILURE_MESSAGE))
    }

    /// Processes the Type-Data of an EAP-Response/EAP-MSCHAPv2.
    pub fn process(&mut self, type_data: &[u8]) -> MschapServerStep {
        match &self.state {
            ServerState::ChallengeSent => self.on_response(type_data),
            ServerState::AwaitingHash(_) | ServerState::AwaitingDecision { .. } => self.fail(
                Reason::InnerProtocol("EAP-MSCHAPv2 packet while no request was outstanding"),
            ),
            ServerState::SuccessSent { .. } => match type_data {
                // §2.4: the Success response is the OpCode alone.
                [op::SUCCESS] => {
                    let state = core::mem::replace(&mut self.state, ServerState::Failed);
                    if let ServerState::SuccessSent { msk } = state {
                        self.state = ServerState::Done { msk };
                    }
                    MschapServerStep::Done
                }
                // The peer did not accept our authenticator response.
                [op::FAILURE] => self.fail(Reason::InnerFailure),
                _ => self.fail(Reason::InnerProtocol(
                    "expected an EAP-MSCHAPv2 Success or Failure response",
                )),
            },
            ServerState::FailureSent(reason) => {
                // §2.6: the peer answers with the OpCode 4 alone; whatever
                // it sends, the method has failed for the reason decided
                // when the Failure request went out.
                let reason = reason.clone();
                self.fail(reason)
            }
            ServerState::Done { .. } | ServerState::Failed => {
                MschapServerStep::Fail(Reason::SessionFinished)
            }
        }
    }

    fn on_response(&mut self, type_data: &[u8]) -> MschapServerStep {
        let header = match parse_header(type_data) {
            Ok(h) => h,
            Err(reason) => return self.fail(reason),
        };
        if header.opcode != op::RESPONSE {
            return self.fail(Reason::InnerProtocol(
                "expected an EAP-MSCHAPv2 Response to the Challenge",
            ));
        }
        // RFC 1994 §4.1 via RFC 2759 §4: the Response echoes the
        // Challenge's identifier.
        if header.ms_chap_id != self.ms_chap_id {
            return self.fail(Reason::InnerProtocol(
                "EAP-MSCHAPv2 Response MS-CHAPv2-ID does not match the Challenge",
            ));
        }
        match parse_response(header.data) {
            Ok(response) => {
                let user_name = response.name.clone();
                self.state = ServerState::AwaitingHash(Box::new(response));
                MschapServerStep::NeedNtHash { user_name }
            }
            Err(reason) => self.fail(reason),
        }
    }

    /// Checks the NT-Response with the user's NT hash (RFC 2759 §8.1 over
    /// the user name without its domain, §8.2).
    ///
    /// - the right hash: [`MschapServerStep::Verified`];
    /// - a wrong NT-Response: a Failure request (E=691), and the method
    ///   ends with [`Reason::WrongPassword`];
    /// - `None` (unknown user, no NT hash stored): the same Failure
    ///   request, after the same computation so that the timing does not
    ///   tell the cases apart, and the method ends with
    ///   [`Reason::NoCredential`].
    pub fn nt_hash(&mut self, hash: Option<&NtHash>) -> MschapServerStep {
        let state = core::mem::replace(&mut self.state, ServerState::Failed);
        let ServerState::AwaitingHash(response) = state else {
            return self.fail(Reason::InnerProtocol(
                "EAP-MSCHAPv2 nt_hash called out of order",
            ));
        };
        let user = crypto::user_name_without_domain(response.name.as_bytes());
        let unknown = NtHash::new([0u8; NT_HASH_LEN]);
        let verified = crypto::verify_nt_response(
            &self.authenticator_challenge,
            &response.peer_challenge,
            user,
            hash.unwrap_or(&unknown),
            &response.nt_response,
        );
        match hash {
            None => self.send_failure(Reason::NoCredential),
            Some(_) if !verified => self.send_failure(Reason::WrongPassword),
            Some(hash) => {
                let authenticator_response = crypto::generate_authenticator_response(
                    hash,
                    &response.nt_response,
                    &response.peer_challenge,
                    &self.authenticator_challenge,
                    user,
                );
                self.state = ServerState::AwaitingDecision {
                    authenticator_response,
                    msk: Box::new(crypto::msk(hash, &response.nt_response)),
                };
                MschapServerStep::Verified
            }
        }
    }

    /// Accepts the verified peer: the Success request with the
    /// authenticator response (draft-kamath-pppext-eap-mschapv2 §2.3).
    pub fn allow(&mut self) -> MschapServerStep {
        let state = core::mem::replace(&mut self.state, ServerState::Failed);
        let ServerState::AwaitingDecision {
            authenticator_response,
            msk,
        } = state
        else {
            return self.fail(Reason::InnerProtocol(
                "EAP-MSCHAPv2 allow called before the NT-Response verified",
            ));
        };
        let mut message = crypto::authenticator_response_string(&authenticator_response);
        message.push_str(" M=");
        message.push_str(SUCCESS_MESSAGE);
        self.state = ServerState::SuccessSent { msk };
        MschapServerStep::Send(self.reply(op::SUCCESS, message.as_bytes()))
    }

    /// Refuses the peer: the Failure request (E=691, the same octets as
    /// for a wrong password), and the method ends with
    /// [`Reason::AccessDenied`]. Allowed after [`MschapServerStep::Verified`]
    /// and also instead of [`MschapServer::nt_hash`], when the caller
    /// refuses the user before looking at a credential.
    pub fn deny(&mut self) -> MschapServerStep {
        match self.state {
            ServerState::AwaitingHash(_) | ServerState::AwaitingDecision { .. } => {
                self.send_failure(Reason::AccessDenied)
            }
            _ => self.fail(Reason::InnerProtocol(
                "EAP-MSCHAPv2 deny called out of order",
            )),
        }
    }

    /// The EAP-MSCHAPv2 MSK (RFC 3079 keys, see [`crypto::msk`]) once the
    /// NT-Response verified and unless the peer was denied. The tunnels
    /// do not take MPPE keys from it; it serves tests and cryptobinding.
    pub fn msk(&self) -> Option<&Msk> {
        match &self.state {
            ServerState::AwaitingDecision { msk, .. }
            | ServerState::SuccessSent { msk }
            | ServerState::Done { msk } => Some(msk),
            _ => None,
        }
    }
}

/// What the peer half asks its caller to do next.
#[derive(Debug, Clone, PartialEq)]
pub enum MschapPeerStep {
    /// Send an EAP-Response/EAP-MSCHAPv2 with this Type-Data.
    Send(Vec<u8>),
    /// The server's authenticator response verified (mutual
    /// authentication, RFC 2759 §8.8): send this Success response
    /// Type-Data; the method succeeded.
    Succeeded(Vec<u8>),
    /// The method failed; nothing is sent.
    Fail(Reason),
}

/// Where the peer half is.
enum PeerState {
    AwaitingChallenge,
    ResponseSent {
        expected: [u8; AUTHENTICATOR_RESPONSE_LEN],
        msk: Box<Msk>,
    },
    Succeeded {
        msk: Box<Msk>,
    },
    Failed(Reason),
}

/// Peer half of EAP-MSCHAPv2 (the supplicant).
pub struct MschapPeer {
    user_name: String,
    hash: NtHash,
    peer_challenge: [u8; CHALLENGE_LEN],
    state: PeerState,
}

impl MschapPeer {
    /// A peer for `user_name` (sent as the Name, a `DOMAIN\` prefix
    /// included; the NT-Response uses the name without it) with
    /// `password`. `peer_challenge` must be fresh random octets (RFC 2759
    /// §4); the caller draws them. Only the NT hash of the password is
    /// kept.
    pub fn new(user_name: &str, password: &str, peer_challenge: [u8; CHALLENGE_LEN]) -> MschapPeer {
        MschapPeer {
            user_name: user_name.to_owned(),
            hash: NtHash::of_password(password),
            peer_challenge,
            state: PeerState::AwaitingChallenge,
        }
    }

    fn fail(&mut self, reason: Reason) -> MschapPeerStep {
        self.state = PeerState::Failed(reason.clone());
        MschapPeerStep::Fail(reason)
    }

    /// Processes the Type-Data of an EAP-Request/EAP-MSCHAPv2.
    ///
    /// A Success request whose `S=` does not verify ends the method with
    /// [`Reason::InnerProtocol`] and no response, as the draft requires
    /// (§2.3: "the peer MUST end the session without sending a
    /// response"): the server did not prove it knows the password. A
    /// Failure request is answered with the Failure response; the method
    /// then has failed with [`Reason::WrongPassword`] for E=691, or
    /// [`Reason::AccessDenied`] for another error code (see
    /// [`MschapPeer::failure`]).
    pub fn process(&mut self, type_data: &[u8]) -> MschapPeerStep {
        match &self.state {
            PeerState::Succeeded { .. } => return MschapPeerStep::Fail(Reason::SessionFinished),
            PeerState::Failed(reason) => return MschapPeerStep::Fail(reason.clone()),
            _ => {}
        }
        let header = match parse_header(type_data) {
            Ok(h) => h,
            Err(reason) => return self.fail(reason),
        };
        match (&self.state, header.opcode) {
            (PeerState::AwaitingChallenge, op::CHALLENGE) => {
                self.on_challenge(header.ms_chap_id, header.data)
            }
            (PeerState::ResponseSent { expected, .. }, op::SUCCESS) => {
                if success_message_verifies(expected, header.data) {
                    let state = core::mem::replace(&mut self.state, PeerState::AwaitingChallenge);
                    if let PeerState::ResponseSent { msk, .. } = state {
                        self.state = PeerState::Succeeded { msk };
                    }
                    MschapPeerStep::Succeeded(vec![op::SUCCESS])
                } else {
                    self.fail(Reason::InnerProtocol(
                        "the server's EAP-MSCHAPv2 authenticator response (S=) did not verify",
                    ))
                }
            }
            (PeerState::ResponseSent { .. }, op::FAILURE) => {
                self.state = PeerState::Failed(failure_reason(header.data));
                // §2.6: the Failure response is the OpCode alone.
                MschapPeerStep::Send(vec![op::FAILURE])
            }
            _ => self.fail(Reason::InnerProtocol(
                "unexpected EAP-MSCHAPv2 OpCode at this point",
            )),
        }
    }

    fn on_challenge(&mut self, ms_chap_id: u8, data: &[u8]) -> MschapPeerStep {
        // §2.1: Value-Size 16, the Challenge, then the server's Name
        // (ignored).
        let Some((&value_size, rest)) = data.split_first() else {
            return self.fail(Reason::InnerProtocol(
                "EAP-MSCHAPv2 Challenge without Value-Size",
            ));
        };
        if usize::from(value_size) != CHALLENGE_LEN {
            return self.fail(Reason::InnerProtocol(
                "EAP-MSCHAPv2 Challenge Value-Size is not 16",
            ));
        }
        let Some((authenticator_challenge, _name)) = rest.split_first_chunk::<CHALLENGE_LEN>()
        else {
            return self.fail(Reason::InnerProtocol("EAP-MSCHAPv2 Challenge truncated"));
        };
        let user = crypto::user_name_without_domain(self.user_name.as_bytes());
        let nt_response = crypto::generate_nt_response(
            authenticator_challenge,
            &self.peer_challenge,
            user,
            &self.hash,
        );
        let expected = crypto::generate_authenticator_response(
            &self.hash,
            &nt_response,
            &self.peer_challenge,
            authenticator_challenge,
            user,
        );
        let value_size = [RESPONSE_VALUE_SIZE as u8];
        let reserved = [0u8; 8];
        let flags = [0u8];
        let Some(response) = build(
            op::RESPONSE,
            ms_chap_id,
            &[
                &value_size,
                &self.peer_challenge,
                &reserved,
                &nt_response,
                &flags,
                self.user_name.as_bytes(),
            ],
        ) else {
            return self.fail(Reason::InnerProtocol(
                "user name too long for an EAP-MSCHAPv2 Response",
            ));
        };
        self.state = PeerState::ResponseSent {
            expected,
            msk: Box::new(crypto::msk(&self.hash, &nt_response)),
        };
        MschapPeerStep::Send(response)
    }

    /// The server's authenticator response verified and the Success
    /// response was produced.
    pub fn succeeded(&self) -> bool {
        matches!(self.state, PeerState::Succeeded { .. })
    }

    /// Why the method failed, once it has.
    pub fn failure(&self) -> Option<&Reason> {
        match &self.state {
            PeerState::Failed(reason) => Some(reason),
            _ => None,
        }
    }

    /// The EAP-MSCHAPv2 MSK (see [`crypto::msk`]) once the method
    /// succeeded.
    pub fn msk(&self) -> Option<&Msk> {
        match &self.state {
            PeerState::Succeeded { msk } => Some(msk),
            _ => None,
        }
    }
}

/// The Message of a Success request: `S=<40 hex digits>`, then nothing or
/// a space and the printable message (RFC 2759 §5: `S=<auth_string>
/// M=<message>`; some servers send the `S=` part alone).
fn success_message_verifies(expected: &[u8; AUTHENTICATOR_RESPONSE_LEN], message: &[u8]) -> bool {
    let Some((auth, rest)) = message.split_at_checked(AUTHENTICATOR_RESPONSE_STR_LEN) else {
        return false;
    };
    let rest_ok = rest.is_empty() || rest.first() == Some(&b' ');
    crypto::check_authenticator_response(expected, auth) & rest_ok
}

/// The reason a Failure request gives: `E=<decimal>` first (RFC 2759 §6).
fn failure_reason(message: &[u8]) -> Reason {
    let digits = message
        .strip_prefix(b"E=")
        .map(|rest| {
            let end = rest
                .iter()
                .position(|b| !b.is_ascii_digit())
                .unwrap_or(rest.len());
            rest.get(..end).unwrap_or_default()
        })
        .unwrap_or_default();
    let code = core::str::from_utf8(digits)
        .ok()
        .and_then(|d| d.parse::<u32>().ok());
    match code {
        Some(ERROR_AUTHENTICATION_FAILURE) => Reason::WrongPassword,
        Some(_) => Reason::AccessDenied,
        None => Reason::InnerProtocol("EAP-MSCHAPv2 Failure request without an E= error code"),
    }
}

#[cfg(test)]
mod tests;
