//! The raw boot: power-on to shell prompt with the device type's boot commands typed by hand
//! over ser2net, as a person at the board's console would. The benches hold the dispatcher's
//! board boot against it; one sequence serves them all, so both sides time the same steps.

use std::time::{Duration, Instant};

use crate::{Error, SHELL_PROMPT, TelnetConsole};

use super::{UbootBoard, run_power_command};

/// When each stage of one raw boot was reached, from the power command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawBoot {
    /// U-Boot's prompt, its countdown stopped.
    pub uboot_prompt: Duration,
    /// The kernel's TFTP transfer alone (the command that loads `/Image`).
    pub kernel_tftp: Duration,
    /// The device's `image_boot_msg` ("Starting kernel").
    pub starting_kernel: Duration,
    /// The login prompt.
    pub login_prompt: Duration,
    /// The shell prompt after logging in.
    pub shell_prompt: Duration,
}

impl UbootBoard {
    /// Boots by hand: connects to the console, runs the device's `power` command
    /// (`power_on_cmd`, or `hard_reset_command` to power as the dispatcher does), stops
    /// U-Boot's countdown, types `commands` (the last one boots), logs in, then powers off
    /// with `power_off_cmd`. Each wait on the console has `wait`; a command whose output
    /// shows a TFTP error fails the boot.
    pub fn raw_boot(
        &self,
        commands: &[String],
        power: &str,
        wait: Duration,
    ) -> Result<RawBoot, Error> {
        let (last, before) = commands
            .split_last()
            .ok_or_else(|| Error::BootCommands("no boot commands to type".into()))?;
        let mut console = TelnetConsole::connect(self.telnet_port())?;
        console.expect("ser2net port", wait)?;
        let prompt = self.device_value("bootloader_prompt")?;
        let powered = Instant::now();
        run_power_command(self, power)?;
        console.expect(&self.device_value("interrupt_boot_prompt")?, wait)?;
        console.send(&format!(
            "{}\r",
            self.device_value("interrupt_boot_command")?
        ))?;
        console.expect(&prompt, wait)?;
        let uboot_prompt = powered.elapsed();
        let mut kernel_tftp = Duration::ZERO;
        for command in before {
            let sent = Instant::now();
            console.send(&format!("{command}\r"))?;
            let out = console.expect(&prompt, wait)?;
            if out.contains("TFTP error") {
                return Err(Error::BootCommands(format!(
                    "boot command {command:?} failed: {out}"
                )));
            }
            if command.contains("/Image") {
                kernel_tftp = sent.elapsed();
            }
        }
        console.send(&format!("{last}\r"))?;
        console.expect(&self.device_value("image_boot_msg")?, wait)?;
        let starting_kernel = powered.elapsed();
        console.expect(&self.device_value("login_prompt")?, wait)?;
        let login_prompt = powered.elapsed();
        console.send(&format!("{}\r", self.device_value("username")?))?;
        console.expect(SHELL_PROMPT, wait)?;
        let shell_prompt = powered.elapsed();
        run_power_command(self, "power_off_cmd")?;
        Ok(RawBoot {
            uboot_prompt,
            kernel_tftp,
            starting_kernel,
            login_prompt,
            shell_prompt,
        })
    }
}
