//! Key data of EAPOL-Key frames: KDEs (IEEE 802.11-2020 §12.7.2, Table 12-9)
//! and the element iterator.

use core::fmt;

use super::{EapolError, IEEE80211_OUI, RSN_ELEMENT_ID, VENDOR_ELEMENT_ID};

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

/// KDE data type of the PMKID KDE (Table 12-9).
pub const KDE_PMKID: u8 = 4;
/// KDE data type of the IGTK KDE (Table 12-9).
pub const KDE_IGTK: u8 = 9;

/// IGTK KDE contents (§12.7.2, Figure 12-42: Key ID, IPN, IGTK). The key is
/// secret: no `Debug` of it.
#[derive(Clone, PartialEq, Eq)]
pub struct IgtkKde {
    /// Key ID (4 or 5, §12.7.1.5).
    pub key_id: u16,
    /// IGTK packet number: the receive sequence counter to start from,
    /// 6 octets little-endian.
    pub ipn: [u8; 6],
    /// The IGTK (16 octets for BIP-CMAC-128).
    pub igtk: zeroize::Zeroizing<Vec<u8>>,
}

impl fmt::Debug for IgtkKde {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IgtkKde")
            .field("key_id", &self.key_id)
            .field("ipn", &self.ipn)
            .field("igtk_len", &self.igtk.len())
            .finish()
    }
}

impl IgtkKde {
    /// Encode as a KDE element.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(6 + 8 + self.igtk.len());
        v.push(VENDOR_ELEMENT_ID);
        v.push((4 + 8 + self.igtk.len()) as u8);
        v.extend_from_slice(&IEEE80211_OUI);
        v.push(KDE_IGTK);
        v.extend_from_slice(&self.key_id.to_le_bytes());
        v.extend_from_slice(&self.ipn);
        v.extend_from_slice(&self.igtk);
        v
    }
}

/// A PMKID KDE (Table 12-9, data type 4), as message 1 carries it.
pub fn pmkid_kde(pmkid: &[u8; 16]) -> Vec<u8> {
    let mut v = vec![VENDOR_ELEMENT_ID, 20];
    v.extend_from_slice(&IEEE80211_OUI);
    v.push(KDE_PMKID);
    v.extend_from_slice(pmkid);
    v
}

/// One element of EAPOL-Key key data (§12.7.2 j)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyDataElement<'a> {
    /// An RSN element, whole (ID and length included), for byte comparison.
    Rsn(&'a [u8]),
    /// A GTK KDE.
    Gtk(GtkKde),
    /// An IGTK KDE.
    Igtk(IgtkKde),
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
            } else if oui == IEEE80211_OUI && data_type == KDE_IGTK {
                // Key ID (2), IPN (6), then a 16- or 32-octet IGTK.
                match data {
                    [k0, k1, ipn @ ..] if data.len() == 8 + 16 || data.len() == 8 + 32 => {
                        let mut n = [0u8; 6];
                        n.copy_from_slice(&ipn[..6]);
                        Ok(KeyDataElement::Igtk(IgtkKde {
                            key_id: u16::from_le_bytes([*k0, *k1]),
                            ipn: n,
                            igtk: zeroize::Zeroizing::new(ipn[6..].to_vec()),
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
