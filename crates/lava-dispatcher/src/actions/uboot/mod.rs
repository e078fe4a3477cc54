//! Booting a U-Boot board the way LAVA does: power it, stop the autoboot at its interrupt
//! prompt, and type a command set of the device type (or the job's own list) with LAVA's
//! placeholders filled in for this job, one command at a time, each after the bootloader's
//! prompt, watching for the bootloader's error messages; then wait for the kernel to start.
//!
//! Which commands: a YAML job names a set (`commands: ramdisk`) or gives a list; a seed-era
//! job gives `boot_cmds` or gets the device type's `nfs` set for an NFS root, its `ramdisk`
//! set for a ramdisk, else its `boot_cmds`. The same choice and filling run at validate, so
//! a placeholder the device type cannot fill stops the job before the board is touched.

use lava_common::device::{Bootloader, Placeholder, Substitutions, fill};
use lava_common::job::{ActionKind, Boot, BootMethod, DeployTo, JobPlan, KernelType};
use regex::bytes::Regex;

use super::kernel::boot_command;
use crate::connection::Match;
use crate::job::{Ctx, Failure, pattern};
use crate::network::server_ip;

/// What the job deploys, as far as the boot commands care.
#[derive(Debug, Clone, Default)]
struct View {
    kernel: Option<String>,
    kernel_type: Option<KernelType>,
    ramdisk: Option<String>,
    ramdisk_header: bool,
    dtb: Option<String>,
    nfs_root: Option<String>,
    /// At validate, nothing is downloaded yet: a kernel's type may still come from the file.
    type_may_come: bool,
}

impl View {
    /// What the deploy before boot action `index` of `plan` will make.
    fn planned(ctx: &Ctx, plan: &JobPlan, index: usize) -> View {
        let deploy = plan.actions[..index]
            .iter()
            .rev()
            .find_map(|a| match &a.kind {
                ActionKind::Deploy(d) => Some(d),
                _ => None,
            });
        let Some(d) = deploy else {
            return View::default();
        };
        let path = |role: &str| {
            d.image(role)
                .map(|_| format!("{}/{role}/{role}", ctx.job_id))
        };
        let header = ctx
            .device
            .bootloader
            .as_ref()
            .is_some_and(|b| b.ramdisk_uboot_header);
        View {
            kernel: path("kernel"),
            kernel_type: d.image("kernel").and_then(|k| k.kernel_type),
            ramdisk: d
                .ramdisk()
                .map(|_| format!("{}/ramdisk/ramdisk", ctx.job_id)),
            ramdisk_header: header || d.ramdisk().is_some_and(|r| r.uboot_header),
            dtb: path("dtb"),
            nfs_root: (d.to == DeployTo::Nfs).then(|| format!("/nfs/{}", ctx.job_id)),
            type_may_come: true,
        }
    }

    /// What the last deploy made.
    fn deployed(ctx: &Ctx) -> View {
        let d = &ctx.deployed;
        View {
            kernel: d.tftp.get("kernel").cloned(),
            kernel_type: d.kernel_type,
            ramdisk: d.tftp.get("ramdisk").cloned(),
            ramdisk_header: d.ramdisk_header,
            dtb: d.tftp.get("dtb").cloned(),
            nfs_root: d.nfs_root.clone(),
            type_may_come: false,
        }
    }
}

fn bootloader<'a>(ctx: &'a Ctx, action: &str) -> Result<&'a Bootloader, Failure> {
    ctx.device.bootloader.as_ref().ok_or_else(|| {
        Failure::config(
            action,
            format!(
                "device type '{}' has no bootloader (client_type = bootloader)",
                ctx.device.device_type
            ),
        )
    })
}

/// The commands to send and the name of their set (`job` for the job's own list).
fn commands(
    ctx: &Ctx,
    action: &str,
    b: &Boot,
    view: &View,
) -> Result<(String, Vec<String>), Failure> {
    let bl = bootloader(ctx, action)?;
    let named = |name: &str| -> Result<(String, Vec<String>), Failure> {
        match bl.command_set(name) {
            Some(set) => Ok((name.to_string(), set.commands.clone())),
            None => {
                let have: Vec<&str> = bl.command_sets.keys().map(String::as_str).collect();
                Err(Failure::job(
                    action,
                    format!(
                        "device type '{}' has no boot command set '{name}' (it has: {})",
                        ctx.device.device_type,
                        if have.is_empty() {
                            "none".to_string()
                        } else {
                            have.join(", ")
                        }
                    ),
                ))
            }
        }
    };
    if let Some(name) = &b.command_set {
        return named(name);
    }
    if let [one] = b.commands.as_slice()
        && bl.command_set(one).is_some()
    {
        return named(one);
    }
    if !b.commands.is_empty() {
        return Ok(("job".to_string(), b.commands.clone()));
    }
    if b.method == BootMethod::UBoot {
        return Err(Failure::job(
            action,
            "boot method u-boot needs commands: the name of a command set of the device type (ramdisk, nfs) or a list",
        ));
    }
    let choice = if view.nfs_root.is_some() && bl.command_set("nfs").is_some() {
        "nfs"
    } else if view.ramdisk.is_some() && bl.command_set("ramdisk").is_some() {
        "ramdisk"
    } else {
        "default"
    };
    if choice == "default" && bl.command_set("default").is_none() {
        return Err(Failure::config(
            action,
            format!(
                "no boot commands: device type '{}' has no boot_cmds (nor boot_cmds_ramdisk for a ramdisk)",
                ctx.device.device_type
            ),
        ));
    }
    named(choice)
}

/// What each placeholder becomes for this job on this device.
fn substitutions(ctx: &Ctx, bl: &Bootloader, view: &View) -> Substitutions {
    let mut s = Substitutions::default();
    let server = server_ip(&ctx.device, &ctx.settings);
    match &server {
        Ok(ip) => s.set(Placeholder::ServerIp, ip.clone()),
        Err(why) => s.undefined(Placeholder::ServerIp, why.clone()),
    }
    for (p, value, what) in [
        (Placeholder::Kernel, &view.kernel, "kernel"),
        (Placeholder::Ramdisk, &view.ramdisk, "ramdisk"),
        (Placeholder::Dtb, &view.dtb, "dtb"),
        (Placeholder::NfsRootfs, &view.nfs_root, "nfsrootfs"),
    ] {
        match value {
            Some(v) => s.set(p, v.clone()),
            None => s.absent(p, format!("the job deploys no {what}")),
        }
    }
    match (&view.nfs_root, &server) {
        (Some(_), Ok(ip)) => s.set(Placeholder::NfsServerIp, ip.clone()),
        (Some(_), Err(why)) => s.undefined(Placeholder::NfsServerIp, why.clone()),
        (None, _) => s.absent(Placeholder::NfsServerIp, "the job deploys no nfsrootfs"),
    }
    // LAVA's command sets load a trusted-execution image when a job deploys one (`tee`);
    // this dispatcher deploys none, so those lines are left out as LAVA leaves them out.
    s.absent(Placeholder::Tee, "the job deploys no tee");
    s.absent(Placeholder::TeeAddr, "the job deploys no tee");
    let addresses = [
        Placeholder::KernelAddr,
        Placeholder::RamdiskAddr,
        Placeholder::DtbAddr,
        Placeholder::Bootx,
    ];
    if view.kernel.is_none() {
        for p in addresses {
            s.absent(p, "the job deploys no kernel");
        }
        return s;
    }
    let Some(t) = view.kernel_type else {
        for p in addresses {
            if view.type_may_come {
                s.set(p, "0");
            } else {
                s.undefined(
                    p,
                    "the kernel's type is unknown: give type: zimage, image or uimage to the deploy's kernel",
                );
            }
        }
        return s;
    };
    let cmd = boot_command(t);
    let a = bl.load_addresses.get(&cmd).cloned().unwrap_or_default();
    let undefined = |what: &str| {
        format!(
            "device type '{}' defines no {cmd}_{what}_addr (kernel type {})",
            ctx.device.device_type,
            t.as_str()
        )
    };
    match &a.kernel {
        Some(k) => s.set(Placeholder::KernelAddr, k.clone()),
        None => s.undefined(Placeholder::KernelAddr, undefined("kernel")),
    }
    let ramdisk = match (&view.ramdisk, &a.ramdisk) {
        (None, _) => Some("-".to_string()),
        (Some(_), Some(r)) if view.ramdisk_header => Some(r.clone()),
        // Without a header U-Boot needs the size: the command set keeps it in initrd_size.
        (Some(_), Some(r)) => Some(format!("{r}:${{initrd_size}}")),
        (Some(_), None) => None,
    };
    match (&view.ramdisk, &a.ramdisk) {
        (Some(_), None) => s.undefined(Placeholder::RamdiskAddr, undefined("ramdisk")),
        (None, _) => s.set(Placeholder::RamdiskAddr, "-"),
        (Some(_), Some(r)) => s.set(Placeholder::RamdiskAddr, r.clone()),
    }
    match (&view.dtb, &a.dtb) {
        (_, Some(d)) => s.set(Placeholder::DtbAddr, d.clone()),
        (Some(_), None) => s.undefined(Placeholder::DtbAddr, undefined("dtb")),
        (None, None) => s.absent(Placeholder::DtbAddr, "the job deploys no dtb"),
    }
    match (&a.kernel, ramdisk) {
        (None, _) => s.undefined(Placeholder::Bootx, undefined("kernel")),
        (_, None) => s.undefined(Placeholder::Bootx, undefined("ramdisk")),
        (Some(k), Some(r)) => {
            let mut bootx = format!("{cmd} {k} {r}");
            if view.dtb.is_some() {
                match &a.dtb {
                    Some(d) => bootx.push_str(&format!(" {d}")),
                    None => {
                        s.undefined(Placeholder::Bootx, undefined("dtb"));
                        return s;
                    }
                }
            }
            s.set(Placeholder::Bootx, bootx);
        }
    }
    s
}

/// Checks, before anything runs, that the commands boot action `b` will send can be filled.
pub fn check(ctx: &Ctx, b: &Boot, plan: &JobPlan) -> Result<(), Failure> {
    let action = "validate";
    let index = plan
        .actions
        .iter()
        .position(|a| matches!(&a.kind, ActionKind::Boot(x) if std::ptr::eq(x, b)))
        .unwrap_or(plan.actions.len());
    let view = View::planned(ctx, plan, index);
    let bl = bootloader(ctx, action)?;
    let (set, cmds) = commands(ctx, action, b, &view)?;
    fill(&set, &cmds, &substitutions(ctx, bl, &view))
        .map_err(|e| Failure::job(action, e.to_string()))?;
    Ok(())
}

/// The bootloader's error messages as one pattern matching the whole line they are on.
fn errors_pattern(action: &str, bl: &Bootloader) -> Result<Option<Regex>, Failure> {
    if bl.error_messages.is_empty() {
        return Ok(None);
    }
    let alternatives: Vec<String> = bl.error_messages.iter().map(|m| regex::escape(m)).collect();
    let text = format!("[^\\n]*(?:{})[^\\r\\n]*\\r*\\n", alternatives.join("|"));
    pattern(action, "bootloader_error_messages", &text).map(Some)
}

/// Waits for `patterns`; a timeout or a lost console names what was waited for.
async fn wait(
    ctx: &mut Ctx,
    action: &str,
    what: &str,
    patterns: &[Regex],
) -> Result<Match, Failure> {
    ctx.expect(action, patterns).await.map_err(|mut f| {
        f.message = format!("u-boot: {what}: {}", f.message);
        f
    })
}

/// The failure for an error line the bootloader printed after `command`.
fn bootloader_error(action: &str, command: &str, line: &str) -> Failure {
    let line = line.trim_matches(|c: char| c.is_whitespace() || c.is_control());
    Failure::infra(
        action,
        format!("u-boot reported an error after '{command}': {line}"),
    )
}

/// Powers the board, stops its autoboot and sends the boot commands; returns once the
/// kernel starts (the device's `boot_message`), or right after the last command when the
/// device names none.
pub async fn boot(ctx: &mut Ctx, action: &str, b: &Boot) -> Result<(), Failure> {
    let view = View::deployed(ctx);
    let bl = bootloader(ctx, action)?.clone();
    let (set, cmds) = commands(ctx, action, b, &view)?;
    if set == "job" {
        ctx.log
            .warning("using the boot commands of the job definition, not the device type's");
    }
    let filled = fill(&set, &cmds, &substitutions(ctx, &bl, &view))
        .map_err(|e| Failure::job(action, e.to_string()))?;
    for (command, why) in &filled.dropped {
        ctx.log.debug(format!("left out '{command}': {why}"));
    }
    ctx.log.info(format!("boot commands ({set}):"));
    for c in &filled.commands {
        ctx.log.info(format!("- {c}"));
    }
    if filled.commands.is_empty() {
        return Err(Failure::job(
            action,
            format!("boot command set '{set}' is empty"),
        ));
    }
    super::boot::reset(ctx, action).await?;
    let step = ctx.begin_step("bootloader-interrupt");
    let r = interrupt(ctx, action, &bl).await;
    let prompt = ctx.end_step(step, r)?;
    let step = ctx.begin_step("bootloader-commands");
    let r = send_commands(ctx, action, &bl, prompt, &filled.commands).await;
    ctx.end_step(step, r)
}

/// LAVA's `bootloader-interrupt`: stops the autoboot and waits for the bootloader's prompt,
/// whose pattern it returns.
async fn interrupt(ctx: &mut Ctx, action: &str, bl: &Bootloader) -> Result<Regex, Failure> {
    if let Some(i) = &bl.interrupt {
        let re = pattern(action, "interrupt_prompt", &regex::escape(&i.prompt))?;
        let what = format!("waiting for the interrupt prompt '{}'", i.prompt);
        wait(ctx, action, &what, &[re]).await?;
        if i.newline {
            ctx.sendline(action, &i.text).await?;
        } else {
            ctx.send(action, &i.text).await?;
        }
    }
    let prompt = pattern(action, "bootloader_prompt", &regex::escape(&bl.prompt))?;
    let what = format!("waiting for the bootloader prompt '{}'", bl.prompt);
    wait(ctx, action, &what, std::slice::from_ref(&prompt)).await?;
    Ok(prompt)
}

/// LAVA's `bootloader-commands`: each command after the prompt, then the kernel's start.
async fn send_commands(
    ctx: &mut Ctx,
    action: &str,
    bl: &Bootloader,
    prompt: Regex,
    commands: &[String],
) -> Result<(), Failure> {
    let errors = errors_pattern(action, bl)?;
    let last = commands.len() - 1;
    for (i, command) in commands.iter().enumerate() {
        ctx.sendline(action, command).await?;
        if i == last {
            break;
        }
        let mut patterns = vec![prompt.clone()];
        patterns.extend(errors.clone());
        let what = format!("waiting for the prompt after '{command}'");
        let m = wait(ctx, action, &what, &patterns).await?;
        if m.index == 1 {
            return Err(bootloader_error(action, command, &m.matched));
        }
    }
    let Some(message) = &bl.boot_message else {
        return Ok(());
    };
    let started = pattern(action, "boot_message", &regex::escape(message))?;
    let mut patterns = vec![started, prompt];
    patterns.extend(errors);
    let command = &commands[last];
    let what = format!("waiting for '{message}' after '{command}'");
    let m = wait(ctx, action, &what, &patterns).await?;
    match m.index {
        0 => Ok(()),
        1 => Err(Failure::infra(
            action,
            format!(
                "u-boot came back to its prompt after '{command}': the kernel did not start ('{message}' never seen)"
            ),
        )),
        _ => {
            let mut f = bootloader_error(action, command, &m.matched);
            f.message.push_str(&format!(
                " (the kernel did not start: '{message}' never seen)"
            ));
            Err(f)
        }
    }
}

#[cfg(test)]
mod tests;
