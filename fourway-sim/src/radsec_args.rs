//! `run --radsec ADDR --radsec-cert FILE --radsec-key FILE --radsec-ca FILE`:
//! the simulated AP reaches the RADIUS server over TLS (RFC 6614) with its
//! own certificate, beside the station's `--cert` / `--key`.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;
use fourway_sim::radsec_client::RadsecOptions;

#[derive(Args)]
pub(crate) struct RadsecArgs {
    /// RadSec server (TCP, e.g. 127.0.0.1:2083): RADIUS over TLS instead
    /// of UDP to --server; the shared secret is then "radsec".
    #[arg(long, value_name = "ADDR")]
    pub(crate) radsec: Option<SocketAddr>,
    /// The AP's client certificate for RadSec (PEM).
    #[arg(long, value_name = "FILE", requires = "radsec")]
    pub(crate) radsec_cert: Option<PathBuf>,
    /// Its private key (PEM).
    #[arg(long, value_name = "FILE", requires = "radsec")]
    pub(crate) radsec_key: Option<PathBuf>,
    /// CA of the RadSec server's certificate (PEM). Default: --ca.
    #[arg(long, value_name = "FILE", requires = "radsec")]
    pub(crate) radsec_ca: Option<PathBuf>,
    /// Check the RadSec server's certificate for this name (default: the
    /// chain only).
    #[arg(long, value_name = "NAME", requires = "radsec")]
    pub(crate) radsec_server_name: Option<String>,
    /// Speak RADIUS/1.1 (RFC 9765): offer only ALPN "radius/1.1" over
    /// TLS 1.3; no MD5, the Token matches replies.
    #[arg(long = "radius-1-1", requires = "radsec")]
    pub(crate) radius_1_1: bool,
}

impl RadsecArgs {
    /// The connection options, when `--radsec` is given; `ca` is the
    /// station's CA, the default of --radsec-ca.
    pub(crate) fn options(&self, ca: Option<&PathBuf>) -> Result<Option<RadsecOptions>, String> {
        let Some(server) = self.radsec else {
            return Ok(None);
        };
        let (Some(cert), Some(key)) = (&self.radsec_cert, &self.radsec_key) else {
            return Err("--radsec needs --radsec-cert and --radsec-key".into());
        };
        let ca = self
            .radsec_ca
            .as_ref()
            .or(ca)
            .ok_or("--radsec needs --radsec-ca (or --ca)")?;
        Ok(Some(RadsecOptions {
            server,
            cert: cert.clone(),
            key: key.clone(),
            ca: ca.clone(),
            server_name: self.radsec_server_name.clone(),
            radius_1_1: self.radius_1_1,
        }))
    }
}
