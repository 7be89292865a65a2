//! The wired 802.1X set-up of the hostapd tests: a veth pair with the
//! supplicant's end in a network namespace of its own, daemons with their
//! logs in files, and the hostapd / wpa_supplicant configurations.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;

use super::SECRET;

/// Runs a command to completion, failing the test with its output if it fails.
pub fn run(cmd: &str, args: &[&str]) {
    let out = Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd}: {e}"));
    assert!(
        out.status.success(),
        "{cmd} {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A namespace with one end of a veth pair; the other end stays in the
/// root namespace. Removed on drop, also when the test fails.
pub struct Link {
    pub netns: String,
    /// Authenticator side, root namespace.
    pub outer: String,
    /// Supplicant side, inside `netns`.
    pub inner: String,
}

impl Link {
    pub fn create() -> Link {
        let pid = std::process::id();
        let mut r = [0u8; 2];
        rand::fill(&mut r[..]);
        let tag = format!("{pid:x}{}", hex::encode(r));
        // Interface names are at most 15 bytes (IFNAMSIZ - 1).
        let tag = &tag[tag.len().saturating_sub(10)..];
        let link = Link {
            netns: format!("authd-h{tag}"),
            outer: format!("ah{tag}a"),
            inner: format!("ah{tag}b"),
        };
        run("ip", &["netns", "add", &link.netns]);
        run(
            "ip",
            &[
                "link",
                "add",
                &link.outer,
                "type",
                "veth",
                "peer",
                "name",
                &link.inner,
            ],
        );
        run("ip", &["link", "set", &link.inner, "netns", &link.netns]);
        run("ip", &["link", "set", &link.outer, "up"]);
        run(
            "ip",
            &[
                "netns",
                "exec",
                &link.netns,
                "ip",
                "link",
                "set",
                &link.inner,
                "up",
            ],
        );
        run(
            "ip",
            &[
                "netns",
                "exec",
                &link.netns,
                "ip",
                "link",
                "set",
                "lo",
                "up",
            ],
        );
        link
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        // Deleting one end of a veth deletes the pair.
        let _ = Command::new("ip")
            .args(["link", "del", &self.outer])
            .output();
        let _ = Command::new("ip")
            .args(["netns", "del", &self.netns])
            .output();
    }
}

/// A daemon with its debug output in a file; killed on drop, its log
/// printed if the test is failing.
pub struct Daemon {
    name: &'static str,
    child: Child,
    log: PathBuf,
}

impl Daemon {
    pub fn spawn(name: &'static str, cmd: &mut Command, log: PathBuf) -> Daemon {
        let out = fs::File::create(&log).unwrap();
        let child = cmd
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        Daemon { name, child, log }
    }

    pub fn output(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn assert_running(&mut self) {
        if let Ok(Some(status)) = self.child.try_wait() {
            panic!("{} exited ({status}):\n{}", self.name, self.output());
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if thread::panicking() {
            eprintln!(
                "----- {} log -----\n{}----- end of {} log -----",
                self.name,
                self.output(),
                self.name
            );
        }
    }
}

/// hostapd's configuration: 802.1X on `iface` with authd at `port`, and
/// `extra` lines appended (e.g. the accounting server).
pub fn hostapd_conf(dir: &Path, iface: &str, port: u16) -> PathBuf {
    hostapd_conf_with(dir, iface, port, "")
}

pub fn hostapd_conf_with(dir: &Path, iface: &str, port: u16, extra: &str) -> PathBuf {
    let ctrl = dir.join("hostapd-ctrl");
    let conf = format!(
        "interface={iface}\n\
         driver=wired\n\
         ctrl_interface={}\n\
         logger_stdout=-1\n\
         logger_stdout_level=0\n\
         ieee8021x=1\n\
         eapol_version=2\n\
         eap_server=0\n\
         use_pae_group_addr=1\n\
         own_ip_addr=127.0.0.1\n\
         nas_identifier=authd-e2e\n\
         auth_server_addr=127.0.0.1\n\
         auth_server_port={port}\n\
         auth_server_shared_secret={SECRET}\n{extra}",
        ctrl.display()
    );
    let path = dir.join("hostapd.conf");
    fs::write(&path, conf).unwrap();
    path
}

pub fn supplicant_conf(dir: &Path, network: &str) -> (PathBuf, PathBuf) {
    let ctrl = dir.join("wpas-ctrl");
    let conf = format!(
        "ctrl_interface={}\nap_scan=0\neapol_version=2\n{network}",
        ctrl.display(),
    );
    let path = dir.join("wpa_supplicant.conf");
    fs::write(&path, conf).unwrap();
    (path, ctrl)
}

/// wpa_supplicant on the namespace's end of `link` (`-D wired`, debug
/// log with keys and timestamps into `dir/wpa_supplicant.log`) with the
/// configuration `conf`.
pub fn spawn_supplicant(link: &Link, conf: &Path, dir: &Path) -> Daemon {
    Daemon::spawn(
        "wpa_supplicant",
        Command::new("ip")
            .args([
                "netns",
                "exec",
                &link.netns,
                "wpa_supplicant",
                "-D",
                "wired",
                "-i",
            ])
            .arg(&link.inner)
            .args(["-dd", "-K", "-t", "-c"])
            .arg(conf),
        dir.join("wpa_supplicant.log"),
    )
}

/// `wpa_cli status` of the supplicant, run inside the namespace.
pub fn supplicant_status(link: &Link, ctrl: &Path) -> String {
    Command::new("ip")
        .args(["netns", "exec", &link.netns, "wpa_cli", "-p"])
        .arg(ctrl)
        .args(["-i", &link.inner, "status"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default()
}
