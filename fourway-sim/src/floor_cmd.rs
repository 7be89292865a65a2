//! `fourway-sim floor`: the rustls handshake alone, in memory, server side
//! timed ([`fourway_sim::floor`]); `fourway-sim udp-floor`: a UDP echo
//! thread, the kernel's cost per datagram ([`fourway_sim::udp_floor`]).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use fourway_sim::floor::{FloorOptions, run_floor};
use fourway_sim::station::TlsChoice;
use fourway_sim::udp_floor::{UdpFloorOptions, run_udp_floor};

/// The options both floors share: where the two threads run, and how the
/// report is printed.
#[derive(Args)]
struct FloorOutput {
    /// Pin the server thread to these CPUs (a taskset -c list).
    #[arg(long)]
    server_cpu: Option<String>,
    /// Pin the client thread to these CPUs.
    #[arg(long)]
    client_cpu: Option<String>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub(crate) struct FloorArgs {
    /// Server certificate chain (PEM).
    #[arg(long)]
    server_cert: PathBuf,
    /// Server private key (PEM).
    #[arg(long)]
    server_key: PathBuf,
    /// CA of both certificates (PEM): verifies the client's chain on the
    /// server side and the server's on the client side.
    #[arg(long)]
    ca: PathBuf,
    /// The station's certificate (PEM).
    #[arg(long)]
    cert: PathBuf,
    /// The station's private key (PEM).
    #[arg(long)]
    key: PathBuf,
    /// TLS version of every handshake.
    #[arg(long, value_enum)]
    tls: TlsChoice,
    /// Measure this many handshakes...
    #[arg(long)]
    count: Option<u64>,
    /// ...or for this many seconds (whichever first).
    #[arg(long)]
    duration: Option<f64>,
    /// Uncounted handshakes first.
    #[arg(long, default_value_t = 50)]
    warmup: u64,
    /// Handshakes interleaved.
    #[arg(long, default_value_t = 8)]
    in_flight: usize,
    /// Start the measured handshakes at this many per second (open loop;
    /// both threads sleep in between, as at low load).
    #[arg(long)]
    rate: Option<f64>,
    #[command(flatten)]
    out: FloorOutput,
}

pub(crate) fn floor_cmd(a: &FloorArgs) -> Result<ExitCode, String> {
    if a.count.is_none() && a.duration.is_none() {
        return Err("floor needs --count N or --duration SECONDS".into());
    }
    let report = run_floor(&FloorOptions {
        server_cert: a.server_cert.clone(),
        server_key: a.server_key.clone(),
        ca: a.ca.clone(),
        client_cert: a.cert.clone(),
        client_key: a.key.clone(),
        version: a.tls,
        handshakes: a.count,
        duration: a.duration.map(|d| Duration::from_secs_f64(d.max(0.0))),
        warmup: a.warmup,
        in_flight: a.in_flight,
        rate: a.rate,
        server_cpu: a.out.server_cpu.clone(),
        client_cpu: a.out.client_cpu.clone(),
    })?;
    print_report(&report, a.out.json, || report.human())
}

#[derive(Args)]
pub(crate) struct UdpFloorArgs {
    /// Datagrams in flight (one per client socket).
    #[arg(long, default_value_t = 32)]
    senders: usize,
    /// Octets of each datagram and of its answer. 96 is the bench's PAP
    /// Access-Request (bench/compare.sh passes its own size): the header
    /// (20), User-Name "benchuser" (11), User-Password of 19 octets padded
    /// to 32 (34), NAS-Identifier "fourway-sim" (13) and
    /// Message-Authenticator (18).
    #[arg(long, default_value_t = 96)]
    bytes: usize,
    /// Uncounted datagrams first.
    #[arg(long, default_value_t = 20_000)]
    warmup: u64,
    /// Seconds of measured datagrams.
    #[arg(long, default_value_t = 5.0)]
    duration: f64,
    #[command(flatten)]
    out: FloorOutput,
}

pub(crate) fn udp_floor_cmd(a: &UdpFloorArgs) -> Result<ExitCode, String> {
    let report = run_udp_floor(&UdpFloorOptions {
        senders: a.senders,
        datagram_bytes: a.bytes,
        warmup: a.warmup,
        duration: Duration::from_secs_f64(a.duration.max(0.0)),
        server_cpu: a.out.server_cpu.clone(),
        client_cpu: a.out.client_cpu.clone(),
    })?;
    print_report(&report, a.out.json, || report.human())
}

/// Prints a floor report: as JSON, or the human summary.
fn print_report<R: serde::Serialize>(
    report: &R,
    json: bool,
    human: impl FnOnce() -> String,
) -> Result<ExitCode, String> {
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(report).map_err(|e| e.to_string())?
        );
    } else {
        println!("{}", human());
    }
    Ok(ExitCode::SUCCESS)
}
