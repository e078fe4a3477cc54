//! The one error type of this crate.

use std::path::PathBuf;

/// Errors from starting clusters and creating test databases.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No PostgreSQL server binaries were found.
    #[error(
        "no postgresql server binaries (initdb, pg_ctl, postgres) in {searched}; \
         install postgresql or set LAVA_PG_BINDIR"
    )]
    NoPostgres {
        /// Where we looked.
        searched: String,
    },
    /// A file system operation failed.
    #[error("cannot {action} {path}: {source}")]
    Io {
        /// What we tried ("create directory", "chown", …).
        action: &'static str,
        /// The file or directory it was tried on.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// A command could not be started at all.
    #[error("cannot run {command}: {source}")]
    Spawn {
        /// The program and its arguments.
        command: String,
        /// Why it did not start (the program is missing, or not executable, …).
        #[source]
        source: std::io::Error,
    },
    /// A command ran and failed.
    #[error("{command} failed ({status}):\n{output}")]
    Command {
        /// The program and its arguments.
        command: String,
        /// Its exit status, or the signal that ended it.
        status: std::process::ExitStatus,
        /// The tail of its output, or of the server log.
        output: String,
    },
    /// A command's output, which its caller reads as text, was not UTF-8.
    #[error("{command} printed what is not UTF-8: {source}")]
    NotUtf8 {
        /// The program and its arguments.
        command: String,
        /// Where the bytes stopped being UTF-8.
        #[source]
        source: std::string::FromUtf8Error,
    },
    /// The socket path would not fit into `sockaddr_un`.
    #[error(
        "unix socket path {path}/.s.PGSQL.5432 is {len} bytes, longer than the {max} the kernel \
         accepts; use a shorter directory"
    )]
    SocketPathTooLong {
        /// The socket directory.
        path: PathBuf,
        /// The length of the socket file's path.
        len: usize,
        /// The longest accepted path.
        max: usize,
    },
    /// The user that runs the server cannot reach the cluster directory.
    #[error(
        "{path} is not reachable by user {user} (uid {uid}), who runs postgresql because initdb \
         refuses root; put the cluster under a directory every user may traverse, such as /tmp"
    )]
    Unreachable {
        /// The cluster directory.
        path: PathBuf,
        /// The user's name.
        user: String,
        /// The user's uid.
        uid: u32,
    },
    /// Another process held the lock on the test image's directory for too long.
    #[error(
        "waited {waited:?} for {path}, the lock of another build of the test image; remove it \
         if no create-kvm-image runs"
    )]
    ImageLock {
        /// The lock directory.
        path: PathBuf,
        /// How long we waited.
        waited: std::time::Duration,
    },
    /// A daemon of the fake board lab exited or did not become ready in time.
    #[error("{what} did not start: {reason}; its log {log}:\n{output}")]
    NotReady {
        /// The daemon ("ser2net", "pdudaemon", …).
        what: String,
        /// Why we gave up: its exit status, or the timeout.
        reason: String,
        /// Its log file.
        log: PathBuf,
        /// The log's content.
        output: String,
    },
    /// A board file is not a usable image.
    #[error("{path} is not a usable board image: {reason}")]
    BadImage {
        /// The image file given for the board.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A path the U-Boot board would write into scripts and daemon configuration unquoted.
    #[error(
        "{path}: the board needs an absolute path of letters, digits and '/._+@=-' only \
         (it goes unquoted into shell scripts, pdudaemon's JSON and QEMU options)"
    )]
    UnsafePath {
        /// The path refused.
        path: PathBuf,
    },
    /// The board's console socket path would not fit into `sockaddr_un`.
    #[error(
        "unix socket path {path} is {len} bytes, longer than the {max} the kernel accepts; \
         use a shorter board directory"
    )]
    BoardSocketTooLong {
        /// The socket's path.
        path: PathBuf,
        /// Its length.
        len: usize,
        /// The longest accepted path.
        max: usize,
    },
    /// A board already runs in the directory.
    #[error("a board runs in {dir} already (pids {pids:?}); stop it with `lava-lab board stop`")]
    BoardRunning {
        /// The board directory.
        dir: PathBuf,
        /// The pids of its processes that still run (QEMU, ser2net, …).
        pids: Vec<u32>,
    },
    /// The directory holds files no board made.
    #[error(
        "{dir} holds files that no board made ({found:?}); give a new or empty directory, \
         because stopping a board removes what it made there"
    )]
    NotABoardDir {
        /// The directory given for the board.
        dir: PathBuf,
        /// What is in it.
        found: Vec<PathBuf>,
    },
    /// A name that cannot be used.
    #[error("{0}")]
    BadName(String),
    /// Something a test needs from Debian's archive is not there.
    #[error("missing: {what}")]
    Missing {
        /// What, and where it was expected.
        what: String,
    },
    /// A program or file the board needs is missing.
    #[error("{tool} not found: install Debian's package {package}")]
    MissingTool {
        /// The program or file.
        tool: String,
        /// The package that provides it.
        package: String,
    },
    /// The board was started without root.
    #[error(
        "the U-Boot QEMU board needs root: it creates a network namespace for its TFTP \
         server (unshare --net) and tftpd-hpa chroots into the TFTP root"
    )]
    NeedsRoot,
    /// A temporary board was asked to outlive its owner.
    #[error("a board in a temporary directory cannot be detached: give it a directory")]
    TemporaryBoard,
    /// No `pduclient` was built where tests look for it.
    #[error(
        "no pduclient at {looked:?}: build it with `cargo build -p lava-dispatcher --bin \
         pduclient` (make test and make build do) or set LAVA_PDUCLIENT"
    )]
    NoPduclient {
        /// Where we looked.
        looked: Vec<PathBuf>,
    },
    /// A device or device-type file could not be read.
    #[error(transparent)]
    Conf(#[from] lava_common::conf::ConfError),
    /// A boot command set is unusable.
    #[error("{0}")]
    BootCommands(String),
    /// Driving a board's console failed (a wait ran out, ser2net closed, i/o).
    #[error(transparent)]
    Console(#[from] crate::ConsoleError),
    /// The per-process shared cluster failed to start (earlier, in another test).
    #[error("the shared test cluster failed to start: {0}")]
    SharedCluster(String),
    /// Connecting or migrating through `lava-db` failed.
    #[error(transparent)]
    Db(#[from] lava_db::Error),
    /// A statement of the kit's own (creating or dropping a test database) failed.
    #[error("database error: {0}")]
    Postgres(#[from] tokio_postgres::Error),
}

impl Error {
    /// Wraps an I/O error with the action and the path it concerned.
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io {
            action,
            path,
            source,
        }
    }
}
