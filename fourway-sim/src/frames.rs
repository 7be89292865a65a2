//! Minimal IEEE 802.11 MAC frames (IEEE 802.11-2020 §9.2, §9.3): data frames
//! carrying EAPOL over LLC/SNAP, CCMP-protected data frames, and the beacon
//! and association request a capture needs so that analysers know the
//! network. Only what the simulator writes and the CCMP code reads.

use core::fmt;
use core::str::FromStr;

/// An IEEE 802 MAC address.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct MacAddr(pub [u8; 6]);

impl MacAddr {
    /// The broadcast address.
    pub const BROADCAST: MacAddr = MacAddr([0xff; 6]);

    /// The address octets.
    pub fn octets(&self) -> &[u8; 6] {
        &self.0
    }
}

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let a = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            a[0], a[1], a[2], a[3], a[4], a[5]
        )
    }
}

impl fmt::Debug for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// A MAC address string that is not six colon- or dash-separated hex octets.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid MAC address (expected aa:bb:cc:dd:ee:ff)")]
pub struct MacAddrParseError;

impl FromStr for MacAddr {
    type Err = MacAddrParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut out = [0u8; 6];
        let mut parts = s.split([':', '-']);
        for o in out.iter_mut() {
            let p = parts.next().ok_or(MacAddrParseError)?;
            if p.len() != 2 {
                return Err(MacAddrParseError);
            }
            *o = u8::from_str_radix(p, 16).map_err(|_| MacAddrParseError)?;
        }
        if parts.next().is_some() {
            return Err(MacAddrParseError);
        }
        Ok(MacAddr(out))
    }
}

/// Frame Control bits of the second octet (§9.2.4.1.1, Figure 9-3).
pub mod fc {
    /// To DS.
    pub const TO_DS: u8 = 0x01;
    /// From DS.
    pub const FROM_DS: u8 = 0x02;
    /// More Fragments.
    pub const MORE_FRAGMENTS: u8 = 0x04;
    /// Retry.
    pub const RETRY: u8 = 0x08;
    /// Power Management.
    pub const POWER_MGMT: u8 = 0x10;
    /// More Data.
    pub const MORE_DATA: u8 = 0x20;
    /// Protected Frame.
    pub const PROTECTED: u8 = 0x40;
    /// +HTC/Order.
    pub const ORDER: u8 = 0x80;
}

/// LLC/SNAP header for an EtherType (RFC 1042): AA AA 03 00 00 00 + type.
pub const LLC_SNAP: [u8; 6] = [0xaa, 0xaa, 0x03, 0x00, 0x00, 0x00];
/// EtherType of EAPOL (IEEE 802.1X-2010 §11.1.4).
pub const ETHERTYPE_EAPOL: u16 = 0x888e;
/// EtherType of IPv4, used for the simulated payload.
pub const ETHERTYPE_IPV4: u16 = 0x0800;

/// Direction of a data frame within an infrastructure BSS (§9.2.4.1.4,
/// Table 9-5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// AP to station: FromDS=1, A1 = DA (station), A2 = BSSID, A3 = SA.
    FromAp,
    /// Station to AP: ToDS=1, A1 = BSSID, A2 = SA (station), A3 = DA.
    ToAp,
}

/// Build a (non-QoS) data frame header of 24 octets plus an LLC/SNAP
/// encapsulated payload. `seq` is the 12-bit sequence number.
pub fn data_frame(
    dir: Direction,
    bssid: MacAddr,
    sta: MacAddr,
    seq: u16,
    ethertype: u16,
    payload: &[u8],
) -> Vec<u8> {
    let mut f = Vec::with_capacity(24 + 8 + payload.len());
    // Type 2 (data), subtype 0: first octet 0x08 (§9.2.4.1.3).
    f.push(0x08);
    match dir {
        Direction::FromAp => {
            f.push(fc::FROM_DS);
            f.extend_from_slice(&[0, 0]); // duration
            f.extend_from_slice(&sta.0);
            f.extend_from_slice(&bssid.0);
            f.extend_from_slice(&bssid.0);
        }
        Direction::ToAp => {
            f.push(fc::TO_DS);
            f.extend_from_slice(&[0, 0]);
            f.extend_from_slice(&bssid.0);
            f.extend_from_slice(&sta.0);
            f.extend_from_slice(&bssid.0);
        }
    }
    f.extend_from_slice(&((seq & 0x0fff) << 4).to_le_bytes());
    f.extend_from_slice(&LLC_SNAP);
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// Header length of a data frame: 24, +6 with both DS bits (A4), +2 for QoS
/// subtypes (§9.3.2.1). `None` when the frame is shorter than its header or
/// not a data frame.
pub fn data_header_len(frame: &[u8]) -> Option<usize> {
    let (&fc0, rest) = frame.split_first()?;
    let &fc1 = rest.first()?;
    if (fc0 >> 2) & 0x03 != 2 || fc0 & 0x03 != 0 {
        return None;
    }
    let mut len = 24;
    if fc1 & (fc::TO_DS | fc::FROM_DS) == fc::TO_DS | fc::FROM_DS {
        len += 6;
    }
    if fc0 & 0x80 != 0 {
        len += 2;
    }
    (frame.len() >= len).then_some(len)
}

/// Append an element (ID, length, body) to `out`; bodies over 255 octets
/// are cut, which the fixed elements written here never reach.
fn element(out: &mut Vec<u8>, id: u8, body: &[u8]) {
    let body = &body[..body.len().min(255)];
    out.push(id);
    out.push(body.len() as u8);
    out.extend_from_slice(body);
}

/// A beacon (§9.3.3.2) with SSID, supported rates, DS parameter set and
/// the RSN element, so that a capture names the network and its AKM.
pub fn beacon(bssid: MacAddr, ssid: &[u8], rsne: &[u8], timestamp_us: u64, seq: u16) -> Vec<u8> {
    let mut f = vec![0x80, 0x00, 0x00, 0x00];
    f.extend_from_slice(&MacAddr::BROADCAST.0);
    f.extend_from_slice(&bssid.0);
    f.extend_from_slice(&bssid.0);
    f.extend_from_slice(&((seq & 0x0fff) << 4).to_le_bytes());
    f.extend_from_slice(&timestamp_us.to_le_bytes());
    f.extend_from_slice(&100u16.to_le_bytes()); // beacon interval (TU)
    f.extend_from_slice(&0x0011u16.to_le_bytes()); // ESS | Privacy
    element(&mut f, 0, ssid);
    element(&mut f, 1, &[0x82, 0x84, 0x8b, 0x96, 0x0c, 0x12, 0x18, 0x24]);
    element(&mut f, 3, &[6]);
    f.extend_from_slice(rsne);
    f
}

/// An association request (§9.3.3.6) carrying the station's RSN element.
/// A Deauthentication frame (§9.3.3.12): management type, subtype 12, from
/// the AP (`bssid`) to `da` (the broadcast address for all stations), with
/// a reason code (§9.4.1.7; 3 = "the STA is leaving").
pub fn deauthentication(bssid: MacAddr, da: MacAddr, reason: u16, seq: u16) -> Vec<u8> {
    let mut f = vec![0xc0, 0x00, 0x00, 0x00];
    f.extend_from_slice(&da.0);
    f.extend_from_slice(&bssid.0);
    f.extend_from_slice(&bssid.0);
    f.extend_from_slice(&((seq & 0x0fff) << 4).to_le_bytes());
    f.extend_from_slice(&reason.to_le_bytes());
    f
}

pub fn association_request(
    bssid: MacAddr,
    sta: MacAddr,
    ssid: &[u8],
    rsne: &[u8],
    seq: u16,
) -> Vec<u8> {
    let mut f = vec![0x00, 0x00, 0x00, 0x00];
    f.extend_from_slice(&bssid.0);
    f.extend_from_slice(&sta.0);
    f.extend_from_slice(&bssid.0);
    f.extend_from_slice(&((seq & 0x0fff) << 4).to_le_bytes());
    f.extend_from_slice(&0x0011u16.to_le_bytes()); // capability
    f.extend_from_slice(&10u16.to_le_bytes()); // listen interval
    element(&mut f, 0, ssid);
    element(&mut f, 1, &[0x82, 0x84, 0x8b, 0x96, 0x0c, 0x12, 0x18, 0x24]);
    f.extend_from_slice(rsne);
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mac_addr_parse_and_display() {
        let m: MacAddr = "00:0c:41:82:B2:55".parse().unwrap();
        assert_eq!(m.0, [0x00, 0x0c, 0x41, 0x82, 0xb2, 0x55]);
        assert_eq!(m.to_string(), "00:0c:41:82:b2:55");
        assert_eq!("00-0c-41-82-b2-55".parse::<MacAddr>(), Ok(m));
        for bad in [
            "",
            "00:0c:41:82:b2",
            "00:0c:41:82:b2:55:66",
            "0:0c:41:82:b2:55",
            "zz:0c:41:82:b2:55",
        ] {
            assert!(bad.parse::<MacAddr>().is_err(), "{bad}");
        }
    }

    #[test]
    fn eapol_data_frames_have_ds_bits_and_addresses() {
        let ap = MacAddr([1; 6]);
        let sta = MacAddr([2; 6]);
        let down = data_frame(Direction::FromAp, ap, sta, 5, ETHERTYPE_EAPOL, &[9, 9]);
        assert_eq!(&down[..2], &[0x08, 0x02]);
        assert_eq!(&down[4..10], &sta.0);
        assert_eq!(&down[10..16], &ap.0);
        assert_eq!(&down[22..24], &[0x50, 0x00]);
        assert_eq!(&down[24..32], &[0xaa, 0xaa, 0x03, 0, 0, 0, 0x88, 0x8e]);
        assert_eq!(&down[32..], &[9, 9]);
        let up = data_frame(Direction::ToAp, ap, sta, 5, ETHERTYPE_EAPOL, &[]);
        assert_eq!(&up[..2], &[0x08, 0x01]);
        assert_eq!(&up[4..10], &ap.0);
        assert_eq!(&up[10..16], &sta.0);
        assert_eq!(data_header_len(&up), Some(24));
        assert_eq!(data_header_len(&up[..20]), None);
        assert_eq!(data_header_len(&beacon(ap, b"x", &[], 0, 0)), None);
        let mut qos_wds = up.clone();
        qos_wds[0] = 0x88;
        qos_wds[1] = 0x03;
        qos_wds.extend_from_slice(&[0; 8]);
        assert_eq!(data_header_len(&qos_wds), Some(32));
    }
}
