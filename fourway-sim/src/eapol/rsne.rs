//! The RSN element (IEEE 802.11-2020 §9.4.2.24) and its suite selectors.

use super::EapolError;

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
    /// 00-0F-AC:12 BIP-GMAC-256.
    BipGmac256,
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
            12 => CipherSuite::BipGmac256,
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
            CipherSuite::BipGmac256 => 12,
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
    /// 00-0F-AC:12 IEEE 802.1X Suite B 192-bit (WPA3-Enterprise 192-bit).
    Ieee8021xSuiteB192,
    /// 00-0F-AC:13 FT over IEEE 802.1X with SHA-384.
    FtIeee8021xSha384,
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
            12 => Akm::Ieee8021xSuiteB192,
            13 => Akm::FtIeee8021xSha384,
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
            Akm::Ieee8021xSuiteB192 => 12,
            Akm::FtIeee8021xSha384 => 13,
            Akm::Other(s) => return s,
        };
        [0x00, 0x0f, 0xac, t]
    }
}

impl Akm {
    /// The suite type (the last octet of the selector) for 00-0F-AC suites.
    pub fn suite_type(self) -> Option<u8> {
        let s = <[u8; 4]>::from(self);
        (s[..3] == IEEE80211_OUI).then_some(s[3])
    }

    /// The name Table 9-151 gives the suite (its authentication type and
    /// key management), for messages.
    pub fn name(self) -> &'static str {
        match self {
            Akm::Ieee8021x => "IEEE 802.1X",
            Akm::Psk => "PSK",
            Akm::FtIeee8021x => "FT over IEEE 802.1X",
            Akm::FtPsk => "FT PSK",
            Akm::Ieee8021xSha256 => "IEEE 802.1X with SHA-256",
            Akm::PskSha256 => "PSK with SHA-256",
            Akm::Sae => "SAE",
            Akm::Ieee8021xSuiteB192 => "IEEE 802.1X Suite B 192-bit",
            Akm::FtIeee8021xSha384 => "FT over IEEE 802.1X with SHA-384",
            Akm::Other(_) => "unknown",
        }
    }
}

impl core::fmt::Display for Akm {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let s = <[u8; 4]>::from(*self);
        write!(
            f,
            "AKM {:02X}-{:02X}-{:02X}:{} ({})",
            s[0],
            s[1],
            s[2],
            s[3],
            self.name()
        )
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
    /// PMKID List (§9.4.2.24.5); encoded only when not empty or when a
    /// group management cipher follows.
    pub pmkids: Vec<[u8; 16]>,
    /// Group Management Cipher Suite, if present (absent means BIP-CMAC-128
    /// when management frame protection is negotiated, §9.4.2.24.1).
    pub group_mgmt_cipher: Option<CipherSuite>,
    /// Fields after the group management cipher, unparsed.
    pub trailer: Vec<u8>,
}

/// RSN Capabilities bit 6: Management Frame Protection Required (§9.4.2.24.4).
pub const RSN_CAP_MFPR: u16 = 1 << 6;
/// RSN Capabilities bit 7: Management Frame Protection Capable (§9.4.2.24.4).
pub const RSN_CAP_MFPC: u16 = 1 << 7;

impl RsnElement {
    /// Version 1, CCMP-128 group and pairwise, one AKM, capabilities 0.
    pub fn ccmp128(akm: Akm) -> Self {
        RsnElement {
            version: 1,
            group_cipher: CipherSuite::Ccmp128,
            pairwise_ciphers: vec![CipherSuite::Ccmp128],
            akms: vec![akm],
            capabilities: Some(0),
            pmkids: Vec::new(),
            group_mgmt_cipher: None,
            trailer: Vec::new(),
        }
    }

    /// Version 1, one AKM, and the ciphers its profile selects: CCMP-128,
    /// or GCMP-256 group and pairwise for AKM 12 (§12.5.5), which also
    /// names BIP-GMAC-256 as group management cipher (§9.4.2.24.2: absent,
    /// it would mean BIP-CMAC-128) when `mfpc` is set.
    pub fn for_profile(profile: &crate::akm::KeyProfile, mfpc: bool) -> Self {
        let cipher = profile.cipher.suite();
        let mgmt = profile.group_mgmt.suite();
        RsnElement {
            group_cipher: cipher,
            pairwise_ciphers: vec![cipher],
            group_mgmt_cipher: (mfpc && mgmt != CipherSuite::BipCmac128).then_some(mgmt),
            ..RsnElement::ccmp128(profile.akm)
        }
    }

    /// MFPC and MFPR of the RSN Capabilities (absent capabilities: neither).
    pub fn mfp(&self) -> (bool, bool) {
        let caps = self.capabilities.unwrap_or(0);
        (caps & RSN_CAP_MFPC != 0, caps & RSN_CAP_MFPR != 0)
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
            pmkids: Vec::new(),
            group_mgmt_cipher: None,
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
        if r.is_empty() {
            return Ok(rsne);
        }
        let n = r.u16_le()?;
        for _ in 0..n {
            rsne.pmkids.push(r.take::<16>()?);
        }
        if r.is_empty() {
            return Ok(rsne);
        }
        rsne.group_mgmt_cipher = Some(r.suite()?.into());
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
            if !self.pmkids.is_empty() || self.group_mgmt_cipher.is_some() {
                let n = u16::try_from(self.pmkids.len()).map_err(|_| EapolError::TooLong)?;
                body.extend_from_slice(&n.to_le_bytes());
                for id in &self.pmkids {
                    body.extend_from_slice(id);
                }
            }
            if let Some(c) = self.group_mgmt_cipher {
                body.extend_from_slice(&<[u8; 4]>::from(c));
                body.extend_from_slice(&self.trailer);
            }
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
