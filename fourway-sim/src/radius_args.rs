//! The RADIUS side of `run` and `load`: where and as whom the stations
//! authenticate (server, secret, EAP method and credentials, TLS), and the
//! peer configuration built from it.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use eap_methods::peer::PeerConfig;
use fourway_sim::ap::NasConfig;
use fourway_sim::radius_client::Retransmit;
use fourway_sim::station::{
    StationMethod, StationTls, Suites, TlsChoice, TunnelTls, client_config_for,
    default_server_name, password_from_env, tunnel_client_config_for,
};

use crate::AP_ADDR;

/// Where and as whom the RADIUS mode authenticates. The defaults point at
/// the authd embedded development default (data directory `authd-data`, or
/// $AUTHD_DATA_DIR) and its demo user.
#[derive(Args)]
pub(crate) struct RadiusArgs {
    /// RADIUS server (authentication port).
    #[arg(long, default_value = "127.0.0.1:1812")]
    pub(crate) server: SocketAddr,
    /// Source address to send from (a NAS client is known to the server by
    /// its address; e.g. 127.0.0.2 to be another loopback NAS).
    #[arg(long)]
    pub(crate) bind: Option<std::net::IpAddr>,
    /// Shared secret of the simulated AP.
    #[arg(long, default_value = "testing123")]
    pub(crate) secret: String,
    /// EAP method of the stations. PEAP and TTLS authenticate with a
    /// password (--password-env) and need only --ca, no client certificate.
    #[arg(long, value_enum, default_value_t = StationMethod::Tls)]
    pub(crate) method: StationMethod,
    /// EAP identity of the stations; with PEAP and TTLS the inner identity
    /// (the user the password belongs to).
    #[arg(long, default_value = "alice")]
    pub(crate) identity: String,
    /// PEAP and TTLS: the outer identity, sent in the clear in
    /// EAP-Response/Identity (e.g. anonymous@example.org). Default: --identity.
    #[arg(long)]
    pub(crate) outer_identity: Option<String>,
    /// PEAP and TTLS: read the password from this environment variable
    /// (never from the command line).
    #[arg(long, value_name = "VAR")]
    pub(crate) password_env: Option<String>,
    /// EAP-TLS: client certificate (PEM). Default: <data-dir>/client.pem.
    #[arg(long)]
    pub(crate) cert: Option<PathBuf>,
    /// EAP-TLS: client private key (PEM). Default: <data-dir>/client.key.
    #[arg(long)]
    pub(crate) key: Option<PathBuf>,
    /// CA that signed the server certificate (PEM). Default: <data-dir>/ca.pem.
    #[arg(long)]
    pub(crate) ca: Option<PathBuf>,
    /// authd's data directory, for the defaults above.
    #[arg(long, env = "AUTHD_DATA_DIR", default_value = "authd-data")]
    pub(crate) data_dir: PathBuf,
    /// TLS version to offer (default: both, TLS 1.3 preferred).
    #[arg(long)]
    pub(crate) tls: Option<TlsChoice>,
    /// Check the server certificate for this name (default: chain only).
    #[arg(long)]
    pub(crate) server_name: Option<String>,
    /// Take the server's handshake signature (TLS 1.3 CertificateVerify,
    /// TLS 1.2 ServerKeyExchange) as valid without checking it: for load
    /// generation, so that the stations cost less CPU than the server they
    /// load (an ECDSA verification costs more than the server's signing).
    /// The stations then no longer prove who answered; the chain is still
    /// verified (once per run).
    #[arg(long)]
    pub(crate) skip_server_signature: bool,
    /// Framed-MTU the AP reports.
    #[arg(long, default_value_t = 1400)]
    pub(crate) framed_mtu: u32,
    /// Seconds before a request is retransmitted.
    #[arg(long, default_value_t = 2.0)]
    pub(crate) timeout: f64,
    /// Transmissions of one request before giving up.
    #[arg(long, default_value_t = 3)]
    pub(crate) attempts: u32,
}

impl RadiusArgs {
    pub(crate) fn nas(&self, ssid: &str) -> NasConfig {
        NasConfig {
            secret: zeroize::Zeroizing::new(self.secret.as_bytes().to_vec()),
            nas_identifier: "fourway-sim".into(),
            framed_mtu: self.framed_mtu,
            bssid: AP_ADDR.0,
            ssid: ssid.into(),
            request_key_name: true,
        }
    }

    /// The stations' EAP configuration; `suites` restricts their TLS
    /// (AKM 12: [`Suites::SuiteB192`]).
    pub(crate) fn peer(&self, resumption: bool, suites: Suites) -> Result<Arc<PeerConfig>, String> {
        let method = self.method;
        let ca = self
            .ca
            .clone()
            .unwrap_or_else(|| self.data_dir.join("ca.pem"));
        let (identity, peer_method, tls) = if method.uses_password() {
            let var = self.password_env.as_deref().ok_or_else(|| {
                format!(
                    "--method {method} needs --password-env VAR, the environment variable \
                     holding the password"
                )
            })?;
            let password = password_from_env(var).map_err(|e| format!("--method {method}: {e}"))?;
            let credentials = eap_methods::peer::PasswordCredentials {
                user: self.identity.clone(),
                password,
            };
            let peer_method = method
                .peer_method(Some(credentials))
                .ok_or("no credentials")?;
            let tls = tunnel_client_config_for(
                &TunnelTls {
                    ca: &ca,
                    version: self.tls,
                    server_name: self.server_name.as_deref(),
                    resumption,
                    verify_signature: !self.skip_server_signature,
                },
                suites,
            )
            .map_err(|e| e.to_string())?;
            let outer = self.outer_identity.as_ref().unwrap_or(&self.identity);
            (outer.clone(), peer_method, tls)
        } else {
            if self.outer_identity.is_some() || self.password_env.is_some() {
                return Err(
                    "--outer-identity and --password-env are for --method peap and ttls-*".into(),
                );
            }
            (
                self.identity.clone(),
                eap_methods::peer::PeerMethod::Tls,
                self.tls_config(&ca, resumption, suites)?,
            )
        };
        Ok(Arc::new(PeerConfig {
            identity,
            method: peer_method,
            tls,
            server_name: default_server_name(self.server_name.as_deref()),
            // The station's link: an 802.11 MTU of 1400 like the AP reports.
            fragment_size: (self.framed_mtu as usize).saturating_sub(14).max(64),
            max_tls_message_len: 65536,
        }))
    }

    /// The EAP-TLS client configuration, with the client certificate.
    fn tls_config(
        &self,
        ca: &std::path::Path,
        resumption: bool,
        suites: Suites,
    ) -> Result<Arc<rustls::ClientConfig>, String> {
        let cert = self
            .cert
            .clone()
            .unwrap_or_else(|| self.data_dir.join("client.pem"));
        let key = self
            .key
            .clone()
            .unwrap_or_else(|| self.data_dir.join("client.key"));
        client_config_for(
            &StationTls {
                cert: &cert,
                key: &key,
                ca,
                version: self.tls,
                server_name: self.server_name.as_deref(),
                resumption,
                verify_signature: !self.skip_server_signature,
            },
            suites,
        )
        .map_err(|e| e.to_string())
    }

    pub(crate) fn retransmit(&self) -> Retransmit {
        Retransmit {
            timeout: Duration::from_secs_f64(self.timeout.max(0.01)),
            attempts: self.attempts.max(1),
        }
    }
}
