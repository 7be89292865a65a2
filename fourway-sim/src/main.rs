//! fourway-sim: command-line front end of the simulator.
//!
//! * `passphrase SSID PASSPHRASE`: the PSK, as wpa_passphrase prints it.
//! * `ptk --pmk --aa --spa --anonce --snonce`: KCK, KEK and TK.
//! * `run --psk --ssid S --passphrase P [--stations N] [--pcap FILE]`: N
//!   stations against one simulated AP, in memory.
//! * `run [--server A --secret S --identity I --cert C --key K --ca CA]
//!   [--tls 1.2|1.3] [--stations N]`: N stations authenticate with EAP-TLS
//!   through the simulated AP to a RADIUS server; the AP's PMK comes from the
//!   Access-Accept, the station's from its own MSK; then the handshakes.
//!   Without server flags: the authd embedded default and its demo user.
//!   `--method peap|ttls-pap|ttls-mschapv2|ttls-eap-mschapv2 --identity U
//!   --password-env VAR [--outer-identity O]`: the same with a password
//!   (read from the environment variable VAR) inside a PEAP or TTLS tunnel.
//! * `load ...`: many stations at once against a RADIUS server; a report of
//!   authentications per second, latency percentiles and failures.
//!   `load --half-open N --hold S`: N EAP-TLS conversations left open right
//!   after the server's first TLS flight, held S seconds (server memory per
//!   conversation in progress).
//! * `floor --tls 1.2|1.3 ...`: the server side of full mutual TLS
//!   handshakes with rustls alone, in memory: CPU per handshake.
//! * `udp-floor ...`: a thread answering UDP datagrams with their own
//!   bytes, no work: the kernel's CPU per datagram in and out (the floor of
//!   a PAP answer).
//!
//! The protocol cores of the library (keys, eapol, fourway, ccmp, ap) are
//! sans-IO; sockets and clocks live in this binary and in the library's
//! edge modules (radius_client, station, load).

#![forbid(unsafe_code)]

/// The allocator authd runs on (see authd's main.rs): the bench's floor,
/// rustls alone in this process, is then measured on the same allocator as
/// the server it is the floor of, and the load tool costs less per
/// authentication.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::fs::File;
use std::io::BufWriter;
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use fourway_sim::eapol::Akm;
use fourway_sim::frames::MacAddr;
use fourway_sim::keys::{Nonce, Pmk, derive_ptk, psk_from_passphrase};
use fourway_sim::load::{HalfOpenOptions, LoadOptions, Mode, run_half_open, run_load};
use fourway_sim::pcap::write_capture;
use fourway_sim::radius_client::{Transport, TransportError};
use fourway_sim::sim::{Pmf, SimOptions, StationReport, run_handshakes};
use fourway_sim::station::{Suites, authenticate_on};

mod acct_load;
mod floor_cmd;
mod pmksa_run;
mod radius_args;
mod radsec_args;
mod status_load;
use radius_args::RadiusArgs;
use radsec_args::RadsecArgs;

#[derive(Parser)]
#[command(
    name = "fourway-sim",
    version,
    about = "Simulated WPA2 access point and stations"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print the PSK for a passphrase and SSID (IEEE 802.11-2020 §J.4.1).
    Passphrase {
        /// Network name.
        ssid: String,
        /// 8..=63 printable ASCII characters.
        passphrase: String,
    },
    /// Derive the PTK (KCK, KEK, TK) from a PMK, addresses and nonces.
    Ptk(PtkArgs),
    /// Run stations through the four-way and group key handshakes and CCMP.
    Run(RunArgs),
    /// Generate authentication load against a RADIUS server.
    Load(LoadArgs),
    /// Generate Accounting-Request load against a RADIUS accounting server.
    AcctLoad(acct_load::AcctLoadArgs),
    /// CPU per full mutual TLS handshake, rustls alone in memory (the floor
    /// of an EAP-TLS authentication).
    Floor(floor_cmd::FloorArgs),
    /// CPU per UDP datagram answered with no work done (the floor of a PAP
    /// or Status-Server answer).
    UdpFloor(floor_cmd::UdpFloorArgs),
    /// Generate Status-Server load (RFC 5997), with the server's CPU per answer.
    StatusLoad(status_load::StatusLoadArgs),
}

#[derive(Args)]
struct PtkArgs {
    /// PMK, 64 hex digits.
    #[arg(long)]
    pmk: String,
    /// Authenticator address aa:bb:cc:dd:ee:ff.
    #[arg(long)]
    aa: MacAddr,
    /// Supplicant address.
    #[arg(long)]
    spa: MacAddr,
    /// ANonce, 64 hex digits.
    #[arg(long)]
    anonce: String,
    /// SNonce, 64 hex digits.
    #[arg(long)]
    snonce: String,
}

/// Options of `run`: PSK mode (`--psk`), or RADIUS mode (EAP-TLS, PEAP or
/// TTLS against a RADIUS server, PMK from the Access-Accept), the default.
#[derive(Args)]
struct RunArgs {
    /// PSK mode: the PMK is the PSK from --passphrase and --ssid.
    #[arg(long)]
    psk: bool,
    /// Network name.
    #[arg(long, default_value = "authd-lab")]
    ssid: String,
    #[command(flatten)]
    radius: RadiusArgs,
    #[command(flatten)]
    radsec: RadsecArgs,
    /// Passphrase (PSK mode).
    #[arg(long)]
    passphrase: Option<String>,
    /// Number of stations.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=65535))]
    stations: u32,
    /// Write a pcap capture (802.11 link type) of all stations' frames.
    #[arg(long)]
    pcap: Option<std::path::PathBuf>,
    /// AKM suite of the RSN elements (IEEE 802.11-2020 Table 9-151): 2 (PSK,
    /// the default with --psk), 1 (802.1X, the default otherwise), 5 (802.1X
    /// with SHA-256), 6 (PSK with SHA-256), 12 (WPA3-Enterprise 192-bit:
    /// the station's TLS offers only the 192-bit suites on P-384, and PMF is
    /// required), 3 and 13 (fast BSS transition, with --roam).
    #[arg(long)]
    akm: Option<u8>,
    /// Management frame protection (IEEE 802.11w) in both RSN elements:
    /// MFPC (optional) or MFPC and MFPR (required). The run ends with a
    /// BIP-protected broadcast deauthentication the station must accept,
    /// and forged, unprotected and replayed ones it must refuse.
    #[arg(long, value_parser = ["optional", "required"])]
    pmf: Option<String>,
    /// RADIUS mode: after each full authentication the station reassociates
    /// naming its PMKID; the AP finds the cached PMKSA and runs the four-way
    /// handshake again without EAP or RADIUS (IEEE 802.11-2020 §12.6.10.3).
    #[arg(long)]
    pmksa_cache: bool,
    /// Fast BSS transition (--akm 3 or 13): after the initial mobility
    /// domain association through AP1, FT Authentication and
    /// Reassociation over the air to AP2, no EAP and no RADIUS.
    #[arg(long)]
    roam: bool,
    /// Print each station's PMK as a Wireshark/tshark decryption key
    /// (`wpa-psk=...`, for the 80211_keys table). Secret: only on request.
    #[arg(long)]
    print_key: bool,
}

/// The AKM the run negotiates, or an error naming a combination the
/// simulator does not run (never another AKM's handshake in its place).
fn choose_akm(psk: bool, number: Option<u8>) -> Result<Akm, String> {
    let number = number.unwrap_or(if psk { 2 } else { 1 });
    let akm = Akm::from([0x00, 0x0f, 0xac, number]);
    fourway_sim::akm::KeyProfile::for_akm(akm).map_err(|e| format!("--akm {number}: {e}"))?;
    match (psk, akm) {
        (true, Akm::Psk | Akm::PskSha256)
        | (
            false,
            Akm::Ieee8021x
            | Akm::Ieee8021xSha256
            | Akm::Ieee8021xSuiteB192
            | Akm::FtIeee8021x
            | Akm::FtIeee8021xSha384,
        ) => Ok(akm),
        (true, _) => Err(format!(
            "--akm {number}: {akm} authenticates with EAP; it runs without --psk"
        )),
        (false, _) => Err(format!("--akm {number}: {akm} runs with --psk")),
    }
}

/// The PMF of the RSN elements. WPA3-Enterprise 192-bit (AKM 12) requires
/// it: the WPA3 Specification's 192-bit mode sets MFPR = 1, so AKM 12 runs
/// with PMF required whether or not `--pmf required` is given, and
/// `--pmf optional` with it is an error.
fn pmf_choice(akm: Akm, s: Option<&str>) -> Result<Pmf, String> {
    match (akm, s) {
        (Akm::Ieee8021xSuiteB192, Some("optional")) => Err(format!(
            "--akm 12 --pmf optional: {akm} (WPA3-Enterprise 192-bit) requires protected \
             management frames (MFPR = 1 in the RSN element); use --pmf required or leave --pmf out"
        )),
        (Akm::Ieee8021xSuiteB192, _) | (_, Some("required")) => Ok(Pmf::Required),
        (_, Some(_)) => Ok(Pmf::Optional),
        (_, None) => Ok(Pmf::Disabled),
    }
}

/// The TLS a station of `akm` offers: AKM 12 only the 192-bit suites.
fn suites_for(akm: Akm) -> Suites {
    if akm == Akm::Ieee8021xSuiteB192 {
        Suites::SuiteB192
    } else {
        Suites::Classic
    }
}

fn print_key(i: u32, spa: MacAddr, pmk: &Pmk, akm: Akm) {
    // The operator asked for it (--print-key): the AKM's PMK (384 bits for
    // AKM 12), as Wireshark's "wpa-psk" key type takes it; for the FT AKMs
    // the MSK (its "msk" key type), from which it derives the FT keys.
    let profile = fourway_sim::akm::KeyProfile::for_akm(akm).ok();
    if profile.is_some_and(|p| p.ft) {
        println!("station {i} {spa} msk={}", hex::encode(pmk.as_bytes()));
        return;
    }
    let len = profile.map_or(32, |p| p.pmk_len);
    let key = pmk.prefix(len).unwrap_or(pmk.as_bytes());
    println!("station {i} {spa} wpa-psk={}", hex::encode(key));
}

/// Options of `load`.
#[derive(Args)]
struct LoadArgs {
    #[command(flatten)]
    radius: RadiusArgs,
    /// `--radsec ADDR ...`: every worker's stations over one RadSec
    /// connection of its own (--concurrency connections in all).
    #[command(flatten)]
    radsec: RadsecArgs,
    /// Network name reported in Called-Station-Id.
    #[arg(long, default_value = "authd-lab")]
    ssid: String,
    /// Authentications in flight at once.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// Run for this many seconds...
    #[arg(long)]
    duration: Option<f64>,
    /// ...or this many authentications.
    #[arg(long)]
    count: Option<u64>,
    /// Keep TLS sessions and resume them (session tickets / IDs).
    #[arg(long)]
    resume: bool,
    /// Plain Access-Request (PAP) instead of EAP-TLS: user name.
    #[arg(long)]
    pap_user: Option<String>,
    /// Read the PAP password from this environment variable (never argv).
    #[arg(long, default_value = "FOURWAY_SIM_PASSWORD")]
    pap_password_env: String,
    /// Start authentications at this rate per second (open loop, at most
    /// --concurrency in flight); latency counts from each scheduled start.
    #[arg(long)]
    rate: Option<f64>,
    /// Authentications run first and not counted (fills the session cache
    /// for --resume; lets the server warm up).
    #[arg(long, default_value_t = 0)]
    warmup: u64,
    /// Create this file (one line) when the measured phase is about to
    /// start: after the warm-up, 0.5 s before the first measured request.
    /// With --half-open: when all conversations are open and held.
    #[arg(long)]
    ready_file: Option<PathBuf>,
    /// Instead of authenticating: open N EAP-TLS conversations, stop each
    /// right after the server's first Access-Challenge carrying TLS data
    /// (its answer to the ClientHello), and hold them (send nothing more).
    /// They are opened one at a time per UDP socket, over
    /// max(--concurrency, N/128) sockets, so no Identifier repeats on a
    /// socket.
    #[arg(long, value_name = "N", conflicts_with_all = ["pap_user", "resume", "duration", "count", "warmup", "rate"])]
    half_open: Option<usize>,
    /// With --half-open: seconds to hold the open conversations.
    #[arg(long, default_value_t = 10.0)]
    hold: f64,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    /// No progress line.
    #[arg(long)]
    quiet: bool,
    /// Run the stations on one thread that never sleeps (a task yielding
    /// in a loop keeps it polling its sockets): an answer then never has to
    /// wake the load tool, which over loopback is charged to the server's
    /// CPU. Meant for paced runs (--rate); the load tool then uses a whole
    /// CPU, so its own CPU figures say nothing. With --pap-user (over UDP)
    /// a plain polling loop of its own sends the requests instead, lean
    /// enough to keep a server busy at full speed too.
    #[arg(long, conflicts_with = "half_open")]
    poll: bool,
}

fn parse_hex<const N: usize>(what: &str, s: &str) -> Result<[u8; N], String> {
    let v = hex::decode(s.trim()).map_err(|_| format!("{what}: not hex"))?;
    <[u8; N]>::try_from(v).map_err(|v| format!("{what}: expected {N} octets, got {}", v.len()))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Passphrase { ssid, passphrase } => passphrase_cmd(&ssid, &passphrase),
        Command::Ptk(args) => ptk_cmd(&args),
        Command::Run(args) => run(&args),
        Command::Load(args) => load_cmd(&args),
        Command::AcctLoad(args) => acct_load::acct_load_cmd(&args),
        Command::Floor(args) => floor_cmd::floor_cmd(&args),
        Command::UdpFloor(args) => floor_cmd::udp_floor_cmd(&args),
        Command::StatusLoad(args) => status_load::status_load_cmd(&args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("fourway-sim: {e}");
            ExitCode::from(2)
        }
    }
}

fn passphrase_cmd(ssid: &str, passphrase: &str) -> Result<ExitCode, String> {
    let psk = psk_from_passphrase(passphrase, ssid.as_bytes()).map_err(|e| e.to_string())?;
    println!("psk={}", hex::encode(psk.as_bytes()));
    Ok(ExitCode::SUCCESS)
}

fn ptk_cmd(a: &PtkArgs) -> Result<ExitCode, String> {
    let pmk = Pmk::from_bytes(parse_hex("--pmk", &a.pmk)?);
    let anonce: Nonce = parse_hex("--anonce", &a.anonce)?;
    let snonce: Nonce = parse_hex("--snonce", &a.snonce)?;
    let ptk = derive_ptk(&pmk, &a.aa.0, &a.spa.0, &anonce, &snonce);
    println!("KCK={}", hex::encode(&ptk.kck));
    println!("KEK={}", hex::encode(&ptk.kek));
    println!("TK={}", hex::encode(&ptk.tk));
    Ok(ExitCode::SUCCESS)
}

/// Address of the simulated AP (locally administered).
pub(crate) const AP_ADDR: MacAddr = MacAddr([0x02, 0x00, 0x00, 0x00, 0x00, 0x01]);

fn station_addr(i: u32) -> MacAddr {
    let b = i.to_be_bytes();
    MacAddr([0x02, 0x00, 0x5a, b[1], b[2], b[3]])
}

fn run(args: &RunArgs) -> Result<ExitCode, String> {
    if !args.psk {
        return run_radius(args);
    }
    let passphrase = args
        .passphrase
        .as_deref()
        .ok_or("--psk needs --passphrase")?;
    let psk = psk_from_passphrase(passphrase, args.ssid.as_bytes()).map_err(|e| e.to_string())?;
    let akm = choose_akm(true, args.akm)?;
    let opts = SimOptions {
        ssid: args.ssid.as_bytes().to_vec(),
        akm,
        pmf: pmf_choice(akm, args.pmf.as_deref())?,
        capture: args.pcap.is_some(),
        ..SimOptions::default()
    };
    fourway_sim::roam::check_choice(opts.akm, args.roam)?;
    let mut rng = rand::rng();
    let mut reports = Vec::new();
    let mut all_ok = true;
    for i in 1..=args.stations {
        let spa = station_addr(i);
        let started = Instant::now();
        // PSK mode: AP and station derive the same PMK independently.
        let report = run_handshakes(
            &psk,
            &psk.clone_secret(),
            AP_ADDR,
            spa,
            &mut rng,
            started,
            &opts,
        );
        let took = started.elapsed();
        print_report(i, &report, took);
        if args.print_key {
            print_key(i, spa, &psk, opts.akm);
        }
        all_ok &= report.success();
        reports.push(report);
    }
    if let Some(path) = &args.pcap {
        write_pcap(path, &reports).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(if all_ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// The RADIUS mode: EAP (TLS, PEAP or TTLS) through a RADIUS server, then
/// [`run_handshakes`] with the PMK from the Access-Accept (AP side) and
/// from the station's own MSK (station side).
fn run_radius(args: &RunArgs) -> Result<ExitCode, String> {
    let akm = choose_akm(false, args.akm)?;
    fourway_sim::roam::check_choice(akm, args.roam)?;
    let pmf = pmf_choice(akm, args.pmf.as_deref())?;
    let suites = suites_for(akm);
    let r = &args.radius;
    let peer = r.peer(false, suites)?;
    let mut nas = r.nas(&args.ssid);
    let radsec = args.radsec.options(r.ca.as_ref())?;
    if radsec.is_some() {
        nas.secret = zeroize::Zeroizing::new(fourway_sim::radsec_client::RADSEC_SECRET.to_vec());
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let mut opts = SimOptions {
        ssid: args.ssid.as_bytes().to_vec(),
        akm,
        pmf,
        capture: args.pcap.is_some(),
        ..SimOptions::default()
    };
    let mut rng = rand::rng();
    let mut reports = Vec::new();
    let mut all_ok = true;
    for i in 1..=args.stations {
        let spa = station_addr(i);
        let started = Instant::now();
        let auth = runtime.block_on(async {
            let mut transport = match &radsec {
                Some(o) => {
                    let link = fourway_sim::radsec_client::RadsecLink::connect(o)
                        .await
                        .map_err(|e| TransportError::Io(std::io::Error::other(e)))?;
                    Transport::radsec(link, o.server, r.retransmit()).await
                }
                None => Transport::connect_from(r.server, r.bind, r.retransmit()).await,
            }
            .map_err(TransportError::Io)?;
            authenticate_on(&mut transport, nas.clone(), spa.0, peer.clone()).await
        });
        let auth = match auth {
            Ok(a) => a,
            Err(e) => {
                // A server that cannot speak the 192-bit suites fails the
                // TLS handshake: say what the station offered.
                let offered = match suites {
                    Suites::SuiteB192 => {
                        format!("; {akm} offers only {}", fourway_sim::suite_b::OFFER)
                    }
                    Suites::Classic => String::new(),
                };
                println!(
                    "station {i} {spa} method={} identity={} radius=FAILED ({e}{offered}) ptk=- gtk=- ccmp=- time={:.3}ms",
                    r.method,
                    r.identity,
                    started.elapsed().as_secs_f64() * 1000.0
                );
                all_ok = false;
                continue;
            }
        };
        if opts.capture {
            opts.eap = auth.eap.clone();
        }
        let (report, roamed) = fourway_sim::roam::associate(
            &auth.pmk_ap,
            &auth.pmk_station,
            AP_ADDR,
            spa,
            &mut rng,
            Instant::now(),
            &opts,
        )?;
        let took = started.elapsed();
        let key_name = match auth.session_id_matches_key_name {
            Some(true) => " eap-key-name=match",
            Some(false) => " eap-key-name=MISMATCH",
            None => "",
        };
        let radius = format!(
            " method={} identity={}{} tls={} round-trips={} user={}{}{}",
            r.method,
            r.identity,
            r.outer_identity
                .as_deref()
                .map(|o| format!(" outer-identity={o}"))
                .unwrap_or_default(),
            tls_name(auth.tls_version),
            auth.round_trips,
            auth.user_name.as_deref().unwrap_or("-"),
            auth.vlan
                .as_deref()
                .map(|v| format!(" vlan={v}"))
                .unwrap_or_default(),
            key_name,
        );
        println!("{}", report_line(i, &report, took, &radius));
        if let Some(r) = &roamed {
            println!("{}", fourway_sim::roam::roam_line(i, r));
            all_ok &= r.success();
        }
        if args.print_key {
            print_key(i, spa, &auth.pmk_station, akm);
        }
        if args.pmksa_cache {
            let (cached, ok) = pmksa_run::reassociate_cached(
                i,
                spa,
                akm,
                &auth,
                report.kcks.as_ref(),
                &opts,
                &mut rng,
            )?;
            all_ok &= ok;
            reports.push(cached);
        }
        all_ok &= report.success() && auth.session_id_matches_key_name != Some(false);
        reports.push(report);
    }
    if let Some(path) = &args.pcap {
        write_pcap(path, &reports).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(if all_ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn tls_name(v: Option<rustls::ProtocolVersion>) -> &'static str {
    match v {
        Some(rustls::ProtocolVersion::TLSv1_2) => "1.2",
        Some(rustls::ProtocolVersion::TLSv1_3) => "1.3",
        Some(_) => "other",
        None => "-",
    }
}

fn half_open_cmd(args: &LoadArgs, sessions: usize) -> Result<ExitCode, String> {
    let r = &args.radius;
    let opts = HalfOpenOptions {
        server: r.server,
        bind: r.bind,
        nas: r.nas(&args.ssid),
        peer: r.peer(false, Suites::Classic)?,
        sessions,
        concurrency: args.concurrency.max(1),
        hold: Duration::from_secs_f64(args.hold.max(0.0)),
        retransmit: r.retransmit(),
        ready_file: args.ready_file.clone(),
        progress: !args.quiet,
    };
    let report = block_on(run_half_open(opts))?;
    print_load_report(&report, args.json, || report.human())?;
    Ok(if report.reached as usize == sessions {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn load_cmd(args: &LoadArgs) -> Result<ExitCode, String> {
    if let Some(n) = args.half_open {
        if args.radsec.radsec.is_some() {
            return Err("--half-open measures UDP conversations: no --radsec".into());
        }
        return half_open_cmd(args, n);
    }
    if args.duration.is_none() && args.count.is_none() {
        return Err("load needs --duration SECONDS or --count N".into());
    }
    let r = &args.radius;
    let mode = match &args.pap_user {
        Some(user) => {
            let password = std::env::var(&args.pap_password_env).map_err(|_| {
                format!(
                    "--pap-user needs the password in ${}",
                    args.pap_password_env
                )
            })?;
            Mode::Pap {
                user: user.clone(),
                password: zeroize::Zeroizing::new(password.into_bytes()),
            }
        }
        None => Mode::EapTls {
            peer: r.peer(args.resume, Suites::Classic)?,
            resume: args.resume,
        },
    };
    let radsec = args.radsec.options(r.ca.as_ref())?;
    let mut nas = r.nas(&args.ssid);
    if radsec.is_some() {
        nas.secret = zeroize::Zeroizing::new(fourway_sim::radsec_client::RADSEC_SECRET.to_vec());
    }
    let opts = LoadOptions {
        server: r.server,
        bind: r.bind,
        nas,
        mode,
        radsec,
        concurrency: args.concurrency.max(1),
        duration: args.duration.map(|d| Duration::from_secs_f64(d.max(0.0))),
        count: args.count,
        retransmit: r.retransmit(),
        progress: !args.quiet,
        warmup: args.warmup,
        ready_file: args.ready_file.clone(),
        rate: args.rate,
    };
    let report =
        if let (true, Mode::Pap { user, password }, None) = (args.poll, &opts.mode, &opts.radsec) {
            fourway_sim::pap_poll::run_pap_polling(&opts, user, password)?
        } else if args.poll {
            block_on_polling(run_load(opts))?
        } else {
            block_on(run_load(opts))?
        };
    print_load_report(&report, args.json, || report.human())?;
    Ok(if report.failed == 0 && report.succeeded > 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn yes_no(b: bool, yes: &'static str, no: &'static str) -> &'static str {
    if b { yes } else { no }
}

fn print_report(i: u32, r: &StationReport, took: Duration) {
    println!("{}", report_line(i, r, took, ""));
}

/// One line per station; `radius` is inserted after the address.
pub(crate) fn report_line(i: u32, r: &StationReport, took: Duration, radius: &str) -> String {
    let mut line = format!(
        "station {i} {}{radius} pmk={} ptk={} gtk={} ccmp={} time={:.3}ms",
        r.spa,
        yes_no(r.pmk_match, "match", "MISMATCH"),
        yes_no(r.ptk_installed, "installed", "FAILED"),
        yes_no(r.gtk_installed && r.group_rekey_ok, "installed", "FAILED"),
        yes_no(r.ccmp_ok, "ok", "FAILED"),
        took.as_secs_f64() * 1000.0,
    );
    if let Some(ok) = r.pmf_ok {
        line.push_str(yes_no(ok, " pmf=ok", " pmf=FAILED"));
    }
    if let Some(e) = &r.error {
        line.push_str(&format!(" error={e}"));
    }
    line
}

fn write_pcap(path: &std::path::Path, reports: &[StationReport]) -> std::io::Result<()> {
    let base = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    write_capture(BufWriter::new(File::create(path)?), reports, base)?;
    Ok(())
}

/// Runs `future` to completion on a multi-threaded runtime.
fn block_on<F: std::future::Future>(future: F) -> Result<F::Output, String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    Ok(runtime.block_on(future))
}

/// Runs `future` to completion on a current-thread runtime that never
/// sleeps: a task yielding in a loop makes the runtime poll its sockets
/// (with a zero timeout) between every round of tasks, so no datagram
/// arrives to a thread asleep in `epoll_wait`.
fn block_on_polling<F: std::future::Future>(future: F) -> Result<F::Output, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    Ok(runtime.block_on(async {
        let spinner = tokio::spawn(async {
            loop {
                tokio::task::yield_now().await;
            }
        });
        let out = future.await;
        spinner.abort();
        out
    }))
}

/// Prints a load report as pretty JSON, or as the human summary.
fn print_load_report<T: serde::Serialize>(
    report: &T,
    json: bool,
    human: impl FnOnce() -> String,
) -> Result<(), String> {
    if json {
        let text = serde_json::to_string_pretty(report).map_err(|e| e.to_string())?;
        println!("{text}");
    } else {
        println!("{}", human());
    }
    Ok(())
}
