//! The `authd` binary: thin wiring of the library (configuration, logging,
//! runtime, subcommands).

#![forbid(unsafe_code)]

/// mimalloc instead of glibc's malloc. In `perf report` of a full EAP-TLS
/// run, glibc's malloc, free, consolidation and the heap growth and
/// trimming that fault pages in again took about a tenth of the server's
/// CPU; with mimalloc the authentication costs about 13 % less
/// (BENCHMARKS.md). Built without transparent huge pages (`no_thp`):
/// with them, each fresh 2 MiB page is zeroed on first touch, and under
/// PAP load that zeroing alone was 9 % of the server's CPU.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::ffi::OsStr;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tokio_util::sync::CancellationToken;

use authd::config::{Config, LogFormat};
use authd::server::{Server, cancel_on_signals};

#[derive(Parser)]
#[command(
    name = "authd",
    version,
    about = "RADIUS server for WPA2/WPA3-Enterprise (EAP-TLS)"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (the default command).
    Serve(ServeArgs),
    /// Check the configuration, certificates, CRLs, store and key files
    /// without starting (exit status 1 on any error).
    Check(authd::check::CheckArgs),
    #[command(flatten)]
    Admin(authd::admin::AdminCommand),
}

#[derive(clap::Args, Default)]
struct ServeArgs {
    /// Configuration file (TOML). Without it, authd runs on the embedded
    /// development default: 127.0.0.1:1812, secret "testing123", and a
    /// development PKI generated in the data directory.
    #[arg(long, short)]
    config: Option<PathBuf>,
    /// Where the embedded default keeps its PKI and files.
    #[arg(long, env = "AUTHD_DATA_DIR", default_value = "authd-data")]
    data_dir: PathBuf,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let args = match cli.command {
        Some(Command::Serve(a)) => a,
        Some(Command::Admin(cmd)) => return authd::admin::run(cmd),
        Some(Command::Check(args)) => return authd::check::run(args),
        None => ServeArgs {
            config: None,
            data_dir: std::env::var_os("AUTHD_DATA_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from("authd-data")),
        },
    };
    match serve(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("authd: {e}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(config: &Config) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(&config.log.level));
    let ansi = colour_wanted(
        std::io::stderr().is_terminal(),
        std::env::var_os("NO_COLOR").as_deref(),
    );
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr);
    match config.log.format {
        LogFormat::Json => builder.json().init(),
        _ => builder.init(),
    }
}

/// Colours (ANSI escape sequences) in the human log format only on a
/// terminal, and never when `NO_COLOR` is set to anything but the empty
/// string (no-color.org). tracing-subscriber colours by default wherever
/// stderr goes, so a log file, journald (the systemd unit) or a log
/// collector received `ESC[2m` and `ESC[0m` around every timestamp and
/// field name, and a `grep 'reason=pap_disabled'` missed every line.
fn colour_wanted(stderr_is_terminal: bool, no_color: Option<&OsStr>) -> bool {
    stderr_is_terminal && no_color.is_none_or(OsStr::is_empty)
}

fn serve(args: ServeArgs) -> Result<(), Box<dyn std::error::Error>> {
    let (config, path, banner) = match &args.config {
        Some(path) => (Config::load(path)?, Some(path.clone()), None),
        None => {
            let d = authd::defaults::prepare(&args.data_dir)?;
            let mut config = d.config;
            // Users, groups and certificates live in DATA_DIR/authd.db.
            config.database = Some(authd::store::embedded_default(&args.data_dir, &d.pki)?);
            (config, None, Some(d.banner))
        }
    };
    init_logging(&config);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("authd-worker")
        .build()?;
    runtime.block_on(async move {
        let server = Server::bind(&config, path).await?;
        if let Some(banner) = banner {
            eprintln!("{banner}");
        }
        let shutdown = CancellationToken::new();
        cancel_on_signals(shutdown.clone());
        server.run(shutdown).await;
        Ok::<(), Box<dyn std::error::Error>>(())
    })
}

#[cfg(test)]
mod tests {
    use super::colour_wanted;
    use std::ffi::OsStr;

    #[test]
    fn colour_only_on_a_terminal_without_no_color() {
        assert!(colour_wanted(true, None));
        // An empty NO_COLOR does not count (no-color.org).
        assert!(colour_wanted(true, Some(OsStr::new(""))));
        assert!(!colour_wanted(true, Some(OsStr::new("1"))));
        assert!(!colour_wanted(false, None));
        assert!(!colour_wanted(false, Some(OsStr::new(""))));
    }
}
