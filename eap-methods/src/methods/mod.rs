//! EAP methods, one file each (like hostapd's `eap_server_*.c`).

pub mod identity;
pub mod tls;
