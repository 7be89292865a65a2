//! What EAP-TLS server and peer share: the EAP-TLS framing (RFC 5216 §3.1),
//! fragmentation and reassembly, rustls driven over buffers, and key export
//! (RFC 5216 §2.3, RFC 9190 §2.3).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     Flags     |      TLS Message Length (only when L is set)
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     TLS Message Length        |       TLS Data...
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! Contract: [`TlsPacket::new_checked`] validates that the Flags octet is
//! present and, when L is set, the four length octets too. After it, no
//! accessor can panic.

use std::io::Read;

use rustls::ProtocolVersion;

use crate::keys::{Emsk, KEY_LEN, Msk, split_key_material};
use crate::reason::Reason;

mod provider;
pub use provider::{
    PREFERRED_SUITES, choose_by_server_order, classic_kx_provider, server_provider,
};

/// EAP-TLS flag bits (RFC 5216 §3.1).
pub mod flags {
    /// L: the TLS Message Length field is present.
    pub const LENGTH_INCLUDED: u8 = 0x80;
    /// M: more fragments follow.
    pub const MORE_FRAGMENTS: u8 = 0x40;
    /// S: EAP-TLS Start (server to peer only).
    pub const START: u8 = 0x20;
}

/// Field offsets inside the EAP-TLS Type-Data.
mod field {
    use core::ops::Range;
    pub const FLAGS: usize = 0;
    pub const MESSAGE_LENGTH: Range<usize> = 1..5;
}

/// Default bound on a reassembled TLS message.
pub const DEFAULT_MAX_TLS_MESSAGE_LEN: usize = 65536;

/// TLS Data octets per fragment below which we do not go (a zero fragment
/// size would never make progress).
pub const MIN_FRAGMENT_SIZE: usize = 16;

/// Errors of the EAP-TLS framing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TlsFrameError {
    /// No Flags octet.
    MissingFlags,
    /// L set but fewer than four length octets.
    TruncatedLength,
}

/// A view of the Type-Data of an EAP-TLS Request or Response.
#[derive(Debug, Clone, Copy)]
pub struct TlsPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> TlsPacket<T> {
    /// Validates the Flags octet and, with L, the TLS Message Length field.
    pub fn new_checked(buffer: T) -> Result<Self, TlsFrameError> {
        let data = buffer.as_ref();
        let Some(&f) = data.get(field::FLAGS) else {
            return Err(TlsFrameError::MissingFlags);
        };
        if f & flags::LENGTH_INCLUDED != 0 && data.len() < field::MESSAGE_LENGTH.end {
            return Err(TlsFrameError::TruncatedLength);
        }
        Ok(TlsPacket { buffer })
    }

    /// The raw Flags octet.
    pub fn flags(&self) -> u8 {
        self.buffer.as_ref()[field::FLAGS]
    }

    /// S: EAP-TLS Start.
    pub fn is_start(&self) -> bool {
        self.flags() & flags::START != 0
    }

    /// M: more fragments follow.
    pub fn more_fragments(&self) -> bool {
        self.flags() & flags::MORE_FRAGMENTS != 0
    }

    /// The TLS Message Length, when L is set.
    pub fn message_length(&self) -> Option<u32> {
        if self.flags() & flags::LENGTH_INCLUDED == 0 {
            return None;
        }
        let d = &self.buffer.as_ref()[field::MESSAGE_LENGTH];
        Some(u32::from_be_bytes([d[0], d[1], d[2], d[3]]))
    }

    /// The TLS Data octets.
    pub fn tls_data(&self) -> &[u8] {
        let start = if self.flags() & flags::LENGTH_INCLUDED != 0 {
            field::MESSAGE_LENGTH.end
        } else {
            field::FLAGS + 1
        };
        self.buffer.as_ref().get(start..).unwrap_or(&[])
    }

    /// An ACK: no flags of interest and no data (RFC 5216 §3.1, §2.1.5).
    pub fn is_ack(&self) -> bool {
        !self.is_start() && !self.more_fragments() && self.tls_data().is_empty()
    }
}

/// An owned EAP-TLS Type-Data.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TlsRepr {
    /// S flag.
    pub start: bool,
    /// M flag.
    pub more_fragments: bool,
    /// TLS Message Length; `Some` sets L.
    pub message_length: Option<u32>,
    /// TLS Data.
    pub data: Vec<u8>,
}

impl TlsRepr {
    /// Parses a checked view.
    pub fn parse<T: AsRef<[u8]>>(p: &TlsPacket<T>) -> TlsRepr {
        TlsRepr {
            start: p.is_start(),
            more_fragments: p.more_fragments(),
            message_length: p.message_length(),
            data: p.tls_data().to_vec(),
        }
    }

    /// An ACK or an empty message: flags 0, no data.
    pub fn ack() -> TlsRepr {
        TlsRepr::default()
    }

    /// Octets [`TlsRepr::emit`] appends.
    pub fn buffer_len(&self) -> usize {
        1 + if self.message_length.is_some() { 4 } else { 0 } + self.data.len()
    }

    /// Appends the Type-Data to `out`.
    pub fn emit(&self, out: &mut Vec<u8>) {
        let mut f = 0;
        if self.start {
            f |= flags::START;
        }
        if self.more_fragments {
            f |= flags::MORE_FRAGMENTS;
        }
        if self.message_length.is_some() {
            f |= flags::LENGTH_INCLUDED;
        }
        out.push(f);
        if let Some(len) = self.message_length {
            out.extend_from_slice(&len.to_be_bytes());
        }
        out.extend_from_slice(&self.data);
    }

    /// Emits into a fresh vector.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(self.buffer_len());
        self.emit(&mut v);
        v
    }
}

/// Splits one outgoing TLS flight into EAP-TLS fragments (RFC 5216 §3.1):
/// the first carries L and M with the total length, the middle ones M, the
/// last none. A flight that fits in one fragment carries no flags.
#[derive(Debug)]
pub struct Fragmenter {
    data: Vec<u8>,
    offset: usize,
    size: usize,
}

impl Fragmenter {
    /// `size` is the TLS Data octets per fragment (at least
    /// [`MIN_FRAGMENT_SIZE`]).
    pub fn new(data: Vec<u8>, size: usize) -> Fragmenter {
        Fragmenter {
            data,
            offset: 0,
            size: size.max(MIN_FRAGMENT_SIZE),
        }
    }

    /// Whether fragments remain to be sent.
    pub fn has_more(&self) -> bool {
        self.offset < self.data.len()
    }

    /// The next fragment's header (M, and L with the flight's length on
    /// the first of several) and where its TLS data lies in the flight;
    /// `None` once all were produced.
    fn advance(&mut self) -> Option<(TlsRepr, core::ops::Range<usize>)> {
        let rest = self
            .data
            .len()
            .checked_sub(self.offset)
            .filter(|r| *r > 0)?;
        let take = rest.min(self.size);
        let range = self.offset..self.offset + take;
        let first = self.offset == 0;
        let fragmented = self.data.len() > self.size;
        self.offset += take;
        let header = TlsRepr {
            start: false,
            more_fragments: self.has_more(),
            message_length: if first && fragmented {
                u32::try_from(self.data.len()).ok()
            } else {
                None
            },
            data: Vec::new(),
        };
        Some((header, range))
    }

    /// The next fragment; `None` once all were produced.
    pub fn next_fragment(&mut self) -> Option<TlsRepr> {
        let (mut repr, range) = self.advance()?;
        repr.data = self.data.get(range)?.to_vec();
        Some(repr)
    }

    /// The next fragment's Type-Data (flags, TLS Message Length, TLS
    /// data), written straight from the flight into one vector of the
    /// exact size: what [`Fragmenter::next_fragment`] then
    /// [`TlsRepr::to_vec`] give, with one copy and one allocation less.
    pub fn next_type_data(&mut self) -> Option<Vec<u8>> {
        let (header, range) = self.advance()?;
        let data = self.data.get(range)?;
        let mut out = Vec::with_capacity(header.buffer_len() + data.len());
        header.emit(&mut out);
        out.extend_from_slice(data);
        Some(out)
    }
}

/// Reassembles incoming EAP-TLS fragments into one TLS message, bounded by
/// a maximum length checked against both the declared TLS Message Length
/// and the octets actually received (RFC 5216 §3.1).
#[derive(Debug)]
pub struct Reassembler {
    buf: Vec<u8>,
    declared: Option<usize>,
    in_progress: bool,
    max: usize,
}

impl Reassembler {
    /// A reassembler accepting messages of at most `max` octets.
    pub fn new(max: usize) -> Reassembler {
        Reassembler {
            buf: Vec::new(),
            declared: None,
            in_progress: false,
            max,
        }
    }

    /// Whether a fragmented message is being received.
    pub fn in_progress(&self) -> bool {
        self.in_progress
    }

    /// Adds one fragment. Returns `Ok(Some(message))` when the message is
    /// complete, `Ok(None)` when more fragments are expected (the caller
    /// answers with an ACK).
    pub fn push<T: AsRef<[u8]>>(&mut self, p: &TlsPacket<T>) -> Result<Option<Vec<u8>>, Reason> {
        if let Some(len) = p.message_length() {
            let len = usize::try_from(len).unwrap_or(usize::MAX);
            if len > self.max {
                return Err(Reason::TlsMessageTooLong {
                    declared_or_actual: len,
                });
            }
            match self.declared {
                Some(d) if self.in_progress && d != len => {
                    return Err(Reason::FragmentProtocol(
                        "TLS Message Length changed between fragments",
                    ));
                }
                _ => self.declared = Some(len),
            }
        } else if !self.in_progress {
            self.declared = None;
        }
        let data = p.tls_data();
        if p.more_fragments() && data.is_empty() {
            return Err(Reason::FragmentProtocol(
                "fragment with M set carries no data",
            ));
        }
        let total = self.buf.len().saturating_add(data.len());
        if total > self.max {
            return Err(Reason::TlsMessageTooLong {
                declared_or_actual: total,
            });
        }
        if let Some(d) = self.declared
            && total > d
        {
            return Err(Reason::FragmentProtocol(
                "more TLS data than the declared TLS Message Length",
            ));
        }
        self.buf.extend_from_slice(data);
        if p.more_fragments() {
            self.in_progress = true;
            return Ok(None);
        }
        self.in_progress = false;
        if let Some(d) = self.declared.take()
            && d != self.buf.len()
        {
            self.buf.clear();
            return Err(Reason::FragmentProtocol(
                "less TLS data than the declared TLS Message Length",
            ));
        }
        Ok(Some(core::mem::take(&mut self.buf)))
    }
}

/// What one side of a TLS-based method makes of a peer message, before
/// TLS sees anything: the fragment and acknowledgement rules of RFC 5216
/// §3.1, which EAP-TLS, PEAP and TTLS share.
pub(crate) enum Inbound {
    /// Send this Type-Data: our next outgoing fragment (the message was
    /// its ACK), or the ACK of an incoming fragment.
    Reply(Vec<u8>),
    /// A complete TLS message (never empty).
    Message(Vec<u8>),
    /// An ACK while nothing is outgoing or being reassembled.
    Ack,
    /// The fragmentation rules were broken.
    Fail(Reason),
}

/// The outgoing flight being fragmented and the incoming message being
/// reassembled, for one side of one conversation.
#[derive(Debug)]
pub(crate) struct Channel {
    out: Fragmenter,
    inb: Reassembler,
    fragment_size: usize,
}

impl Channel {
    pub(crate) fn new(fragment_size: usize, max_tls_message_len: usize) -> Channel {
        Channel {
            out: Fragmenter::new(Vec::new(), fragment_size),
            inb: Reassembler::new(max_tls_message_len),
            fragment_size,
        }
    }

    /// Whether fragments of our last flight are still to be sent.
    pub(crate) fn sending(&self) -> bool {
        self.out.has_more()
    }

    /// Starts sending `flight`: its first fragment.
    pub(crate) fn send(&mut self, flight: Vec<u8>) -> Result<Vec<u8>, Reason> {
        self.out = Fragmenter::new(flight, self.fragment_size);
        self.out.next_type_data().ok_or(Reason::HandshakeIncomplete)
    }

    /// A flight to be sent later, fragment by fragment, by the caller.
    pub(crate) fn into_fragmenter(self, flight: Vec<u8>) -> Fragmenter {
        Fragmenter::new(flight, self.fragment_size)
    }

    /// One message of the other side.
    pub(crate) fn receive<T: AsRef<[u8]>>(&mut self, p: &TlsPacket<T>) -> Inbound {
        if self.out.has_more() {
            // RFC 5216 §3.1: each fragment is acknowledged by an empty
            // message before the next is sent.
            if !p.is_ack() {
                return Inbound::Fail(Reason::FragmentProtocol(
                    "expected an ACK for an outgoing fragment",
                ));
            }
            return match self.out.next_type_data() {
                Some(f) => Inbound::Reply(f),
                None => Inbound::Fail(Reason::HandshakeIncomplete),
            };
        }
        if p.is_start() {
            return Inbound::Fail(Reason::FragmentProtocol("S flag where no Start belongs"));
        }
        if p.is_ack() && !self.inb.in_progress() {
            return Inbound::Ack;
        }
        match self.inb.push(p) {
            Err(reason) => Inbound::Fail(reason),
            // RFC 5216 §3.1: acknowledge an incoming fragment with a
            // message carrying no data.
            Ok(None) => Inbound::Reply(TlsRepr::ack().to_vec()),
            Ok(Some(m)) if m.is_empty() => {
                Inbound::Fail(Reason::FragmentProtocol("empty TLS message"))
            }
            Ok(Some(m)) => Inbound::Message(m),
        }
    }
}

/// A rustls connection driven over byte buffers.
pub(crate) struct TlsEngine {
    conn: rustls::Connection,
    /// ClientHello.random and ServerHello.random, read from the first
    /// plaintext handshake records (TLS 1.2 Session-Id, RFC 5216 §2.3).
    client_random: Option<[u8; 32]>,
    server_random: Option<[u8; 32]>,
    sent_any: bool,
    received_any: bool,
}

/// TLS record content type handshake (RFC 5246 §6.2.1).
const CONTENT_HANDSHAKE: u8 = 22;
/// Handshake types (RFC 5246 §7.4).
const HANDSHAKE_CLIENT_HELLO: u8 = 1;
const HANDSHAKE_SERVER_HELLO: u8 = 2;

/// Reads the 32-octet random of a ClientHello or ServerHello at the start
/// of a TLS record stream (RFC 5246 §6.2.1, §7.4.1.2, §7.4.1.3): handshake
/// header (4), version (2), random (32). A peer may fragment the hello over
/// several short handshake records (RFC 5246 §6.2.1 allows records of any
/// length down to one octet), so the fragments of consecutive handshake
/// records are joined until the random is complete.
pub fn hello_random(records: &[u8], handshake_type: u8) -> Option<[u8; 32]> {
    /// Handshake header, version and random.
    const NEEDED: usize = 4 + 2 + 32;
    let mut joined = [0u8; NEEDED];
    let mut have = 0;
    let mut rest = records;
    while have < NEEDED {
        let header = rest.get(..5)?;
        if header[0] != CONTENT_HANDSHAKE {
            return None;
        }
        let len = usize::from(u16::from_be_bytes([header[3], header[4]]));
        // The last record may be cut short: what it holds still counts.
        let body = rest.get(5..)?;
        let fragment = body.get(..len).unwrap_or(body);
        if fragment.is_empty() {
            return None;
        }
        let take = fragment.len().min(NEEDED - have);
        joined[have..have + take].copy_from_slice(&fragment[..take]);
        have += take;
        rest = body.get(len..).unwrap_or(&[]);
    }
    if joined[0] != handshake_type {
        return None;
    }
    joined[6..].try_into().ok()
}

/// TLS alert: level fatal, description access_denied (RFC 8446 §6,
/// RFC 5246 §7.2).
const ACCESS_DENIED_ALERT: [u8; 2] = [2, 49];

/// A fatal access_denied alert as a plaintext TLS record, for a TLS 1.2
/// server that has not yet sent its ChangeCipherSpec (RFC 5246 §7.2).
pub(crate) fn plaintext_access_denied() -> Vec<u8> {
    let mut record = vec![21, 3, 3, 0, 2];
    record.extend_from_slice(&ACCESS_DENIED_ALERT);
    record
}

/// A fatal access_denied alert protected with the connection's current
/// write keys (TLS 1.3 application traffic keys, or TLS 1.2 keys after
/// the server's ChangeCipherSpec). rustls offers no call that sends a
/// chosen alert, so the record is sealed here with rustls' own AEAD for
/// the negotiated suite and the next write sequence number. Consumes the
/// connection (nothing else may be written after a fatal alert); needs
/// `enable_secret_extraction` in the rustls configuration. `None` when the
/// keys cannot be had.
fn sealed_access_denied(conn: rustls::Connection) -> Option<Vec<u8>> {
    use rustls::crypto::cipher::{OutboundChunks, OutboundPlainMessage};
    use rustls::{ConnectionTrafficSecrets, ContentType, SupportedCipherSuite};

    let suite = conn.negotiated_cipher_suite()?;
    let secrets = conn.dangerous_extract_secrets().ok()?;
    let (seq, tx) = secrets.tx;
    let (key, iv) = match tx {
        ConnectionTrafficSecrets::Aes128Gcm { key, iv }
        | ConnectionTrafficSecrets::Aes256Gcm { key, iv }
        | ConnectionTrafficSecrets::Chacha20Poly1305 { key, iv } => (key, iv),
        _ => return None,
    };
    let mut encrypter = match suite {
        SupportedCipherSuite::Tls13(s) => s.aead_alg.encrypter(key, iv),
        SupportedCipherSuite::Tls12(s) => {
            // The extracted IV is the fixed part followed by the explicit
            // nonce part (empty for ChaCha20-Poly1305).
            let fixed = s.aead_alg.key_block_shape().fixed_iv_len;
            let iv = iv.as_ref();
            s.aead_alg
                .encrypter(key, iv.get(..fixed)?, iv.get(fixed..)?)
        }
    };
    let message = OutboundPlainMessage {
        typ: ContentType::Alert,
        version: ProtocolVersion::TLSv1_2,
        payload: OutboundChunks::Single(&ACCESS_DENIED_ALERT),
    };
    Some(encrypter.encrypt(message, seq).ok()?.encode())
}

impl TlsEngine {
    pub(crate) fn new(conn: rustls::Connection) -> TlsEngine {
        TlsEngine {
            conn,
            client_random: None,
            server_random: None,
            sent_any: false,
            received_any: false,
        }
    }

    fn is_server(&self) -> bool {
        matches!(self.conn, rustls::Connection::Server(_))
    }

    /// Feeds one reassembled TLS message. Never passes an empty slice to
    /// `read_tls` (rustls would take it as end of stream).
    pub(crate) fn feed(&mut self, mut data: &[u8]) -> Result<(), rustls::Error> {
        if !self.received_any && !data.is_empty() {
            self.received_any = true;
            if self.is_server() {
                self.client_random = hello_random(data, HANDSHAKE_CLIENT_HELLO);
            } else {
                self.server_random = hello_random(data, HANDSHAKE_SERVER_HELLO);
            }
        }
        while !data.is_empty() {
            let before = data.len();
            // read_tls takes a bounded amount per call, and refuses when
            // its buffers are full; process_new_packets frees them.
            let _ = self.conn.read_tls(&mut data);
            self.conn.process_new_packets()?;
            if data.len() == before {
                // No progress even after processing: the peer is flooding
                // us with data rustls will not buffer.
                return Err(rustls::Error::General(
                    "TLS input not consumed (buffer full)".into(),
                ));
            }
        }
        Ok(())
    }

    /// Drains the pending TLS output.
    pub(crate) fn drain(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        while self.conn.wants_write() {
            match self.conn.write_tls(&mut out) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
        if !self.sent_any && !out.is_empty() {
            self.sent_any = true;
            if self.is_server() {
                self.server_random = hello_random(&out, HANDSHAKE_SERVER_HELLO);
            } else {
                self.client_random = hello_random(&out, HANDSHAKE_CLIENT_HELLO);
            }
        }
        out
    }

    /// Queues application data (the TLS 1.3 commitment message).
    pub(crate) fn write_plaintext(&mut self, data: &[u8]) -> Result<(), rustls::Error> {
        use std::io::Write;
        self.conn
            .writer()
            .write_all(data)
            .map_err(|_| rustls::Error::General("cannot queue application data".into()))
    }

    /// Reads all received application data.
    pub(crate) fn read_plaintext(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        let mut buf = [0u8; 256];
        loop {
            match self.conn.reader().read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => out.extend_from_slice(buf.get(..n).unwrap_or(&[])),
            }
        }
        out
    }

    pub(crate) fn is_handshaking(&self) -> bool {
        self.conn.is_handshaking()
    }

    pub(crate) fn protocol_version(&self) -> Option<ProtocolVersion> {
        self.conn.protocol_version()
    }

    pub(crate) fn resumed(&self) -> bool {
        self.conn.handshake_kind() == Some(rustls::HandshakeKind::Resumed)
    }

    pub(crate) fn peer_certificates(&self) -> Vec<rustls_pki_types::CertificateDer<'static>> {
        self.conn
            .peer_certificates()
            .map(<[_]>::to_vec)
            .unwrap_or_default()
    }

    /// Ends the connection with a fatal access_denied alert: the pending
    /// output (e.g. TLS 1.3 NewSessionTicket records, which used sequence
    /// numbers the alert must follow) and the alert record. A TLS 1.2
    /// full handshake whose final server flight (ChangeCipherSpec,
    /// Finished) was never sent drops that flight and sends the alert in
    /// plaintext. Without secret extraction in the configuration, a
    /// close_notify stands in for the alert.
    pub(crate) fn into_access_denied(
        mut self,
        server_flight_unsent: bool,
        secret_extraction: bool,
    ) -> Vec<u8> {
        if server_flight_unsent {
            return plaintext_access_denied();
        }
        if !secret_extraction {
            self.conn.send_close_notify();
            return self.drain();
        }
        let mut out = self.drain();
        if let Some(alert) = sealed_access_denied(self.conn) {
            out.extend_from_slice(&alert);
        }
        out
    }

    /// Exports MSK, EMSK and the Session-Id of EAP-TLS once the handshake
    /// completed.
    pub(crate) fn export(&self) -> Result<ExportedKeys, Reason> {
        self.export_for(KeyScheme::EAP_TLS)
    }

    /// Exports MSK, EMSK and the Session-Id for the TLS-based method
    /// `scheme` names.
    pub(crate) fn export_for(&self, scheme: KeyScheme) -> Result<ExportedKeys, Reason> {
        export_keys(
            &self.conn,
            self.client_random.as_ref(),
            self.server_random.as_ref(),
            scheme,
        )
    }

    /// `len` octets of TLS-Exporter(label) without context (RFC 5705 for
    /// TLS 1.2, RFC 8446 §7.5 for TLS 1.3), e.g. EAP-TTLS's "ttls
    /// challenge" (RFC 5281 §11.1).
    pub(crate) fn export_raw(
        &self,
        label: &[u8],
        len: usize,
    ) -> Result<zeroize::Zeroizing<Vec<u8>>, Reason> {
        let mut out = zeroize::Zeroizing::new(vec![0u8; len]);
        self.conn
            .export_keying_material(&mut out[..], label, None)
            .map_err(Reason::Tls)?;
        Ok(out)
    }
}

/// How a TLS-based EAP method derives its keys: the Type-Code that starts
/// its Session-Id and is the TLS 1.3 exporter context, and its TLS 1.2
/// PRF label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct KeyScheme {
    /// EAP Type-Code (RFC 9190 §2.3, RFC 9427 §2.1).
    pub type_code: u8,
    /// TLS 1.2 label (RFC 5216 §2.3, RFC 5281 §8, PEAPv0).
    pub tls12_label: &'static [u8],
}

impl KeyScheme {
    /// EAP-TLS: Type-Code 13, "client EAP encryption" (RFC 5216 §2.3,
    /// RFC 9190 §2.3).
    pub(crate) const EAP_TLS: KeyScheme = KeyScheme {
        type_code: 13,
        tls12_label: b"client EAP encryption",
    };
    /// PEAPv0: Type-Code 25; TLS 1.2 keeps EAP-TLS's label
    /// ("client EAP encryption", as Windows, hostapd and wpa_supplicant
    /// use for version 0), TLS 1.3 the RFC 9427 §2.1 exporter with 0x19.
    pub(crate) const PEAP: KeyScheme = KeyScheme {
        type_code: 25,
        tls12_label: b"client EAP encryption",
    };
    /// EAP-TTLSv0: Type-Code 21, "ttls keying material" (RFC 5281 §8);
    /// TLS 1.3 the RFC 9427 §2.1 exporter with 0x15.
    pub(crate) const TTLS: KeyScheme = KeyScheme {
        type_code: 21,
        tls12_label: b"ttls keying material",
    };
}

/// Keys exported at the end of a TLS-based EAP method's handshake.
pub(crate) struct ExportedKeys {
    pub msk: Msk,
    pub emsk: Emsk,
    pub session_id: Vec<u8>,
}

/// Key derivation for the TLS-based methods.
///
/// TLS 1.2 (RFC 5216 §2.3; RFC 5281 §8 for TTLS): 128 octets of
/// TLS-PRF(master_secret, label, client.random || server.random), i.e.
/// the exporter with no context; Session-Id = Type-Code ||
/// client.random || server.random (RFC 5216 §2.3, RFC 5247 appendix A).
///
/// TLS 1.3 (RFC 9190 §2.3, RFC 9427 §2.1):
/// TLS-Exporter("EXPORTER_EAP_TLS_Key_Material", Type-Code, 128);
/// Method-Id = TLS-Exporter("EXPORTER_EAP_TLS_Method-Id", Type-Code, 64);
/// Session-Id = Type-Code || Method-Id, with the Type-Code as the
/// exporter context of both. hostapd and wpa_supplicant 2.10 derive it so
/// for EAP-TLS, PEAP and TTLS (eapol_test -e compares); FreeRADIUS 3's
/// empty context for Method-Id comes from a draft before the RFC.
fn export_keys(
    conn: &rustls::Connection,
    client_random: Option<&[u8; 32]>,
    server_random: Option<&[u8; 32]>,
    scheme: KeyScheme,
) -> Result<ExportedKeys, Reason> {
    let mut material = zeroize::Zeroizing::new([0u8; 2 * KEY_LEN]);
    let mut session_id = vec![scheme.type_code];
    let context = [scheme.type_code];
    match conn.protocol_version() {
        Some(ProtocolVersion::TLSv1_2) => {
            conn.export_keying_material(&mut material[..], scheme.tls12_label, None)
                .map_err(Reason::Tls)?;
            let (Some(c), Some(s)) = (client_random, server_random) else {
                return Err(Reason::HandshakeIncomplete);
            };
            session_id.extend_from_slice(c);
            session_id.extend_from_slice(s);
        }
        Some(ProtocolVersion::TLSv1_3) => {
            conn.export_keying_material(
                &mut material[..],
                b"EXPORTER_EAP_TLS_Key_Material",
                Some(&context),
            )
            .map_err(Reason::Tls)?;
            let mut method_id = [0u8; 64];
            conn.export_keying_material(
                &mut method_id[..],
                b"EXPORTER_EAP_TLS_Method-Id",
                Some(&context),
            )
            .map_err(Reason::Tls)?;
            session_id.extend_from_slice(&method_id);
        }
        _ => return Err(Reason::HandshakeIncomplete),
    }
    let (msk, emsk) = split_key_material(&material);
    Ok(ExportedKeys {
        msk,
        emsk,
        session_id,
    })
}

#[cfg(test)]
mod tests;
