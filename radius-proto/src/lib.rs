//! RADIUS wire format, sans-IO: parse, verify and build packets for an
//! 802.1X / WPA-Enterprise server and for the NAS (RADIUS client) side.
//!
//! No sockets, clocks or randomness live here: random Request Authenticators
//! and salts are arguments, so every function is deterministic and testable.
//!
//! # Parse once, then read freely
//!
//! [`Packet::new_checked`] validates a datagram completely, once: the 20-octet
//! header, the Length field (20..=4096 and within the datagram; octets past it
//! are padding, RFC 2865 §3) and the length of every attribute (RFC 2865 §5).
//! Any defect is an [`Error`] naming the reason ([`Error::reason`] gives a
//! stable label for counters). Once a `Packet` exists, its accessors and its
//! attribute iterator cannot fail or panic.
//!
//! Structure is not authenticity: a server then calls [`verify_request`]
//! (Message-Authenticator, RFC 3579 §3.2; Accounting Request Authenticator,
//! RFC 2866 §3) and a client [`verify_response`] (Response Authenticator,
//! RFC 2865 §3) before trusting the content.
//!
//! The shared secret is anything [`Secret`]: a byte string, keyed into the
//! HMAC-MD5 on each use, or a [`SharedSecret`], keyed once (a server keeps
//! one per NAS client).
//!
//! ```
//! use radius_proto::{Code, Packet, PacketBuilder, dict, verify_request, verify_response};
//!
//! let secret = b"shared secret";
//! // NAS side: an Access-Request carrying an EAP-Response/Identity.
//! let mut req = PacketBuilder::new(Code::AccessRequest, 1);
//! req.add(dict::USER_NAME, b"alice")?.add_eap_message(&[2, 0, 0, 10, 1, b'a', b'l', b'i', b'c', b'e']);
//! let request_authenticator = [7u8; 16]; // random in real use
//! let wire = req.encode_request(request_authenticator, secret)?;
//!
//! // Server side.
//! let request = Packet::new_checked(&wire[..])?;
//! verify_request(&request, secret, true)?;
//! let eap = request.eap_message().unwrap();
//! assert_eq!(eap[4], 1); // EAP type Identity
//! let reply = PacketBuilder::reply_to(Code::AccessReject, &request)
//!     .add_eap_message(&[4, 0, 0, 4])
//!     .encode_response(&request, secret)?;
//!
//! // NAS side again.
//! let reply = Packet::new_checked(&reply[..])?;
//! verify_response(&reply, &request_authenticator, secret)?;
//! assert_eq!(reply.code(), Code::AccessReject);
//! # Ok::<(), radius_proto::Error>(())
//! ```
//!
//! Modules: [`packet`] (header and attribute view), [`dict`] (type numbers),
//! [`auth`] (authenticators), [`hiding`] (User-Password, MS-MPPE keys,
//! Tunnel-Password), [`builder`] (encoding), [`stream`] (packets out of a
//! TCP or TLS byte stream, RFC 6613 §2.6), [`v11`] (RADIUS/1.1, RFC 9765:
//! the Token header, no MD5).

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod auth;
pub mod builder;
pub mod dict;
mod error;
pub mod hiding;
pub mod packet;
pub mod stream;
pub mod v11;

pub use auth::{Secret, SharedSecret, verify_request, verify_response, verify_response_with};
pub use builder::PacketBuilder;
pub use error::Error;
pub use hiding::{
    decrypt_mppe_key, decrypt_tunnel_password, decrypt_user_password, encrypt_mppe_key,
    encrypt_tunnel_password, encrypt_user_password, try_encrypt_mppe_key,
};
pub use packet::{Attribute, Attributes, Code, Packet, VendorAttributes};
pub use zeroize::Zeroizing;
