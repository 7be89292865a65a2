//! `run --pmksa-cache`: after each full authentication the station
//! reassociates to AP1 naming its PMKID, the AP finds the cached PMKSA and
//! the handshakes run again without EAP or RADIUS (IEEE 802.11-2020
//! §12.6.10.3). How each AKM names and keeps its PMKSA is in
//! [`fourway_sim::pmksa`]: the PMK's HMAC for AKM 1 and 5, the KCK of the
//! full four-way handshake for AKM 12, and XXKey for the FT AKMs, whose
//! cached association is an FT initial mobility domain association from
//! the cached XXKey followed by the roam to AP2.

use std::time::Instant;

use fourway_sim::eapol::Akm;
use fourway_sim::frames::MacAddr;
use fourway_sim::pmksa::{DEFAULT_PMK_LIFETIME, Pmksa, PmksaCache};
use fourway_sim::sim::{Kcks, SimOptions, StationReport, run_handshakes};
use fourway_sim::station::Authentication;

use crate::{AP_ADDR, report_line};

/// Both sides cache the PMKSA of the full authentication (`kcks`: its
/// four-way handshake's KCKs, for AKM 12); the station reassociates naming
/// its PMKID, the AP looks it up. The report of the cached association
/// (with an FT AKM the roam's frames appended) and whether all of it
/// succeeded.
pub(crate) fn reassociate_cached(
    i: u32,
    spa: MacAddr,
    akm: Akm,
    auth: &Authentication,
    kcks: Option<&Kcks>,
    opts: &SimOptions,
    rng: &mut impl rand::CryptoRng,
) -> Result<(StationReport, bool), String> {
    let profile = fourway_sim::akm::KeyProfile::for_akm(akm).map_err(|e| e.to_string())?;
    let now = Instant::now();
    let mut ap_cache = PmksaCache::new(1024);
    let mut sta_cache = PmksaCache::new(16);
    let unnamed = || format!("--pmksa-cache: no PMKSA for {akm} (the full handshake failed)");
    let pmksa = |pmk, kck: Option<&[u8]>| {
        if profile.ft {
            Pmksa::ft(&profile, pmk, AP_ADDR, spa, now, DEFAULT_PMK_LIFETIME)
        } else {
            let kck = kck.unwrap_or_default();
            Pmksa::with_kck(&profile, pmk, kck, AP_ADDR, spa, now, DEFAULT_PMK_LIFETIME)
        }
    };
    // AKM 12's PMKSA exists only once its four-way handshake made a KCK.
    let kck_needed = profile.pmkid_hash == fourway_sim::akm::PmkidHash::Sha384Kck;
    if kck_needed && kcks.is_none() {
        return Err(unnamed());
    }
    ap_cache.insert(pmksa(&auth.pmk_ap, kcks.map(|k| &k.ap[..])).ok_or_else(unnamed)?);
    sta_cache.insert(pmksa(&auth.pmk_station, kcks.map(|k| &k.sta[..])).ok_or_else(unnamed)?);
    let started = Instant::now();
    let sta = sta_cache
        .for_ap(started, AP_ADDR, spa)
        .ok_or("station has no PMKSA")?;
    let ap = ap_cache
        .lookup(started, AP_ADDR, spa, akm, &[sta.pmkid])
        .ok_or("AP found no PMKSA for the station's PMKID")?;
    let opts = SimOptions {
        sta_pmkids: vec![sta.pmkid],
        eap: Vec::new(),
        ..opts.clone()
    };
    let extra = format!(
        " pmksa=cached pmkid={} round-trips=0",
        hex::encode(sta.pmkid)
    );
    if !profile.ft {
        let report = run_handshakes(&ap.pmk, &sta.pmk, AP_ADDR, spa, rng, started, &opts);
        println!("{}", report_line(i, &report, started.elapsed(), &extra));
        let ok = report.success();
        return Ok((report, ok));
    }
    // FT: the initial mobility domain association again, PMK-R0 from the
    // cached XXKey, then the roam to AP2.
    let mut roam = fourway_sim::roam::run_ft_roam_cached(
        &ap.pmk,
        &sta.pmk,
        AP_ADDR,
        fourway_sim::roam::AP2_ADDR,
        spa,
        rng,
        started,
        &opts,
    )?;
    let mut report = roam.initial.clone();
    println!("{}", report_line(i, &report, started.elapsed(), &extra));
    println!("{}", fourway_sim::roam::roam_line(i, &roam));
    report.frames.append(&mut roam.frames);
    Ok((report, roam.success()))
}
