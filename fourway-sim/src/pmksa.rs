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
//! Two AKMs name their PMKSA otherwise, as hostapd does:
//!
//! * AKM 12 (802.1X Suite B 192-bit): PMKID = Truncate-128(HMAC-SHA-384(KCK,
//!   "PMK Name" || AA || SPA)) with the KCK of the four-way handshake that
//!   confirmed the PMK (§12.7.1.3), so the PMKSA is cached only once that
//!   handshake completed ([`Pmksa::with_kck`]; hostapd's
//!   `pmksa_cache_auth_add` with `kck`, `rsn_pmkid_suite_b_192`).
//! * FT over 802.1X (AKM 3, 13): the PMKSA of the FT initial mobility domain
//!   association caches XXKey (hostapd's "MPMK": `wpa_auth_pmksa_add` keeps
//!   MSK[32..64] for AKM 3, MSK[0..48] for AKM 13), named with
//!   Truncate-128(HMAC-SHA-256 / HMAC-SHA-384(XXKey, "PMK Name" || AA ||
//!   SPA)) (hostapd's `rsn_pmkid`, which puts AKM 3 with the SHA-256 AKMs
//!   and AKM 13 with the SHA-384 ones). A cached initial mobility domain
//!   association derives PMK-R0 from the cached XXKey instead of a new MSK
//!   ([`Pmksa::ft`]; hostapd's test_ap_ft_pmksa_caching and
//!   test_ap_ft_pmksa_caching_sha384 run it with wpa_supplicant).
//!
//! [`KeyProfile::pmkid`]: crate::akm::KeyProfile::pmkid

use std::time::{Duration, Instant};

use crate::akm::{KeyProfile, Pmkid, PmkidHash, hmac, pmkid_suite_b};
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

impl Pmksa {
    /// A PMKSA for `pmk` after the four-way handshake whose KCK is `kck`:
    /// AKM 12 names it with the KCK ([`pmkid_suite_b`]), every other
    /// non-FT AKM as [`Pmksa::new`]. `None` for the FT AKMs ([`Pmksa::ft`])
    /// or a PMK too short for the AKM.
    pub fn with_kck(
        profile: &KeyProfile,
        pmk: &Pmk,
        kck: &[u8],
        aa: MacAddr,
        spa: MacAddr,
        now: Instant,
        lifetime: Duration,
    ) -> Option<Self> {
        if profile.pmkid_hash != PmkidHash::Sha384Kck {
            return Pmksa::new(profile, pmk, aa, spa, now, lifetime);
        }
        Some(Pmksa {
            pmkid: pmkid_suite_b(kck, &aa.0, &spa.0),
            pmk: Pmk::from_slice(profile.pmk(pmk)?).ok()?,
            aa,
            spa,
            akm: profile.akm,
            expires: now + lifetime,
        })
    }

    /// The PMKSA of an FT initial mobility domain association from the
    /// `msk`: the cached PMK is XXKey, the PMKID HMAC-SHA-256 (AKM 3) or
    /// HMAC-SHA-384 (AKM 13) of it. `None` for another AKM or a short MSK.
    pub fn ft(
        profile: &KeyProfile,
        msk: &Pmk,
        aa: MacAddr,
        spa: MacAddr,
        now: Instant,
        lifetime: Duration,
    ) -> Option<Self> {
        let hash = crate::ft::FtHash::for_akm(profile.akm)?;
        let xxkey = crate::ft::xxkey(hash, msk).ok()?;
        let parts: [&[u8]; 3] = [b"PMK Name", &aa.0, &spa.0];
        let full = match hash {
            crate::ft::FtHash::Sha256 => hmac::<sha2::Sha256>(&xxkey, &parts),
            crate::ft::FtHash::Sha384 => hmac::<sha2::Sha384>(&xxkey, &parts),
        };
        let mut pmkid = [0u8; 16];
        pmkid.copy_from_slice(&full[..16]);
        Some(Pmksa {
            pmkid,
            pmk: Pmk::from_slice(&xxkey).ok()?,
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

    // AKM 12: the PMKID is keyed with the KCK of the confirming handshake;
    // a PMKID made with another KCK, or expired, is a full authentication.
    #[test]
    fn akm12_named_with_the_kck() {
        let now = Instant::now();
        let profile = KeyProfile::for_akm(Akm::Ieee8021xSuiteB192).unwrap();
        let msk = Pmk::from_msk(&[0x42; 64]).unwrap();
        let kck = [0x17u8; 24];
        assert!(Pmksa::new(&profile, &msk, AA, SPA, now, DEFAULT_PMK_LIFETIME).is_none());
        let e =
            Pmksa::with_kck(&profile, &msk, &kck, AA, SPA, now, Duration::from_secs(60)).unwrap();
        assert_eq!(e.pmkid, pmkid_suite_b(&kck, &AA.0, &SPA.0));
        // The cached PMK is the AKM's: the MSK's first 384 bits.
        assert_eq!(e.pmk.as_bytes(), &[0x42; 48][..]);
        let id = e.pmkid;
        let mut ap = PmksaCache::new(4);
        ap.insert(e);
        let akm = Akm::Ieee8021xSuiteB192;
        assert!(ap.lookup(now, AA, SPA, akm, &[id]).is_some());
        let other = pmkid_suite_b(&[0x18; 24], &AA.0, &SPA.0);
        assert!(ap.lookup(now, AA, SPA, akm, &[other]).is_none());
        let later = now + Duration::from_secs(60);
        assert!(ap.lookup(later, AA, SPA, akm, &[id]).is_none());
        // Another AKM's with_kck ignores the KCK (AKM 5: HMAC-SHA-256 of
        // the PMK).
        let p5 = KeyProfile::for_akm(Akm::Ieee8021xSha256).unwrap();
        let e5 = Pmksa::with_kck(&p5, &msk, &kck, AA, SPA, now, DEFAULT_PMK_LIFETIME).unwrap();
        assert_eq!(Some(e5.pmkid), p5.pmkid(&msk, &AA.0, &SPA.0));
    }

    // FT: the cached PMK is XXKey, named with HMAC-SHA-256 (AKM 3) or
    // HMAC-SHA-384 (AKM 13) of it, as hostapd's rsn_pmkid does.
    #[test]
    fn ft_caches_xxkey() {
        let now = Instant::now();
        let m: Vec<u8> = (0u8..64).collect();
        let msk = Pmk::from_msk(&m).unwrap();
        for (akm, xx) in [
            (Akm::FtIeee8021x, &m[32..64]),
            (Akm::FtIeee8021xSha384, &m[..48]),
        ] {
            let profile = KeyProfile::for_akm(akm).unwrap();
            let e = Pmksa::ft(&profile, &msk, AA, SPA, now, Duration::from_secs(60)).unwrap();
            assert_eq!(e.pmk.as_bytes(), xx, "{akm}");
            let parts: [&[u8]; 3] = [b"PMK Name", &AA.0, &SPA.0];
            let full = if akm == Akm::FtIeee8021x {
                hmac::<sha2::Sha256>(xx, &parts)
            } else {
                hmac::<sha2::Sha384>(xx, &parts)
            };
            assert_eq!(e.pmkid[..], full[..16], "{akm}");
            let id = e.pmkid;
            let mut ap = PmksaCache::new(4);
            ap.insert(e);
            assert!(ap.lookup(now, AA, SPA, akm, &[id]).is_some());
            assert!(ap.lookup(now, AA, SPA, akm, &[[0; 16]]).is_none());
            let later = now + Duration::from_secs(60);
            assert!(ap.lookup(later, AA, SPA, akm, &[id]).is_none());
        }
        let p1 = KeyProfile::for_akm(Akm::Ieee8021x).unwrap();
        assert!(Pmksa::ft(&p1, &msk, AA, SPA, now, DEFAULT_PMK_LIFETIME).is_none());
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
