//! The command line of `lava-server`, and of `add_device.py` (the same binary by another name).
//!
//! A crate of its own so that `lava-dev man` can render these definitions to man pages
//! without linking the server (its web stack and database code); only clap and the typed ids
//! of `lava-common` come with it.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use lava_common::ids::{DeviceName, DeviceTypeName, JobId, WorkerName};

/// LAVA server: the web app and APIs, the scheduler, and the administration commands.
#[derive(Debug, Parser)]
#[command(name = "lava-server", version, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Administration commands: database, fixtures, devices, users, tokens, workers.
    #[command(subcommand)]
    Manage(Manage),
    /// The web app and APIs; the lava-server Apache site starts it (--under-apache) and
    /// proxies to it.
    Web {
        /// Where to listen (default: web.listen from the settings, 127.0.0.1:8000).
        #[arg(long, value_name = "ADDR")]
        listen: Option<std::net::SocketAddr>,
        /// Run as Apache's child, started by the lava-server site as a piped log: become
        /// --user, drop the log lines on standard input and stop when it closes, wait for the
        /// port, give requests in flight 10 s after a stop.
        #[arg(long)]
        under_apache: bool,
        /// With --under-apache: the user to run as (Apache starts its piped logs as root).
        #[arg(long, value_name = "USER", requires = "under_apache")]
        user: Option<String>,
    },
    /// The scheduler (the lava-server service); a second instance waits as a hot standby.
    Scheduler {
        /// A worker silent for this many seconds is offline and its jobs end incomplete.
        #[arg(long, value_name = "SECONDS", default_value_t = 60)]
        worker_timeout: u64,
        /// Cancel jobs queued for longer than this many hours.
        #[arg(long, value_name = "HOURS")]
        queue_timeout: Option<f64>,
        /// Seconds between passes when nothing wakes the scheduler.
        #[arg(long, value_name = "SECONDS", default_value_t = 20)]
        interval: u64,
    },
}

/// `lava-server manage import-lava`.
#[derive(Debug, clap::Args)]
pub struct ImportLava {
    /// LAVA's dispatcher-config directory (`/etc/lava-server/dispatcher-config` on the old
    /// server): `devices/*.jinja2`, `device-types/*.jinja2`, `health-checks/*.yaml`.
    #[arg(long, value_name = "DIR")]
    pub dispatcher_config: PathBuf,
    /// LAVA's per-worker files (`/etc/lava-server/dispatcher.d`): `WORKER/dispatcher.yaml`
    /// and `WORKER/env.yaml` (default: `dispatcher.d` beside the dispatcher-config
    /// directory, when it exists).
    #[arg(long, value_name = "DIR")]
    pub dispatcher_d: Option<PathBuf>,
    /// The old server's `lava-server manage dumpdata` output (JSON), read as a stream.
    #[arg(long, value_name = "FILE.json")]
    pub dump: Option<PathBuf>,
    /// Also import the finished jobs (with LAVA's ids) and their test results from the dump.
    #[arg(long)]
    pub with_history: bool,
    /// With --with-history: LAVA's job output directory
    /// (`/var/lib/lava-server/default/media/job-output` on the old server, or a copy), whose
    /// `YYYY/MM/DD/ID/output.yaml` (or `.xz`) logs are copied into this server's log store
    /// for the imported jobs that have no log here yet. A missing log is counted, not fatal.
    #[arg(long, value_name = "DIR", requires = "with_history")]
    pub job_output: Option<PathBuf>,
    /// Print what would change and change nothing (the changes are made in a transaction
    /// that is then rolled back, so the counts are exact).
    #[arg(long)]
    pub dry_run: bool,
}

/// `lava-server manage …`.
#[derive(Debug, Subcommand)]
pub enum Manage {
    /// Create or upgrade the database schema (safe to run again).
    Migrate,
    /// Load fixtures: JSON lists of {model, pk, fields} records, all in one transaction.
    Loaddata {
        /// Fixture files (LAVA's model and field names).
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
    },
    /// Bring a LAVA 2023 lab over: its dispatcher-config tree (device dictionaries,
    /// device-type templates, health checks), its workers' dispatcher.d files and, from a
    /// `lava-server manage dumpdata` dump, its users, groups, tags, aliases, device types,
    /// workers and devices. Prints each change; running it again changes nothing.
    ImportLava(ImportLava),
    /// Print the database as a fixture (JSON) on standard output.
    Dumpdata {
        /// Models to dump, e.g. lava_scheduler_app.device (default: all).
        #[arg(value_name = "MODEL")]
        models: Vec<String>,
        /// Indent the JSON by this many spaces.
        #[arg(long, value_name = "N")]
        indent: Option<usize>,
    },
    /// Submit a job (JSON or YAML) and print its id.
    Submit {
        /// The job definition.
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// The submitting user (default: none).
        #[arg(long, value_name = "NAME")]
        user: Option<String>,
    },
    /// List, show, cancel and remove jobs.
    #[command(subcommand)]
    Jobs(Jobs),
    /// Add a device of a known type: database row and /etc/lava-dispatcher/devices/NAME.conf.
    AddDevice(AddDevice),
    /// List, add and show device types; set their health check job.
    #[command(subcommand, name = "device-types")]
    DeviceTypes(DeviceTypes),
    /// List and show devices, set their health or worker, list claims, manage their tags.
    #[command(subcommand)]
    Devices(Devices),
    /// Bundle streams (where results are filed).
    #[command(subcommand)]
    Streams(Streams),
    /// User accounts.
    #[command(subcommand)]
    Users(Users),
    /// API tokens of users (for REST and lavacli).
    #[command(subcommand)]
    Tokens(Tokens),
    /// Workers (hosts running lava-dispatcher).
    #[command(subcommand)]
    Workers(Workers),
    /// Failure tags: a lab's names for why jobs fail, put on jobs by staff.
    #[command(subcommand, name = "failure-tags")]
    FailureTags(FailureTags),
}

/// `manage failure-tags …`.
#[derive(Debug, Subcommand)]
pub enum FailureTags {
    /// List failure tags: id, name, description.
    List(Format),
    /// Add a failure tag and print its id.
    Add {
        /// Its name ("bootloader-hang").
        name: String,
        /// What it means.
        #[arg(long, default_value = "")]
        description: String,
    },
    /// Remove a failure tag (it is taken off every job).
    Rm {
        /// The tag's name, as `list` shows it.
        name: String,
    },
    /// Set a job's failure tags (replacing those it had; none clears them) and, with
    /// --comment, its failure comment.
    Set {
        /// The id of the job to tag.
        job: JobId,
        /// Tag names.
        tags: Vec<String>,
        /// The failure comment to set.
        #[arg(long, value_name = "TEXT")]
        comment: Option<String>,
    },
}

/// Arguments of `add-device` / `add_device.py`, named as the seed names them.
#[derive(Debug, Clone, Args)]
pub struct AddDevice {
    /// The device type; /etc/lava-dispatcher/device-types/TYPE.conf must exist.
    #[arg(value_name = "TYPE")]
    pub device_type: DeviceTypeName,
    /// The new device's hostname.
    #[arg(value_name = "NAME")]
    pub name: DeviceName,
    /// ser2net telnet port: adds connection_command = telnet localhost PORT.
    #[arg(short = 't', long = "telnetport", value_name = "PORT")]
    pub telnet_port: Option<u16>,
    /// PDU port: adds hard_reset_command and power_off_cmd using pduclient.
    #[arg(short = 'p', long = "pduport", value_name = "PDUPORT")]
    pub pdu_port: Option<u16>,
    /// Create the /anonymous/lab-health/ bundle stream if no stream exists.
    #[arg(short = 'b', long = "bundlestream")]
    pub bundle_stream: bool,
    /// Print what would be done and change nothing.
    #[arg(short = 's', long = "simulate")]
    pub simulate: bool,
}

/// `add_device.py TYPE NAME …`: the seed's helper name for `manage add-device`.
#[derive(Debug, Parser)]
#[command(
    name = "add_device.py",
    version,
    about = "Add a device of a known type to this LAVA instance (database row and device config file)"
)]
pub struct AddDeviceCli {
    /// The arguments.
    #[command(flatten)]
    pub args: AddDevice,
}

/// Output format of list and show commands.
#[derive(Debug, Clone, Copy, Args)]
pub struct Format {
    /// Print JSON instead of one tab-separated record per line.
    #[arg(long)]
    pub json: bool,
}

/// `manage device-types …`.
#[derive(Debug, Subcommand)]
pub enum DeviceTypes {
    /// List device types: name, devices, health check set (yes/no).
    List(Format),
    /// Add a device type.
    Add {
        /// The name jobs give as `device_type`.
        name: DeviceTypeName,
        /// Free text.
        #[arg(long, default_value = "")]
        description: String,
    },
    /// Show one device type, with its health check job.
    Show {
        /// The device type's name, as `list` shows it.
        name: DeviceTypeName,
        /// `--json`: JSON instead of tab-separated records.
        #[command(flatten)]
        format: Format,
    },
    /// Set the type's health check job from a file (the seed's kvm-health.json).
    SetHealthCheck {
        /// The device type.
        #[arg(value_name = "TYPE")]
        name: DeviceTypeName,
        /// The job definition (JSON or YAML).
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
}

/// `manage devices …`.
#[derive(Debug, Subcommand)]
pub enum Devices {
    /// List devices: hostname, type, state, health, worker (retired ones with --all).
    List {
        /// Include retired devices.
        #[arg(long)]
        all: bool,
        /// `--json`: JSON instead of tab-separated records.
        #[command(flatten)]
        format: Format,
    },
    /// Show one device, with its recent health changes.
    Show {
        /// Its hostname.
        name: DeviceName,
        /// `--json`: JSON instead of tab-separated records.
        #[command(flatten)]
        format: Format,
    },
    /// Change a device's health (good, unknown, looping, bad, maintenance, retired).
    SetHealth {
        /// Its hostname.
        #[arg(value_name = "HOSTNAME")]
        name: DeviceName,
        /// The new health.
        health: String,
        /// Why (recorded with the change).
        #[arg(long, required = true)]
        reason: String,
    },
    /// Assign a device to the worker that runs it (a worker's own report does that only for a
    /// worker a superuser approved; see `workers approve`).
    SetWorker {
        /// The device's hostname.
        #[arg(value_name = "HOSTNAME")]
        name: DeviceName,
        /// The worker's hostname.
        #[arg(required_unless_present = "none")]
        worker: Option<WorkerName>,
        /// Assign the device to no worker.
        #[arg(long, conflicts_with = "worker")]
        none: bool,
    },
    /// List pending claims: devices that workers report but are not assigned to them
    /// (device, reporting worker, assigned worker, first and last report).
    Claims(Format),
    /// List, add or remove a device's tags (jobs that ask for tags run only on devices with
    /// all of them).
    #[command(subcommand)]
    Tags(DeviceTags),
}

/// `manage devices tags …`.
#[derive(Debug, Subcommand)]
pub enum DeviceTags {
    /// List a device's tags.
    List {
        /// The device's hostname.
        #[arg(value_name = "HOSTNAME")]
        name: String,
        /// `--json`: JSON instead of tab-separated records.
        #[command(flatten)]
        format: Format,
    },
    /// Put a tag on a device (the tag is created when it is new).
    Add {
        /// The device's hostname.
        #[arg(value_name = "HOSTNAME")]
        name: String,
        /// The tag's name, as jobs ask for it in `tags`.
        tag: String,
    },
    /// Take a tag off a device.
    Delete {
        /// The device's hostname.
        #[arg(value_name = "HOSTNAME")]
        name: String,
        /// The tag's name, as `list` shows it.
        tag: String,
    },
}

/// `manage streams …`.
#[derive(Debug, Subcommand)]
pub enum Streams {
    /// List bundle streams: pathname, bundles, public, anonymous.
    List(Format),
    /// Add a bundle stream, e.g. /anonymous/lab-health/.
    Add {
        /// The pathname (starts and ends with /).
        pathname: String,
        /// Display name (default: the last path element).
        #[arg(long)]
        name: Option<String>,
        /// Owner's username.
        #[arg(long)]
        user: Option<String>,
        /// Readable only by its owner.
        #[arg(long)]
        private: bool,
    },
}

/// `manage users …`.
#[derive(Debug, Subcommand)]
pub enum Users {
    /// Add a user.
    Add {
        /// The login name.
        name: String,
        /// E-mail address.
        #[arg(long, default_value = "")]
        email: String,
        /// May use the admin interface.
        #[arg(long)]
        staff: bool,
        /// Has every permission (implies --staff).
        #[arg(long)]
        superuser: bool,
        /// Read the password from standard input (first line); without it the user has no
        /// password login and uses API tokens only.
        #[arg(long)]
        password_stdin: bool,
    },
    /// List users: username, email, staff, superuser, active.
    List(Format),
}

/// `manage tokens …`.
#[derive(Debug, Subcommand)]
pub enum Tokens {
    /// Create an API token for a user and print it (it is shown only this once).
    Add {
        /// The owner.
        #[arg(long, value_name = "NAME")]
        user: String,
        /// What the token is for.
        #[arg(long, default_value = "")]
        description: String,
    },
    /// List tokens (never their secrets): id, user, created, last used, description.
    List {
        /// Only this user's tokens.
        #[arg(long, value_name = "NAME")]
        user: Option<String>,
        /// `--json`: JSON instead of tab-separated records.
        #[command(flatten)]
        format: Format,
    },
    /// Remove a token by id.
    Rm {
        /// The token's id, from `tokens list`.
        id: i64,
    },
}

/// `manage workers …`.
#[derive(Debug, Subcommand)]
pub enum Workers {
    /// List workers: hostname, state, health, devices, last seen.
    List(Format),
    /// Add a worker and print its token (shown only this once).
    Add {
        /// The worker's hostname.
        name: WorkerName,
        /// Free text.
        #[arg(long, default_value = "")]
        description: String,
    },
    /// Remove a worker and its token (its devices stay, without a worker). The `lava`
    /// package's purge removes the local worker it registered this way.
    Remove {
        /// The worker's hostname.
        name: String,
        /// Succeed when there is no such worker.
        #[arg(long)]
        if_exists: bool,
    },
    /// Approve a worker: the `.conf` files it reports then take idle devices that have no
    /// worker, or whose worker no longer reports them (a `.conf` moved between workers).
    Approve {
        /// The worker's hostname.
        name: WorkerName,
        /// Withdraw the approval instead (devices it already has stay assigned).
        #[arg(long)]
        revoke: bool,
    },
}

/// `manage jobs …`.
#[derive(Debug, Subcommand)]
pub enum Jobs {
    /// List jobs, newest first: id, state, health, device, name.
    List {
        /// Only jobs in this state (submitted, scheduled, running, canceling, finished).
        #[arg(long)]
        state: Option<String>,
        /// How many.
        #[arg(long, default_value_t = 50)]
        limit: i64,
        /// `--json`: JSON instead of tab-separated records.
        #[command(flatten)]
        format: Format,
    },
    /// Show a job with its test case counts and log path.
    Show {
        /// The job id.
        id: JobId,
        /// `--json`: JSON instead of tab-separated records.
        #[command(flatten)]
        format: Format,
    },
    /// Cancel a job (queued: at once; scheduled or running: through its worker).
    Cancel {
        /// The job id.
        id: JobId,
        /// Why (recorded).
        #[arg(long, default_value = "canceled by an admin")]
        reason: String,
    },
    /// Delete finished jobs that ended more than DAYS days ago, with their logs and test
    /// results, in batches of short transactions; prints progress and totals.
    Rm {
        /// Jobs that ended more than this many days ago (at least 1).
        #[arg(
            long = "older-than",
            value_name = "DAYS",
            allow_negative_numbers = true
        )]
        older_than: i64,
        /// Print what would be deleted, and delete nothing.
        #[arg(long)]
        dry_run: bool,
        /// Jobs per transaction.
        #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(i64).range(1..=100_000))]
        batch: i64,
    },
}
