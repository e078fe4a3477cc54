//! `make bench` for the U-Boot QEMU board: the raw boot, power-on to shell prompt, with the
//! device type's `boot_cmds_ramdisk` typed by hand over ser2net, the kernel, ramdisk and dtb
//! served by tftpd-hpa. A board job through the dispatcher does the same plus its own work;
//! the difference is the dispatcher's overhead (goal: under 1 s).
//!
//! Prints figures; asserts nothing about speed (a busy machine must not fail a build).
//! `LAVA_BENCH_BOOTS` sets the number of boots (default 3).

use std::time::{Duration, Instant};

use lava_testkit::{
    SHELL_PROMPT, TelnetConsole, UbootBoard, UbootBoardConfig, board_image, built_pduclient,
    run_power_command,
};

const WAIT: Duration = Duration::from_secs(300);

/// When each stage of one boot was reached, from the power-on request.
struct Boot {
    uboot_prompt: Duration,
    kernel_tftp: Duration,
    starting_kernel: Duration,
    login_prompt: Duration,
    shell_prompt: Duration,
}

fn boot(board: &UbootBoard, commands: &[String]) -> Boot {
    let mut console = TelnetConsole::connect(board.telnet_port()).expect("console");
    console
        .expect("ser2net port", WAIT)
        .expect("ser2net's banner");
    let value = |key: &str| board.device_value(key).expect(key);
    let prompt = value("bootloader_prompt");
    let powered = Instant::now();
    run_power_command(board, "power_on_cmd").expect("power on");
    console
        .expect(&value("interrupt_boot_prompt"), WAIT)
        .expect("countdown");
    console
        .send(&format!("{}\r", value("interrupt_boot_command")))
        .expect("send");
    console.expect(&prompt, WAIT).expect("U-Boot prompt");
    let uboot_prompt = powered.elapsed();
    let (last, before) = commands.split_last().expect("commands");
    let mut kernel_tftp = Duration::ZERO;
    for command in before {
        let sent = Instant::now();
        console.send(&format!("{command}\r")).expect("send");
        let out = console.expect(&prompt, WAIT).expect("U-Boot prompt");
        assert!(!out.contains("TFTP error"), "{command}: {out}");
        if command.contains("/Image") {
            kernel_tftp = sent.elapsed();
        }
    }
    console.send(&format!("{last}\r")).expect("send");
    console
        .expect(&value("image_boot_msg"), WAIT)
        .expect("kernel start");
    let starting_kernel = powered.elapsed();
    console
        .expect(&value("login_prompt"), WAIT)
        .expect("login prompt");
    let login_prompt = powered.elapsed();
    console
        .send(&format!("{}\r", value("username")))
        .expect("send");
    console.expect(SHELL_PROMPT, WAIT).expect("shell prompt");
    let shell_prompt = powered.elapsed();
    run_power_command(board, "power_off_cmd").expect("power off");
    Boot {
        uboot_prompt,
        kernel_tftp,
        starting_kernel,
        login_prompt,
        shell_prompt,
    }
}

fn main() {
    let boots: usize = std::env::var("LAVA_BENCH_BOOTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(3);
    let started = Instant::now();
    let image = board_image().expect("the board's images");
    let pduclient = built_pduclient().expect("pduclient");
    let board = UbootBoard::start(&UbootBoardConfig::temporary(&pduclient)).expect("the board");
    println!(
        "u-boot board start: {:.2} s (images ready, ser2net, pdudaemon, tftpd-hpa in its namespace)",
        started.elapsed().as_secs_f64()
    );
    let files = board.place_job_files("bench", &image).expect("job files");
    let commands = board.ramdisk_commands(&files).expect("boot commands");
    let kernel_mib = std::fs::metadata(&image.kernel).expect("kernel").len() as f64 / 1048576.0;
    let mut totals = Vec::new();
    for n in 1..=boots {
        let b = boot(&board, &commands);
        println!(
            "u-boot raw boot {n}/{boots}: shell prompt {:.2} s after power-on (U-Boot prompt \
             {:.2} s, 'Starting kernel' {:.2} s, login prompt {:.2} s; kernel TFTP {:.2} s = \
             {:.1} MiB/s)",
            b.shell_prompt.as_secs_f64(),
            b.uboot_prompt.as_secs_f64(),
            b.starting_kernel.as_secs_f64(),
            b.login_prompt.as_secs_f64(),
            b.kernel_tftp.as_secs_f64(),
            kernel_mib / b.kernel_tftp.as_secs_f64(),
        );
        totals.push(b.shell_prompt);
    }
    totals.sort();
    println!(
        "u-boot raw boot, power-on to shell prompt: median {:.2} s, min {:.2} s, max {:.2} s \
         over {boots} boots (booti, {kernel_mib:.1} MiB Image over TFTP, TCG)",
        totals[totals.len() / 2].as_secs_f64(),
        totals[0].as_secs_f64(),
        totals[totals.len() - 1].as_secs_f64(),
    );
}
