//! `fourway-sim floor`: the rustls handshake alone, in memory, server side
//! timed ([`fourway_sim::floor`]).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use fourway_sim::floor::{FloorOptions, run_floor};
use fourway_sim::station::TlsChoice;

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
        server_cpu: a.server_cpu.clone(),
        client_cpu: a.client_cpu.clone(),
    })?;
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?
        );
    } else {
        println!("{}", report.human());
    }
    Ok(ExitCode::SUCCESS)
}
