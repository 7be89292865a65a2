//! Published test data shared by the unit tests.
//!
//! The four EAPOL-Key frames of `wpa-Induction.pcap`, the WPA2-PSK sample
//! capture published on the Wireshark wiki (SampleCaptures): SSID "Coherer",
//! passphrase "Induction", AP 00:0c:41:82:b2:55, station 00:0d:93:82:36:3a,
//! EAPOL frames 87, 89, 92 and 94, from the EAPOL header on. The MICs in
//! messages 2, 3 and 4 are the capture's own: they are the published
//! EAPOL-Key MIC vectors the key hierarchy is checked against, and the KCK
//! and KEK below are the values Wireshark shows for that handshake.

pub const INDUCTION_SSID: &[u8] = b"Coherer";
pub const INDUCTION_PASSPHRASE: &str = "Induction";
pub const INDUCTION_AA: [u8; 6] = [0x00, 0x0c, 0x41, 0x82, 0xb2, 0x55];
pub const INDUCTION_SPA: [u8; 6] = [0x00, 0x0d, 0x93, 0x82, 0x36, 0x3a];
pub const INDUCTION_KCK: &str = "b1cd792716762903f723424cd7d16511";
pub const INDUCTION_KEK: &str = "82a644133bfa4e0b75d96d2308358433";
pub const INDUCTION_GTK: &str = "ee22041a83853263474c38811352282071c122359b7c35a7e7d034f3cd6ac565";
pub const INDUCTION_M1: &str = "0203007502008a001000000000000000003e8e967dacd960324cac5b6aa721235bf57b949771c867989f49d04ed47c69330000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000016dd14000fac04592da88096c461da246c69001e877f3d";
pub const INDUCTION_M2: &str = "0203007502010a00100000000000000000cdf405ceb9d889ef3dec42609828fae546b7add7baecbb1a394eac5214b1d3860000000000000000000000000000000000000000000000000000000000000000a462a7029ad5ba30b6af0df391988e45001630140100000fac020100000fac040100000fac020000";
pub const INDUCTION_M3: &str = "020300af0213ca001000000000000000013e8e967dacd960324cac5b6aa721235bf57b949771c867989f49d04ed47c6933f57b949771c867989f49d04ed47c6934cf0200000000000000000000000000007d0af6df51e99cde7a187453f0f935370050cfa72cde35b2c1e2319255806ab364179fd9673041b9a5939fa1a2010d2ac794e25168055f794ddc1fdfae3521f4446bfd11da98345f543df6ce199df8fe48f8cdd17adca87bf45711183c496d41aa0c";
pub const INDUCTION_M4: &str = "0203005f02030a001000000000000000010000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000010bba3bdfbcfde2bc537509d71f2ecd10000";
/// The AP's RSN element from the capture's beacon (TKIP group; TKIP and
/// CCMP pairwise; PSK), and the station's from its association request.
pub const INDUCTION_AP_RSNE: &str = "30180100000fac020200000fac04000fac020100000fac020000";
pub const INDUCTION_STA_RSNE: &str = "30140100000fac020100000fac040100000fac020000";

pub fn h(s: &str) -> Vec<u8> {
    hex::decode(s).expect("test hex")
}
