//! A QEMU boot run in a container image (the boot's `docker` block, as KernelCI's jobs and
//! tuxlava's `--qemu-image` write it).
//!
//! The QEMU command is the one a plain boot runs, with the program taken from the image
//! (`docker.binary`, else the device's `qemu_binary`), wrapped in
//! `ENGINE [engine_options] run --rm --init -i --name NAME --mount type=bind,… IMAGE …`: the
//! job's working directory (where every deployed image is) is bind-mounted at the same path,
//! `/dev/kvm` is passed when QEMU is asked for KVM, and the container's standard input and
//! output are the console, as QEMU's are without a container. No shell is involved.
//!
//! The worker decides what runs: the image must be in `docker.images` of `dispatcher.toml`
//! (empty by default), and the engine and its options are the admin's alone. Killing the
//! engine's client does not stop the container, so the job removes it (`rm -f`) before a
//! retried boot starts another and in finalize, whatever ended the job.

use std::time::Duration;

use lava_common::job::BootDocker;

use crate::command::Argv;
use crate::job::{Ctx, Failure};
use crate::joblog::JobLog;

/// How long removing the container may take.
const REMOVE_TIMEOUT: Duration = Duration::from_secs(60);

/// A container this job started, removed when the boot is retried or the job ends.
#[derive(Debug)]
pub struct Container {
    /// The engine (`docker.engine`).
    engine: String,
    /// The admin's options for it (`docker.engine_options`).
    options: Vec<String>,
    /// The container's name.
    pub name: String,
}

impl Container {
    /// `ENGINE [engine_options] rm -f NAME`; a container already gone (`--rm` removed it when
    /// QEMU exited) is no error.
    pub async fn remove(self, log: &JobLog) -> Result<(), String> {
        let mut words = self.options.clone();
        words.extend(["rm".into(), "-f".into(), self.name.clone()]);
        let argv = Argv::new(self.engine, words);
        log.debug(format!("removing the container: {argv}"));
        let out = match tokio::time::timeout(REMOVE_TIMEOUT, argv.output()).await {
            Err(_) => return Err(format!("{argv} took more than {REMOVE_TIMEOUT:?}")),
            Ok(Err(e)) => return Err(format!("cannot run {argv}: {e}")),
            Ok(Ok(out)) => out,
        };
        let stderr = String::from_utf8_lossy(&out.stderr);
        if out.status.success() || stderr.to_lowercase().contains("no such container") {
            Ok(())
        } else {
            Err(format!("{argv} failed ({}): {}", out.status, stderr.trim()))
        }
    }
}

/// Checks that the worker lets jobs run `docker.image`.
pub fn check(ctx: &Ctx, action: &str, docker: &BootDocker) -> Result<(), Failure> {
    let s = &ctx.settings;
    if s.docker_images.contains(&docker.image) {
        return Ok(());
    }
    let allowed = if s.docker_images.is_empty() {
        "none".to_string()
    } else {
        s.docker_images.join(", ")
    };
    // The job asks for what this worker does not allow, as with a refused `image_arg`.
    Err(Failure::job(
        action,
        format!(
            "docker image '{}' is not allowed on this worker: add it to docker.images in {} \
             (allowed: {allowed})",
            docker.image,
            s.file.display()
        ),
    ))
}

/// The container's name: LAVA's `lava-docker-qemu-JOB` (the job id's characters that a
/// container name may not hold replaced), then this dispatcher's process id, so that two
/// runs of the same job id on one host never meet.
fn container_name(job_id: &str) -> String {
    let id: String = job_id
        .chars()
        .take(64)
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-') {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!("lava-docker-qemu-{id}-{}", std::process::id())
}

/// Whether the QEMU command asks for KVM (`-enable-kvm`, `accel=kvm`, `-accel kvm`).
fn wants_kvm(words: &[String]) -> bool {
    words.iter().enumerate().any(|(i, w)| {
        matches!(w.as_str(), "-enable-kvm" | "--enable-kvm")
            || w.split(',').any(|p| p == "accel=kvm")
            || (matches!(w.as_str(), "-accel" | "--accel")
                && words
                    .get(i + 1)
                    .is_some_and(|n| n == "kvm" || n.starts_with("kvm,")))
    })
}

/// Wraps `qemu` (the plain boot's command) to run in the job's image; returns the command and
/// the container to remove later.
pub fn wrap(
    ctx: &Ctx,
    action: &str,
    docker: &BootDocker,
    qemu: &Argv,
) -> Result<(Argv, Container), Failure> {
    check(ctx, action, docker)?;
    let workdir = &ctx.workdir;
    let dir = workdir
        .to_str()
        .filter(|d| workdir.is_absolute() && !d.contains(','));
    let Some(dir) = dir else {
        return Err(Failure::config(
            action,
            format!(
                "the job's directory {} cannot be bind-mounted in the container: it must be an \
                 absolute path without ','",
                workdir.display()
            ),
        ));
    };
    if let Some((role, path)) = ctx.images.iter().find(|(_, p)| !p.starts_with(workdir)) {
        return Err(Failure::config(
            action,
            format!(
                "image '{role}' ({}) is outside the job's directory {dir}, which is all the \
                 container sees",
                path.display()
            ),
        ));
    }
    let settings = &ctx.settings;
    let (engine, options) = (
        settings.docker_engine.clone(),
        settings.docker_engine_options.clone(),
    );
    let name = container_name(&ctx.job_id);
    let mut words = options.clone();
    words.extend(
        [
            "run",
            "--rm",
            "--init",
            "-i",
            "--name",
            &name,
            "--mount",
            &format!("type=bind,source={dir},destination={dir}"),
        ]
        .map(String::from),
    );
    if wants_kvm(qemu.words()) {
        words.extend(["--device".into(), "/dev/kvm".into()]);
    }
    // LAVA pulls an image that is not `local` before each run.
    let pull = if docker.local { "never" } else { "always" };
    words.push(format!("--pull={pull}"));
    words.push(docker.image.clone());
    words.push(
        docker
            .binary
            .clone()
            .unwrap_or_else(|| qemu.program().to_string()),
    );
    words.extend(qemu.args().iter().cloned());
    let argv = Argv::new(engine.clone(), words);
    Ok((
        argv,
        Container {
            engine,
            options,
            name,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn docker(image: &str, local: bool) -> BootDocker {
        BootDocker {
            image: image.into(),
            binary: Some("qemu-system-x86_64".into()),
            local,
        }
    }

    #[test]
    fn only_images_the_worker_lists_run() {
        let dir = tempfile::tempdir().unwrap();
        let mut ctx = crate::job::test_ctx(dir.path());
        let e = check(&ctx, "validate", &docker("kernelci/qemu", false)).unwrap_err();
        assert_eq!(e.kind, crate::job::ErrorType::Job);
        assert!(
            e.message.starts_with(
                "docker image 'kernelci/qemu' is not allowed on this worker: add it to docker.images in "
            ) && e.message.ends_with("dispatcher.toml (allowed: none)"),
            "{}",
            e.message
        );
        ctx.settings.docker_images = vec!["localhost/q:1".into()];
        let e = check(&ctx, "validate", &docker("localhost/q:2", false)).unwrap_err();
        assert!(
            e.message.ends_with("(allowed: localhost/q:1)"),
            "{}",
            e.message
        );
        assert!(check(&ctx, "validate", &docker("localhost/q:1", false)).is_ok());
    }

    #[test]
    fn the_qemu_command_runs_in_the_image_with_the_job_directory() {
        let dir = tempfile::tempdir().unwrap();
        let mut ctx = crate::job::test_ctx(dir.path());
        ctx.settings.docker_images = vec!["localhost/q:1".into()];
        ctx.settings.docker_engine = "podman".into();
        ctx.settings.docker_engine_options = vec!["--root".into(), "/r".into()];
        ctx.job_id = "12 x".into();
        ctx.images
            .insert("kernel".into(), ctx.workdir.join("kernel/bzImage"));
        let w = ctx.workdir.display().to_string();
        let qemu = Argv::from_words(
            ["qemu-system-x86_64", "-enable-kvm", "-kernel", "K"]
                .map(String::from)
                .to_vec(),
        )
        .unwrap();
        let (argv, c) = wrap(&ctx, "boot", &docker("localhost/q:1", true), &qemu).unwrap();
        let name = format!("lava-docker-qemu-12-x-{}", std::process::id());
        let want: Vec<String> = [
            "podman",
            "--root",
            "/r",
            "run",
            "--rm",
            "--init",
            "-i",
            "--name",
            &name,
            "--mount",
            &format!("type=bind,source={w},destination={w}"),
            "--device",
            "/dev/kvm",
            "--pull=never",
            "localhost/q:1",
            "qemu-system-x86_64",
            "-enable-kvm",
            "-kernel",
            "K",
        ]
        .map(String::from)
        .to_vec();
        assert_eq!(argv.words(), want);
        assert_eq!(c.name, name);
        let tcg = Argv::from_words(["qemu", "-m", "1"].map(String::from).to_vec()).unwrap();
        let mut d = docker("localhost/q:1", false);
        d.binary = None;
        let (argv, _) = wrap(&ctx, "boot", &d, &tcg).unwrap();
        let words = argv.words();
        assert!(!words.contains(&"/dev/kvm".to_string()), "{argv}");
        assert_eq!(
            words[words.len() - 5..],
            ["--pull=always", "localhost/q:1", "qemu", "-m", "1"]
        );
        ctx.images.insert("dtb".into(), "/etc/passwd".into());
        let e = wrap(&ctx, "boot", &d, &tcg).unwrap_err();
        assert!(
            e.message
                .starts_with("image 'dtb' (/etc/passwd) is outside"),
            "{}",
            e.message
        );
    }

    #[test]
    fn kvm_is_found_however_qemu_is_asked_for_it() {
        let w = |s: &str| s.split(' ').map(String::from).collect::<Vec<_>>();
        assert!(wants_kvm(&w("q -machine q35,accel=kvm")));
        assert!(wants_kvm(&w("q -accel kvm,kernel-irqchip=on")));
        assert!(!wants_kvm(&w("q -accel tcg -machine accel=tcg")));
    }
}
