//! The simulated station's EAP side (EAP-TLS with a client certificate;
//! PEAP and TTLS with a password) and one full RADIUS authentication
//! through the simulated AP.
//!
//! The station is the peer state machine of `eap-methods` over a rustls
//! client. Like wpa_supplicant without `domain_match`, it verifies the server
//! certificate chain against the CA but not the host name unless one is
//! given: RADIUS servers are not reached by DNS name.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use eap_methods::peer::{
    PasswordCredentials, PeerConfig, PeerMethod, PeerOutcome, PeerSession, TtlsInner,
};
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, SignatureScheme};
use zeroize::Zeroizing;

use crate::ap::{ApError, ApSession, NasConfig, RadiusOutcome};
use crate::frames::Direction;
use crate::keys::Pmk;
use crate::radius_client::{Retransmit, Transport, TransportError};

/// Which TLS versions the station offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
pub enum TlsChoice {
    #[value(name = "1.2")]
    #[serde(rename = "1.2")]
    Tls12,
    #[value(name = "1.3")]
    #[serde(rename = "1.3")]
    Tls13,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StationError {
    #[error("{path}: {what}")]
    File { path: String, what: String },
    #[error("TLS client configuration: {0}")]
    Tls(#[from] rustls::Error),
    #[error("RADIUS: {0}")]
    Radius(#[from] ApError),
    #[error("RADIUS transport: {0}")]
    Transport(#[from] TransportError),
    #[error("RADIUS encoding: {0}")]
    Encode(#[from] radius_proto::Error),
    #[error("Access-Reject{}", .0.as_deref().map(|m| format!(": {m}")).unwrap_or_default())]
    Rejected(Option<String>),
    #[error("EAP peer failed: {0}")]
    Eap(String),
    #[error("Access-Accept but the station has no keys: {0}")]
    AcceptWithoutSuccess(String),
}

fn file_err(path: &Path, what: impl std::fmt::Display) -> StationError {
    StationError::File {
        path: path.display().to_string(),
        what: what.to_string(),
    }
}

/// Verifies the chain, and the name only when asked to.
///
/// A load tool meets the same server chain in every handshake: the chain
/// verification (one signature check per certificate) is done once and its
/// success remembered, keyed by a SHA-256 of the exact chain and the name,
/// for [`CHAIN_CACHE_TTL`]. The handshake signature (CertificateVerify in
/// TLS 1.3, ServerKeyExchange in TLS 1.2) is still verified in every
/// handshake, so the server proves possession of the key each time,
/// unless a load generator turned that off
/// ([`StationTls::verify_signature`]).
#[derive(Debug)]
struct ChainOnlyVerifier {
    inner: Arc<WebPkiServerVerifier>,
    check_name: bool,
    /// False: handshake signatures are taken as valid unchecked (load
    /// generation only, see [`StationTls::verify_signature`]).
    verify_signature: bool,
    verified: std::sync::Mutex<Option<([u8; 32], Instant)>>,
}

/// How long a verified server chain is trusted without verifying it again.
const CHAIN_CACHE_TTL: Duration = Duration::from_secs(60);

/// SHA-256 over the chain and the name, each with its length.
fn chain_key(
    end_entity: &CertificateDer<'_>,
    intermediates: &[CertificateDer<'_>],
    server_name: &ServerName<'_>,
) -> [u8; 32] {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    for c in std::iter::once(end_entity).chain(intermediates) {
        h.update((c.len() as u64).to_be_bytes());
        h.update(c.as_ref());
    }
    let name = server_name.to_str();
    h.update((name.len() as u64).to_be_bytes());
    h.update(name.as_bytes());
    h.finalize().into()
}

impl ServerCertVerifier for ChainOnlyVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        use subtle::ConstantTimeEq;
        let key = chain_key(end_entity, intermediates, server_name);
        let hit = self.verified.lock().ok().is_some_and(|cached| {
            cached
                .as_ref()
                .is_some_and(|(k, at)| bool::from(k.ct_eq(&key)) && at.elapsed() < CHAIN_CACHE_TTL)
        });
        if hit {
            return Ok(ServerCertVerified::assertion());
        }
        let result = match self.inner.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        ) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) if !self.check_name => Ok(ServerCertVerified::assertion()),
            other => other,
        };
        if result.is_ok() {
            let mut cached = self.verified.lock().unwrap_or_else(|p| p.into_inner());
            *cached = Some((key, Instant::now()));
        }
        result
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        if !self.verify_signature {
            return Ok(HandshakeSignatureValid::assertion());
        }
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        if !self.verify_signature {
            return Ok(HandshakeSignatureValid::assertion());
        }
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// Files and choices for the station's TLS client.
#[derive(Debug, Clone)]
pub struct StationTls<'a> {
    pub cert: &'a Path,
    pub key: &'a Path,
    pub ca: &'a Path,
    /// None: offer both versions.
    pub version: Option<TlsChoice>,
    /// Verify the server certificate for this name; None: chain only.
    pub server_name: Option<&'a str>,
    /// Keep session tickets / IDs for resumption across authentications.
    pub resumption: bool,
    /// Verify the server's handshake signature (CertificateVerify,
    /// ServerKeyExchange). Only a load generator turns it off
    /// (`--skip-server-signature`): it then costs less per authentication
    /// than the server it loads, but no longer proves who answered.
    pub verify_signature: bool,
}

/// Build the rustls client configuration of an EAP-TLS station (with its
/// client certificate). The key exchange groups are X25519 then P-256, like
/// OpenSSL 3.0 supplicants (no hybrid post-quantum share that would bloat
/// the ClientHello).
pub fn client_config(t: &StationTls<'_>) -> Result<Arc<rustls::ClientConfig>, StationError> {
    client_config_for(t, Suites::Classic)
}

/// The TLS a station offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Suites {
    /// rustls' suites, key exchange X25519 then P-256 (like OpenSSL 3.0
    /// supplicants).
    Classic,
    /// WPA3-Enterprise 192-bit (AKM 12): only the 192-bit suites, P-384,
    /// ECDSA P-384 with SHA-384 ([`crate::suite_b`]).
    SuiteB192,
}

impl Suites {
    fn provider(self) -> Arc<rustls::crypto::CryptoProvider> {
        match self {
            Suites::Classic => eap_methods::tls_common::classic_kx_provider(),
            Suites::SuiteB192 => crate::suite_b::provider(),
        }
    }
}

/// [`client_config`] offering `suites`.
pub fn client_config_for(
    t: &StationTls<'_>,
    suites: Suites,
) -> Result<Arc<rustls::ClientConfig>, StationError> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(t.cert)
        .map_err(|e| file_err(t.cert, e))?
        .collect::<Result<_, _>>()
        .map_err(|e| file_err(t.cert, e))?;
    if chain.is_empty() {
        return Err(file_err(t.cert, "no certificate found"));
    }
    let key = PrivateKeyDer::from_pem_file(t.key).map_err(|e| file_err(t.key, e))?;
    let mut cfg = config_builder(t.ca, t.version, t.server_name, t.verify_signature, suites)?
        .with_client_auth_cert(chain, key)?;
    if !t.resumption {
        cfg.resumption = rustls::client::Resumption::disabled();
    }
    Ok(Arc::new(cfg))
}

/// Files and choices for the TLS client of a PEAP or TTLS station: the
/// trust anchors only, no client certificate (the password authenticates
/// the user inside the tunnel).
#[derive(Debug, Clone)]
pub struct TunnelTls<'a> {
    pub ca: &'a Path,
    /// None: offer both versions.
    pub version: Option<TlsChoice>,
    /// Verify the server certificate for this name; None: chain only.
    pub server_name: Option<&'a str>,
    /// Keep session tickets / IDs for resumption across authentications.
    pub resumption: bool,
    /// Verify the server's handshake signature (CertificateVerify,
    /// ServerKeyExchange). Only a load generator turns it off
    /// (`--skip-server-signature`): it then costs less per authentication
    /// than the server it loads, but no longer proves who answered.
    pub verify_signature: bool,
}

/// Build the rustls client configuration of a PEAP or TTLS station: as
/// [`client_config`], without a client certificate.
pub fn tunnel_client_config(t: &TunnelTls<'_>) -> Result<Arc<rustls::ClientConfig>, StationError> {
    tunnel_client_config_for(t, Suites::Classic)
}

/// [`tunnel_client_config`] offering `suites`.
pub fn tunnel_client_config_for(
    t: &TunnelTls<'_>,
    suites: Suites,
) -> Result<Arc<rustls::ClientConfig>, StationError> {
    let mut cfg = config_builder(t.ca, t.version, t.server_name, t.verify_signature, suites)?
        .with_no_client_auth();
    if !t.resumption {
        cfg.resumption = rustls::client::Resumption::disabled();
    }
    Ok(Arc::new(cfg))
}

/// The client configuration up to the client certificate: trust anchors
/// from `ca`, the versions, the server certificate verifier.
fn config_builder(
    ca: &Path,
    version: Option<TlsChoice>,
    server_name: Option<&str>,
    verify_signature: bool,
    suites: Suites,
) -> Result<
    rustls::ConfigBuilder<rustls::ClientConfig, rustls::client::WantsClientCert>,
    StationError,
> {
    let provider = suites.provider();
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca).map_err(|e| file_err(ca, e))? {
        let cert = cert.map_err(|e| file_err(ca, e))?;
        roots.add(cert).map_err(|e| file_err(ca, e))?;
    }
    if roots.is_empty() {
        return Err(file_err(ca, "no CA certificate found"));
    }
    let versions: &[&'static rustls::SupportedProtocolVersion] = match version {
        Some(TlsChoice::Tls12) => &[&rustls::version::TLS12],
        Some(TlsChoice::Tls13) => &[&rustls::version::TLS13],
        None => &[&rustls::version::TLS13, &rustls::version::TLS12],
    };
    let inner = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|e| StationError::Eap(format!("server verifier: {e}")))?;
    let verifier = Arc::new(ChainOnlyVerifier {
        inner,
        check_name: server_name.is_some(),
        verify_signature,
        verified: std::sync::Mutex::new(None),
    });
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)?
        .dangerous()
        .with_custom_certificate_verifier(verifier))
}

/// The EAP method a station runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StationMethod {
    /// EAP-TLS: a client certificate.
    Tls,
    /// PEAPv0 with EAP-MSCHAPv2 inside.
    Peap,
    /// EAP-TTLS with PAP inside.
    TtlsPap,
    /// EAP-TTLS with MS-CHAPv2 inside.
    #[value(name = "ttls-mschapv2")]
    #[serde(rename = "ttls-mschapv2")]
    TtlsMschapV2,
    /// EAP-TTLS with EAP-MSCHAPv2 inside.
    #[value(name = "ttls-eap-mschapv2")]
    #[serde(rename = "ttls-eap-mschapv2")]
    TtlsEapMschapV2,
}

impl StationMethod {
    /// The name on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            StationMethod::Tls => "tls",
            StationMethod::Peap => "peap",
            StationMethod::TtlsPap => "ttls-pap",
            StationMethod::TtlsMschapV2 => "ttls-mschapv2",
            StationMethod::TtlsEapMschapV2 => "ttls-eap-mschapv2",
        }
    }

    /// Whether the method authenticates with a password (PEAP, TTLS).
    pub fn uses_password(self) -> bool {
        self != StationMethod::Tls
    }

    /// The peer method of `eap-methods`; `credentials` for the password
    /// methods (ignored for EAP-TLS). None when a password method has none.
    pub fn peer_method(self, credentials: Option<PasswordCredentials>) -> Option<PeerMethod> {
        let inner = match self {
            StationMethod::Tls => return Some(PeerMethod::Tls),
            StationMethod::Peap => return credentials.map(PeerMethod::Peap),
            StationMethod::TtlsPap => TtlsInner::Pap,
            StationMethod::TtlsMschapV2 => TtlsInner::MschapV2,
            StationMethod::TtlsEapMschapV2 => TtlsInner::EapMschapV2,
        };
        credentials.map(|c| PeerMethod::Ttls(inner, c))
    }

    /// The method of a peer configuration.
    pub fn of(method: &PeerMethod) -> StationMethod {
        match method {
            PeerMethod::Tls => StationMethod::Tls,
            PeerMethod::Peap(_) => StationMethod::Peap,
            PeerMethod::Ttls(TtlsInner::Pap, _) => StationMethod::TtlsPap,
            PeerMethod::Ttls(TtlsInner::MschapV2, _) => StationMethod::TtlsMschapV2,
            PeerMethod::Ttls(TtlsInner::EapMschapV2, _) => StationMethod::TtlsEapMschapV2,
        }
    }
}

impl std::fmt::Display for StationMethod {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The password in the environment variable `var` (never on the command
/// line, where other users of the machine could read it). An unset, empty
/// or non-UTF-8 variable is an error naming the variable, not its value.
pub fn password_from_env(var: &str) -> Result<Zeroizing<String>, String> {
    match std::env::var(var) {
        Ok(p) if p.is_empty() => Err(format!("${var} is empty")),
        Ok(p) => Ok(Zeroizing::new(p)),
        Err(std::env::VarError::NotPresent) => Err(format!("${var} is not set")),
        Err(std::env::VarError::NotUnicode(_)) => Err(format!("${var} is not UTF-8")),
    }
}

/// The name the station puts in SNI / checks, when none is given.
pub fn default_server_name(name: Option<&str>) -> ServerName<'static> {
    name.and_then(|n| ServerName::try_from(n.to_string()).ok())
        .unwrap_or_else(|| ServerName::try_from("authd.local").expect("static name is valid"))
}

/// The result of one RADIUS/EAP-TLS authentication.
pub struct Authentication {
    pub pmk_ap: Pmk,
    pub pmk_station: Pmk,
    pub tls_version: Option<rustls::ProtocolVersion>,
    pub resumed: bool,
    pub round_trips: u32,
    pub retransmits: u64,
    pub elapsed: Duration,
    pub user_name: Option<String>,
    pub vlan: Option<String>,
    pub session_id_matches_key_name: Option<bool>,
    /// The EAP packets the AP relayed, in order, for a capture (TLS
    /// records: no key material).
    pub eap: Vec<(Direction, Vec<u8>)>,
}

/// Authenticate one station through the simulated AP against a RADIUS server.
pub async fn authenticate(
    server: SocketAddr,
    nas: NasConfig,
    station: [u8; 6],
    peer: Arc<PeerConfig>,
    retransmit: Retransmit,
) -> Result<Authentication, StationError> {
    let mut transport = Transport::connect(server, retransmit)
        .await
        .map_err(TransportError::Io)?;
    authenticate_on(&mut transport, nas, station, peer).await
}

/// As [`authenticate`], on an existing transport (the load tool reuses one
/// socket per worker).
pub async fn authenticate_on(
    transport: &mut Transport,
    nas: NasConfig,
    station: [u8; 6],
    peer: Arc<PeerConfig>,
) -> Result<Authentication, StationError> {
    let start = Instant::now();
    let retransmits_before = transport.retransmits;
    let mut peer = PeerSession::new(peer);
    let mut ap = ApSession::new(nas, station, rand::random());
    ap.set_radius_1_1(transport.radius_1_1());
    // The authenticator opens with EAP-Request/Identity (RFC 3748 §5.1).
    let mut to_peer: Vec<u8> = vec![1, 1, 0, 5, 1];
    let mut eap_log = Vec::new();
    loop {
        eap_log.push((Direction::FromAp, to_peer.clone()));
        let response = match peer.handle(&to_peer) {
            PeerOutcome::Response(r) => r,
            PeerOutcome::Success(_) => {
                return Err(StationError::Eap("EAP-Success inside a challenge".into()));
            }
            PeerOutcome::Failure(reason) => return Err(StationError::Eap(reason.to_string())),
            PeerOutcome::Discard(reason) => {
                return Err(StationError::Eap(format!(
                    "discarded server packet: {reason}"
                )));
            }
        };
        eap_log.push((Direction::ToAp, response.clone()));
        // On RADIUS/1.1 the first four octets are the Token, taken from
        // the connection's counter (RFC 9765 §4.2.1).
        let mut authenticator: [u8; 16] = rand::random();
        if let Some(token) = transport.next_token() {
            authenticator[..4].copy_from_slice(&token);
        }
        let request = ap.access_request(&response, authenticator)?;
        let reply = transport.exchange(&request, ap.identifier()).await?;
        match ap.handle_response(&reply)? {
            RadiusOutcome::Challenge(eap) => to_peer = eap,
            RadiusOutcome::Reject { reply_message, eap } => {
                if let Some(eap) = eap {
                    // Let the peer see the EAP-Failure, as a real one would.
                    let _ = peer.handle(&eap);
                }
                return Err(StationError::Rejected(reply_message));
            }
            RadiusOutcome::Accept(accepted) => {
                let eap = accepted.eap.clone().ok_or_else(|| {
                    StationError::AcceptWithoutSuccess("no EAP-Message in Access-Accept".into())
                })?;
                eap_log.push((Direction::FromAp, eap.clone()));
                return match peer.handle(&eap) {
                    PeerOutcome::Success(keys) => {
                        let pmk_station = Pmk::from_msk(keys.msk.as_bytes())
                            .map_err(|e| StationError::Eap(e.to_string()))?;
                        Ok(Authentication {
                            pmk_ap: accepted.pmk,
                            pmk_station,
                            tls_version: keys.tls_version,
                            resumed: keys.resumed,
                            round_trips: ap.round_trips(),
                            retransmits: transport.retransmits - retransmits_before,
                            elapsed: start.elapsed(),
                            user_name: accepted.user_name.clone(),
                            vlan: accepted.vlan.clone(),
                            session_id_matches_key_name: accepted
                                .eap_key_name
                                .as_ref()
                                .map(|k| *k == keys.session_id),
                            eap: eap_log,
                        })
                    }
                    PeerOutcome::Failure(r) => {
                        Err(StationError::AcceptWithoutSuccess(r.to_string()))
                    }
                    PeerOutcome::Discard(r) => {
                        Err(StationError::AcceptWithoutSuccess(r.to_string()))
                    }
                    PeerOutcome::Response(_) => Err(StationError::AcceptWithoutSuccess(
                        "peer answered EAP-Success with a response".into(),
                    )),
                };
            }
        }
    }
}
