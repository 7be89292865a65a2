//! fourway-sim: a simulated IEEE 802.11 access point and stations.
//!
//! The IEEE 802.11 half, all sans-IO (time and random bytes are inputs):
//!
//! * [`keys`]: PMK, PSK, PRF, PTK derivation, EAPOL-Key MIC and key wrap
//!   (IEEE 802.11-2020 §12.7.1, §12.7.2).
//! * [`eapol`]: EAPOL and EAPOL-Key codec, RSN element and KDEs.
//! * [`fourway`]: the authenticator and supplicant state machines of the
//!   four-way and group key handshakes (§12.7.6, §12.7.7).
//! * [`ccmp`], [`gcmp`]: CCMP-128 and GCMP-256 data protection (§12.5.3,
//!   §12.5.5); [`bip`]: BIP-CMAC-128 and BIP-GMAC-256 (§12.5.4).
//! * [`ft`]: fast BSS transition: FT key hierarchy, MDE/FTE, FT protocol.
//! * [`frames`], [`pcap`]: 802.11 frames and capture files for analysers.
//! * [`sim`]: runs an AP/station pair in memory given their PMKs.

#![forbid(unsafe_code)]

pub mod akm;
pub mod ap;
pub mod bip;
pub mod ccmp;
pub mod eapol;
pub mod floor;
pub mod fourway;
pub mod frames;
pub mod ft;
pub mod gcmp;
pub mod keys;
pub mod load;
pub mod pap_poll;
pub mod pcap;
pub mod pmksa;
pub mod radius_client;
pub mod radsec_client;
pub mod roam;
pub mod sim;
pub mod station;
pub mod suite_b;
pub mod udp_floor;

#[cfg(test)]
mod testvectors;
