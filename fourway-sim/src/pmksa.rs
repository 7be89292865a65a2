//! PMKSA caching (IEEE 802.11-2020 §12.6.10.3), sans-IO: time is an input.
//!
//! After a full 802.1X authentication both sides keep the PMKSA: the PMK,
//! its PMKID (§12.7.1.3, [`KeyProfile::pmkid`]), the two addresses, the AKM
//! and a lifetime (dot11RSNAConfigPMKLifetime, 43200 s by default, or the
//! RADIUS Session-Timeout). A station reassociating puts the PMKID in the
//! PMKID List of its RSN element; an AP holding a live PMKSA of that name
//! for that station and AKM goes straight to the four-way handshake with
//! the cached PMK, without EAP and without a RADIUS round trip. Any other
//! PMKID (unknown, another station's, expired) falls back to a full
//! authentication.
//!
//! [`KeyProfile::pmkid`]: crate::akm::KeyProfile::pmkid

use std::time::{Duration, Instant};

use crate::akm::{KeyProfile, Pmkid};
use crate::eapol::Akm;
use crate::frames::MacAddr;
use crate::keys::Pmk;

/// dot11RSNAConfigPMKLifetime's default (§C.3, 43200 seconds).
pub const DEFAULT_PMK_LIFETIME: Duration = Duration::from_secs(43_200);

/// One PMK security association. The PMK is secret: no `Debug`.
pub struct Pmksa {
    /// Its name.
    pub pmkid: Pmkid,
    /// The PMK.
    pub pmk: Pmk,
    /// Authenticator address.
    pub aa: MacAddr,
    /// Supplicant address.
    pub spa: MacAddr,
    /// AKM it was made for.
    pub akm: Akm,
    /// When it expires.
    pub expires: Instant,
}

impl Pmksa {
    /// A PMKSA for `pmk`, named with the AKM's PMKID hash; `None` for an
    /// AKM whose PMKID is not made from the PMK (AKM 12, §12.7.1.3) or a
    /// PMK too short for the AKM.
    pub fn new(
        profile: &KeyProfile,
        pmk: &Pmk,
        aa: MacAddr,
        spa: MacAddr,
        now: Instant,
        lifetime: Duration,
    ) -> Option<Self> {
        Some(Pmksa {
            pmkid: profile.pmkid(pmk, &aa.0, &spa.0)?,
            pmk: pmk.clone_secret(),
            aa,
            spa,
            akm: profile.akm,
            expires: now + lifetime,
        })
    }
}

/// A bounded PMKSA cache (either side's).
pub struct PmksaCache {
    entries: Vec<Pmksa>,
    capacity: usize,
}

impl PmksaCache {
    /// An empty cache holding at most `capacity` entries (the oldest goes).
    pub fn new(capacity: usize) -> Self {
        PmksaCache {
            entries: Vec::new(),
            capacity: capacity.max(1),
        }
    }

    /// Add or replace the PMKSA of (AA, SPA).
    pub fn insert(&mut self, pmksa: Pmksa) {
        self.entries
            .retain(|e| !(e.aa == pmksa.aa && e.spa == pmksa.spa));
        if self.entries.len() >= self.capacity {
            self.entries.remove(0);
        }
        self.entries.push(pmksa);
    }

    /// Drop expired entries.
    pub fn expire(&mut self, now: Instant) {
        self.entries.retain(|e| e.expires > now);
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The station's side: its live PMKSA with AP `aa`, to name in its
    /// reassociation request.
    pub fn for_ap(&self, now: Instant, aa: MacAddr, spa: MacAddr) -> Option<&Pmksa> {
        self.entries
            .iter()
            .find(|e| e.aa == aa && e.spa == spa && e.expires > now)
    }

    /// The AP's side (§12.6.10.3): the first PMKID of the station's list
    /// that names a live PMKSA of this station, this AP and the AKM the
    /// station selected. `None`: full authentication.
    pub fn lookup(
        &self,
        now: Instant,
        aa: MacAddr,
        spa: MacAddr,
        akm: Akm,
        pmkids: &[Pmkid],
    ) -> Option<&Pmksa> {
        pmkids.iter().find_map(|id| {
            self.entries.iter().find(|e| {
                e.pmkid == *id && e.aa == aa && e.spa == spa && e.akm == akm && e.expires > now
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const AA: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 1]);
    const SPA: MacAddr = MacAddr([0x02, 0, 0x5a, 0, 0, 1]);

    #[test]
    fn hit_wrong_and_expired() {
        let now = Instant::now();
        let profile = KeyProfile::for_akm(Akm::Ieee8021xSha256).unwrap();
        let pmk = Pmk::from_bytes([9; 32]);
        let mut ap = PmksaCache::new(4);
        ap.insert(Pmksa::new(&profile, &pmk, AA, SPA, now, Duration::from_secs(60)).unwrap());
        let id = profile.pmkid(&pmk, &AA.0, &SPA.0).unwrap();
        let hit = ap.lookup(now, AA, SPA, Akm::Ieee8021xSha256, &[[0; 16], id]);
        assert!(hit.is_some_and(|e| e.pmk.ct_eq(&pmk)));
        // Wrong PMKID, another station, another AKM, expired: full
        // authentication.
        assert!(
            ap.lookup(now, AA, SPA, Akm::Ieee8021xSha256, &[[1; 16]])
                .is_none()
        );
        assert!(
            ap.lookup(now, AA, AA, Akm::Ieee8021xSha256, &[id])
                .is_none()
        );
        assert!(ap.lookup(now, AA, SPA, Akm::Ieee8021x, &[id]).is_none());
        let later = now + Duration::from_secs(60);
        assert!(
            ap.lookup(later, AA, SPA, Akm::Ieee8021xSha256, &[id])
                .is_none()
        );
        ap.expire(later);
        assert!(ap.is_empty());
    }

    #[test]
    fn bounded_and_replacing() {
        let now = Instant::now();
        let profile = KeyProfile::for_akm(Akm::Ieee8021x).unwrap();
        let mut c = PmksaCache::new(2);
        for i in 0..3u8 {
            let spa = MacAddr([2, 0, 0, 0, 0, i]);
            c.insert(
                Pmksa::new(
                    &profile,
                    &Pmk::from_bytes([i; 32]),
                    AA,
                    spa,
                    now,
                    DEFAULT_PMK_LIFETIME,
                )
                .unwrap(),
            );
        }
        assert_eq!(c.len(), 2);
        assert!(c.for_ap(now, AA, MacAddr([2, 0, 0, 0, 0, 0])).is_none());
        let spa = MacAddr([2, 0, 0, 0, 0, 2]);
        c.insert(
            Pmksa::new(
                &profile,
                &Pmk::from_bytes([7; 32]),
                AA,
                spa,
                now,
                DEFAULT_PMK_LIFETIME,
            )
            .unwrap(),
        );
        assert_eq!(c.len(), 2);
        assert!(
            c.for_ap(now, AA, spa)
                .is_some_and(|e| e.pmk.ct_eq(&Pmk::from_bytes([7; 32])))
        );
    }
}
