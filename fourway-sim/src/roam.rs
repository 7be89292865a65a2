//! Fast BSS transition between two simulated APs of one mobility domain
//! (IEEE 802.11-2020 §13.4, §13.5.1): the FT initial mobility domain
//! association through AP1 (the R0 key holder: EAP there, then the
//! four-way handshake on PMK-R1 of AP1), then FT Authentication and
//! Reassociation over the air to AP2 on PMK-R1 of AP2, which AP1 derived
//! and handed over: no EAP, no RADIUS, no four-way handshake. Data frames
//! then pass through AP2 (CCMP-128 for AKM 3, GCMP-256 for AKM 13). With
//! management frame protection AP2 hands over its IGTK in the FTE of the
//! Reassociation Response, and the station then accepts AP2's BIP-protected
//! deauthentication (BIP-CMAC-128 for AKM 3, BIP-GMAC-256 for AKM 13) and
//! refuses an unprotected, a forged and a replayed one.

use std::time::{Duration, Instant};

use rand::CryptoRng;

use crate::akm::KeyProfile;
use crate::bip::{BipAlgorithm, BipError, BipReceiver, bip_protect_with};
use crate::ccmp::CcmpSession;
use crate::eapol::RsnElement;
use crate::frames::{self, Direction, MacAddr};
use crate::ft::elements::{FtIgtk, Fte, mde};
use crate::ft::exchange::{FtStation, FtTargetAp, gtk};
use crate::ft::{FtHash, MobilityDomain, pmk_r0, xxkey};
use crate::keys::Pmk;
use crate::sim::{
    CapturedFrame, ETHERTYPE_EXPERIMENTAL, FtAssociation, Pmf, SimOptions, StationReport, exchange,
    run_handshakes,
};

/// Mobility domain identifier of the simulated ESS.
pub const MDID: [u8; 2] = [0x5a, 0x01];
/// R0KH-ID of AP1 (a NAS-Identifier-like name, §12.7.1.6.3).
pub const R0KH_ID: &[u8] = b"ap1.fourway-sim";

/// The outcome of one station's initial association and roam.
#[derive(Debug, Clone)]
pub struct RoamReport {
    /// The FT initial mobility domain association through AP1.
    pub initial: StationReport,
    /// The target AP.
    pub ap2: MacAddr,
    /// FT Authentication and Reassociation with AP2 completed, each MIC
    /// verified.
    pub ft_ok: bool,
    /// Station and AP2 derived the same PTK.
    pub ptk_match: bool,
    /// Data frames both ways and a group frame through AP2.
    pub ccmp_ok: bool,
    /// With management frame protection: the station accepted AP2's
    /// BIP-protected deauthentication under the IGTK of the FTE and refused
    /// the unprotected, forged and replayed ones. `None` without PMF.
    pub pmf_ok: Option<bool>,
    /// Why it failed.
    pub error: Option<String>,
    /// The roam's frames for a capture (AP2's beacon, the FT exchange,
    /// data), if asked for.
    pub frames: Vec<CapturedFrame>,
}

impl RoamReport {
    /// Everything succeeded.
    pub fn success(&self) -> bool {
        self.initial.success()
            && self.ft_ok
            && self.ptk_match
            && self.ccmp_ok
            && self.pmf_ok != Some(false)
    }
}

/// Run the FT initial mobility domain association of `spa` through `ap1`
/// and its transition to `ap2`. `msk_ap` is the MSK AP1 rebuilt from the
/// Access-Accept, `msk_sta` the station's own.
#[allow(clippy::too_many_arguments)]
pub fn run_ft_roam<R: CryptoRng + ?Sized>(
    msk_ap: &Pmk,
    msk_sta: &Pmk,
    ap1: MacAddr,
    ap2: MacAddr,
    spa: MacAddr,
    rng: &mut R,
    now: Instant,
    opts: &SimOptions,
) -> Result<RoamReport, String> {
    let hash = FtHash::for_akm(opts.akm)
        .ok_or_else(|| format!("{} is not a fast BSS transition AKM", opts.akm))?;
    let xx = |msk: &Pmk| xxkey(hash, msk).map_err(|e| e.to_string());
    let (xx_ap, xx_sta) = (xx(msk_ap)?, xx(msk_sta)?);
    roam_from_xxkey(&xx_ap, &xx_sta, ap1, ap2, spa, rng, now, opts)
}

/// As [`run_ft_roam`] from the XXKeys of a cached PMKSA (PMKSA caching
/// of the initial mobility domain association, [`crate::pmksa::Pmksa::ft`]):
/// no MSK, so no EAP; `opts.sta_pmkids` names the PMKSA in the
/// association request.
#[allow(clippy::too_many_arguments)]
pub fn run_ft_roam_cached<R: CryptoRng + ?Sized>(
    xxkey_ap: &Pmk,
    xxkey_sta: &Pmk,
    ap1: MacAddr,
    ap2: MacAddr,
    spa: MacAddr,
    rng: &mut R,
    now: Instant,
    opts: &SimOptions,
) -> Result<RoamReport, String> {
    let (a, s) = (xxkey_ap.as_bytes(), xxkey_sta.as_bytes());
    roam_from_xxkey(a, s, ap1, ap2, spa, rng, now, opts)
}

#[allow(clippy::too_many_arguments)]
fn roam_from_xxkey<R: CryptoRng + ?Sized>(
    xx_ap: &[u8],
    xx_sta: &[u8],
    ap1: MacAddr,
    ap2: MacAddr,
    spa: MacAddr,
    rng: &mut R,
    now: Instant,
    opts: &SimOptions,
) -> Result<RoamReport, String> {
    let profile = KeyProfile::for_akm(opts.akm).map_err(|e| e.to_string())?;
    let hash = FtHash::for_akm(opts.akm)
        .ok_or_else(|| format!("{} is not a fast BSS transition AKM", opts.akm))?;
    let md = MobilityDomain {
        ssid: opts.ssid.clone(),
        mdid: MDID,
    };
    let derive = |x: &[u8]| pmk_r0(hash, x, &md, R0KH_ID, &spa.0).map_err(|e| e.to_string());
    // AP1 is the R0 key holder; the station the S0 and S1 key holder.
    let r0_ap = derive(xx_ap)?;
    let r0_sta = derive(xx_sta)?;
    let r1_ap1 = r0_ap.pmk_r1(&ap1.0, &spa.0);
    let r1_sta1 = r0_sta.pmk_r1(&ap1.0, &spa.0);
    let mut fte = Fte::new(profile.mic_len(), [0; 32], [0; 32]);
    fte.r0kh_id = Some(R0KH_ID.to_vec());
    fte.r1kh_id = Some(ap1.0);
    let first = SimOptions {
        ft: Some(FtAssociation {
            pmk_r1_name: r1_ap1.name,
            mde: mde(MDID),
            fte: fte.to_bytes().map_err(|e| e.to_string())?,
        }),
        ..opts.clone()
    };
    let initial = run_handshakes(
        &r1_ap1.as_pmk(),
        &r1_sta1.as_pmk(),
        ap1,
        spa,
        rng,
        now,
        &first,
    );
    let mut report = RoamReport {
        ap2,
        ft_ok: false,
        ptk_match: false,
        ccmp_ok: false,
        pmf_ok: None,
        error: None,
        frames: Vec::new(),
        initial,
    };
    if !report.initial.success() {
        report.error = Some("initial mobility domain association failed".into());
        return Ok(report);
    }

    let pmf = opts.pmf != Pmf::Disabled;
    let mut rsne = RsnElement::for_profile(&profile, pmf);
    rsne.capabilities = Some(opts.pmf.capabilities());
    let mut nonce = || {
        let mut n = [0u8; 32];
        rng.fill_bytes(&mut n);
        n
    };
    let (snonce, anonce) = (nonce(), nonce());
    let mut gtk_key = vec![0u8; profile.cipher.key_len()];
    rng.fill_bytes(&mut gtk_key);
    let ap2_gtk = gtk(1, &gtk_key);
    let mut sta = FtStation::new(
        profile,
        spa,
        ap1,
        ap2,
        &md,
        R0KH_ID.to_vec(),
        r0_sta,
        rsne.clone(),
        snonce,
    );
    let mut target = FtTargetAp::new(profile, ap2, ap2.0, MDID, rsne.clone(), anonce);
    // AP2's own IGTK (Key ID 4), which has protected AP2_IPN frames so far.
    let mut igtk_key = vec![0u8; profile.group_mgmt.key_len()];
    rng.fill_bytes(&mut igtk_key);
    if pmf {
        target = target.with_igtk(FtIgtk {
            key_id: 4,
            ipn: AP2_IPN.to_le_bytes()[..6].try_into().unwrap_or([0; 6]),
            key: zeroize::Zeroizing::new(igtk_key.clone()),
        });
    }
    let mut ft_frames = Vec::new();
    let outcome = (|| {
        let req = sta.authentication()?;
        ft_frames.push(req.clone());
        // AP2 asks the R0 key holder named in the request for its PMK-R1.
        let resp = target.handle_authentication(&req, |r0kh, name, s| {
            (r0kh == R0KH_ID && *name == r0_ap.name && s == spa).then(|| r0_ap.pmk_r1(&ap2.0, &s.0))
        })?;
        ft_frames.push(resp.clone());
        let reassoc = sta.handle_authentication(&resp)?;
        ft_frames.push(reassoc.clone());
        let answer = target.handle_reassociation(&reassoc, &ap2_gtk)?;
        ft_frames.push(answer.clone());
        sta.handle_reassociation(&answer)
    })();
    match outcome {
        Ok(()) => report.ft_ok = true,
        Err(e) => report.error = Some(e.to_string()),
    }
    let at = report.initial.virtual_time + Duration::from_millis(1);
    let mut seq = 100u16;
    let mut next_seq = || {
        seq = seq.wrapping_add(1);
        seq
    };
    if opts.capture {
        let beacon_rsne = rsne.to_bytes().unwrap_or_default();
        let ies = [&beacon_rsne[..], &mde(MDID)].concat();
        report.frames.push(CapturedFrame {
            at,
            frame: frames::beacon(ap2, &opts.ssid, &ies, 0, next_seq()),
        });
        for frame in &ft_frames {
            report.frames.push(CapturedFrame {
                at,
                frame: frame.clone(),
            });
        }
    }
    if let (true, Some(s), Some(a), Some(g)) = (report.ft_ok, sta.ptk(), target.ptk(), sta.gtk()) {
        report.ptk_match = s.ct_eq(a);
        let c = profile.cipher;
        let mut st = CcmpSession::with_cipher(c, &s.tk, 0);
        let mut ap = CcmpSession::with_cipher(c, &a.tk, 0);
        let capture = opts.capture;
        let mut data = |dir, da, text: String| {
            frames::data_frame(
                dir,
                ap2,
                da,
                next_seq(),
                ETHERTYPE_EXPERIMENTAL,
                text.as_bytes(),
            )
        };
        let up = data(
            Direction::ToAp,
            spa,
            format!("fourway-sim data {spa} -> {ap2} after FT"),
        );
        let down = data(
            Direction::FromAp,
            spa,
            format!("fourway-sim data {ap2} -> {spa} after FT"),
        );
        let group = data(
            Direction::FromAp,
            MacAddr::BROADCAST,
            format!("fourway-sim group data from {ap2} after FT"),
        );
        let f = &mut report.frames;
        let mut ok = exchange(&up, &mut st, &mut ap, capture.then_some((&mut *f, at)));
        ok &= exchange(&down, &mut ap, &mut st, capture.then_some((&mut *f, at)));
        let mut tx = CcmpSession::with_cipher(c, &gtk_key, 1);
        let mut rx = CcmpSession::with_cipher(c, &g.key, g.key_id);
        ok &= exchange(&group, &mut tx, &mut rx, capture.then_some((&mut *f, at)));
        report.ccmp_ok = ok;
        if pmf {
            let plain = frames::deauthentication(ap2, MacAddr::BROADCAST, 3, next_seq());
            let mut other = vec![0u8; igtk_key.len()];
            rng.fill_bytes(&mut other);
            let mut sent = Vec::new();
            report.pmf_ok = Some(sta.igtk().is_some_and(|i| {
                deauth_after_roam(profile.group_mgmt, &igtk_key, &other, i, &plain, &mut sent)
            }));
            if capture {
                report
                    .frames
                    .extend(sent.into_iter().map(|frame| CapturedFrame { at, frame }));
            }
        }
    }
    Ok(report)
}

/// The IPN AP2 has used with its IGTK before the station roams (the
/// value the IGTK subelement carries).
const AP2_IPN: u64 = 41;

/// AP2 deauthenticates its stations with a BIP-protected broadcast
/// Deauthentication under its IGTK (IPN `AP2_IPN` + 1); the station, which
/// installed `sta_igtk` from the FTE, must refuse the unprotected frame and
/// one protected under `other` (a forger's key) and accept the genuine one
/// once (its replay is refused).
fn deauth_after_roam(
    alg: BipAlgorithm,
    ap_igtk: &[u8],
    other: &[u8],
    sta_igtk: &FtIgtk,
    plain: &[u8],
    sent: &mut Vec<Vec<u8>>,
) -> bool {
    let ipn = AP2_IPN + 1;
    let (Ok(genuine), Ok(forged)) = (
        bip_protect_with(alg, ap_igtk, 4, ipn, plain),
        bip_protect_with(alg, other, 4, ipn + 1, plain),
    ) else {
        return false;
    };
    let mut station =
        BipReceiver::with_algorithm(alg, &sta_igtk.key, sta_igtk.key_id, sta_igtk.ipn);
    let ok = station.verify(plain) == Err(BipError::Unprotected)
        && station.verify(&forged) == Err(BipError::BadMic)
        && station.verify(&genuine).is_ok()
        && station.verify(&genuine) == Err(BipError::Replay(ipn));
    sent.extend([plain.to_vec(), forged, genuine.clone(), genuine]);
    ok
}

/// AP2's address in the simulated mobility domain (AP1 is the one the
/// station authenticates through).
pub const AP2_ADDR: MacAddr = MacAddr([0x02, 0x00, 0x00, 0x00, 0x00, 0x02]);

/// `--roam` goes with the FT AKMs and they with it: the initial mobility
/// domain association through AP1 is followed by the transition to AP2.
pub fn check_choice(akm: crate::eapol::Akm, roam: bool) -> Result<(), String> {
    let ft = FtHash::for_akm(akm).is_some();
    match (ft, roam) {
        (true, false) => Err(format!(
            "{akm} runs with --roam (FT initial mobility domain association through AP1, then the transition to AP2)"
        )),
        (false, true) => Err(format!(
            "--roam needs a fast BSS transition AKM (--akm 3 or 13), not {akm}"
        )),
        _ => Ok(()),
    }
}

/// The handshakes of one authenticated station: [`run_handshakes`] on the
/// MSK's PMK, or for an FT AKM [`run_ft_roam`] with AP2 = [`AP2_ADDR`]. The
/// report of the association through `ap1`, and the roam's.
#[allow(clippy::too_many_arguments)]
pub fn associate<R: CryptoRng + ?Sized>(
    msk_ap: &Pmk,
    msk_sta: &Pmk,
    ap1: MacAddr,
    spa: MacAddr,
    rng: &mut R,
    now: Instant,
    opts: &SimOptions,
) -> Result<(StationReport, Option<RoamReport>), String> {
    if FtHash::for_akm(opts.akm).is_none() {
        let r = run_handshakes(msk_ap, msk_sta, ap1, spa, rng, now, opts);
        return Ok((r, None));
    }
    let mut roam = run_ft_roam(msk_ap, msk_sta, ap1, AP2_ADDR, spa, rng, now, opts)?;
    let mut initial = roam.initial.clone();
    // One capture per station: the roam's frames follow the association's.
    initial.frames.append(&mut roam.frames);
    roam.initial.frames.clear();
    Ok((initial, Some(roam)))
}

/// The line `fourway-sim run` prints for a roam.
pub fn roam_line(i: u32, r: &RoamReport) -> String {
    let ok = |b: bool| if b { "ok" } else { "FAILED" };
    let mut line = format!(
        "station {i} {} roam ap={} ft={} ptk={} ccmp={} round-trips=0",
        r.initial.spa,
        r.ap2,
        ok(r.ft_ok),
        if r.ptk_match { "match" } else { "MISMATCH" },
        ok(r.ccmp_ok),
    );
    if let Some(p) = r.pmf_ok {
        line.push_str(&format!(" pmf={}", ok(p)));
    }
    if let Some(e) = &r.error {
        line.push_str(&format!(" error={e:?}"));
    }
    line
}
