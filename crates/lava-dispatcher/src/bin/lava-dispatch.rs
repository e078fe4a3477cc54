//! `lava-dispatch`: runs one job on one device, here and now, as the seed-era tool did.
//!
//! The log goes to `OUTPUT/output.yaml` and to stdout. Exit status: 0 complete, 1
//! incomplete, 2 bad arguments or job definition, 3 canceled (SIGTERM/SIGINT).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use clap::Parser;
use lava_common::conf::{ConfFile, DeviceConfig, device_type_path};
use lava_common::device::{DICTIONARY_EXTENSION, DeviceSource};
use lava_common::dispatcher_settings::DispatcherSettings;
use lava_common::host_paths::HostPaths;
use lava_common::log::SecretMask;
use lava_dispatcher::job::{self, JobOptions};
use lava_dispatcher::joblog::JobLog;
use lava_dispatcher::worker::devices;

/// Run one LAVA job (seed-era JSON or LAVA YAML) on a device, locally.
#[derive(Debug, Parser)]
#[command(name = "lava-dispatch", version)]
struct Args {
    /// The device's configuration file: a `.conf` (its type is read from `../device-types/`
    /// next to it when that exists, else from /etc/lava-dispatcher/device-types/) or a LAVA
    /// device dictionary `.jinja2` (its templates are looked for beside it, in
    /// `../device-types/`, then /etc/lava-dispatcher/device-types/,
    /// /etc/lava-server/dispatcher-config/device-types/ and /usr/share/lava-server/device-types/).
    #[arg(long, value_name = "FILE", conflicts_with = "device_name")]
    device: Option<PathBuf>,
    /// A device configured in /etc/lava-dispatcher/devices/NAME.conf or NAME.jinja2.
    #[arg(long, value_name = "NAME")]
    device_name: Option<String>,
    /// Print the device YAML the dictionary renders to with the job's context (LAVA's
    /// `device-dictionary --review`) and exit, without running the job.
    #[arg(long)]
    render_device: bool,
    /// Where output.yaml (and the job's working files) go.
    #[arg(long, value_name = "DIR", default_value = ".")]
    output_dir: PathBuf,
    /// The job id used on the target (/lava-ID) and in the log.
    #[arg(long, default_value = "local")]
    job_id: String,
    /// Do not copy the log to stdout.
    #[arg(long)]
    quiet: bool,
    /// A JSON object of the job's secret values (name to value), for a definition whose
    /// `secrets` block shows them masked (as the server stores it). The worker writes this
    /// file; values never go on a command line.
    #[arg(long, value_name = "FILE")]
    secrets: Option<PathBuf>,
    /// The job definition (JSON or YAML).
    #[arg(value_name = "JOB")]
    job: PathBuf,
}

/// The directory whose `device-types/` holds the type of a device file given by path.
fn dispatcher_etc_for(device_file: &Path, host: &HostPaths) -> anyhow::Result<PathBuf> {
    let conf = ConfFile::read(device_file)?;
    let dt = conf.get("device_type").unwrap_or_default().to_string();
    if let Some(beside) = device_file.parent().and_then(Path::parent)
        && device_type_path(beside, &dt).is_file()
    {
        return Ok(beside.to_path_buf());
    }
    Ok(host.dispatcher_etc.clone())
}

fn is_dictionary(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == DICTIONARY_EXTENSION)
}

/// Where a dictionary's device-type templates are looked for: `../device-types/` beside it
/// (as for a `.conf`), then the host's places.
fn template_dirs(dictionary: &Path, host: &HostPaths) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    let host_types = host.dispatcher_etc.join("device-types");
    if let Some(beside) = dictionary.parent().and_then(Path::parent) {
        let types = beside.join("device-types");
        if types.is_dir() && types != host_types {
            dirs.push(types);
        }
    }
    dirs.extend(lava_common::jinja::search_path(host));
    dirs
}

fn load_device(args: &Args, host: &HostPaths) -> anyhow::Result<DeviceSource> {
    let file = match (&args.device, &args.device_name) {
        (Some(file), _) => file.clone(),
        // The device as the worker names it: a `.conf` whose hostname is NAME, or NAME.jinja2
        // (else NAME.conf, whose error names the file).
        (None, Some(name)) => {
            let scan = devices::scan(host);
            match scan.file_of(name) {
                Some(file) => file.to_path_buf(),
                None => {
                    if let Some((file, why)) = scan
                        .invalid
                        .iter()
                        .find(|(f, _)| f.starts_with(&format!("{name}.")))
                    {
                        bail!("device {name}: {file} is left out: {why}");
                    }
                    lava_common::conf::check_name("device", name)?;
                    host.device_conf(name)
                }
            }
        }
        (None, None) => bail!("name the device with --device FILE or --device-name NAME"),
    };
    let accel = std::env::var("LAVA_QEMU_ACCEL")
        .ok()
        .filter(|a| !a.is_empty());
    if is_dictionary(&file) {
        let mut source = DeviceSource::dictionary(&file, &template_dirs(&file, host))?;
        // LAVA_QEMU_ACCEL=tcg: LAVA's templates say it with `no_kvm` (no -enable-kvm, no
        // -cpu host), whatever the job's context says.
        match accel.as_deref() {
            None => {}
            Some("tcg") => {
                source.force_context("no_kvm", serde_json::Value::Bool(true));
            }
            Some(other) => bail!(
                "LAVA_QEMU_ACCEL={other}: a device dictionary takes only tcg (its templates' no_kvm)"
            ),
        }
        return Ok(source);
    }
    let mut device = DeviceConfig::load_file(&dispatcher_etc_for(&file, host)?, &file)?;
    // LAVA_QEMU_ACCEL=tcg forces emulation where /dev/kvm exists but is unusable.
    if let Some(accel) = accel {
        let mut layer = ConfFile::new("LAVA_QEMU_ACCEL (environment)");
        layer.set("qemu_accel", &accel)?;
        device.overlay(&layer);
    }
    for key in device.unknown_keys() {
        tracing::debug!(key, "device setting not used by this dispatcher");
    }
    Ok(DeviceSource::Conf(device))
}

/// The most a `--secrets` file may hold.
const MAX_SECRETS_FILE: u64 = 1024 * 1024;

/// The values of a `--secrets` file (a JSON object of strings, each on one line).
fn read_secrets(file: &Path) -> anyhow::Result<std::collections::BTreeMap<String, String>> {
    use std::io::Read as _;
    let mut text = String::new();
    std::fs::File::open(file)
        .and_then(|f| f.take(MAX_SECRETS_FILE + 1).read_to_string(&mut text))
        .with_context(|| format!("cannot read {}", file.display()))?;
    if text.len() as u64 > MAX_SECRETS_FILE {
        bail!("{}: larger than {MAX_SECRETS_FILE} bytes", file.display());
    }
    let values: std::collections::BTreeMap<String, String> =
        serde_json::from_str(&text).map_err(|e| {
            // serde_json's message is left out: it may quote a value.
            anyhow::anyhow!(
                "{}: line {}: not a JSON object of strings",
                file.display(),
                e.line()
            )
        })?;
    if let Some(name) = values
        .iter()
        .find(|(_, v)| v.contains(['\n', '\r']))
        .map(|(k, _)| k)
    {
        bail!("{}: secret '{name}' spans lines", file.display());
    }
    Ok(values)
}

async fn run(args: Args) -> anyhow::Result<ExitCode> {
    // Paths only: a job runs on the worker host, which needs none of the server's settings.
    let host = HostPaths::load()?;
    let dispatcher_settings = DispatcherSettings::load(&host)?;
    let device = load_device(&args, &host)?;
    let text = std::fs::read_to_string(&args.job)
        .with_context(|| format!("cannot read {}", args.job.display()))?;
    let mut plan = match lava_common::job::parse_job(&text) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("lava-dispatch: {}: {e}", args.job.display());
            return Ok(ExitCode::from(2));
        }
    };
    if let Some(file) = &args.secrets {
        for (name, value) in read_secrets(file)? {
            let Some(slot) = plan.secrets.get_mut(&name) else {
                bail!(
                    "{}: secret '{name}' is not in the job's secrets block",
                    file.display()
                );
            };
            *slot = value;
        }
    }
    if args.render_device {
        let DeviceSource::Dictionary(d) = &device else {
            bail!("--render-device needs a device dictionary (.jinja2)");
        };
        print!("{}", d.render(&plan.context)?);
        return Ok(ExitCode::SUCCESS);
    }
    std::fs::create_dir_all(&args.output_dir)
        .with_context(|| format!("cannot create {}", args.output_dir.display()))?;
    let log_path = args.output_dir.join("output.yaml");
    let log = JobLog::create(&log_path, !args.quiet)
        .with_context(|| format!("cannot create {}", log_path.display()))?
        .masking(SecretMask::new(plan.secrets.values().cloned()));
    let workdir = args.output_dir.join("work");
    let cache_dir = match std::env::var_os("LAVA_DISPATCHER_CACHE") {
        Some(d) => PathBuf::from(d),
        None => host.cache_dir(),
    };
    let (cancel_tx, cancel) = tokio::sync::watch::channel(false);
    // The handlers are installed here, before the job starts, so a SIGTERM at any moment
    // cancels through finalize rather than killing the process outright.
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
    let mut int = signal(SignalKind::interrupt()).context("cannot handle SIGINT")?;
    tokio::spawn(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
        let _ = cancel_tx.send(true);
    });
    let opts = JobOptions {
        job_id: args.job_id.clone(),
        device,
        settings: dispatcher_settings,
        workdir: workdir.clone(),
        cache_dir,
    };
    let outcome = job::run(&plan, opts, log.clone(), cancel).await;
    let _ = std::fs::remove_dir_all(&workdir);
    if let Err(e) = log.finish() {
        eprintln!("lava-dispatch: cannot write {}: {e}", log_path.display());
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::from(outcome.exit_code()))
}

fn main() -> ExitCode {
    let args = Args::parse();
    lava_dispatcher::startup::init_tracing("warn");
    lava_dispatcher::startup::restrict_umask();
    let runtime = match lava_dispatcher::startup::runtime("lava-dispatch") {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("lava-dispatch: error: {e:#}");
            ExitCode::from(2)
        }
    }
}
