//! The SSH transport: one connection per host (russh), reused for every action on it, with its
//! host key pinned in stepwise's own known-hosts file.
//!
//! Host keys: a host whose key is pinned must offer exactly that key (a changed key is refused,
//! saying what was pinned and what is offered). A host whose key is not pinned yet is refused
//! too, with the key's fingerprint, unless the operator accepted that very fingerprint (an
//! answers file's `host_keys`, or an answer at the terminal): then it is pinned (appended to the
//! file atomically) and the caller journals it.
//!
//! Authentication: a key file, the keys of an SSH agent, or a password the caller asked at the
//! terminal (never read from a file, never stored here beyond the connection); a host whose
//! `auth` is `password` and that was given none is refused before anything is tried
//! ([`ConnectError::NoPassword`]).
//!
//! Files go through SFTP on the same connection: looking (stat, list, free space through
//! `statvfs@openssh.com`, reading a file through or hashing it), and writing (a file created
//! with create-and-exclusive, so nothing existing is followed or overwritten; a rename over the
//! target with `posix-rename@openssh.com`, on a second SFTP channel since the high-level client
//! does not expose that extension).
//!
//! Everything here blocks: a small tokio runtime per connection drives russh, with a timeout on
//! the connection and on every operation.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use russh::client;
use russh::keys::{HashAlg, PrivateKeyWithHashAlg, PublicKey, PublicKeyOrCertificate};

use super::{AuthKind, HostTarget};
use crate::fsutil::{hex, read_full};

/// Why a host could not be reached. Each message names the host and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectError {
    /// Nothing listens there, or the host is down.
    Unreachable {
        host: String,
        at: String,
        why: String,
    },
    /// No answer within the connect timeout.
    TimedOut { host: String, at: String, secs: u64 },
    /// The host offers a key that is not pinned; `fingerprint` is `SHA256:…`.
    UnknownHostKey {
        host: String,
        at: String,
        algorithm: String,
        fingerprint: String,
    },
    /// The host offers another key than the pinned one.
    ChangedHostKey {
        host: String,
        at: String,
        pinned: String,
        offered: String,
        file: PathBuf,
    },
    /// The server refused every way of authenticating that was tried.
    AuthFailed {
        host: String,
        user: String,
        how: String,
    },
    /// The host authenticates with a password and none was given: it is only asked at a
    /// terminal, never read from a file.
    NoPassword { host: String, user: String },
    /// The key file, the agent or the known-hosts file could not be used.
    Local(String),
    /// The SSH conversation failed.
    Protocol { host: String, why: String },
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConnectError::Unreachable { host, at, why } => {
                write!(f, "cannot connect to {host} ({at}): {why}")
            }
            ConnectError::TimedOut { host, at, secs } => {
                write!(
                    f,
                    "cannot connect to {host} ({at}): no answer within {secs} s"
                )
            }
            ConnectError::UnknownHostKey {
                host,
                at,
                algorithm,
                fingerprint,
            } => write!(
                f,
                "{host} ({at}) offers a host key that is not pinned: {algorithm} {fingerprint}; check that it is {host}'s, then accept it at the terminal or pin it with `host_keys: {{ {host}: \"{fingerprint}\" }}` in the answers file"
            ),
            ConnectError::ChangedHostKey {
                host,
                at,
                pinned,
                offered,
                file,
            } => write!(
                f,
                "the host key of {host} ({at}) has changed: {pinned} is pinned, {offered} is offered; it may not be {host}: if {host} was reinstalled, remove its line from {} and pin the new key",
                file.display()
            ),
            ConnectError::AuthFailed { host, user, how } => {
                write!(f, "{host} refused authentication as {user} with {how}")
            }
            ConnectError::NoPassword { host, user } => write!(
                f,
                "{host} authenticates {user} with a password, which stepwise asks at the terminal and never stores: a password cannot be answered from a file; run stepwise at a terminal, or give {host} a key (`key: FILE`) or `auth: agent` in the inventory"
            ),
            ConnectError::Local(m) => write!(f, "{m}"),
            ConnectError::Protocol { host, why } => write!(f, "SSH with {host} failed: {why}"),
        }
    }
}

/// The pinned host keys: a file of `[ADDRESS]:PORT ALGORITHM BASE64` lines, as OpenSSH writes
/// its own `known_hosts`.
#[derive(Debug, Clone)]
pub struct KnownHosts {
    pub file: PathBuf,
}

impl KnownHosts {
    fn pattern(address: &str, port: u16) -> String {
        format!("[{address}]:{port}")
    }

    /// The key pinned for an address and port, if any.
    pub fn pinned(&self, address: &str, port: u16) -> Result<Option<PublicKey>, ConnectError> {
        let text = match std::fs::read_to_string(&self.file) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(ConnectError::Local(format!(
                    "cannot read the known hosts {}: {}",
                    self.file.display(),
                    crate::error::describe_io(&e)
                )));
            }
        };
        let pattern = Self::pattern(address, port);
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((who, key)) = line.split_once(' ') else {
                continue;
            };
            if who != pattern {
                continue;
            }
            return PublicKey::from_openssh(key.trim()).map(Some).map_err(|e| {
                ConnectError::Local(format!(
                    "{}:{}: not a public key: {e}",
                    self.file.display(),
                    n + 1
                ))
            });
        }
        Ok(None)
    }

    /// Pins a key for an address and port (the file is rewritten atomically).
    pub fn pin(&self, address: &str, port: u16, key: &PublicKey) -> Result<(), ConnectError> {
        let mut text = std::fs::read_to_string(&self.file).unwrap_or_default();
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        let openssh = key
            .to_openssh()
            .map_err(|e| ConnectError::Local(format!("cannot write a host key: {e}")))?;
        text.push_str(&format!("{} {openssh}\n", Self::pattern(address, port)));
        if let Some(dir) = self.file.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        crate::fsutil::write_atomic(&self.file, text.as_bytes()).map_err(|e| {
            ConnectError::Local(format!(
                "cannot write the known hosts {}: {}",
                self.file.display(),
                crate::error::describe_io(&e)
            ))
        })
    }
}

/// `SHA256:…` of a key, as `ssh-keygen -l` shows it.
pub fn fingerprint(key: &PublicKey) -> String {
    key.fingerprint(HashAlg::Sha256).to_string()
}

struct Checker {
    pinned: Option<PublicKey>,
    /// A fingerprint the operator accepted for a key not pinned yet.
    accept: Option<String>,
    offered: Arc<Mutex<Option<PublicKey>>>,
}

impl client::Handler for Checker {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        key: &PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        let PublicKeyOrCertificate::PublicKey { key, .. } = key else {
            return Ok(false);
        };
        *self.offered.lock().unwrap_or_else(|e| e.into_inner()) = Some(key.clone());
        Ok(match &self.pinned {
            Some(pinned) => pinned.key_data() == key.key_data(),
            None => self
                .accept
                .as_deref()
                .is_some_and(|a| a == fingerprint(key)),
        })
    }
}

/// One open connection to one host.
pub struct Session {
    pub target: HostTarget,
    rt: tokio::runtime::Runtime,
    handle: client::Handle<Checker>,
    /// Set when this connection pinned a key the operator accepted: `(algorithm, fingerprint)`.
    pub newly_pinned: Option<(String, String)>,
    /// The SFTP channel, opened when a file is first looked at.
    sftp: Mutex<Option<Arc<russh_sftp::client::SftpSession>>>,
    /// A second SFTP channel for the protocol extensions the first one does not expose
    /// (`posix-rename@openssh.com`), with whether the server offers that extension.
    raw: Mutex<Option<(Arc<russh_sftp::client::RawSftpSession>, bool)>>,
}

/// What is at a path on a host, as a copy needs to know it (links are followed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Meta {
    pub kind: Kind,
    pub size: u64,
    /// The permission bits (`0o644`), when the server gives them.
    pub mode: Option<u32>,
}

/// The kind of an entry on a host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    File,
    Folder,
    /// A named pipe, a socket, a device: named for what it is, never opened.
    Other(&'static str),
}

impl Meta {
    fn of(m: &russh_sftp::client::fs::Metadata) -> Meta {
        let raw = m.permissions;
        let kind = if m.is_dir() {
            Kind::Folder
        } else if m.is_regular() {
            Kind::File
        } else {
            Kind::Other(match raw.map(|p| p & 0o170000) {
                Some(0o010000) => "a named pipe (FIFO)",
                Some(0o140000) => "a socket",
                Some(0o060000) | Some(0o020000) => "a device",
                _ => "a special file",
            })
        };
        Meta {
            kind,
            size: m.len(),
            mode: raw.map(|p| p & 0o7777),
        }
    }

    /// What it is, in words, for a message: `a file`, `a folder`, `a named pipe (FIFO)`.
    pub fn kind_words(&self) -> &'static str {
        match self.kind {
            Kind::File => "a file",
            Kind::Folder => "a folder",
            Kind::Other(w) => w,
        }
    }
}

/// Why an upload stopped.
#[derive(Debug)]
pub enum UploadError {
    /// Reading the local source failed.
    Read(std::io::Error),
    /// Creating or writing the file on the host failed.
    Write(String),
    Cancelled,
}

/// The size of the pieces a file is read, sent and hashed in.
const CHUNK: usize = 1 << 20;

/// How long an SFTP request waits for its answer on a connection that is still open. A request
/// that changes the host and gets no answer in that time may still be carried out: see
/// [`ChangeError::Unknown`].
pub const SFTP_TIMEOUT_SECS: u64 = 10;

/// What is at a path on a host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stat {
    Missing,
    File { size: u64 },
    Folder,
}

/// Why a request that changes something on the host did not succeed, and so whether the change
/// may have happened all the same.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangeError {
    /// Nothing changed: the request was never sent, or the server answered that it refused it.
    NotDone(String),
    /// The request was sent and no answer came back (none within the timeout, or the
    /// connection ended): the server may have carried it out, now or later.
    Unknown(String),
}

impl fmt::Display for ChangeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChangeError::NotDone(why) | ChangeError::Unknown(why) => f.write_str(why),
        }
    }
}

/// What a failed SFTP request that changes the host says of the change: a refusal from the
/// server is [`ChangeError::NotDone`]; no answer (in time, or at all) is [`ChangeError::Unknown`].
fn change_error(e: russh_sftp::client::error::Error) -> ChangeError {
    match e {
        russh_sftp::client::error::Error::Status(_) => ChangeError::NotDone(e.to_string()),
        russh_sftp::client::error::Error::Timeout => {
            ChangeError::Unknown(format!("no answer within {SFTP_TIMEOUT_SECS} s"))
        }
        e => ChangeError::Unknown(e.to_string()),
    }
}

/// How a remote command ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RemoteEnd {
    Exited(i32),
    /// Ended by a signal (a POSIX target).
    Signal(String),
    TimedOut,
    Cancelled,
    /// The connection dropped before the command's end was known.
    Lost(String),
}

impl Session {
    /// Connects to a host, checks its key against the known hosts, and authenticates. `accept`
    /// is a fingerprint the operator accepted for a key not pinned yet.
    pub fn connect(
        target: &HostTarget,
        known: &KnownHosts,
        accept: Option<&str>,
        password: Option<&str>,
    ) -> Result<Session, ConnectError> {
        let host = target.host.clone();
        let at = format!("{}:{}", target.address, target.port);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| ConnectError::Local(format!("cannot start the SSH runtime: {e}")))?;
        let pinned = known.pinned(&target.address, target.port)?;
        let offered = Arc::new(Mutex::new(None));
        let checker = Checker {
            pinned: pinned.clone(),
            accept: accept.map(str::to_string),
            offered: offered.clone(),
        };
        let config = Arc::new(client::Config {
            inactivity_timeout: None,
            keepalive_interval: Some(Duration::from_secs(15)),
            keepalive_max: 3,
            ..Default::default()
        });
        let secs = target.connect_timeout.max(1);
        let addr = (target.address.clone(), target.port);
        let connected = rt.block_on(async {
            tokio::time::timeout(
                Duration::from_secs(secs),
                client::connect(config, addr, checker),
            )
            .await
        });
        let mut handle = match connected {
            Err(_) => {
                return Err(ConnectError::TimedOut { host, at, secs });
            }
            Ok(Ok(h)) => h,
            Ok(Err(russh::Error::UnknownKey)) => {
                let offered = offered.lock().unwrap_or_else(|e| e.into_inner()).clone();
                let Some(offered) = offered else {
                    return Err(ConnectError::Protocol {
                        host,
                        why: "the server offered no usable host key".into(),
                    });
                };
                let describe = |k: &PublicKey| format!("{} {}", k.algorithm(), fingerprint(k));
                return Err(match pinned {
                    Some(p) => ConnectError::ChangedHostKey {
                        host,
                        at,
                        pinned: describe(&p),
                        offered: describe(&offered),
                        file: known.file.clone(),
                    },
                    None => ConnectError::UnknownHostKey {
                        host,
                        at,
                        algorithm: offered.algorithm().to_string(),
                        fingerprint: fingerprint(&offered),
                    },
                });
            }
            Ok(Err(russh::Error::IO(e))) => {
                return Err(ConnectError::Unreachable {
                    host,
                    at,
                    why: crate::error::describe_io(&e),
                });
            }
            Ok(Err(e)) => {
                return Err(ConnectError::Protocol {
                    host,
                    why: e.to_string(),
                });
            }
        };
        let mut newly_pinned = None;
        if pinned.is_none() {
            let offered = offered.lock().unwrap_or_else(|e| e.into_inner()).clone();
            if let Some(k) = offered {
                known.pin(&target.address, target.port, &k)?;
                newly_pinned = Some((k.algorithm().to_string(), fingerprint(&k)));
            }
        }
        let timeout = Duration::from_secs(secs);
        rt.block_on(authenticate(&mut handle, target, password, timeout))?;
        Ok(Session {
            target: target.clone(),
            rt,
            handle,
            newly_pinned,
            sftp: Mutex::new(None),
            raw: Mutex::new(None),
        })
    }

    /// Runs a command line (already quoted for the target's shell). Output (stdout and stderr
    /// as they come) goes to `on_output`; the command is given up on at `timeout` or when
    /// `cancel` is set (its channel is closed, which ends it on the server's side).
    pub fn run(
        &self,
        line: &str,
        timeout: Duration,
        cancel: &AtomicBool,
        on_output: &mut dyn FnMut(&[u8]),
    ) -> RemoteEnd {
        self.rt.block_on(async {
            let mut channel = match self.handle.channel_open_session().await {
                Ok(c) => c,
                Err(e) => return RemoteEnd::Lost(format!("cannot open a channel: {e}")),
            };
            if let Err(e) = channel.exec(true, line.as_bytes()).await {
                return RemoteEnd::Lost(format!("cannot start the command: {e}"));
            }
            let deadline = Instant::now() + timeout;
            let mut code = None;
            loop {
                if cancel.load(Ordering::SeqCst) {
                    let _ = channel.close().await;
                    return RemoteEnd::Cancelled;
                }
                if Instant::now() >= deadline {
                    let _ = channel.signal(russh::Sig::KILL).await;
                    let _ = channel.close().await;
                    return RemoteEnd::TimedOut;
                }
                let msg =
                    match tokio::time::timeout(Duration::from_millis(100), channel.wait()).await {
                        Err(_) => continue,
                        Ok(m) => m,
                    };
                match msg {
                    None => break,
                    Some(russh::ChannelMsg::Data { data }) => on_output(&data),
                    Some(russh::ChannelMsg::ExtendedData { data, .. }) => on_output(&data),
                    Some(russh::ChannelMsg::ExitStatus { exit_status }) => {
                        code = Some(RemoteEnd::Exited(exit_status as i32))
                    }
                    Some(russh::ChannelMsg::ExitSignal { signal_name, .. }) => {
                        code = Some(RemoteEnd::Signal(format!("{signal_name:?}")))
                    }
                    Some(_) => {}
                }
            }
            code.unwrap_or_else(|| {
                RemoteEnd::Lost("the connection ended before the command's exit was known".into())
            })
        })
    }

    fn sftp(&self) -> Result<Arc<russh_sftp::client::SftpSession>, String> {
        let mut slot = self.sftp.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(s) = slot.as_ref() {
            return Ok(s.clone());
        }
        let session = self.rt.block_on(async {
            russh_sftp::client::SftpSession::new(sftp_channel(&self.handle).await?)
                .await
                .map_err(|e| format!("SFTP failed: {e}"))
        })?;
        session.set_timeout(SFTP_TIMEOUT_SECS);
        let session = Arc::new(session);
        *slot = Some(session.clone());
        Ok(session)
    }

    /// What is at a path (read-only).
    pub fn stat(&self, path: &str) -> Result<Stat, String> {
        let sftp = self.sftp()?;
        self.rt.block_on(async {
            match sftp.metadata(path).await {
                Ok(m) if m.is_dir() => Ok(Stat::Folder),
                Ok(m) => Ok(Stat::File { size: m.len() }),
                Err(russh_sftp::client::error::Error::Status(st))
                    if st.status_code == russh_sftp::protocol::StatusCode::NoSuchFile =>
                {
                    Ok(Stat::Missing)
                }
                Err(e) => Err(e.to_string()),
            }
        })
    }

    /// A whole file's bytes (read-only).
    pub fn read(&self, path: &str) -> Result<Vec<u8>, String> {
        let sftp = self.sftp()?;
        self.rt
            .block_on(async { sftp.read(path).await.map_err(|e| e.to_string()) })
    }

    /// Writes a whole file (creating or truncating it) and syncs it where the server can. With
    /// `like`, the file gets that file's permissions, so a replacement never widens them.
    pub fn write(&self, path: &str, bytes: &[u8], like: Option<&str>) -> Result<(), String> {
        use tokio::io::AsyncWriteExt;
        let sftp = self.sftp()?;
        self.rt.block_on(async {
            let mut file = sftp.create(path).await.map_err(|e| e.to_string())?;
            file.write_all(bytes).await.map_err(|e| e.to_string())?;
            let _ = file.sync_all().await;
            file.shutdown().await.map_err(|e| e.to_string())?;
            if let Some(like) = like
                && let Ok(meta) = sftp.metadata(like).await
                && let Some(mode) = meta.permissions
            {
                let mut attrs = russh_sftp::protocol::FileAttributes::empty();
                attrs.permissions = Some(mode);
                sftp.set_metadata(path, attrs)
                    .await
                    .map_err(|e| format!("cannot keep the permissions of {like}: {e}"))?;
            }
            Ok(())
        })
    }

    /// What is at a path, links followed; `None` when nothing is (read-only).
    pub fn metadata(&self, path: &str) -> Result<Option<Meta>, String> {
        let sftp = self.sftp()?;
        self.rt.block_on(async {
            match sftp.metadata(path).await {
                Ok(m) => Ok(Some(Meta::of(&m))),
                Err(e) if no_such_file(&e) => Ok(None),
                Err(e) => Err(e.to_string()),
            }
        })
    }

    /// What is at a path itself, a link not followed (a link is `Kind::Other("a link")`);
    /// `None` when nothing is (read-only).
    pub fn link_metadata(&self, path: &str) -> Result<Option<Meta>, String> {
        let sftp = self.sftp()?;
        self.rt.block_on(async {
            match sftp.symlink_metadata(path).await {
                Ok(m) if m.is_symlink() => Ok(Some(Meta {
                    kind: Kind::Other("a link"),
                    size: m.len(),
                    mode: m.permissions.map(|p| p & 0o7777),
                })),
                Ok(m) => Ok(Some(Meta::of(&m))),
                Err(e) if no_such_file(&e) => Ok(None),
                Err(e) => Err(e.to_string()),
            }
        })
    }

    /// Creates one folder (its parent must exist), with the server's default permissions. A
    /// request sent without an answer is [`ChangeError::Unknown`]: the folder may be made yet.
    pub fn create_dir(&self, path: &str) -> Result<(), ChangeError> {
        let sftp = self.sftp().map_err(ChangeError::NotDone)?;
        hold("mkdir");
        self.rt
            .block_on(async { sftp.create_dir(path).await.map_err(change_error) })
    }

    /// The names in a folder (read-only).
    pub fn list(&self, dir: &str) -> Result<Vec<String>, String> {
        let sftp = self.sftp()?;
        self.rt.block_on(async {
            let entries = sftp.read_dir(dir).await.map_err(|e| e.to_string())?;
            let mut names: Vec<String> = entries.map(|e| e.file_name()).collect();
            names.sort();
            Ok(names)
        })
    }

    /// Bytes available to unprivileged users on the file system that holds `path`, from the
    /// server's `statvfs@openssh.com`; `None` when the server does not offer it (read-only).
    pub fn free_space(&self, path: &str) -> Result<Option<u64>, String> {
        let sftp = self.sftp()?;
        self.rt.block_on(async {
            match sftp.fs_info(path).await {
                Ok(Some(st)) => Ok(Some(st.blocks_avail.saturating_mul(st.fragment_size))),
                Ok(None) => Ok(None),
                Err(e) => Err(e.to_string()),
            }
        })
    }

    /// Reads a file through, in pieces, giving each to `each` (read-only). Stops between
    /// pieces when `cancel` is set.
    pub fn read_through(
        &self,
        path: &str,
        cancel: &AtomicBool,
        each: &mut dyn FnMut(&[u8]) -> std::io::Result<()>,
    ) -> Result<u64, String> {
        use tokio::io::AsyncReadExt;
        let sftp = self.sftp()?;
        self.rt.block_on(async {
            let mut file = sftp.open(path).await.map_err(|e| e.to_string())?;
            let mut buf = vec![0u8; CHUNK];
            let mut total = 0u64;
            loop {
                if cancel.load(Ordering::SeqCst) {
                    return Err("cancelled".to_string());
                }
                let n = file.read(&mut buf).await.map_err(|e| e.to_string())?;
                if n == 0 {
                    break;
                }
                each(&buf[..n]).map_err(|e| crate::error::describe_io(&e))?;
                total += n as u64;
            }
            let _ = file.close().await;
            Ok(total)
        })
    }

    /// The hex SHA-256 of a file on the host and its size, read back over SFTP (read-only).
    pub fn sha256(&self, path: &str, cancel: &AtomicBool) -> Result<(String, u64), String> {
        use sha2::Digest;
        let mut hasher = sha2::Sha256::new();
        let bytes = self.read_through(path, cancel, &mut |b| {
            hasher.update(b);
            Ok(())
        })?;
        Ok((hex(&hasher.finalize()), bytes))
    }

    /// Creates `path` anew (SFTP open with create and exclusive: nothing existing at that name
    /// is followed or overwritten), writes `from` into it in pieces (calling `progress` with the
    /// bytes sent so far, stopping between pieces when `cancel` is set), gives it `mode`, and
    /// syncs it where the server offers `fsync@openssh.com`. Returns the bytes sent and their
    /// hex SHA-256. On failure the file may be left: the caller removes it.
    pub fn upload_new(
        &self,
        from: &mut dyn std::io::Read,
        path: &str,
        mode: u32,
        cancel: &AtomicBool,
        progress: &mut dyn FnMut(u64),
    ) -> Result<(u64, String), UploadError> {
        use russh_sftp::protocol::{FileAttributes, OpenFlags};
        use sha2::Digest;
        use tokio::io::AsyncWriteExt;
        let sftp = self.sftp().map_err(UploadError::Write)?;
        let w = |e: &dyn fmt::Display| UploadError::Write(e.to_string());
        self.rt.block_on(async {
            let mut attrs = FileAttributes::empty();
            attrs.permissions = Some(mode);
            let mut file = sftp
                .open_with_flags_and_attributes(
                    path,
                    OpenFlags::CREATE | OpenFlags::EXCLUDE | OpenFlags::WRITE,
                    attrs,
                )
                .await
                .map_err(|e| w(&e))?;
            let mut hasher = sha2::Sha256::new();
            let mut buf = vec![0u8; CHUNK];
            let mut sent = 0u64;
            loop {
                if cancel.load(Ordering::SeqCst) {
                    let _ = file.shutdown().await;
                    return Err(UploadError::Cancelled);
                }
                let n = read_full(from, &mut buf).map_err(UploadError::Read)?;
                if n == 0 {
                    break;
                }
                file.write_all(&buf[..n]).await.map_err(|e| w(&e))?;
                hasher.update(&buf[..n]);
                sent += n as u64;
                progress(sent);
            }
            file.flush().await.map_err(|e| w(&e))?;
            let _ = file.sync_all().await;
            file.shutdown().await.map_err(|e| w(&e))?;
            // The server's umask may have narrowed the mode given at creation.
            let mut attrs = FileAttributes::empty();
            attrs.permissions = Some(mode);
            sftp.set_metadata(path, attrs).await.map_err(|e| w(&e))?;
            Ok((sent, hex(&hasher.finalize())))
        })
    }

    /// Removes a file (not a folder; a link itself, never what it points at). Nothing there is
    /// not an error.
    pub fn remove(&self, path: &str) -> Result<(), String> {
        let sftp = self.sftp()?;
        self.rt.block_on(async {
            match sftp.remove_file(path).await {
                Ok(()) => Ok(()),
                Err(e) if no_such_file(&e) => Ok(()),
                Err(e) => Err(e.to_string()),
            }
        })
    }

    /// Renames `from` over `to` in one step, replacing `to`, with the server's
    /// `posix-rename@openssh.com`. `Ok(false)` when the server does not offer it (a plain SFTP
    /// rename refuses an existing target, so the caller moves the file another way).
    /// A refusal by the server is [`ChangeError::NotDone`]; a request sent whose answer never
    /// came back (the SFTP request timeout on a live connection, or a dropped one) is
    /// [`ChangeError::Unknown`]: the file may have been moved.
    pub fn posix_rename(&self, from: &str, to: &str) -> Result<bool, ChangeError> {
        let (raw, offered) = self.raw().map_err(ChangeError::NotDone)?;
        if !offered {
            return Ok(false);
        }
        hold("move");
        let mut data = Vec::with_capacity(8 + from.len() + to.len());
        for s in [from, to] {
            data.extend_from_slice(&(s.len() as u32).to_be_bytes());
            data.extend_from_slice(s.as_bytes());
        }
        self.rt.block_on(async {
            match raw.extended(POSIX_RENAME, data).await {
                Ok(russh_sftp::protocol::Packet::Status(st))
                    if st.status_code == russh_sftp::protocol::StatusCode::Ok =>
                {
                    Ok(true)
                }
                Ok(russh_sftp::protocol::Packet::Status(st)) => Err(ChangeError::NotDone(format!(
                    "{}: {}",
                    st.status_code, st.error_message
                ))),
                Ok(_) => Err(ChangeError::Unknown(
                    "unexpected answer to posix-rename".to_string(),
                )),
                Err(e) => Err(change_error(e)),
            }
        })
    }

    fn raw(&self) -> Result<(Arc<russh_sftp::client::RawSftpSession>, bool), String> {
        let mut slot = self.raw.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((r, offered)) = slot.as_ref() {
            return Ok((r.clone(), *offered));
        }
        let (raw, offered) = self.rt.block_on(async {
            let raw = russh_sftp::client::RawSftpSession::new(sftp_channel(&self.handle).await?);
            raw.set_timeout(SFTP_TIMEOUT_SECS);
            let version = raw.init().await.map_err(|e| format!("SFTP failed: {e}"))?;
            let offered = version
                .extensions
                .get(POSIX_RENAME)
                .is_some_and(|v| v == "1");
            Ok::<_, String>((Arc::new(raw), offered))
        })?;
        *slot = Some((raw.clone(), offered));
        Ok((raw, offered))
    }

    /// Changes the bits of a file that is there (a test's hook uses it to alter an upload).
    pub fn overwrite_start(&self, path: &str, bytes: &[u8]) -> Result<(), String> {
        use russh_sftp::protocol::OpenFlags;
        use tokio::io::AsyncWriteExt;
        let sftp = self.sftp()?;
        self.rt.block_on(async {
            let mut file = sftp
                .open_with_flags(path, OpenFlags::WRITE)
                .await
                .map_err(|e| e.to_string())?;
            file.write_all(bytes).await.map_err(|e| e.to_string())?;
            file.shutdown().await.map_err(|e| e.to_string())
        })
    }

    /// Whether the connection has dropped.
    pub fn is_closed(&self) -> bool {
        self.handle.is_closed()
    }

    /// Whether the connection is still open, after giving it a moment to notice a peer that
    /// went away while nothing was asked of it (its reader only runs while an operation does).
    pub fn still_open(&self) -> bool {
        self.rt
            .block_on(async { tokio::time::sleep(Duration::from_millis(10)).await });
        !self.handle.is_closed()
    }

    /// Runs a short read-only command and gives its exit code and output (for lookups).
    pub fn query(&self, line: &str, timeout: Duration) -> Result<(i32, String), String> {
        let mut out = Vec::new();
        let never = AtomicBool::new(false);
        match self.run(line, timeout, &never, &mut |b| out.extend_from_slice(b)) {
            RemoteEnd::Exited(code) => Ok((code, String::from_utf8_lossy(&out).into_owned())),
            RemoteEnd::TimedOut => Err(format!("no answer within {} s", timeout.as_secs())),
            RemoteEnd::Signal(s) => Err(format!("ended by {s}")),
            RemoteEnd::Cancelled => Err("cancelled".into()),
            RemoteEnd::Lost(why) => Err(why),
        }
    }
}

const POSIX_RENAME: &str = "posix-rename@openssh.com";

/// Test hook: with `STEPWISE_TEST_HOLD=STAGE:PATH`, an action that reaches `STAGE` on a host
/// (`write`: before it writes its temporary file; `move`: just before it sends the move into
/// place; `mkdir`: just before it asks for a folder) creates `PATH` and waits (at most a minute) until it is removed, so a test can stall
/// the host at that very moment; with `PATH` `!panic` it panics there instead (what an
/// unexpected error in an action leaves). Without the variable it does nothing.
pub fn hold(stage: &str) {
    let Ok(spec) = std::env::var("STEPWISE_TEST_HOLD") else {
        return;
    };
    let Some((at, path)) = spec.split_once(':') else {
        return;
    };
    if at != stage {
        return;
    }
    if path == "!panic" {
        panic!("STEPWISE_TEST_HOLD asked for a panic at {stage}");
    }
    if std::fs::write(path, stage).is_err() {
        return;
    }
    let start = Instant::now();
    while std::path::Path::new(path).exists() && start.elapsed().as_secs() < 60 {
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A new session channel with the SFTP subsystem started on it, as a stream for an SFTP client.
async fn sftp_channel(
    handle: &client::Handle<Checker>,
) -> Result<russh::ChannelStream<client::Msg>, String> {
    // Given up on when the server does not answer within the SFTP timeout: a host that
    // stopped answering never hangs the walk here.
    let limit = Duration::from_secs(SFTP_TIMEOUT_SECS);
    let late = || format!("no answer within {SFTP_TIMEOUT_SECS} s");
    let channel = tokio::time::timeout(limit, handle.channel_open_session())
        .await
        .map_err(|_| late())?
        .map_err(|e| format!("cannot open a channel: {e}"))?;
    tokio::time::timeout(limit, channel.request_subsystem(true, "sftp"))
        .await
        .map_err(|_| late())?
        .map_err(|e| format!("the server offers no SFTP: {e}"))?;
    Ok(channel.into_stream())
}

fn no_such_file(e: &russh_sftp::client::error::Error) -> bool {
    matches!(e, russh_sftp::client::error::Error::Status(st)
        if st.status_code == russh_sftp::protocol::StatusCode::NoSuchFile)
}

async fn authenticate(
    handle: &mut client::Handle<Checker>,
    target: &HostTarget,
    password: Option<&str>,
    timeout: Duration,
) -> Result<(), ConnectError> {
    let host = target.host.clone();
    let user = target.user.clone();
    let proto = |e: russh::Error| ConnectError::Protocol {
        host: host.clone(),
        why: e.to_string(),
    };
    let failed = |how: String| ConnectError::AuthFailed {
        host: host.clone(),
        user: user.clone(),
        how,
    };
    match target.auth {
        AuthKind::Key => {
            let path = target.key.clone().ok_or_else(|| {
                ConnectError::Local(format!(
                    "{host}: `auth: key` needs `key: FILE` in the inventory"
                ))
            })?;
            let key = load_key(&path)?;
            let hash = tokio::time::timeout(timeout, handle.best_supported_rsa_hash())
                .await
                .map_err(|_| failed("a key: no answer".into()))?
                .map_err(&proto)?
                .flatten();
            let result = tokio::time::timeout(
                timeout,
                handle.authenticate_publickey(
                    user.clone(),
                    PrivateKeyWithHashAlg::new(Arc::new(key), hash),
                ),
            )
            .await
            .map_err(|_| failed(format!("the key {}: no answer", path.display())))?
            .map_err(&proto)?;
            if !result.success() {
                return Err(failed(format!("the key {}", path.display())));
            }
            Ok(())
        }
        AuthKind::Password => {
            let Some(password) = password else {
                return Err(ConnectError::NoPassword { host, user });
            };
            let result = tokio::time::timeout(
                timeout,
                handle.authenticate_password(user.clone(), password),
            )
            .await
            .map_err(|_| failed("a password: no answer".into()))?
            .map_err(&proto)?;
            if !result.success() {
                return Err(failed("a password".into()));
            }
            Ok(())
        }
        AuthKind::Agent => agent_auth(handle, target, timeout).await,
    }
}

#[cfg(unix)]
async fn agent_auth(
    handle: &mut client::Handle<Checker>,
    target: &HostTarget,
    timeout: Duration,
) -> Result<(), ConnectError> {
    let host = target.host.clone();
    let failed = |how: String| ConnectError::AuthFailed {
        host: host.clone(),
        user: target.user.clone(),
        how,
    };
    let mut agent = russh::keys::agent::client::AgentClient::connect_env()
        .await
        .map_err(|e| {
            ConnectError::Local(format!(
                "{host}: `auth: agent` but no SSH agent can be reached (SSH_AUTH_SOCK): {e}"
            ))
        })?;
    let identities = agent
        .request_identities()
        .await
        .map_err(|e| ConnectError::Local(format!("the SSH agent: {e}")))?;
    let hash = handle
        .best_supported_rsa_hash()
        .await
        .ok()
        .flatten()
        .flatten();
    for id in identities {
        let key = id.public_key().into_owned();
        let result = tokio::time::timeout(
            timeout,
            handle.authenticate_publickey_with(target.user.clone(), key, hash, &mut agent),
        )
        .await;
        if let Ok(Ok(r)) = result
            && r.success()
        {
            return Ok(());
        }
    }
    Err(failed("the keys of the SSH agent".into()))
}

#[cfg(not(unix))]
async fn agent_auth(
    _handle: &mut client::Handle<Checker>,
    target: &HostTarget,
    _timeout: Duration,
) -> Result<(), ConnectError> {
    Err(ConnectError::Local(format!(
        "{}: `auth: agent` is not available on this system; use `key: FILE`",
        target.host
    )))
}

fn load_key(path: &Path) -> Result<russh::keys::PrivateKey, ConnectError> {
    russh::keys::load_secret_key(path, None)
        .map_err(|e| ConnectError::Local(format!("cannot use the key {}: {e}", path.display())))
}
