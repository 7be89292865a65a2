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
//! 65..73 key RSC        73..81 reserved      81..97 key MIC (16, AKM 1/2)
//! 97..99 key data length 99.. key data
//! ```
//!
//! Contract: [`EapolPacket::new_checked`] and [`EapolKeyFrame::new_checked`]
//! validate every length once; after they succeed no accessor can panic.
//! Octets beyond the EAPOL packet body (Ethernet padding) are ignored.

use core::fmt;

use crate::keys::{MIC_LEN, NONCE_LEN};

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
    pub const MIC: Range<usize> = 81..97;
    pub const KEY_DATA_LENGTH: Range<usize> = 97..99;
    pub const KEY_DATA: usize = 99;
}

/// Size of the EAPOL header (§11.3).
pub const EAPOL_HEADER_LEN: usize = field::HEADER_END;
/// Size of an EAPOL-Key frame without key data, header included.
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
    /// 0 (AKM-defined) or reserved values, kept.
    Other(u8),
}

impl From<u8> for KeyDescriptorVersion {
    fn from(v: u8) -> Self {
        match v {
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
}

impl<T: AsRef<[u8]>> EapolKeyFrame<T> {
    /// Validate: EAPOL header, packet type Key, body at least the fixed
    /// EAPOL-Key fields with a 16-octet MIC, key data within the body.
    pub fn new_checked(buffer: T) -> Result<Self, EapolError> {
        let packet = EapolPacket::new_checked(buffer.as_ref())?;
        if packet.packet_type() != PacketType::Key {
            return Err(EapolError::NotKey);
        }
        let body_end = field::HEADER_END + packet.body_length() as usize;
        if body_end < field::KEY_DATA {
            return Err(EapolError::Truncated);
        }
        let b = buffer.as_ref();
        let key_data_len = u16::from_be_bytes([b[97], b[98]]) as usize;
        if field::KEY_DATA + key_data_len > body_end {
            return Err(EapolError::KeyDataLength);
        }
        Ok(EapolKeyFrame { buffer })
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
    pub fn mic(&self) -> [u8; MIC_LEN] {
        let mut v = [0u8; MIC_LEN];
        v.copy_from_slice(&self.b()[field::MIC]);
        v
    }

    /// Key Data Length.
    pub fn key_data_length(&self) -> u16 {
        let b = &self.b()[field::KEY_DATA_LENGTH];
        u16::from_be_bytes([b[0], b[1]])
    }

    /// Key Data.
    pub fn key_data(&self) -> &[u8] {
        &self.b()[field::KEY_DATA..field::KEY_DATA + self.key_data_length() as usize]
    }

    /// The EAPOL frame as the MIC covers it: header plus body, with the MIC
    /// field zeroed (§12.7.2 b) 1)); trailing padding excluded.
    pub fn mic_input(&self) -> Vec<u8> {
        let end = field::HEADER_END + self.body_length() as usize;
        let mut v = self.b()[..end].to_vec();
        v[field::MIC].fill(0);
        v
    }

    fn body_length(&self) -> u16 {
        let b = &self.b()[field::BODY_LENGTH];
        u16::from_be_bytes([b[0], b[1]])
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> EapolKeyFrame<T> {
    /// Write the Key MIC field.
    pub fn set_mic(&mut self, mic: &[u8; MIC_LEN]) {
        self.buffer.as_mut()[field::MIC].copy_from_slice(mic);
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
    /// Key MIC.
    pub mic: [u8; MIC_LEN],
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
            mic: [0; MIC_LEN],
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
            mic: frame.mic(),
            key_data: frame.key_data().to_vec(),
        })
    }

    /// Octets [`emit`](Self::emit) writes.
    pub fn buffer_len(&self) -> usize {
        field::KEY_DATA + self.key_data.len()
    }

    /// Write the frame into `buf`, which must be exactly
    /// [`buffer_len`](Self::buffer_len) long.
    pub fn emit(&self, buf: &mut [u8]) -> Result<(), EapolError> {
        if buf.len() != self.buffer_len() {
            return Err(EapolError::Truncated);
        }
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
        buf[field::MIC].copy_from_slice(&self.mic);
        buf[field::KEY_DATA_LENGTH].copy_from_slice(&key_data_len.to_be_bytes());
        buf[field::KEY_DATA..].copy_from_slice(&self.key_data);
        Ok(())
    }

    /// Emit into a new vector.
    pub fn to_bytes(&self) -> Result<Vec<u8>, EapolError> {
        let mut v = vec![0u8; self.buffer_len()];
        self.emit(&mut v)?;
        Ok(v)
    }
}

/// The IEEE 802.11 OUI 00-0F-AC for cipher and AKM suite selectors and KDEs.
pub const IEEE80211_OUI: [u8; 3] = [0x00, 0x0f, 0xac];

/// Cipher suite selectors (§9.4.2.24.2, Table 9-149).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CipherSuite {
    /// 00-0F-AC:2 TKIP.
    Tkip,
    /// 00-0F-AC:4 CCMP-128.
    Ccmp128,
    /// 00-0F-AC:6 BIP-CMAC-128.
    BipCmac128,
    /// 00-0F-AC:8 GCMP-128.
    Gcmp128,
    /// 00-0F-AC:9 GCMP-256.
    Gcmp256,
    /// 00-0F-AC:10 CCMP-256.
    Ccmp256,
    /// Anything else (OUI and type), kept.
    Other([u8; 4]),
}

impl From<[u8; 4]> for CipherSuite {
    fn from(s: [u8; 4]) -> Self {
        if s[..3] != IEEE80211_OUI {
            return CipherSuite::Other(s);
        }
        match s[3] {
            2 => CipherSuite::Tkip,
            4 => CipherSuite::Ccmp128,
            6 => CipherSuite::BipCmac128,
            8 => CipherSuite::Gcmp128,
            9 => CipherSuite::Gcmp256,
            10 => CipherSuite::Ccmp256,
            _ => CipherSuite::Other(s),
        }
    }
}

impl From<CipherSuite> for [u8; 4] {
    fn from(c: CipherSuite) -> [u8; 4] {
        let t = match c {
            CipherSuite::Tkip => 2,
            CipherSuite::Ccmp128 => 4,
            CipherSuite::BipCmac128 => 6,
            CipherSuite::Gcmp128 => 8,
            CipherSuite::Gcmp256 => 9,
            CipherSuite::Ccmp256 => 10,
            CipherSuite::Other(s) => return s,
        };
        [0x00, 0x0f, 0xac, t]
    }
}

/// AKM suite selectors (§9.4.2.24.3, Table 9-151).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Akm {
    /// 00-0F-AC:1 IEEE 802.1X with PMKSA caching (WPA2-Enterprise).
    Ieee8021x,
    /// 00-0F-AC:2 PSK.
    Psk,
    /// 00-0F-AC:3 FT over IEEE 802.1X.
    FtIeee8021x,
    /// 00-0F-AC:4 FT PSK.
    FtPsk,
    /// 00-0F-AC:5 IEEE 802.1X SHA-256.
    Ieee8021xSha256,
    /// 00-0F-AC:6 PSK SHA-256.
    PskSha256,
    /// 00-0F-AC:8 SAE.
    Sae,
    /// Anything else, kept.
    Other([u8; 4]),
}

impl From<[u8; 4]> for Akm {
    fn from(s: [u8; 4]) -> Self {
        if s[..3] != IEEE80211_OUI {
            return Akm::Other(s);
        }
        match s[3] {
            1 => Akm::Ieee8021x,
            2 => Akm::Psk,
            3 => Akm::FtIeee8021x,
            4 => Akm::FtPsk,
            5 => Akm::Ieee8021xSha256,
            6 => Akm::PskSha256,
            8 => Akm::Sae,
            _ => Akm::Other(s),
        }
    }
}

impl From<Akm> for [u8; 4] {
    fn from(a: Akm) -> [u8; 4] {
        let t = match a {
            Akm::Ieee8021x => 1,
            Akm::Psk => 2,
            Akm::FtIeee8021x => 3,
            Akm::FtPsk => 4,
            Akm::Ieee8021xSha256 => 5,
            Akm::PskSha256 => 6,
            Akm::Sae => 8,
            Akm::Other(s) => return s,
        };
        [0x00, 0x0f, 0xac, t]
    }
}

/// Element ID of the RSN element (§9.4.2.1, Table 9-92).
pub const RSN_ELEMENT_ID: u8 = 48;
/// Element ID of vendor-specific elements, also used by KDEs.
pub const VENDOR_ELEMENT_ID: u8 = 0xdd;

/// The RSN element (IEEE 802.11-2020 §9.4.2.24), parsed up to the RSN
/// Capabilities; PMKID list and group management cipher are kept raw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RsnElement {
    /// Version, 1.
    pub version: u16,
    /// Group data cipher suite.
    pub group_cipher: CipherSuite,
    /// Pairwise cipher suite list.
    pub pairwise_ciphers: Vec<CipherSuite>,
    /// AKM suite list.
    pub akms: Vec<Akm>,
    /// RSN Capabilities, if present.
    pub capabilities: Option<u16>,
    /// PMKID count/list and later fields, unparsed.
    pub trailer: Vec<u8>,
}

impl RsnElement {
    /// Version 1, CCMP-128 group and pairwise, one AKM, capabilities 0.
    pub fn ccmp128(akm: Akm) -> Self {
        RsnElement {
            version: 1,
            group_cipher: CipherSuite::Ccmp128,
            pairwise_ciphers: vec![CipherSuite::Ccmp128],
            akms: vec![akm],
            capabilities: Some(0),
            trailer: Vec::new(),
        }
    }

    /// Parse a whole element (ID 48, length, body).
    pub fn parse(element: &[u8]) -> Result<Self, EapolError> {
        let (&id, rest) = element.split_first().ok_or(EapolError::BadRsne)?;
        let (&len, body) = rest.split_first().ok_or(EapolError::BadRsne)?;
        if id != RSN_ELEMENT_ID || body.len() != len as usize {
            return Err(EapolError::BadRsne);
        }
        let mut r = Reader(body);
        let version = r.u16_le()?;
        if version != 1 {
            return Err(EapolError::BadRsne);
        }
        let mut rsne = RsnElement {
            version,
            group_cipher: CipherSuite::Ccmp128,
            pairwise_ciphers: Vec::new(),
            akms: Vec::new(),
            capabilities: None,
            trailer: Vec::new(),
        };
        // §9.4.2.24.1: every field after Version is optional, but a field
        // present implies all fields before it are.
        if r.is_empty() {
            return Ok(rsne);
        }
        rsne.group_cipher = r.suite()?.into();
        if r.is_empty() {
            return Ok(rsne);
        }
        let n = r.u16_le()?;
        for _ in 0..n {
            rsne.pairwise_ciphers.push(r.suite()?.into());
        }
        if r.is_empty() {
            return Ok(rsne);
        }
        let n = r.u16_le()?;
        for _ in 0..n {
            rsne.akms.push(r.suite()?.into());
        }
        if r.is_empty() {
            return Ok(rsne);
        }
        rsne.capabilities = Some(r.u16_le()?);
        rsne.trailer = r.0.to_vec();
        Ok(rsne)
    }

    /// Encode the whole element (ID, length, body).
    pub fn to_bytes(&self) -> Result<Vec<u8>, EapolError> {
        let mut body = Vec::new();
        body.extend_from_slice(&self.version.to_le_bytes());
        body.extend_from_slice(&<[u8; 4]>::from(self.group_cipher));
        let n = u16::try_from(self.pairwise_ciphers.len()).map_err(|_| EapolError::TooLong)?;
        body.extend_from_slice(&n.to_le_bytes());
        for c in &self.pairwise_ciphers {
            body.extend_from_slice(&<[u8; 4]>::from(*c));
        }
        let n = u16::try_from(self.akms.len()).map_err(|_| EapolError::TooLong)?;
        body.extend_from_slice(&n.to_le_bytes());
        for a in &self.akms {
            body.extend_from_slice(&<[u8; 4]>::from(*a));
        }
        if let Some(caps) = self.capabilities {
            body.extend_from_slice(&caps.to_le_bytes());
            body.extend_from_slice(&self.trailer);
        }
        let len = u8::try_from(body.len()).map_err(|_| EapolError::TooLong)?;
        let mut out = vec![RSN_ELEMENT_ID, len];
        out.extend_from_slice(&body);
        Ok(out)
    }
}

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    fn take<const N: usize>(&mut self) -> Result<[u8; N], EapolError> {
        let (head, rest) = self.0.split_at_checked(N).ok_or(EapolError::BadRsne)?;
        self.0 = rest;
        let mut v = [0u8; N];
        v.copy_from_slice(head);
        Ok(v)
    }
    fn u16_le(&mut self) -> Result<u16, EapolError> {
        Ok(u16::from_le_bytes(self.take::<2>()?))
    }
    fn suite(&mut self) -> Result<[u8; 4], EapolError> {
        self.take::<4>()
    }
}

/// KDE data type of the GTK KDE (§12.7.2, Table 12-9).
pub const KDE_GTK: u8 = 1;

/// GTK KDE contents (§12.7.2, Figure 12-35). The key is secret: no `Debug`
/// of it.
#[derive(Clone, PartialEq, Eq)]
pub struct GtkKde {
    /// Key ID (0..=3).
    pub key_id: u8,
    /// Tx bit.
    pub tx: bool,
    /// The GTK (16 octets for CCMP-128).
    pub gtk: zeroize::Zeroizing<Vec<u8>>,
}

impl fmt::Debug for GtkKde {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GtkKde")
            .field("key_id", &self.key_id)
            .field("tx", &self.tx)
            .field("gtk_len", &self.gtk.len())
            .finish()
    }
}

impl GtkKde {
    /// Encode as a KDE element (0xdd, length, OUI, type 1, key id/tx,
    /// reserved, GTK).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(8 + self.gtk.len());
        v.push(VENDOR_ELEMENT_ID);
        v.push((6 + self.gtk.len()) as u8);
        v.extend_from_slice(&IEEE80211_OUI);
        v.push(KDE_GTK);
        v.push((self.key_id & 0x03) | if self.tx { 0x04 } else { 0 });
        v.push(0);
        v.extend_from_slice(&self.gtk);
        v
    }
}

/// One element of EAPOL-Key key data (§12.7.2 j)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyDataElement<'a> {
    /// An RSN element, whole (ID and length included), for byte comparison.
    Rsn(&'a [u8]),
    /// A GTK KDE.
    Gtk(GtkKde),
    /// Another KDE (OUI, data type, data).
    Kde {
        /// Organizationally unique identifier.
        oui: [u8; 3],
        /// Data type.
        data_type: u8,
        /// KDE data.
        data: &'a [u8],
    },
    /// Any other element (ID, body).
    Other {
        /// Element ID.
        id: u8,
        /// Element body.
        body: &'a [u8],
    },
}

/// Iterator over key data elements. A bad length ends the iteration with an
/// error; the §12.7.2 padding (0xdd followed by zeros) ends it cleanly.
#[derive(Debug, Clone)]
pub struct KeyDataElements<'a> {
    rest: &'a [u8],
}

/// Iterate over the elements of (unwrapped) key data.
pub fn key_data_elements(data: &[u8]) -> KeyDataElements<'_> {
    KeyDataElements { rest: data }
}

impl<'a> Iterator for KeyDataElements<'a> {
    type Item = Result<KeyDataElement<'a>, EapolError>;

    fn next(&mut self) -> Option<Self::Item> {
        let data = self.rest;
        let (&id, after_id) = data.split_first()?;
        // Padding: 0xdd then only zeros to the end (§12.7.2 j)).
        if id == VENDOR_ELEMENT_ID && after_id.iter().all(|&b| b == 0) {
            self.rest = &[];
            return None;
        }
        let Some((&len, body_and_rest)) = after_id.split_first() else {
            self.rest = &[];
            return Some(Err(EapolError::BadElement));
        };
        let Some((body, rest)) = body_and_rest.split_at_checked(len as usize) else {
            self.rest = &[];
            return Some(Err(EapolError::BadElement));
        };
        self.rest = rest;
        let whole = &data[..2 + len as usize];
        Some(parse_element(id, body, whole))
    }
}

fn parse_element<'a>(
    id: u8,
    body: &'a [u8],
    whole: &'a [u8],
) -> Result<KeyDataElement<'a>, EapolError> {
    match id {
        RSN_ELEMENT_ID => Ok(KeyDataElement::Rsn(whole)),
        VENDOR_ELEMENT_ID if body.len() >= 4 => {
            let oui = [body[0], body[1], body[2]];
            let data_type = body[3];
            let data = &body[4..];
            if oui == IEEE80211_OUI && data_type == KDE_GTK {
                // Key ID/Tx octet, reserved octet, then a GTK of 5..=32 octets.
                match data {
                    [flags, _reserved, gtk @ ..] if (5..=32).contains(&gtk.len()) => {
                        Ok(KeyDataElement::Gtk(GtkKde {
                            key_id: flags & 0x03,
                            tx: flags & 0x04 != 0,
                            gtk: zeroize::Zeroizing::new(gtk.to_vec()),
                        }))
                    }
                    _ => Err(EapolError::BadGtkKde),
                }
            } else {
                Ok(KeyDataElement::Kde {
                    oui,
                    data_type,
                    data,
                })
            }
        }
        id => Ok(KeyDataElement::Other { id, body }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::testvectors::*;

    #[test]
    fn parse_captured_messages() {
        let m1 = h(INDUCTION_M1);
        let frame = EapolKeyFrame::new_checked(&m1[..]).unwrap();
        assert_eq!(frame.version(), 2);
        assert_eq!(frame.descriptor_type(), DescriptorType::Rsn);
        let ki = frame.key_information();
        assert_eq!(ki.0, 0x008a);
        assert_eq!(ki.version(), KeyDescriptorVersion::HmacSha1Aes);
        assert!(ki.contains(KeyInformation::PAIRWISE | KeyInformation::ACK));
        assert!(!ki.contains(KeyInformation::MIC));
        assert_eq!(frame.key_length(), 16);
        assert_eq!(frame.replay_counter(), 0);
        assert_eq!(frame.nonce()[..4], [0x3e, 0x8e, 0x96, 0x7d]);
        assert_eq!(frame.key_data_length(), 22);
        // Message 1 carries a PMKID KDE (type 4).
        match key_data_elements(frame.key_data()).next() {
            Some(Ok(KeyDataElement::Kde {
                oui,
                data_type: 4,
                data,
            })) => {
                assert_eq!(oui, IEEE80211_OUI);
                assert_eq!(data.len(), 16);
            }
            other => panic!("unexpected {other:?}"),
        }
        let repr = EapolKeyRepr::parse(&frame).unwrap();
        assert_eq!(repr.to_bytes().unwrap(), m1);

        let m3 = h(INDUCTION_M3);
        let frame = EapolKeyFrame::new_checked(&m3[..]).unwrap();
        assert_eq!(frame.key_information().0, 0x13ca);
        assert_eq!(frame.replay_counter(), 1);
        assert_eq!(frame.rsc(), [0xcf, 0x02, 0, 0, 0, 0, 0, 0]);
        assert_eq!(frame.key_data_length(), 80);
        assert_eq!(EapolKeyRepr::parse(&frame).unwrap().to_bytes().unwrap(), m3);

        let m2 = h(INDUCTION_M2);
        let frame = EapolKeyFrame::new_checked(&m2[..]).unwrap();
        assert_eq!(frame.key_data(), &h(INDUCTION_STA_RSNE)[..]);
        let rsne = RsnElement::parse(frame.key_data()).unwrap();
        assert_eq!(rsne.group_cipher, CipherSuite::Tkip);
        assert_eq!(rsne.pairwise_ciphers, vec![CipherSuite::Ccmp128]);
        assert_eq!(rsne.akms, vec![Akm::Psk]);
        let ap = RsnElement::parse(&h(INDUCTION_AP_RSNE)).unwrap();
        assert_eq!(
            ap.pairwise_ciphers,
            vec![CipherSuite::Ccmp128, CipherSuite::Tkip]
        );
        assert_eq!(ap.to_bytes().unwrap(), h(INDUCTION_AP_RSNE));
    }

    #[test]
    fn round_trip_with_key_data() {
        let mut repr = EapolKeyRepr::new(
            KeyInformation::new(
                KeyDescriptorVersion::HmacSha1Aes,
                KeyInformation::PAIRWISE | KeyInformation::MIC,
            ),
            0x0102030405060708,
        );
        repr.nonce = [0x55; 32];
        repr.mic = [0xaa; 16];
        repr.key_data = RsnElement::ccmp128(Akm::Psk).to_bytes().unwrap();
        let bytes = repr.to_bytes().unwrap();
        assert_eq!(bytes.len(), 99 + 22);
        assert_eq!(&bytes[..4], &[2, 3, 0, 117]);
        assert_eq!(&bytes[5..7], &[0x01, 0x0a]);
        let mut padded = bytes.clone();
        padded.extend_from_slice(&[0; 10]); // Ethernet padding is ignored
        let frame = EapolKeyFrame::new_checked(&padded[..]).unwrap();
        assert_eq!(EapolKeyRepr::parse(&frame).unwrap(), repr);
        let mic_input = frame.mic_input();
        assert_eq!(mic_input.len(), bytes.len());
        assert_eq!(&mic_input[81..97], &[0; 16]);
        let mut frame = EapolKeyFrame::new_checked(bytes.clone()).unwrap();
        frame.set_mic(&[1; 16]);
        assert_eq!(frame.mic(), [1; 16]);
    }

    #[test]
    fn rejects_bad_lengths() {
        let bytes = h(INDUCTION_M4);
        for n in 0..bytes.len() {
            assert!(
                EapolKeyFrame::new_checked(&bytes[..n]).is_err(),
                "length {n}"
            );
        }
        let mut long_key_data = bytes.clone();
        long_key_data[98] = 1;
        assert_eq!(
            EapolKeyFrame::new_checked(&long_key_data[..]).err(),
            Some(EapolError::KeyDataLength)
        );
        let mut eap = bytes.clone();
        eap[1] = 0;
        assert_eq!(
            EapolKeyFrame::new_checked(&eap[..]).err(),
            Some(EapolError::NotKey)
        );
        let mut short_body = bytes.clone();
        short_body[3] = 94;
        assert_eq!(
            EapolKeyFrame::new_checked(&short_body[..]).err(),
            Some(EapolError::Truncated)
        );
        let mut wpa = bytes;
        wpa[4] = 254;
        let frame = EapolKeyFrame::new_checked(&wpa[..]).unwrap();
        assert_eq!(
            EapolKeyRepr::parse(&frame).err(),
            Some(EapolError::DescriptorType(254))
        );
    }

    #[test]
    fn eapol_header_for_eap() {
        // EAPOL-Start (802.1X-2010 §11.3: type 1, empty body).
        let start = emit_eapol(PacketType::Start, &[]).unwrap();
        assert_eq!(start, [2, 1, 0, 0]);
        // EAP-Request/Identity (RFC 3748 §5.1) carried in EAPOL-EAP.
        let eap = [1u8, 7, 0, 5, 1];
        let pkt = emit_eapol(PacketType::EapPacket, &eap).unwrap();
        let view = EapolPacket::new_checked(&pkt[..]).unwrap();
        assert_eq!(view.packet_type(), PacketType::EapPacket);
        assert_eq!(view.body(), &eap);
        assert_eq!(
            EapolPacket::new_checked(&pkt[..8]).err(),
            Some(EapolError::Truncated)
        );
        assert_eq!(PacketType::from(9), PacketType::Unknown(9));
        assert_eq!(u8::from(PacketType::Unknown(9)), 9);
    }

    // The RSN element of IEEE 802.11-2020 §9.4.2.24.1's example for a
    // CCMP-128 / 802.1X network: 30 14 01 00 00 0f ac 04 01 00 00 0f ac 04
    // 01 00 00 0f ac 01 00 00 (hostapd's default for wpa_key_mgmt=WPA-EAP).
    #[test]
    fn rsn_element_codec() {
        let bytes = h("30140100000fac040100000fac040100000fac010000");
        let rsne = RsnElement::parse(&bytes).unwrap();
        assert_eq!(rsne, RsnElement::ccmp128(Akm::Ieee8021x));
        assert_eq!(rsne.to_bytes().unwrap(), bytes);
        let psk = RsnElement::ccmp128(Akm::Psk).to_bytes().unwrap();
        assert_eq!(psk[19], 2);
        // Truncated suite list, wrong version, wrong length.
        assert!(RsnElement::parse(&h("300a0100000fac040200000fac04")).is_err());
        assert!(RsnElement::parse(&h("30020200")).is_err());
        assert!(RsnElement::parse(&h("30030100")).is_err());
        assert_eq!(
            RsnElement::parse(&h("30020100")).unwrap().pairwise_ciphers,
            vec![]
        );
        assert_eq!(
            CipherSuite::from([0, 0x0f, 0xac, 99]),
            CipherSuite::Other([0, 0x0f, 0xac, 99])
        );
        assert_eq!(Akm::from([0, 0x0f, 0xac, 2]), Akm::Psk);
    }

    #[test]
    fn key_data_elements_and_padding() {
        let rsne = RsnElement::ccmp128(Akm::Psk).to_bytes().unwrap();
        let gtk = GtkKde {
            key_id: 1,
            tx: true,
            gtk: zeroize::Zeroizing::new(vec![0x42; 16]),
        };
        let mut data = rsne.clone();
        data.extend_from_slice(&gtk.to_bytes());
        let padded = crate::keys::pad_key_data(&data);
        let elems: Vec<_> = key_data_elements(&padded)
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(elems.len(), 2);
        assert_eq!(elems[0], KeyDataElement::Rsn(&rsne));
        assert_eq!(elems[1], KeyDataElement::Gtk(gtk.clone()));
        assert_eq!(
            &gtk.to_bytes()[..8],
            &[0xdd, 22, 0x00, 0x0f, 0xac, 1, 0x05, 0]
        );
        // Overrunning length.
        let bad = [48u8, 20, 1, 0];
        assert_eq!(
            key_data_elements(&bad).next(),
            Some(Err(EapolError::BadElement))
        );
        // GTK KDE with a 2-octet key.
        let short_gtk = [0xdd, 8, 0x00, 0x0f, 0xac, 1, 0, 0, 1, 2];
        assert_eq!(
            key_data_elements(&short_gtk).next(),
            Some(Err(EapolError::BadGtkKde))
        );
        // Unknown KDE type is kept.
        let other = [0xdd, 5, 0x00, 0x0f, 0xac, 4, 9];
        assert_eq!(
            key_data_elements(&other).next(),
            Some(Ok(KeyDataElement::Kde {
                oui: IEEE80211_OUI,
                data_type: 4,
                data: &[9]
            }))
        );
    }
}
