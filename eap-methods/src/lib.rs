//! EAP (RFC 3748) and EAP-TLS (RFC 5216, RFC 9190), sans-IO.
//!
//! - [`codec`]: the EAP packet view and owned representation.
//! - [`server`]: [`ServerSession`], one per RADIUS State, driven by the
//!   RADIUS server.
//! - [`peer`]: [`PeerSession`], the supplicant side.
//! - [`tls_common`]: EAP-TLS framing, fragmentation, rustls over buffers,
//!   key export.
//! - [`keys`]: [`Msk`] and [`Emsk`].
//!
//! Driving the server (one session per RADIUS State):
//!
//! ```text
//! let mut session = ServerSession::new(config.clone(), fragment_size);
//! match session.handle(&joined_eap_message) {   // empty slice = EAP-Start
//!     Outcome::Request(eap)          => Access-Challenge(EAP-Message = eap, State)
//!     Outcome::Success { eap, auth } => Access-Accept(eap, MS-MPPE keys from auth.msk)
//!                                       (or Access-Reject with failure_packet(eap[1]))
//!     Outcome::Failure { eap, reason } => Access-Reject(eap), log reason / count reason.label()
//!     Outcome::Discard(reason)       => drop the Access-Request
//! }
//! ```
//!
//! No sockets, clocks or randomness of its own: rustls draws its randomness
//! from the configured crypto provider; time enters through the
//! certificate verifier the caller builds.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod codec;
pub mod diameter;
pub mod keys;
pub mod methods;
pub mod mschapv2;
pub mod peer;
mod reason;
pub mod server;
pub mod suite_b;
pub mod tls_common;

/// The rustls this crate is built against, so callers build configs with
/// the same version.
pub use rustls;

pub use codec::{Code, EapType};
pub use keys::{Emsk, Msk};
pub use peer::{
    PasswordCredentials, PeerAuthenticated, PeerConfig, PeerMethod, PeerOutcome, PeerSession,
    TtlsInner,
};
pub use reason::Reason;
pub use server::{
    Authenticated, Credential, CredentialKind, CredentialQuery, InnerMethod, Outcome, PeerVerified,
    ServerConfig, ServerSession, Verdict, failure_packet, success_packet,
};
pub use tls_common::classic_kx_provider;
