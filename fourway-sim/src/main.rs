//! fourway-sim: command-line front end of the simulator.
//!
//! * `passphrase SSID PASSPHRASE`: the PSK, as wpa_passphrase prints it.
//! * `ptk --pmk --aa --spa --anonce --snonce`: KCK, KEK and TK.
//! * `run --psk --ssid S --passphrase P [--stations N] [--pcap FILE]`: N
//!   stations against one simulated AP, in memory.
//!
//! This binary is the only place that reads the clock, the OS random source
//! and the file system; the library is sans-IO.

use std::fs::File;
use std::io::BufWriter;
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::{Args, Parser, Subcommand};
use fourway_sim::frames::MacAddr;
use fourway_sim::keys::{Nonce, Pmk, derive_ptk, psk_from_passphrase};
use fourway_sim::pcap::{LINKTYPE_IEEE802_11, PcapWriter};
use fourway_sim::sim::{SimOptions, StationReport, run_handshakes};

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

/// Options of `run`. The PSK mode is the only one built; the RADIUS mode
/// (EAP-TLS against a RADIUS server, PMK from the Access-Accept) adds its
/// own options here and is dispatched from [`run`] to [`run_radius`].
#[derive(Args)]
struct RunArgs {
    /// PSK mode: the PMK is the PSK from --passphrase and --ssid.
    #[arg(long)]
    psk: bool,
    /// Network name.
    #[arg(long)]
    ssid: String,
    /// Passphrase (PSK mode).
    #[arg(long)]
    passphrase: Option<String>,
    /// Number of stations.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=65535))]
    stations: u32,
    /// Write a pcap capture (802.11 link type) of all stations' frames.
    #[arg(long)]
    pcap: Option<std::path::PathBuf>,
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
    println!("KCK={}", hex::encode(ptk.kck));
    println!("KEK={}", hex::encode(ptk.kek));
    println!("TK={}", hex::encode(ptk.tk));
    Ok(ExitCode::SUCCESS)
}

/// Address of the simulated AP (locally administered).
const AP_ADDR: MacAddr = MacAddr([0x02, 0x00, 0x00, 0x00, 0x00, 0x01]);

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
    let opts = SimOptions {
        ssid: args.ssid.as_bytes().to_vec(),
        capture: args.pcap.is_some(),
        ..SimOptions::default()
    };
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

/// The RADIUS mode: EAP-TLS through a RADIUS server, then
/// [`run_handshakes`] with the PMK from the Access-Accept (AP side) and
/// from the station's own MSK (station side). Not built yet.
fn run_radius(_args: &RunArgs) -> Result<ExitCode, String> {
    Err("RADIUS mode not built yet (use --psk)".to_string())
}

fn yes_no(b: bool, yes: &'static str, no: &'static str) -> &'static str {
    if b { yes } else { no }
}

fn print_report(i: u32, r: &StationReport, took: Duration) {
    let mut line = format!(
        "station {i} {} pmk={} ptk={} gtk={} ccmp={} time={:.3}ms",
        r.spa,
        yes_no(r.pmk_match, "match", "MISMATCH"),
        yes_no(r.ptk_installed, "installed", "FAILED"),
        yes_no(r.gtk_installed && r.group_rekey_ok, "installed", "FAILED"),
        yes_no(r.ccmp_ok, "ok", "FAILED"),
        took.as_secs_f64() * 1000.0,
    );
    if let Some(e) = &r.error {
        line.push_str(&format!(" error={e}"));
    }
    println!("{line}");
}

fn write_pcap(path: &std::path::Path, reports: &[StationReport]) -> std::io::Result<()> {
    let base = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let mut w = PcapWriter::new(BufWriter::new(File::create(path)?), LINKTYPE_IEEE802_11)?;
    let mut offset = Duration::ZERO;
    let mut tick = Duration::ZERO;
    let mut beacon_written = false;
    for r in reports {
        for f in &r.frames {
            // One beacon for the whole capture.
            if f.frame.first() == Some(&0x80) {
                if beacon_written {
                    continue;
                }
                beacon_written = true;
            }
            // A microsecond apart at least, so the order survives sorting.
            tick += Duration::from_micros(1);
            w.write_packet(base + offset + f.at + tick, &f.frame)?;
        }
        offset += r.virtual_time + Duration::from_millis(1);
    }
    w.finish()?;
    Ok(())
}
