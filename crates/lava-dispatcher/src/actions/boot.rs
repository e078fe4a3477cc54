//! The boot action: QEMU started on its own console, or a serial board reset through its PDU,
//! interrupted in U-Boot and given its boot commands; then the login (see [`super::login`]).

use lava_common::job::{Boot, BootMethod, check_boot_option, check_image_arg};

use super::login;
use crate::command::Argv;
use crate::connection::Connection;
use crate::job::{Ctx, Failure, pattern};

/// The method a boot action really uses: a seed-era `boot_linaro_image` leaves it to the
/// device's `client_type`.
pub fn method(b: &Boot, ctx: &Ctx) -> BootMethod {
    match b.method {
        BootMethod::Device => match ctx.device.get("client_type").ok().flatten().as_deref() {
            Some("qemu") => BootMethod::Qemu,
            Some("bootloader") | Some("uboot") | Some("u-boot") => BootMethod::UBoot,
            _ => BootMethod::Minimal,
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

/// Checks that the device has what the boot method needs.
pub fn check(ctx: &Ctx, b: &Boot) -> Result<(), Failure> {
    let action = "validate";
    match method(b, ctx) {
        BootMethod::Qemu => {
            if ctx.conf(action, "qemu_options")?.is_none() {
                return Err(Failure::config(
                    action,
                    "boot method qemu needs qemu_options in the device configuration",
                ));
            }
        }
        _ => {
            if ctx.conf(action, "connection_command")?.is_none() {
                return Err(Failure::config(
                    action,
                    "the device has no connection_command",
                ));
            }
        }
    }
    Ok(())
}

/// Runs the boot action.
pub async fn run(ctx: &mut Ctx, action: &str, b: &Boot) -> Result<(), Failure> {
    if let Some(old) = ctx.conn.take() {
        old.close().await;
    }
    ctx.shell_ready = false;
    match method(b, ctx) {
        BootMethod::Qemu => qemu(ctx, action, b).await?,
        BootMethod::UBoot => uboot(ctx, action, b).await?,
        _ => minimal(ctx, action).await?,
    }
    login::login(ctx, action, b).await
}

/// The QEMU command: binary, the device's options, then the deployed images, either through
/// the job's `image_arg`s or `{KERNEL}`/`{RAMDISK}`/`{DISK_IMAGE}`/`{DTB}` placeholders in
/// `qemu_options`, or appended with the usual flags; then the job's boot options. The
/// device's settings are split with shell-words rules; the job's arguments pass the
/// allow-list again here (the submit checked them first) and are never split by a shell.
pub fn qemu_argv(ctx: &Ctx, action: &str, b: &Boot) -> Result<Argv, Failure> {
    let config = |key: &str, default: &str| -> Result<Vec<String>, Failure> {
        let line = ctx
            .conf(action, key)?
            .unwrap_or_else(|| default.to_string());
        if line.trim().is_empty() {
            return Ok(Vec::new());
        }
        Argv::from_config(key, &line)
            .map(|a| a.words().to_vec())
            .map_err(|e| Failure::config(action, e.to_string()))
    };
    let path = |role: &str| ctx.images.get(role).map(|p| p.display().to_string());
    let ramdisk = path("ramdisk").or_else(|| path("initrd"));
    let disk = path("image").or_else(|| path("rootfs"));
    let mut words = config("qemu_binary", "qemu-system-x86_64")?;
    let mut options = config("qemu_options", "")?;
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
            let args = ctx
                .conf(action, "kernel_args")?
                .unwrap_or_else(|| "console=ttyS0,115200 panic=-1".to_string());
            words.extend(["-append".to_string(), args]);
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
    for o in &b.options {
        let checked = check_boot_option(o).map_err(|e| Failure::job(action, e.to_string()))?;
        words.extend(checked);
    }
    Argv::from_words(words).ok_or_else(|| Failure::config(action, "qemu_binary is empty"))
}

async fn qemu(ctx: &mut Ctx, action: &str, b: &Boot) -> Result<(), Failure> {
    let argv = qemu_argv(ctx, action, b)?;
    ctx.log.info(format!("starting: {argv}"));
    let conn =
        Connection::spawn(&argv, &ctx.log).map_err(|e| Failure::infra(action, e.to_string()))?;
    ctx.conn = Some(conn);
    Ok(())
}

/// Connects to the console; a board behind telnet gets `\r` line ends (a `\r\n` would
/// reach it as two) and the configured character delay.
async fn connect(ctx: &mut Ctx, action: &str) -> Result<(), Failure> {
    let command = ctx
        .conf(action, "connection_command")?
        .ok_or_else(|| Failure::config(action, "the device has no connection_command"))?;
    let argv = Argv::from_config("connection_command", &command)
        .map_err(|e| Failure::config(action, e.to_string()))?;
    let mut conn =
        Connection::spawn(&argv, &ctx.log).map_err(|e| Failure::infra(action, e.to_string()))?;
    conn.set_line_end("\r");
    if let Some(ms) = ctx.conf(action, "char_delay_ms")? {
        let ms: u64 = ms.parse().map_err(|_| {
            Failure::config(
                action,
                format!("char_delay_ms '{ms}' is not a number of milliseconds"),
            )
        })?;
        conn.set_char_delay(std::time::Duration::from_millis(ms));
    }
    ctx.conn = Some(conn);
    Ok(())
}

/// Resets the board: `hard_reset_command`, or `power_on_cmd`; without either, the board is
/// expected to boot by itself.
async fn reset(ctx: &mut Ctx, action: &str) -> Result<(), Failure> {
    if super::power(ctx, action, "hard_reset_command").await?
        || super::power(ctx, action, "power_on_cmd").await?
    {
        ctx.powered = true;
    } else {
        ctx.log.warning(
            "the device has no hard_reset_command nor power_on_cmd: waiting for it to boot",
        );
    }
    Ok(())
}

async fn uboot(ctx: &mut Ctx, action: &str, b: &Boot) -> Result<(), Failure> {
    connect(ctx, action).await?;
    reset(ctx, action).await?;
    if let Some(prompt) = ctx.conf(action, "interrupt_boot_prompt")? {
        let re = pattern(action, "interrupt_boot_prompt", &prompt)?;
        ctx.expect(action, &[re]).await?;
        let key = ctx
            .conf(action, "interrupt_boot_command")?
            .unwrap_or_default();
        ctx.sendline(action, &key).await?;
    }
    let prompt = ctx
        .conf(action, "bootloader_prompt")?
        .ok_or_else(|| Failure::config(action, "the device has no bootloader_prompt"))?;
    let prompt = pattern(action, "bootloader_prompt", &regex::escape(&prompt))?;
    ctx.expect(action, std::slice::from_ref(&prompt)).await?;
    let commands = if b.commands.is_empty() {
        ctx.conf(action, "boot_cmds")?
            .unwrap_or_default()
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect()
    } else {
        b.commands.clone()
    };
    if commands.is_empty() {
        return Err(Failure::config(
            action,
            "no boot commands: set boot_cmds for the device or commands in the job",
        ));
    }
    for (i, command) in commands.iter().enumerate() {
        ctx.sendline(action, command).await?;
        if i + 1 < commands.len() {
            ctx.expect(action, std::slice::from_ref(&prompt)).await?;
        }
    }
    if let Some(msg) = ctx.conf(action, "image_boot_msg")? {
        let re = pattern(action, "image_boot_msg", &regex::escape(&msg))?;
        ctx.expect(action, &[re]).await?;
    }
    Ok(())
}

async fn minimal(ctx: &mut Ctx, action: &str) -> Result<(), Failure> {
    connect(ctx, action).await?;
    reset(ctx, action).await
}
