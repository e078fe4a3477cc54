//! `lava-lab soak`: a simulated lab under load. The real web app, scheduler and workers over a
//! private PostgreSQL, N `dummy` devices over W workers, J jobs submitted through REST from C
//! concurrent clients; a worker and the scheduler are killed hard and started again while
//! jobs run. Then the figures (`bench:` lines) and the assertions of [`check`].

mod check;
mod client;
mod lab;
mod stack;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use chrono::Utc;

use check::Crash;
use client::{Rest, fan_out};
use lab::Lab;

/// Run a simulated lab under load and check it lost nothing.
#[derive(Debug, clap::Args)]
pub struct SoakArgs {
    /// Dummy devices (a sandboxed shell each, see examples/device-types/dummy.conf).
    #[arg(long, default_value_t = 50)]
    devices: usize,
    /// Workers (`lava-dispatcher worker` processes); the devices are dealt out among them.
    #[arg(long, default_value_t = 2)]
    workers: usize,
    /// Jobs to submit.
    #[arg(long, default_value_t = 2000)]
    jobs: usize,
    /// Concurrent REST clients submitting (and reading back).
    #[arg(long, default_value_t = 4)]
    clients: usize,
    /// Numbered lines each job's test writes, then looked for in its stored log.
    #[arg(long, default_value_t = 20)]
    lines: usize,
    /// Do not kill and restart worker-0 and the scheduler during the soak.
    #[arg(long)]
    no_crash: bool,
    /// The lab's directory, new or empty, kept at the end; by default a temporary one, removed
    /// at the end.
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Where lava-server, lava-dispatcher and lava-dispatch are [default: this program's
    /// directory].
    #[arg(long)]
    bin_dir: Option<PathBuf>,
    /// Give up when the jobs are not all finished after this many seconds.
    #[arg(long, default_value_t = 3600)]
    timeout: u64,
}

/// The definition of soak job `n`: a minimal boot and a test that prints `lines` numbered
/// lines.
fn definition(n: usize, lines: usize) -> String {
    let prefix = check::PREFIX;
    format!(
        "job_name: soak-{n}\ndevice_type: dummy\nvisibility: public\npriority: medium\n\
         timeouts:\n  job: {{minutes: 5}}\nactions:\n- boot:\n    method: minimal\n- test:\n    \
         definitions:\n    - from: inline\n      name: soak\n      path: inline/soak.yaml\n      \
         repository:\n        metadata: {{format: Lava-Test Test Definition 1.0, name: soak}}\n        \
         run:\n          steps:\n          - 'i=1; while [ $i -le {lines} ]; do echo \"{prefix}$i\"; i=$((i+1)); done'\n"
    )
}

pub fn run(args: SoakArgs) -> anyhow::Result<()> {
    if args.devices == 0 || args.workers == 0 || args.jobs == 0 || args.clients == 0 {
        bail!("--devices, --workers, --jobs and --clients must each be at least 1");
    }
    if args.workers > args.devices {
        bail!(
            "--workers {} is more than --devices {}: a worker without devices",
            args.workers,
            args.devices
        );
    }
    let bin = match &args.bin_dir {
        Some(b) => b.clone(),
        None => std::env::current_exe()?
            .parent()
            .context("this program has no directory")?
            .to_path_buf(),
    };
    for b in ["lava-server", "lava-dispatcher", "lava-dispatch"] {
        if !bin.join(b).is_file() {
            bail!(
                "{} is missing: build the binaries first (cargo build --bins) or give --bin-dir",
                bin.join(b).display()
            );
        }
    }
    let mut bwrap = std::process::Command::new("bwrap");
    bwrap.arg("--version");
    if stack::output(bwrap).is_err() {
        bail!("bwrap is missing: the dummy device type needs Debian's bubblewrap package");
    }
    let temp;
    let dir = match &args.dir {
        Some(d) => {
            std::fs::create_dir_all(d)?;
            if std::fs::read_dir(d)?.next().is_some() {
                bail!(
                    "--dir {} is not empty: a soak starts from a new lab",
                    d.display()
                );
            }
            d.clone()
        }
        None => {
            temp = tempfile::Builder::new().prefix("lava-soak-").tempdir()?;
            temp.path().to_path_buf()
        }
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let interrupted = on_signals(&rt)?;
    let mut lab = Lab::start(&dir, &bin, args.devices, args.workers, &rt)?;
    let result = soak(&args, &mut lab, &rt, &interrupted);
    if result.is_err() {
        eprintln!("soak: the lab's logs are in {}", dir.join("logs").display());
    }
    drop(lab);
    result
}

/// A flag set by SIGINT or SIGTERM: the soak then stops, and its lab with it (the daemons
/// lead process groups of their own, so the signal reaches the soak alone).
fn on_signals(rt: &tokio::runtime::Runtime) -> anyhow::Result<Arc<AtomicBool>> {
    use tokio::signal::unix::{SignalKind, signal};
    let flag = Arc::new(AtomicBool::new(false));
    let _inside = rt.enter();
    for kind in [SignalKind::interrupt(), SignalKind::terminate()] {
        let mut signals = signal(kind).context("cannot handle SIGINT and SIGTERM")?;
        let flag = flag.clone();
        rt.spawn(async move {
            if signals.recv().await.is_some() {
                flag.store(true, Ordering::SeqCst);
            }
        });
    }
    Ok(flag)
}

fn soak(
    args: &SoakArgs,
    lab: &mut Lab,
    rt: &tokio::runtime::Runtime,
    interrupted: &AtomicBool,
) -> anyhow::Result<()> {
    let clients = (0..args.clients)
        .map(|_| Rest::new(&lab.url, &lab.token))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let (jobs, lines) = (args.jobs, args.lines);
    eprintln!(
        "soak: {} devices, {} workers, {jobs} jobs from {} clients",
        args.devices, args.workers, args.clients
    );
    let started = Instant::now();
    let cs = clients.clone();
    let submitting = rt.spawn(async move {
        fan_out(&cs, jobs, move |c, n| async move {
            c.submit(&definition(n, lines)).await
        })
        .await
    });

    let progress = &clients[0];
    let mut crashes: Vec<Crash> = Vec::new();
    let plan: Vec<(usize, &str)> = if args.no_crash {
        Vec::new()
    } else {
        vec![(jobs / 3, "worker-0"), (2 * jobs / 3, "scheduler")]
    };
    let deadline = started + Duration::from_secs(args.timeout);
    let mut last_report = Instant::now();
    loop {
        if interrupted.load(Ordering::SeqCst) {
            bail!("interrupted by a signal: the lab is stopped");
        }
        let finished = rt.block_on(progress.count("Finished"))? as usize;
        for d in lab.daemons() {
            d.check_alive()?;
            d.sample();
        }
        if let Some(&(at, who)) = plan.get(crashes.len())
            && finished >= at
        {
            let devices = if who == "worker-0" {
                lab.devices[0].clone()
            } else {
                Vec::new()
            };
            let d = lab
                .daemons()
                .into_iter()
                .find(|d| d.name == who)
                .context("no such daemon")?;
            let killed = Utc::now();
            d.crash_and_restart(Duration::from_secs(1))?;
            eprintln!("soak: {who} killed (SIGKILL) at {finished} finished jobs and started again");
            crashes.push(Crash {
                daemon: who.to_string(),
                killed,
                restarted: Utc::now(),
                devices,
            });
        }
        if finished >= jobs && submitting.is_finished() {
            break;
        }
        if last_report.elapsed() > Duration::from_secs(10) {
            eprintln!("soak: {finished} of {jobs} jobs finished");
            last_report = Instant::now();
        }
        if Instant::now() > deadline {
            bail!(
                "only {finished} of {jobs} jobs finished after {} s",
                args.timeout
            );
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    let ids = rt.block_on(submitting)??;
    let took = started.elapsed();
    for d in lab.daemons() {
        d.sample();
    }
    eprintln!(
        "soak: all {jobs} jobs finished in {:.1} s; reading them back",
        took.as_secs_f64()
    );

    let shared = std::sync::Arc::new(ids.clone());
    let ids2 = shared.clone();
    let runs = rt.block_on(fan_out(&clients, jobs, move |c, i| {
        let id = ids2[i];
        async move { c.run(id).await }
    }))?;
    let mut problems = check::records(&runs, &crashes);
    let excused: Vec<bool> = runs
        .iter()
        .map(|r| r.health != "Complete" && check::excused(r, &crashes))
        .collect();
    let excused = std::sync::Arc::new(excused);
    let ex = excused.clone();
    let log_problems = rt.block_on(fan_out(&clients, jobs, move |c, i| {
        let (id, complete) = (shared[i], !ex[i]);
        async move { Ok(check::log(id, &c.log(id).await?, lines, complete)) }
    }))?;
    problems.extend(log_problems.into_iter().flatten());
    report(args, lab, &runs, &crashes, took);
    if !problems.is_empty() {
        let shown: Vec<&String> = problems.iter().take(50).collect();
        bail!(
            "the soak failed its checks ({} problems):\n{}",
            problems.len(),
            shown
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
    println!("soak: every check passed");
    Ok(())
}

/// The figures, one `bench:` line each, ending with the figure (its unit named before).
fn report(args: &SoakArgs, lab: &mut Lab, runs: &[check::Run], crashes: &[Crash], took: Duration) {
    let what = format!(
        "soak {} devices {} workers {} jobs",
        args.devices, args.workers, args.jobs
    );
    let first = runs.iter().map(|r| r.submit).min();
    let last = runs.iter().filter_map(|r| r.end).max();
    if let (Some(a), Some(b)) = (first, last) {
        let secs = (b - a).num_milliseconds() as f64 / 1000.0;
        println!(
            "bench: {what}, jobs per hour (first submit to last end, {secs:.1} s): {:.0}",
            args.jobs as f64 * 3600.0 / secs.max(0.001)
        );
    }
    println!("bench: {what}, wall time in s: {:.1}", took.as_secs_f64());
    let mut s2r = check::submit_to_running(runs);
    let mut f2n = check::free_to_next_running(runs);
    for (name, v) in [
        ("submit-to-running", &mut s2r),
        ("device-free-to-next-running", &mut f2n),
    ] {
        let n = v.len();
        for (q, label) in [(0.5, "p50"), (0.99, "p99")] {
            if let Some(x) = check::quantile(v, q) {
                println!(
                    "bench: {what}, {name} {label} in ms ({n} samples): {:.1}",
                    x * 1000.0
                );
            }
        }
    }
    for d in lab.daemons() {
        println!(
            "bench: {what}, peak RSS (VmHWM) of {}{} in MiB: {:.1}",
            d.name,
            if d.restarts > 0 {
                ", over its restarts"
            } else {
                ""
            },
            d.peak_kib() as f64 / 1024.0
        );
    }
    let incomplete = runs.iter().filter(|r| r.health == "Incomplete").count();
    let complete = runs.iter().filter(|r| r.health == "Complete").count();
    for c in crashes {
        println!(
            "soak: {} killed at {} and started again at {}",
            c.daemon,
            c.killed.format("%H:%M:%S%.3f"),
            c.restarted.format("%H:%M:%S%.3f")
        );
    }
    println!("bench: {what}, jobs complete: {complete}");
    println!(
        "bench: {what}, jobs incomplete (allowed only on the killed worker's devices during its crash): {incomplete}"
    );
}
