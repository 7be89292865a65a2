//! The capture written by `fourway-sim run --psk --pcap` must be usable by a
//! real analyser: tshark, given only the passphrase and SSID, recognises the
//! four EAPOL-Key messages and decrypts the CCMP data frames in both
//! directions (and the group-addressed one under the GTK).
//!
//! tshark is required: if it is missing this test fails (install the Debian
//! package `tshark`).

use std::path::PathBuf;
use std::process::Command;

const SSID: &str = "fourway-lab";
const PASSPHRASE: &str = "tshark can read this";

fn tshark(args: &[&str]) -> String {
    let out = Command::new("tshark").args(args).output().unwrap_or_else(|e| {
        panic!("tshark is required for this test but could not be run ({e}); install the Debian package `tshark`")
    });
    assert!(
        out.status.success(),
        "tshark failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn capture() -> PathBuf {
    let path = std::env::temp_dir().join(format!("fourway-sim-tshark-{}.pcap", std::process::id()));
    let out = Command::new(env!("CARGO_BIN_EXE_fourway-sim"))
        .args([
            "run",
            "--psk",
            "--ssid",
            SSID,
            "--passphrase",
            PASSPHRASE,
            "--stations",
            "2",
            "--pcap",
        ])
        .arg(&path)
        .output()
        .expect("run fourway-sim");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "fourway-sim failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stdout.lines().count(), 2, "{stdout}");
    for line in stdout.lines() {
        assert!(
            line.contains("pmk=match ptk=installed gtk=installed ccmp=ok"),
            "{line}"
        );
    }
    path
}

#[test]
fn tshark_recognises_handshake_and_decrypts_data() {
    let path = capture();
    let file = path.to_str().unwrap();
    let key = format!("uat:80211_keys:\"wpa-pwd\",\"{PASSPHRASE}:{SSID}\"");
    let decrypt = ["-o", "wlan.enable_decryption:TRUE", "-o", key.as_str()];

    // The four messages of each station's handshake, as tshark numbers them.
    let mut args = vec!["-r", file];
    args.extend_from_slice(&decrypt);
    args.extend_from_slice(&[
        "-Y",
        "eapol",
        "-T",
        "fields",
        "-e",
        "wlan_rsna_eapol.keydes.msgnr",
        "-e",
        "wlan.sa",
    ]);
    let eapol = tshark(&args);
    let msgnrs: Vec<&str> = eapol
        .lines()
        .map(|l| l.split('\t').next().unwrap_or(""))
        .collect();
    assert_eq!(
        msgnrs,
        ["1", "2", "3", "4", "1", "2", "1", "2", "3", "4", "1", "2"],
        "EAPOL messages as tshark sees them:\n{eapol}"
    );

    // Decrypted payloads: without the key tshark cannot see them.
    let mut args = vec!["-r", file];
    args.extend_from_slice(&decrypt);
    args.extend_from_slice(&["-Y", "data", "-T", "fields", "-e", "data.data"]);
    let data = tshark(&args);
    let texts: Vec<String> = data
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| {
            String::from_utf8_lossy(&hex::decode(l.replace(':', "")).unwrap_or_default())
                .into_owned()
        })
        .collect();
    for sta in ["02:00:5a:00:00:01", "02:00:5a:00:00:02"] {
        assert!(
            texts.contains(&format!("fourway-sim data {sta} -> 02:00:00:00:00:01")),
            "{texts:?}"
        );
        assert!(
            texts.contains(&format!("fourway-sim data 02:00:00:00:00:01 -> {sta}")),
            "{texts:?}"
        );
    }
    assert!(
        texts
            .iter()
            .filter(|t| t.starts_with("fourway-sim group data"))
            .count()
            == 2,
        "{texts:?}"
    );

    // And with a wrong passphrase nothing is decrypted.
    let wrong = format!("uat:80211_keys:\"wpa-pwd\",\"not the passphrase:{SSID}\"");
    let data = tshark(&[
        "-r",
        file,
        "-o",
        "wlan.enable_decryption:TRUE",
        "-o",
        &wrong,
        "-Y",
        "data",
        "-T",
        "fields",
        "-e",
        "data.data",
    ]);
    // tshark still shows the encrypted bodies as data, but none in clear.
    let leaked = data
        .lines()
        .map(|l| hex::decode(l.replace(':', "")).unwrap_or_default())
        .any(|b| b.windows(11).any(|w| w == b"fourway-sim"));
    assert!(!leaked, "decrypted with a wrong passphrase: {data}");
    let _ = std::fs::remove_file(&path);
}
