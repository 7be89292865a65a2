//! EAP methods, one file each (like hostapd's `eap_server_*.c`).

pub mod identity;
pub mod mschapv2;
pub mod peap;
pub mod tls;
pub mod ttls;
pub(crate) mod tunnel;
