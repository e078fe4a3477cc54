//! The boot action: QEMU started on its own console, or a serial board reset through its PDU,
//! interrupted in U-Boot and given its boot commands; then the login (see [`super::login`]).

use lava_common::job::{Boot, BootMethod};

use super::login;
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

/// Quotes a path for `sh -c`.
fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// The QEMU command line: binary, device options, then the deployed images, either through
/// the job's `image_arg`s or `{KERNEL}`/`{RAMDISK}`/`{DISK_IMAGE}` placeholders in
/// `qemu_options`, or appended with the usual flags.
pub fn qemu_command(ctx: &Ctx, action: &str, b: &Boot) -> Result<String, Failure> {
    let binary = ctx
        .conf(action, "qemu_binary")?
        .unwrap_or_else(|| "qemu-system-x86_64".into());
    let mut options = ctx.conf(action, "qemu_options")?.unwrap_or_default();
    let path = |role: &str| {
        ctx.images
            .get(role)
            .map(|p| sh_quote(&p.display().to_string()))
    };
    let ramdisk = path("ramdisk").or_else(|| path("initrd"));
    let disk = path("image").or_else(|| path("rootfs"));
    let mut extra = Vec::new();
    for (placeholder, value, flag) in [
        ("{KERNEL}", path("kernel"), "-kernel"),
        ("{RAMDISK}", ramdisk, "-initrd"),
        ("{DISK_IMAGE}", disk, "-hda"),
        ("{DTB}", path("dtb"), "-dtb"),
    ] {
        match value {
            Some(v) if options.contains(placeholder) => options = options.replace(placeholder, &v),
            Some(v) if ctx.image_args.is_empty() => extra.push(format!("{flag} {v}")),
            _ => {}
        }
    }
    let mut command = format!("{binary} {options}");
    if ctx.image_args.is_empty() {
        command.push(' ');
        command.push_str(&extra.join(" "));
        if ctx.images.contains_key("kernel") {
            let args = ctx
                .conf(action, "kernel_args")?
                .unwrap_or_else(|| "console=ttyS0,115200 panic=-1".to_string());
            command.push_str(&format!(" -append {}", sh_quote(&args)));
        }
    } else {
        for arg in &ctx.image_args {
            let mut arg = arg.clone();
            for (role, p) in &ctx.images {
                arg = arg.replace(&format!("{{{role}}}"), &sh_quote(&p.display().to_string()));
            }
            command.push(' ');
            command.push_str(&arg);
        }
    }
    for o in &b.options {
        command.push(' ');
        command.push_str(o);
    }
    Ok(command)
}

async fn qemu(ctx: &mut Ctx, action: &str, b: &Boot) -> Result<(), Failure> {
    let command = qemu_command(ctx, action, b)?;
    ctx.log.info(format!("starting: {command}"));
    let conn =
        Connection::spawn(&command, &ctx.log).map_err(|e| Failure::infra(action, e.to_string()))?;
    ctx.conn = Some(conn);
    Ok(())
}

/// Connects to the console; a board behind telnet gets `\r` line ends (a `\r\n` would
/// reach it as two) and the configured character delay.
async fn connect(ctx: &mut Ctx, action: &str) -> Result<(), Failure> {
    let command = ctx
        .conf(action, "connection_command")?
        .ok_or_else(|| Failure::config(action, "the device has no connection_command"))?;
    let mut conn =
        Connection::spawn(&command, &ctx.log).map_err(|e| Failure::infra(action, e.to_string()))?;
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
