//! The boot action: QEMU started on its own console, or a serial board reset through its PDU,
//! interrupted in U-Boot and given its boot commands; then the login (see [`super::login`]).

use lava_common::device::ClientType;
use lava_common::job::{Boot, BootMethod, JobPlan, check_boot_option, check_image_arg};

use super::{PowerKey, login};
use crate::command::Argv;
use crate::connection::Connection;
use crate::job::{Ctx, Failure};

/// The method a boot action really uses: a seed-era `boot_linaro_image` leaves it to the
/// device's `client_type`.
pub fn method(b: &Boot, ctx: &Ctx) -> BootMethod {
    match b.method {
        BootMethod::Device => match ctx.device.client_type {
            ClientType::Qemu => BootMethod::Qemu,
            ClientType::Bootloader => BootMethod::UBoot,
            ClientType::Other(_) => BootMethod::Minimal,
        },
        m => m,
    }
}

/// LAVA's name for the boot action.
pub fn action_name(b: &Boot, ctx: &Ctx) -> &'static str {
    match method(b, ctx) {
        BootMethod::Qemu => "boot-qemu-image",
        BootMethod::UBoot => "uboot-action",
        _ => "minimal-boot",
    }
}

/// Checks that the device has what the boot method needs; `plan` says what the job deploys
/// (for the bootloader's commands).
pub fn check(ctx: &Ctx, b: &Boot, plan: &JobPlan) -> Result<(), Failure> {
    let action = "validate";
    match method(b, ctx) {
        BootMethod::Qemu => {
            if let Some(docker) = &b.docker {
                super::container::check(ctx, action, docker)?;
            }
            if ctx
                .device
                .qemu
                .as_ref()
                .is_none_or(|q| q.options.trim().is_empty())
            {
                return Err(Failure::config(
                    action,
                    format!(
                        "device type '{}' cannot boot with method qemu: it has no qemu_options \
                         (client_type = {})",
                        ctx.device.device_type,
                        client_type_name(&ctx.device.client_type)
                    ),
                ));
            }
        }
        m => {
            if ctx.device.connection.is_none() {
                return Err(Failure::config(
                    action,
                    "the device has no connection_command",
                ));
            }
            if m == BootMethod::UBoot {
                super::uboot::check(ctx, b, plan)?;
            }
        }
    }
    Ok(())
}

/// The device's `client_type` as its `.conf` spells it.
fn client_type_name(c: &ClientType) -> &str {
    match c {
        ClientType::Qemu => "qemu",
        ClientType::Bootloader => "bootloader",
        ClientType::Other(name) => name,
    }
}

/// Runs the boot action.
pub async fn run(ctx: &mut Ctx, action: &str, b: &Boot) -> Result<(), Failure> {
    if let Some(old) = ctx.conn.take() {
        old.close().await;
    }
    ctx.shell_ready = false;
    ctx.overlay_on_target = false;
    ctx.transfer_overlay = b.transfer_overlay.clone();
    match method(b, ctx) {
        BootMethod::Qemu => qemu(ctx, action, b).await?,
        BootMethod::UBoot => {
            connect(ctx, action).await?;
            super::uboot::boot(ctx, action, b).await?
        }
        _ => minimal(ctx, action).await?,
    }
    let step = ctx.begin_step("auto-login-action");
    let r = login::login(ctx, action, b).await;
    ctx.end_step(step, r)?;
    ctx.overlay_on_target = ctx.deployed.overlay_in_image;
    Ok(())
}

/// The QEMU command: binary, the device's options, then the deployed images, either through
/// the job's `image_arg`s or `{KERNEL}`/`{RAMDISK}`/`{DISK_IMAGE}`/`{DTB}` placeholders in
/// `qemu_options`, or appended with the usual flags; then the job's boot options. The
/// device's settings are split with shell-words rules; the job's arguments pass the
/// allow-list again here (the submit checked them first) and are never split by a shell.
pub fn qemu_argv(ctx: &Ctx, action: &str, b: &Boot) -> Result<Argv, Failure> {
    let q = ctx
        .device
        .qemu
        .as_ref()
        .ok_or_else(|| Failure::config(action, "the device is not a QEMU device"))?;
    let config = |key: &str, line: &str| -> Result<Vec<String>, Failure> {
        if line.trim().is_empty() {
            return Ok(Vec::new());
        }
        Argv::from_config(key, line)
            .map(|a| a.words().to_vec())
            .map_err(|e| Failure::config(action, e.to_string()))
    };
    let path = |role: &str| ctx.images.get(role).map(|p| p.display().to_string());
    let ramdisk = path("ramdisk").or_else(|| path("initrd"));
    let disk = path("image").or_else(|| path("rootfs"));
    let mut words = config("qemu_binary", &q.binary)?;
    let mut options = config("qemu_options", &q.options)?;
    for (placeholder, value, flag) in [
        ("{KERNEL}", path("kernel"), "-kernel"),
        ("{RAMDISK}", ramdisk, "-initrd"),
        ("{DISK_IMAGE}", disk, "-hda"),
        ("{DTB}", path("dtb"), "-dtb"),
    ] {
        let Some(v) = value else { continue };
        if options.iter().any(|o| o.contains(placeholder)) {
            for o in &mut options {
                *o = o.replace(placeholder, &v);
            }
        } else if ctx.image_args.is_empty() {
            options.extend([flag.to_string(), v]);
        }
    }
    words.append(&mut options);
    if ctx.image_args.is_empty() {
        if ctx.images.contains_key("kernel") {
            words.extend(["-append".to_string(), q.kernel_args.clone()]);
        }
    } else {
        let roles: Vec<&str> = ctx.images.keys().map(String::as_str).collect();
        for arg in &ctx.image_args {
            let checked =
                check_image_arg(arg, &roles).map_err(|e| Failure::job(action, e.to_string()))?;
            let mut drive = false;
            for word in checked {
                let mut word = word;
                for (role, p) in &ctx.images {
                    // In QEMU's key=value lists a comma ends the value: double it.
                    let p = p.display().to_string();
                    let p = if drive { p.replace(',', ",,") } else { p };
                    word = word.replace(&format!("{{{role}}}"), &p);
                }
                drive = matches!(word.as_str(), "-drive" | "--drive" | "-device" | "--device");
                words.push(word);
            }
        }
    }
    // The job's `extra_options` context key, rendered into a dictionary's `extra`, and the
    // boot action's options: both the job's, both through the allow-list.
    for o in q.job_options.iter().chain(&b.options) {
        let checked = check_boot_option(o).map_err(|e| Failure::job(action, e.to_string()))?;
        words.extend(checked);
    }
    Argv::from_words(words).ok_or_else(|| Failure::config(action, "qemu_binary is empty"))
}

async fn qemu(ctx: &mut Ctx, action: &str, b: &Boot) -> Result<(), Failure> {
    let mut argv = qemu_argv(ctx, action, b)?;
    if let Some(docker) = &b.docker {
        // A retried boot's container is still there (its client was killed): its name
        // would clash with the new one's.
        if let Some(old) = ctx.container.take() {
            old.remove(&ctx.log)
                .await
                .map_err(|e| Failure::infra(action, e))?;
        }
        let (wrapped, container) = super::container::wrap(ctx, action, docker, &argv)?;
        ctx.container = Some(container);
        argv = wrapped;
    }
    ctx.log.info(format!("starting: {argv}"));
    let conn =
        Connection::spawn(&argv, &ctx.log).map_err(|e| Failure::infra(action, e.to_string()))?;
    ctx.conn = Some(conn);
    Ok(())
}

/// Connects to the console; a board behind telnet gets `\r` line ends (a `\r\n` would
/// reach it as two) and the configured character delay.
async fn connect(ctx: &mut Ctx, action: &str) -> Result<(), Failure> {
    let c = ctx
        .device
        .connection
        .clone()
        .ok_or_else(|| Failure::config(action, "the device has no connection_command"))?;
    let argv = Argv::from_config("connection_command", &c.command)
        .map_err(|e| Failure::config(action, e.to_string()))?;
    let mut conn =
        Connection::spawn(&argv, &ctx.log).map_err(|e| Failure::infra(action, e.to_string()))?;
    conn.set_line_end("\r");
    conn.set_char_delay(c.char_delay);
    ctx.conn = Some(conn);
    Ok(())
}

/// Resets the board: `hard_reset_command`, or `power_on_cmd`; without either, the board is
/// expected to boot by itself.
pub async fn reset(ctx: &mut Ctx, action: &str) -> Result<(), Failure> {
    if super::power(ctx, action, PowerKey::HardReset).await?
        || super::power(ctx, action, PowerKey::On).await?
    {
        ctx.powered = true;
    } else {
        ctx.log.warning(
            "the device has no hard_reset_command nor power_on_cmd: waiting for it to boot",
        );
    }
    Ok(())
}

async fn minimal(ctx: &mut Ctx, action: &str) -> Result<(), Failure> {
    connect(ctx, action).await?;
    reset(ctx, action).await
}
