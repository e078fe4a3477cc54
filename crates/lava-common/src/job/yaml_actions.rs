//! The actions of a YAML job: `deploy`, `boot` and `test`, each a single-key mapping.
//!
//! Anything else is an error naming the action, never silently skipped. Keys LAVA uses for
//! features we do not have (`os`, boot `media`/`connection`) are accepted and ignored
//! because they do not change what a single-device job does; `failure_retry` and
//! `failure_retry_interval` are read (the runner tries the action again after the interval);
//! `namespace` is read (results are filed under it; the job checks there is only one);
//! `timeouts` gives the action's named steps their own limits (see the dispatcher's
//! `job::steps`).

use super::action::{
    Action, ActionKind, AutoLogin, Boot, BootMethod, Deploy, DeployTo, Image, MAX_FAILURE_RETRY,
    MAX_FAILURE_RETRY_INTERVAL, TransferOverlay,
};
use super::error::JobError;
use super::fields;
use super::qemu_args::check_image_arg;
use super::reader::{At, MapAt};
use super::yaml_image;
use super::yaml_test;

/// Keys every action may carry that do not change a single-device job.
const COMMON: [&str; 6] = [
    "timeout",
    "timeouts",
    "namespace",
    "failure_retry",
    "failure_retry_interval",
    "os",
];

/// Parse one entry of `actions`.
pub(crate) fn action(at: &At<'_>) -> Result<Action, JobError> {
    let map = at.map()?;
    let mut entries = map.entries();
    let (Some((name, body)), None) = (entries.next(), entries.next()) else {
        return Err(at.error("expected a mapping with exactly one key naming the action"));
    };
    let body = body.map()?;
    let kind = match name {
        "deploy" => ActionKind::Deploy(deploy(&body)?),
        "boot" => ActionKind::Boot(boot(&body)?),
        "test" => ActionKind::Test(yaml_test::test(&body)?),
        other => {
            return Err(at.error(format!(
                "unknown action '{other}' (supported: deploy, boot, test)"
            )));
        }
    };
    let timeout = body
        .get_some("timeout")
        .map(|t| fields::timeout(&t))
        .transpose()?;
    let failure_retry = match body.get_some("failure_retry") {
        None => None,
        Some(at) => match at.u64()? {
            n @ 1..=10 => Some(n as u32),
            n => {
                return Err(at.error(format!(
                    "failure_retry {n}: expected 1 to {MAX_FAILURE_RETRY} tries"
                )));
            }
        },
    };
    let failure_retry_interval = match body.get_some("failure_retry_interval") {
        None => None,
        Some(at) => {
            let secs = at.u64()?;
            if secs > MAX_FAILURE_RETRY_INTERVAL.as_secs() {
                return Err(at.error(format!(
                    "failure_retry_interval {secs}: expected at most {} seconds",
                    MAX_FAILURE_RETRY_INTERVAL.as_secs()
                )));
            }
            Some(std::time::Duration::from_secs(secs))
        }
    };
    let namespace = match body.get_some("namespace") {
        None => None,
        Some(at) => {
            let ns = at.str()?;
            crate::ids::check_name("namespace", ns).map_err(|e| at.error(e.why))?;
            Some(ns.to_string())
        }
    };
    let timeouts = body
        .get_some("timeouts")
        .map(|t| fields::timeout_map(&t))
        .transpose()?
        .unwrap_or_default();
    Ok(Action {
        kind,
        timeout,
        timeouts,
        failure_retry,
        failure_retry_interval,
        namespace,
    })
}

pub(crate) fn allow(map: &MapAt<'_>, own: &[&str]) -> Result<(), JobError> {
    let keys: Vec<&str> = COMMON.iter().chain(own).copied().collect();
    map.deny_unknown(&keys)
}

/// The images a `tftp` or `nfs` deploy may name, LAVA's way: as keys of the deploy itself.
const BOARD_ROLES: [&str; 5] = ["kernel", "ramdisk", "dtb", "modules", "nfsrootfs"];

fn deploy(map: &MapAt<'_>) -> Result<Deploy, JobError> {
    let to_at = map.required("to")?;
    let to = match to_at.str()? {
        "tmpfs" => DeployTo::Tmpfs,
        "tftp" => DeployTo::Tftp,
        "nfs" => DeployTo::Nfs,
        other => {
            return Err(to_at.error(format!(
                "unknown deploy target '{other}' (supported: tmpfs, tftp, nfs)"
            )));
        }
    };
    let board = matches!(to, DeployTo::Tftp | DeployTo::Nfs);
    let mut keys = vec!["to", "images"];
    if board {
        keys.extend(BOARD_ROLES);
    }
    allow(map, &keys)?;
    let mut entries: Vec<(String, At<'_>)> = Vec::new();
    if let Some(images_at) = map.get_some("images") {
        for (name, at) in images_at.map()?.entries() {
            entries.push((name.to_string(), at));
        }
    }
    if board {
        for role in BOARD_ROLES {
            if let Some(at) = map.get(role) {
                if map.get("images").is_some() {
                    return Err(at.error(
                        "give the images either under images or as kernel, ramdisk, dtb, modules, nfsrootfs keys, not both",
                    ));
                }
                entries.push((role.to_string(), at));
            }
        }
        for (name, at) in &entries {
            let role = if name == "initrd" {
                "ramdisk"
            } else {
                name.as_str()
            };
            if !BOARD_ROLES.contains(&role) {
                return Err(at.error(format!(
                    "a {} deploy takes kernel, ramdisk, dtb, modules and nfsrootfs images, not '{name}'",
                    to_at.str()?
                )));
            }
        }
        let need = if to == DeployTo::Nfs {
            "nfsrootfs"
        } else {
            "kernel"
        };
        if !entries.iter().any(|(n, _)| n == need) {
            return Err(JobError::invalid(
                format!("{}.{need}", map.at.path),
                map.at.line,
                "required key not provided",
            ));
        }
    } else {
        map.required("images")?.map()?;
    }
    let images = entries
        .into_iter()
        .map(|(name, at)| Ok((name.clone(), yaml_image::image(&at, &name, to)?, at)))
        .collect::<Result<Vec<_>, JobError>>()?;
    let roles: Vec<&str> = images.iter().map(|(n, _, _)| n.as_str()).collect();
    for (_, image, at) in &images {
        if let Some(arg) = &image.image_arg {
            check_placeholders(arg, &images, at)?;
            let arg_at = at.map()?.required("image_arg")?;
            check_image_arg(arg, &roles).map_err(|e| arg_at.error(e.to_string()))?;
        }
    }
    Ok(Deploy {
        to,
        images: images.into_iter().map(|(n, i, _)| (n, i)).collect(),
    })
}

/// `{name}` in an `image_arg` must name an image of the same deploy (`{kernel}`, `{initrd}`).
fn check_placeholders<T>(
    arg: &str,
    images: &[(String, Image, T)],
    at: &At<'_>,
) -> Result<(), JobError> {
    let mut rest = arg;
    while let Some(open) = rest.find('{') {
        rest = &rest[open + 1..];
        let Some(close) = rest.find('}') else { break };
        let name = &rest[..close];
        let is_word = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if is_word && !images.iter().any(|(n, _, _)| n == name) {
            return Err(at.error(format!(
                "image_arg names '{{{name}}}' but the deploy has no image '{name}'"
            )));
        }
        rest = &rest[close + 1..];
    }
    Ok(())
}

fn boot(map: &MapAt<'_>) -> Result<Boot, JobError> {
    allow(
        map,
        &[
            "method",
            "commands",
            "prompts",
            "auto_login",
            "media",
            "connection",
            "transfer_overlay",
            "docker",
        ],
    )?;
    let method_at = map.required("method")?;
    let name = method_at.str()?;
    let Some((_, method)) = BootMethod::SUPPORTED.iter().find(|(n, _)| *n == name) else {
        let supported: Vec<&str> = BootMethod::SUPPORTED.iter().map(|(n, _)| *n).collect();
        return Err(method_at.error(format!(
            "unknown boot method '{name}' (supported: {})",
            supported.join(", ")
        )));
    };
    let docker = match map.get("docker") {
        None => None,
        Some(at) if *method != BootMethod::Qemu => {
            return Err(at.error(format!(
                "docker (the boot's program run in a container) is supported only with method: \
                 qemu, not {name}"
            )));
        }
        Some(at) => Some(super::docker::boot_docker(&at)?),
    };
    // A string names a command set of the device type; a list is the commands themselves.
    let (commands, command_set) = match map.get_some("commands") {
        None => (None, None),
        Some(c) => match c.str() {
            Ok(name) => (None, Some(name.to_string())),
            Err(_) => (Some(boot_commands(&c)?), None),
        },
    };
    let prompts = map
        .get_some("prompts")
        .map(|c| c.string_or_strings())
        .transpose()?;
    let auto_login = map
        .get_some("auto_login")
        .map(|a| auto_login(&a))
        .transpose()?;
    let transfer_overlay = map
        .get_some("transfer_overlay")
        .map(|t| transfer_overlay(&t))
        .transpose()?;
    Ok(Boot {
        method: *method,
        commands: commands.unwrap_or_default(),
        command_set,
        options: Vec::new(),
        prompts: prompts.unwrap_or_default(),
        auto_login,
        transfer_overlay,
        docker,
    })
}

/// A job's own bootloader commands: each one line (a newline would type a second command
/// without waiting for the prompt).
pub(crate) fn boot_commands(at: &At<'_>) -> Result<Vec<String>, JobError> {
    let items = at.seq()?;
    let mut out = Vec::with_capacity(items.len());
    for item in &items {
        let text = item.str()?;
        if text.chars().any(char::is_control) {
            return Err(item.error("a boot command is one line, without control characters"));
        }
        out.push(text.to_string());
    }
    Ok(out)
}

/// `transfer_overlay`: the target fetches the overlay from the worker's TFTP server.
fn transfer_overlay(at: &At<'_>) -> Result<TransferOverlay, JobError> {
    let map = at.map()?;
    map.deny_unknown(&["download_command", "unpack_command", "transfer_method"])?;
    if let Some(m) = map.get_some("transfer_method") {
        let method = m.str()?;
        if method != "tftp" {
            return Err(m.error(format!(
                "transfer_method '{method}' is not supported: this worker serves a job's files over TFTP (transfer_method: tftp)"
            )));
        }
    }
    let command = |key: &str| -> Result<String, JobError> {
        let text = map.req_str(key)?;
        if text.trim().is_empty() || text.chars().any(char::is_control) {
            return Err(map
                .required(key)?
                .error("expected one command line, not empty"));
        }
        Ok(text)
    };
    Ok(TransferOverlay {
        download_command: command("download_command")?,
        unpack_command: command("unpack_command")?,
    })
}

fn auto_login(at: &At<'_>) -> Result<AutoLogin, JobError> {
    let map = at.map()?;
    map.deny_unknown(&[
        "login_prompt",
        "username",
        "password_prompt",
        "password",
        "login_commands",
    ])?;
    Ok(AutoLogin {
        login_prompt: map.req_str("login_prompt")?,
        username: map.req_str("username")?,
        password_prompt: map.opt_str("password_prompt")?,
        password: map
            .get_some("password")
            .map(|p| p.scalar_string())
            .transpose()?,
        login_commands: map.strings("login_commands")?,
    })
}

#[cfg(test)]
mod tests {
    use super::super::action::{ChecksumAlgorithm, Compression, KernelType};
    use super::super::node::Node;
    use super::*;

    fn parse(text: &str) -> Result<Action, JobError> {
        let node = Node::from_yaml_text(text).unwrap();
        action(&At::root(&node))
    }

    #[test]
    fn deploy_images_keep_order_checksum_and_compression() {
        let md5 = "d41d8cd98f00b204e9800998ecf8427e";
        let a = parse(&format!(
            "deploy:\n  to: tmpfs\n  timeout: {{minutes: 3}}\n  images:\n    rootfs: {{url: http://x/r.xz, compression: xz, md5sum: {md5}}}\n    kernel: {{url: http://x/k}}\n"
        ))
        .unwrap();
        assert_eq!(a.timeout, Some(std::time::Duration::from_secs(180)));
        let ActionKind::Deploy(d) = a.kind else {
            panic!()
        };
        assert_eq!(d.to, DeployTo::Tmpfs);
        assert_eq!(d.images[0].0, "rootfs");
        let rootfs = &d.images[0].1;
        assert_eq!(rootfs.compression, Some(Compression::Xz));
        assert_eq!(
            rootfs.checksum.as_ref().unwrap().algorithm,
            ChecksumAlgorithm::Md5
        );
        assert!(
            parse("deploy: {to: usb, images: {}}")
                .unwrap_err()
                .to_string()
                .contains("'usb'")
        );
    }

    #[test]
    fn an_image_arg_is_checked_against_the_allow_list() {
        let e = parse(
            "deploy:\n  to: tmpfs\n  images:\n    kernel:\n      url: http://x/k\n      image_arg: -kernel {kernel} $(touch /tmp/x)\n",
        )
        .unwrap_err();
        assert_eq!(e.path(), "deploy.images.kernel.image_arg");
        assert_eq!(e.line(), Some(6));
        assert!(
            e.to_string()
                .contains("image_arg '-kernel {kernel} $(touch /tmp/x)' is refused"),
            "{e}"
        );
        let ok = parse(
            "deploy:\n  to: tmpfs\n  images:\n    rootfs: {url: http://x/r, image_arg: '-drive format=raw,file={rootfs}'}\n",
        );
        assert!(ok.is_ok(), "{ok:?}");
    }

    #[test]
    fn boot_reads_commands_prompts_and_login() {
        let a = parse(
            "boot:\n  method: u-boot\n  commands: ramdisk\n  prompts: ['root@x:~#']\n  auto_login:\n    login_prompt: 'login:'\n    username: root\n    password: 1234\n",
        )
        .unwrap();
        let ActionKind::Boot(b) = a.kind else {
            panic!()
        };
        assert_eq!(b.method, BootMethod::UBoot);
        assert_eq!(b.command_set.as_deref(), Some("ramdisk"));
        assert!(b.commands.is_empty());
        assert_eq!(b.auto_login.unwrap().password.as_deref(), Some("1234"));
    }

    #[test]
    fn a_tftp_deploy_names_its_images_as_lava_does() {
        let a = parse(
            "deploy:\n  to: tftp\n  kernel: {url: http://x/Image, type: Image}\n  ramdisk: {url: http://x/r.cpio.gz.uboot, header: u-boot, install_overlay: false}\n  dtb: {url: http://x/b.dtb}\n  modules: {url: http://x/m.tar.xz, compression: xz}\n",
        )
        .unwrap();
        let ActionKind::Deploy(d) = a.kind else {
            panic!()
        };
        assert_eq!(d.to, DeployTo::Tftp);
        let names: Vec<&str> = d.images.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["kernel", "ramdisk", "dtb", "modules"]);
        assert_eq!(
            d.image("kernel").unwrap().kernel_type,
            Some(KernelType::Image)
        );
        let ramdisk = d.ramdisk().unwrap();
        assert!(ramdisk.uboot_header && !ramdisk.install_overlay && ramdisk.install_modules);
        let cases = [
            (
                "deploy:\n  to: tftp\n  ramdisk: {url: http://x/r}\n",
                "line 1: deploy.kernel: required key not provided",
            ),
            (
                "deploy:\n  to: nfs\n  kernel: {url: http://x/k}\n",
                "line 1: deploy.nfsrootfs: required key not provided",
            ),
            (
                "deploy:\n  to: tftp\n  kernel: {url: http://x/k, type: bzimage}\n",
                "line 3: deploy.kernel.type: unknown kernel type 'bzimage' (supported: zimage, image, uimage)",
            ),
            (
                "deploy:\n  to: tftp\n  kernel: {url: http://x/k}\n  dtb: {url: http://x/d, type: image}\n",
                "line 4: deploy.dtb.type: type applies to kernel images only",
            ),
            (
                "deploy:\n  to: tftp\n  kernel: {url: http://x/k}\n  rootfs: {url: http://x/d}\n",
                "line 4: deploy.rootfs: extra keys not allowed",
            ),
            (
                "deploy:\n  to: tftp\n  images:\n    rootfs: {url: http://x/d}\n",
                "line 4: deploy.images.rootfs: a tftp deploy takes kernel, ramdisk, dtb, modules and nfsrootfs images, not 'rootfs'",
            ),
            (
                "deploy:\n  to: tmpfs\n  kernel: {url: http://x/k}\n",
                "line 3: deploy.kernel: extra keys not allowed",
            ),
        ];
        for (text, want) in cases {
            assert_eq!(parse(text).unwrap_err().to_string(), want, "{text}");
        }
    }

    #[test]
    fn failure_retry_and_transfer_overlay_are_read() {
        let a = parse(
            "boot:\n  method: u-boot\n  commands: ramdisk\n  failure_retry: 3\n  transfer_overlay:\n    download_command: tftp -g -l overlay.tar.gz -r {OVERLAY} {SERVER_IP}\n    unpack_command: tar -C / -xzf\n",
        )
        .unwrap();
        assert_eq!(a.failure_retry, Some(3));
        let ActionKind::Boot(b) = a.kind else {
            panic!()
        };
        assert_eq!(b.transfer_overlay.unwrap().unpack_command, "tar -C / -xzf");
        let e = parse("boot: {method: u-boot, commands: [\"boot\\nreset\"]}\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "line 1: boot.commands[0]: a boot command is one line, without control characters"
        );
        let a =
            parse("boot: {method: qemu, timeouts: {auto-login-action: {minutes: 6}}}\n").unwrap();
        assert_eq!(
            a.timeouts["auto-login-action"],
            std::time::Duration::from_secs(360)
        );
        let e =
            parse("boot: {method: qemu, timeouts: {auto-login-action: {weeks: 6}}}\n").unwrap_err();
        assert_eq!(e.path(), "boot.timeouts.auto-login-action.weeks");
        let a = parse("boot: {method: qemu, docker: {image: kernelci/qemu:9, binary: qemu-system-x86_64, local: true}}\n").unwrap();
        let ActionKind::Boot(b) = a.kind else {
            panic!()
        };
        let d = b.docker.unwrap();
        assert_eq!(
            (d.image.as_str(), d.binary.as_deref(), d.local),
            ("kernelci/qemu:9", Some("qemu-system-x86_64"), true)
        );
        let ActionKind::Boot(b) = parse("boot: {method: qemu, docker: {image: qemu}}\n")
            .unwrap()
            .kind
        else {
            panic!()
        };
        assert_eq!(b.docker.map(|d| (d.binary, d.local)), Some((None, false)));
        for (job, want) in [
            (
                "boot: {method: u-boot, docker: {image: qemu}}\n",
                "line 1: boot.docker: docker (the boot's program run in a container) is supported only with method: qemu, not u-boot",
            ),
            (
                "boot: {method: qemu, docker: {image: --privileged}}\n",
                "line 1: boot.docker.image: '--privileged' is not a valid image reference: '--privileged' is not a path component (lowercase letters and digits, separated by single '.', '_', '__' or '-')",
            ),
            (
                "boot: {method: qemu, docker: {image: qemu, binary: -v}}\n",
                "line 1: boot.docker.binary: '-v' is not a program: up to 255 letters, digits, '/', '.', '_', '-' and '+', not starting with '-'",
            ),
            (
                "boot: {method: qemu, docker: {image: qemu, network_from: x}}\n",
                "line 1: boot.docker.network_from: network_from is not supported: the boot's container is named by the dispatcher and joins no other container",
            ),
        ] {
            assert_eq!(parse(job).unwrap_err().to_string(), want);
        }
        let e = parse("boot: {method: u-boot, failure_retry: 0}\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "line 1: boot.failure_retry: failure_retry 0: expected 1 to 10 tries"
        );
        let e = parse("boot: {method: u-boot, transfer_overlay: {download_command: wget, unpack_command: tar xzf, transfer_method: http}}\n").unwrap_err();
        assert!(
            e.to_string()
                .contains("transfer_method 'http' is not supported"),
            "{e}"
        );
    }

    #[test]
    fn action_shape_errors() {
        let err = parse("deploy: {}\nboot: {}\n").unwrap_err();
        assert!(err.to_string().contains("exactly one key"), "{err}");
        let err =
            parse("test:\n  definitions:\n  - {from: svn, repository: x, name: n}\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "line 3: test.definitions[0].from: unknown test source 'svn' (supported: git, inline, url)"
        );
        let err =
            parse("test:\n  definitions:\n  - {from: inline, repository: {run: {}}, name: n}\n")
                .unwrap_err();
        assert_eq!(err.path(), "test.definitions[0].repository.metadata");
    }
}
