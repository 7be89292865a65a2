//! `[eap]`: fragmentation (RFC 5216 §2.1.5), conversations, the methods
//! offered and how inner identities map to users.

use serde::{Deserialize, Serialize};

use super::*;

/// EAP session settings.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(try_from = "RawEapConfig")]
pub struct EapConfig {
    /// Largest TLS payload per EAP-TLS fragment when the request has no
    /// Framed-MTU (RFC 5216 section 2.1.5), default 1398.
    pub fragment_size: usize,
    /// Sessions silent this long are dropped, default 30 s.
    pub session_idle_timeout_secs: u64,
    /// Bound on concurrent EAP sessions, default 65536.
    pub max_sessions: usize,
    /// Bound on a reassembled TLS message (RFC 5216 section 2.1.5, TLS
    /// Message Length), default 65536.
    pub max_tls_message_len: usize,
    /// Bytes charged for all EAP conversations in progress (TLS state and
    /// reassembly buffers, see `sessions::CONVERSATION_BASE_COST`), default
    /// [`DEFAULT_MAX_SESSIONS_MEMORY`].
    pub max_sessions_memory: usize,
    /// EAP methods offered, most preferred first; default all three. The
    /// first is proposed; a Nak switches to another listed one (RFC 3748
    /// section 5.3.1).
    pub methods: Vec<EapMethod>,
    /// PEAP and TTLS: drop a `DOMAIN\` prefix of the inner identity to
    /// find the stored user (Windows sends `DOMAIN\user`), default true.
    pub strip_nt_domain: bool,
    /// PEAP and TTLS: drop an `@realm` suffix of the inner identity to
    /// find the stored user, default false (realms are kept).
    pub strip_realm: bool,
}

/// An EAP method authd can offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EapMethod {
    /// EAP-TLS (RFC 5216, RFC 9190): certificates.
    Tls,
    /// PEAPv0 with EAP-MSCHAPv2: passwords (NT hash).
    Peap,
    /// EAP-TTLS (RFC 5281) with PAP, MS-CHAPv2 or EAP-MSCHAPv2 inside.
    Ttls,
}

impl EapMethod {
    /// The EAP type.
    pub fn eap_type(self) -> eap_methods::EapType {
        match self {
            EapMethod::Tls => eap_methods::EapType::Tls,
            EapMethod::Peap => eap_methods::EapType::Peap,
            EapMethod::Ttls => eap_methods::EapType::Ttls,
        }
    }
}

/// Every method, in the default order of preference.
pub const ALL_EAP_METHODS: [EapMethod; 3] = [EapMethod::Tls, EapMethod::Peap, EapMethod::Ttls];

impl EapConfig {
    /// The rule that maps inner identities to stored user names.
    pub fn inner_names(&self) -> InnerNames {
        InnerNames {
            strip_nt_domain: self.strip_nt_domain,
            strip_realm: self.strip_realm,
        }
    }
}

/// How a PEAP or TTLS inner identity names a stored user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InnerNames {
    /// Drop a `DOMAIN\` prefix.
    pub strip_nt_domain: bool,
    /// Drop an `@realm` suffix.
    pub strip_realm: bool,
}

impl Default for InnerNames {
    fn default() -> InnerNames {
        InnerNames {
            strip_nt_domain: true,
            strip_realm: false,
        }
    }
}

impl InnerNames {
    /// The stored user name for an inner identity: `DOMAIN\alice` ->
    /// `alice` (with `strip_nt_domain`), `alice@example.org` -> `alice`
    /// (with `strip_realm`).
    pub fn user_name<'a>(&self, inner_identity: &'a str) -> &'a str {
        let mut name = inner_identity;
        if self.strip_nt_domain
            && let Some((_, user)) = name.split_once('\\')
        {
            name = user;
        }
        if self.strip_realm
            && let Some((user, _)) = name.rsplit_once('@')
        {
            name = user;
        }
        name
    }
}

/// 512 MiB: even with every conversation holding a full 64 KiB TLS message
/// in reassembly, conversations stay within it, and the whole process
/// (duplicate cache, PAP, Argon2id buffers) under 1 GiB.
pub const DEFAULT_MAX_SESSIONS_MEMORY: usize = 512 * 1024 * 1024;
/// The smallest conversation budget: each of the table's 16 shards must
/// hold a few conversations with a full TLS message in reassembly.
pub const MIN_SESSIONS_MEMORY: usize = 16 * 1024 * 1024;

impl Default for EapConfig {
    fn default() -> EapConfig {
        EapConfig {
            fragment_size: 1398,
            session_idle_timeout_secs: 30,
            max_sessions: 65536,
            max_tls_message_len: 65536,
            max_sessions_memory: DEFAULT_MAX_SESSIONS_MEMORY,
            methods: ALL_EAP_METHODS.to_vec(),
            strip_nt_domain: true,
            strip_realm: false,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEapConfig {
    #[serde(default = "default_fragment_size")]
    fragment_size: usize,
    #[serde(default = "default_idle_timeout")]
    session_idle_timeout_secs: u64,
    #[serde(default = "default_65536")]
    max_sessions: usize,
    #[serde(default = "default_65536")]
    max_tls_message_len: usize,
    #[serde(default = "default_max_sessions_memory")]
    max_sessions_memory: usize,
    #[serde(default = "default_methods")]
    methods: Vec<EapMethod>,
    #[serde(default = "default_true")]
    strip_nt_domain: bool,
    #[serde(default)]
    strip_realm: bool,
}

fn default_methods() -> Vec<EapMethod> {
    ALL_EAP_METHODS.to_vec()
}

fn default_max_sessions_memory() -> usize {
    DEFAULT_MAX_SESSIONS_MEMORY
}

fn default_fragment_size() -> usize {
    1398
}

fn default_idle_timeout() -> u64 {
    30
}

fn default_65536() -> usize {
    65536
}

/// The smallest fragment worth sending: an EAP-TLS header (RFC 5216 section
/// 3.1) plus some TLS bytes must fit in a minimum-MTU frame.
pub const MIN_FRAGMENT_SIZE: usize = 64;

/// What an EAP-TLS request adds to its TLS data: EAP header (5), Flags (1)
/// and TLS Message Length (4) (RFC 5216 §3.1).
pub const EAP_TLS_HEADER_LEN: usize = 10;
/// Message-Authenticator (RFC 3579 §3.2) and State (16 octets) in every
/// Access-Challenge, with their attribute headers.
const CHALLENGE_FIXED_ATTRIBUTES: usize = 18 + 18;

/// The most TLS data one EAP-TLS request may carry so that its
/// Access-Challenge, with State, Message-Authenticator and Proxy-State
/// attributes of `proxy_state_octets` (headers included) copied from the
/// request, stays within 4096 octets (RFC 2865 §3).
pub fn max_fragment_size(proxy_state_octets: usize) -> usize {
    radius_proto::PacketBuilder::max_eap_message_len(
        CHALLENGE_FIXED_ATTRIBUTES + proxy_state_octets,
    )
    .saturating_sub(EAP_TLS_HEADER_LEN)
}

impl TryFrom<RawEapConfig> for EapConfig {
    type Error = String;

    fn try_from(raw: RawEapConfig) -> Result<EapConfig, String> {
        // Every Access-Challenge must fit the 4096-octet RADIUS limit with
        // its State and Message-Authenticator (Proxy-State, when a request
        // carries some, makes that conversation's fragments smaller).
        let max = max_fragment_size(0);
        if !(MIN_FRAGMENT_SIZE..=max).contains(&raw.fragment_size) {
            return Err(format!(
                "fragment_size {} must be within {MIN_FRAGMENT_SIZE}..={max}: larger fragments do not fit an Access-Challenge of 4096 octets (RFC 2865 section 3) with State and Message-Authenticator",
                raw.fragment_size
            ));
        }
        if raw.session_idle_timeout_secs == 0 {
            return Err("session_idle_timeout_secs must be at least 1".into());
        }
        if raw.max_sessions == 0 {
            return Err("max_sessions must be at least 1".into());
        }
        if raw.max_tls_message_len < 16_384 {
            return Err(format!(
                "max_tls_message_len {} is below one TLS record (16384)",
                raw.max_tls_message_len
            ));
        }
        if raw.max_sessions_memory < MIN_SESSIONS_MEMORY {
            return Err(format!(
                "max_sessions_memory {} is below {MIN_SESSIONS_MEMORY} (16 MiB)",
                raw.max_sessions_memory
            ));
        }
        if raw.methods.is_empty() {
            return Err("methods must name at least one of \"tls\", \"peap\", \"ttls\"".into());
        }
        for (i, m) in raw.methods.iter().enumerate() {
            if raw.methods[..i].contains(m) {
                return Err(format!("methods lists {m:?} twice"));
            }
        }
        Ok(EapConfig {
            fragment_size: raw.fragment_size,
            session_idle_timeout_secs: raw.session_idle_timeout_secs,
            max_sessions: raw.max_sessions,
            max_tls_message_len: raw.max_tls_message_len,
            max_sessions_memory: raw.max_sessions_memory,
            methods: raw.methods,
            strip_nt_domain: raw.strip_nt_domain,
            strip_realm: raw.strip_realm,
        })
    }
}
