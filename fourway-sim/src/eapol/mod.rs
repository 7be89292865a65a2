//! EAPOL (IEEE 802.1X-2010 §11.3) and the EAPOL-Key frame of IEEE 802.11-2020
//! §12.7.2, plus the key data elements it carries: the RSN element (§9.4.2.24)
//! and key data encapsulations (KDEs, §12.7.2 Table 12-9).
//!
//! Layout of an EAPOL-Key frame (offsets from the start of the EAPOL header):
//!
//! ```text
//!  0 protocol version   1 packet type (3)   2..4 packet body length
//!  4 descriptor type    5..7 key information 7..9 key length
//!  9..17 replay counter 17..49 key nonce     49..65 EAPOL-Key IV
//! 65..73 key RSC        73..81 reserved      81..97 key MIC (16)
//! 97..99 key data length 99.. key data
//! ```
//!
//! With the 24-octet MIC of AKM 12 and 13 (§12.7.2, Table 12-10) the MIC
//! is 81..105 and the fields after it move by 8: a frame's layout depends
//! on the negotiated AKM, so the MIC length is a parameter of the parser
//! ([`EapolKeyFrame::new_checked_mic`]).
//!
//! Contract: [`EapolPacket::new_checked`] and [`EapolKeyFrame::new_checked`]
//! validate every length once; after they succeed no accessor can panic.
//! Octets beyond the EAPOL packet body (Ethernet padding) are ignored.

use core::fmt;

use crate::keys::{MIC_LEN, NONCE_LEN};

/// The longest Key MIC field (AKM 12 and 13, Table 12-10).
pub const MAX_MIC_LEN: usize = 24;

mod kde;
mod rsne;
#[cfg(test)]
mod tests;

pub use kde::*;
pub use rsne::*;

mod field {
    use core::ops::Range;

    pub const VERSION: usize = 0;
    pub const PACKET_TYPE: usize = 1;
    pub const BODY_LENGTH: Range<usize> = 2..4;
    pub const HEADER_END: usize = 4;

    pub const DESCRIPTOR_TYPE: usize = 4;
    pub const KEY_INFO: Range<usize> = 5..7;
    pub const KEY_LENGTH: Range<usize> = 7..9;
    pub const REPLAY_COUNTER: Range<usize> = 9..17;
    pub const NONCE: Range<usize> = 17..49;
    pub const IV: Range<usize> = 49..65;
    pub const RSC: Range<usize> = 65..73;
    pub const RESERVED: Range<usize> = 73..81;
    pub const MIC_START: usize = 81;
    pub const KEY_DATA: usize = 99;

    pub const fn mic(mic_len: usize) -> Range<usize> {
        MIC_START..MIC_START + mic_len
    }
    pub const fn key_data_length(mic_len: usize) -> Range<usize> {
        MIC_START + mic_len..MIC_START + mic_len + 2
    }
    pub const fn key_data(mic_len: usize) -> usize {
        MIC_START + mic_len + 2
    }
}

/// Size of the EAPOL header (§11.3).
pub const EAPOL_HEADER_LEN: usize = field::HEADER_END;
/// Size of an EAPOL-Key frame without key data, header included (16-octet
/// MIC).
pub const EAPOL_KEY_FIXED_LEN: usize = field::KEY_DATA;

/// Errors of the EAPOL and key data codecs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EapolError {
    /// Shorter than a header or than the lengths it announces.
    #[error("frame truncated")]
    Truncated,
    /// The EAPOL packet type is not EAPOL-Key where one was expected.
    #[error("not an EAPOL-Key frame")]
    NotKey,
    /// Descriptor type other than 2 (IEEE 802.11 / RSN).
    #[error("unsupported key descriptor type {0}")]
    DescriptorType(u8),
    /// Key data length beyond the packet body.
    #[error("key data length exceeds the packet body")]
    KeyDataLength,
    /// An element of the key data overruns it.
    #[error("malformed key data element")]
    BadElement,
    /// RSN element content is malformed (§9.4.2.24).
    #[error("malformed RSN element")]
    BadRsne,
    /// A GTK KDE with a key of the wrong length.
    #[error("malformed GTK KDE")]
    BadGtkKde,
    /// Frame too large to encode.
    #[error("frame too large")]
    TooLong,
}

/// EAPOL packet types (IEEE 802.1X-2010 Table 11-3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PacketType {
    /// EAPOL-EAP: an EAP packet.
    EapPacket,
    /// EAPOL-Start.
    Start,
    /// EAPOL-Logoff.
    Logoff,
    /// EAPOL-Key.
    Key,
    /// Any other value, kept.
    Unknown(u8),
}

impl From<u8> for PacketType {
    fn from(v: u8) -> Self {
        match v {
            0 => PacketType::EapPacket,
            1 => PacketType::Start,
            2 => PacketType::Logoff,
            3 => PacketType::Key,
            v => PacketType::Unknown(v),
        }
    }
}

impl From<PacketType> for u8 {
    fn from(t: PacketType) -> u8 {
        match t {
            PacketType::EapPacket => 0,
            PacketType::Start => 1,
            PacketType::Logoff => 2,
            PacketType::Key => 3,
            PacketType::Unknown(v) => v,
        }
    }
}

/// EAPOL protocol version 2 (IEEE 802.1X-2004), what hostapd and
/// wpa_supplicant send by default.
pub const EAPOL_VERSION: u8 = 2;

/// A checked view of any EAPOL packet (IEEE 802.1X-2010 §11.3).
#[derive(Debug, Clone)]
pub struct EapolPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> EapolPacket<T> {
    /// Validate the header and that the announced body is present.
    pub fn new_checked(buffer: T) -> Result<Self, EapolError> {
        let b = buffer.as_ref();
        if b.len() < field::HEADER_END {
            return Err(EapolError::Truncated);
        }
        let body = u16::from_be_bytes([b[2], b[3]]) as usize;
        if b.len() < field::HEADER_END + body {
            return Err(EapolError::Truncated);
        }
        Ok(EapolPacket { buffer })
    }

    /// Protocol version.
    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[field::VERSION]
    }

    /// Packet type.
    pub fn packet_type(&self) -> PacketType {
        self.buffer.as_ref()[field::PACKET_TYPE].into()
    }

    /// Packet body length as announced.
    pub fn body_length(&self) -> u16 {
        let b = &self.buffer.as_ref()[field::BODY_LENGTH];
        u16::from_be_bytes([b[0], b[1]])
    }

    /// The packet body (an EAP packet for [`PacketType::EapPacket`]).
    pub fn body(&self) -> &[u8] {
        let end = field::HEADER_END + self.body_length() as usize;
        &self.buffer.as_ref()[field::HEADER_END..end]
    }
}

/// Build an EAPOL packet carrying `body` (EAP packet, or empty for Start).
pub fn emit_eapol(packet_type: PacketType, body: &[u8]) -> Result<Vec<u8>, EapolError> {
    let len = u16::try_from(body.len()).map_err(|_| EapolError::TooLong)?;
    let mut out = Vec::with_capacity(EAPOL_HEADER_LEN + body.len());
    out.push(EAPOL_VERSION);
    out.push(packet_type.into());
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(body);
    Ok(out)
}

/// Key descriptor types (IEEE 802.11-2020 §12.7.2; 802.1X-2010 Table 11-5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DescriptorType {
    /// 2: IEEE 802.11 key descriptor (RSN).
    Rsn,
    /// 254: the pre-RSN WPA descriptor.
    Wpa,
    /// Other values, kept.
    Unknown(u8),
}

impl From<u8> for DescriptorType {
    fn from(v: u8) -> Self {
        match v {
            2 => DescriptorType::Rsn,
            254 => DescriptorType::Wpa,
            v => DescriptorType::Unknown(v),
        }
    }
}

impl From<DescriptorType> for u8 {
    fn from(t: DescriptorType) -> u8 {
        match t {
            DescriptorType::Rsn => 2,
            DescriptorType::Wpa => 254,
            DescriptorType::Unknown(v) => v,
        }
    }
}

/// Key Descriptor Version subfield (§12.7.2 b) 1)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyDescriptorVersion {
    /// 1: HMAC-MD5 MIC, ARC4 key data (TKIP; not supported here).
    HmacMd5Arc4,
    /// 2: HMAC-SHA1-128 MIC, AES key wrap (AKM 1 and 2 with CCMP).
    HmacSha1Aes,
    /// 3: AES-128-CMAC MIC, AES key wrap (AKM 3..6).
    AesCmac,
    /// 0: the AKM defines the algorithms (AKM 12, 13: HMAC-SHA-384, AES
    /// key wrap with a 256-bit KEK; §12.7.2 b) 1)).
    AkmDefined,
    /// Reserved values, kept.
    Other(u8),
}

impl From<u8> for KeyDescriptorVersion {
    fn from(v: u8) -> Self {
        match v {
            0 => Self::AkmDefined,
            1 => Self::HmacMd5Arc4,
            2 => Self::HmacSha1Aes,
            3 => Self::AesCmac,
            v => Self::Other(v),
        }
    }
}

impl From<KeyDescriptorVersion> for u8 {
    fn from(v: KeyDescriptorVersion) -> u8 {
        match v {
            KeyDescriptorVersion::HmacMd5Arc4 => 1,
            KeyDescriptorVersion::HmacSha1Aes => 2,
            KeyDescriptorVersion::AesCmac => 3,
            KeyDescriptorVersion::AkmDefined => 0,
            KeyDescriptorVersion::Other(v) => v & 0x07,
        }
    }
}

/// The Key Information field (IEEE 802.11-2020 §12.7.2 b), Figure 12-33), a
/// big-endian u16 of flags plus the 3-bit descriptor version.
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct KeyInformation(pub u16);

impl KeyInformation {
    /// Bits 0..2: key descriptor version.
    pub const VERSION_MASK: u16 = 0x0007;
    /// Bit 3: Key Type, 1 = pairwise, 0 = group.
    pub const PAIRWISE: KeyInformation = KeyInformation(1 << 3);
    /// Bit 6: Install.
    pub const INSTALL: KeyInformation = KeyInformation(1 << 6);
    /// Bit 7: Key Ack.
    pub const ACK: KeyInformation = KeyInformation(1 << 7);
    /// Bit 8: Key MIC.
    pub const MIC: KeyInformation = KeyInformation(1 << 8);
    /// Bit 9: Secure.
    pub const SECURE: KeyInformation = KeyInformation(1 << 9);
    /// Bit 10: Error.
    pub const ERROR: KeyInformation = KeyInformation(1 << 10);
    /// Bit 11: Request.
    pub const REQUEST: KeyInformation = KeyInformation(1 << 11);
    /// Bit 12: Encrypted Key Data.
    pub const ENCRYPTED_KEY_DATA: KeyInformation = KeyInformation(1 << 12);

    /// Flags plus a descriptor version.
    pub fn new(version: KeyDescriptorVersion, flags: KeyInformation) -> Self {
        KeyInformation((flags.0 & !Self::VERSION_MASK) | u16::from(u8::from(version)))
    }

    /// The descriptor version subfield.
    pub fn version(self) -> KeyDescriptorVersion {
        ((self.0 & Self::VERSION_MASK) as u8).into()
    }

    /// True when every flag of `flags` is set.
    pub fn contains(self, flags: KeyInformation) -> bool {
        self.0 & flags.0 == flags.0
    }

    /// The flags without the version bits, to compare message shapes.
    pub fn flags(self) -> KeyInformation {
        KeyInformation(self.0 & !Self::VERSION_MASK)
    }
}

impl core::ops::BitOr for KeyInformation {
    type Output = KeyInformation;
    fn bitor(self, rhs: Self) -> Self {
        KeyInformation(self.0 | rhs.0)
    }
}

impl fmt::Debug for KeyInformation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names = [
            (Self::PAIRWISE, "Pairwise"),
            (Self::INSTALL, "Install"),
            (Self::ACK, "Ack"),
            (Self::MIC, "Mic"),
            (Self::SECURE, "Secure"),
            (Self::ERROR, "Error"),
            (Self::REQUEST, "Request"),
            (Self::ENCRYPTED_KEY_DATA, "EncryptedKeyData"),
        ];
        write!(f, "KeyInformation({:?}", self.version())?;
        for (flag, name) in names {
            if self.contains(flag) {
                write!(f, "|{name}")?;
            }
        }
        write!(f, ")")
    }
}

/// A checked view of an EAPOL-Key frame, EAPOL header included (the MIC
/// covers the whole EAPOL frame).
#[derive(Debug, Clone)]
pub struct EapolKeyFrame<T: AsRef<[u8]>> {
    buffer: T,
    mic_len: usize,
}

impl<T: AsRef<[u8]>> EapolKeyFrame<T> {
    /// Validate: EAPOL header, packet type Key, body at least the fixed
    /// EAPOL-Key fields with a 16-octet MIC, key data within the body.
    pub fn new_checked(buffer: T) -> Result<Self, EapolError> {
        Self::new_checked_mic(buffer, MIC_LEN)
    }

    /// As [`new_checked`](Self::new_checked) with a Key MIC field of
    /// `mic_len` octets (16, or 24 for AKM 12 and 13; at most
    /// [`MAX_MIC_LEN`]).
    pub fn new_checked_mic(buffer: T, mic_len: usize) -> Result<Self, EapolError> {
        if mic_len > MAX_MIC_LEN {
            return Err(EapolError::Truncated);
        }
        let packet = EapolPacket::new_checked(buffer.as_ref())?;
        if packet.packet_type() != PacketType::Key {
            return Err(EapolError::NotKey);
        }
        let body_end = field::HEADER_END + packet.body_length() as usize;
        if body_end < field::key_data(mic_len) {
            return Err(EapolError::Truncated);
        }
        let b = &buffer.as_ref()[field::key_data_length(mic_len)];
        let key_data_len = u16::from_be_bytes([b[0], b[1]]) as usize;
        if field::key_data(mic_len) + key_data_len > body_end {
            return Err(EapolError::KeyDataLength);
        }
        Ok(EapolKeyFrame { buffer, mic_len })
    }

    /// Give back the underlying buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    fn b(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    /// EAPOL protocol version.
    pub fn version(&self) -> u8 {
        self.b()[field::VERSION]
    }

    /// Descriptor type.
    pub fn descriptor_type(&self) -> DescriptorType {
        self.b()[field::DESCRIPTOR_TYPE].into()
    }

    /// Key Information.
    pub fn key_information(&self) -> KeyInformation {
        let b = &self.b()[field::KEY_INFO];
        KeyInformation(u16::from_be_bytes([b[0], b[1]]))
    }

    /// Key Length (length of the pairwise cipher's key in message 1/3).
    pub fn key_length(&self) -> u16 {
        let b = &self.b()[field::KEY_LENGTH];
        u16::from_be_bytes([b[0], b[1]])
    }

    /// Key Replay Counter.
    pub fn replay_counter(&self) -> u64 {
        let mut v = [0u8; 8];
        v.copy_from_slice(&self.b()[field::REPLAY_COUNTER]);
        u64::from_be_bytes(v)
    }

    /// Key Nonce.
    pub fn nonce(&self) -> [u8; NONCE_LEN] {
        let mut v = [0u8; NONCE_LEN];
        v.copy_from_slice(&self.b()[field::NONCE]);
        v
    }

    /// EAPOL-Key IV (zero for descriptor version 2).
    pub fn iv(&self) -> [u8; 16] {
        let mut v = [0u8; 16];
        v.copy_from_slice(&self.b()[field::IV]);
        v
    }

    /// Key RSC (starting PN of the GTK).
    pub fn rsc(&self) -> [u8; 8] {
        let mut v = [0u8; 8];
        v.copy_from_slice(&self.b()[field::RSC]);
        v
    }

    /// Key MIC.
    pub fn mic(&self) -> &[u8] {
        &self.b()[field::mic(self.mic_len)]
    }

    /// Key Data Length.
    pub fn key_data_length(&self) -> u16 {
        let b = &self.b()[field::key_data_length(self.mic_len)];
        u16::from_be_bytes([b[0], b[1]])
    }

    /// Key Data.
    pub fn key_data(&self) -> &[u8] {
        let start = field::key_data(self.mic_len);
        &self.b()[start..start + self.key_data_length() as usize]
    }

    /// The EAPOL frame as the MIC covers it: header plus body, with the MIC
    /// field zeroed (§12.7.2 b) 1)); trailing padding excluded.
    pub fn mic_input(&self) -> Vec<u8> {
        let end = field::HEADER_END + self.body_length() as usize;
        let mut v = self.b()[..end].to_vec();
        v[field::mic(self.mic_len)].fill(0);
        v
    }

    fn body_length(&self) -> u16 {
        let b = &self.b()[field::BODY_LENGTH];
        u16::from_be_bytes([b[0], b[1]])
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> EapolKeyFrame<T> {
    /// Write the Key MIC field; a MIC of another length than the field's
    /// is refused.
    pub fn set_mic(&mut self, mic: &[u8]) -> Result<(), EapolError> {
        if mic.len() != self.mic_len {
            return Err(EapolError::Truncated);
        }
        self.buffer.as_mut()[field::mic(self.mic_len)].copy_from_slice(mic);
        Ok(())
    }
}

/// An owned EAPOL-Key frame (§12.7.2).
#[derive(Clone, PartialEq, Eq)]
pub struct EapolKeyRepr {
    /// EAPOL protocol version.
    pub version: u8,
    /// Descriptor type (2 for RSN).
    pub descriptor_type: DescriptorType,
    /// Key Information.
    pub key_info: KeyInformation,
    /// Key Length.
    pub key_length: u16,
    /// Key Replay Counter.
    pub replay_counter: u64,
    /// Key Nonce.
    pub nonce: [u8; NONCE_LEN],
    /// EAPOL-Key IV.
    pub iv: [u8; 16],
    /// Key RSC.
    pub rsc: [u8; 8],
    /// Key MIC: 16 octets, or 24 for AKM 12 and 13 (its length sets the
    /// frame's layout).
    pub mic: Vec<u8>,
    /// Key Data (possibly wrapped).
    pub key_data: Vec<u8>,
}

impl fmt::Debug for EapolKeyRepr {
    // Key data may be plaintext key material in a frame under construction:
    // show its length only.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EapolKeyRepr")
            .field("descriptor_type", &self.descriptor_type)
            .field("key_info", &self.key_info)
            .field("key_length", &self.key_length)
            .field("replay_counter", &self.replay_counter)
            .field("key_data_len", &self.key_data.len())
            .finish_non_exhaustive()
    }
}

impl EapolKeyRepr {
    /// A frame with the given Key Information, all other fields zero.
    pub fn new(key_info: KeyInformation, replay_counter: u64) -> Self {
        EapolKeyRepr {
            version: EAPOL_VERSION,
            descriptor_type: DescriptorType::Rsn,
            key_info,
            key_length: 0,
            replay_counter,
            nonce: [0; NONCE_LEN],
            iv: [0; 16],
            rsc: [0; 8],
            mic: vec![0; MIC_LEN],
            key_data: Vec::new(),
        }
    }

    /// Parse a checked frame; only the RSN descriptor type is accepted.
    pub fn parse<T: AsRef<[u8]>>(frame: &EapolKeyFrame<T>) -> Result<Self, EapolError> {
        match frame.descriptor_type() {
            DescriptorType::Rsn => {}
            other => return Err(EapolError::DescriptorType(other.into())),
        }
        Ok(EapolKeyRepr {
            version: frame.version(),
            descriptor_type: frame.descriptor_type(),
            key_info: frame.key_information(),
            key_length: frame.key_length(),
            replay_counter: frame.replay_counter(),
            nonce: frame.nonce(),
            iv: frame.iv(),
            rsc: frame.rsc(),
            mic: frame.mic().to_vec(),
            key_data: frame.key_data().to_vec(),
        })
    }

    /// Octets [`emit`](Self::emit) writes.
    pub fn buffer_len(&self) -> usize {
        field::key_data(self.mic.len()) + self.key_data.len()
    }

    /// Write the frame into `buf`, which must be exactly
    /// [`buffer_len`](Self::buffer_len) long.
    pub fn emit(&self, buf: &mut [u8]) -> Result<(), EapolError> {
        if buf.len() != self.buffer_len() || self.mic.len() > MAX_MIC_LEN {
            return Err(EapolError::Truncated);
        }
        let m = self.mic.len();
        let key_data_len = u16::try_from(self.key_data.len()).map_err(|_| EapolError::TooLong)?;
        let body_len = u16::try_from(self.buffer_len() - field::HEADER_END)
            .map_err(|_| EapolError::TooLong)?;
        buf[field::VERSION] = self.version;
        buf[field::PACKET_TYPE] = PacketType::Key.into();
        buf[field::BODY_LENGTH].copy_from_slice(&body_len.to_be_bytes());
        buf[field::DESCRIPTOR_TYPE] = self.descriptor_type.into();
        buf[field::KEY_INFO].copy_from_slice(&self.key_info.0.to_be_bytes());
        buf[field::KEY_LENGTH].copy_from_slice(&self.key_length.to_be_bytes());
        buf[field::REPLAY_COUNTER].copy_from_slice(&self.replay_counter.to_be_bytes());
        buf[field::NONCE].copy_from_slice(&self.nonce);
        buf[field::IV].copy_from_slice(&self.iv);
        buf[field::RSC].copy_from_slice(&self.rsc);
        buf[field::RESERVED].fill(0);
        buf[field::mic(m)].copy_from_slice(&self.mic);
        buf[field::key_data_length(m)].copy_from_slice(&key_data_len.to_be_bytes());
        buf[field::key_data(m)..].copy_from_slice(&self.key_data);
        Ok(())
    }

    /// Emit into a new vector.
    pub fn to_bytes(&self) -> Result<Vec<u8>, EapolError> {
        let mut v = vec![0u8; self.buffer_len()];
        self.emit(&mut v)?;
        Ok(v)
    }
}
