//! `authd session`: the accounting sessions the store records.

/// Subcommands of `authd session`.
#[derive(clap::Subcommand, Debug)]
pub enum SessionCommand {
    /// Ask the NAS to end a session (RFC 5176 Disconnect-Request): session
    /// ID (its key), or every online session of --user. A running server
    /// sends it; this waits --wait seconds for the NAS's answer.
    Disconnect {
        /// The session's key.
        id: Option<String>,
        /// Every online session of this user.
        #[arg(long)]
        user: Option<String>,
        /// Seconds to wait for the results (0: do not wait).
        #[arg(long, default_value_t = 5)]
        wait: u64,
    },
}
