//! `make bench` for the U-Boot QEMU board: the raw boot, power-on to shell prompt, with the
//! device type's `boot_cmds_ramdisk` typed by hand over ser2net, the kernel, ramdisk and dtb
//! served by tftpd-hpa. A board job through the dispatcher does the same plus its own work;
//! the difference is the dispatcher's overhead (goal: under 1 s).
//!
//! Prints figures; asserts nothing about speed (a busy machine must not fail a build).
//! `LAVA_BENCH_BOOTS` sets the number of boots (default 3).

use std::time::{Duration, Instant};

use lava_testkit::{UbootBoard, UbootBoardConfig, board_image, built_pduclient};

const WAIT: Duration = Duration::from_secs(300);

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
        let b = board
            .raw_boot(&commands, "power_on_cmd", WAIT)
            .expect("raw boot");
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
