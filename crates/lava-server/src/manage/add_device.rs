//! `add-device` / `add_device.py`: the seed's helper for adding a known device.
//!
//! It checks that the type is supported (its config file exists) and that the device exists
//! neither in the database nor as a file, adds the database row (and the device type row if
//! the database lacks it), optionally the `/anonymous/lab-health/` stream, and writes
//! `devices/NAME.conf`. The database work is one transaction that commits only after the file
//! is written, and the file is removed if the commit fails: a failure leaves neither behind.

use anyhow::{Context as _, bail};
use lava_common::device_file::NewDevice;
use lava_common::fixture::{BundleStreamRecord, DeviceRecord};
use lava_common::ids::{StreamPath, check_name};

use super::Ctx;
use lava_cli::AddDevice;

/// The stream `-b` creates when no stream exists.
pub const LAB_HEALTH_STREAM: &str = "/anonymous/lab-health/";

fn lab_health_stream() -> BundleStreamRecord {
    BundleStreamRecord {
        pathname: StreamPath::from(LAB_HEALTH_STREAM.to_string()),
        name: "lab-health".to_string(),
        slug: "lab-health".to_string(),
        user: None,
        group: None,
        is_public: true,
        is_anonymous: true,
    }
}

/// Runs the helper.
pub async fn run(ctx: &Ctx<'_>, args: &AddDevice) -> anyhow::Result<()> {
    let settings = ctx.settings;
    check_name("device type", &args.device_type)?;
    check_name("device", &args.name)?;
    let type_conf = settings.device_type_conf(&args.device_type);
    if !type_conf.is_file() {
        bail!(
            "'{}' is not an existing device type on this instance: {} does not exist",
            args.device_type,
            type_conf.display()
        );
    }
    let device_conf = settings.device_conf(&args.name);
    if device_conf.exists() {
        bail!(
            "device '{}' already exists: {} is present (use a different hostname)",
            args.name,
            device_conf.display()
        );
    }
    // A device is named by its hostname, whatever its file is called.
    if let Some(other) = lava_common::conf::devices::find(&settings.dispatcher_etc, &args.name) {
        bail!(
            "device '{}' already exists: {} says hostname = {} (use a different hostname)",
            args.name,
            other.display(),
            args.name
        );
    }
    let conf = NewDevice {
        device_type: &args.device_type,
        hostname: &args.name,
        telnet_port: args.telnet_port,
        pdu_port: args.pdu_port,
    }
    .render(&device_conf)?;

    let mut client = ctx.client().await?;
    let tx = client.transaction().await?;
    if lava_db::devices::get(&tx, &args.name).await?.is_some() {
        bail!("device '{}' already exists in the database", args.name);
    }
    let streams = lava_db::streams::count(&tx).await?;
    if args.simulate {
        println!("would write {}:", device_conf.display());
        print!("{conf}");
        println!(
            "would add device '{}' of type '{}' to the database",
            args.name, args.device_type
        );
        if args.bundle_stream && streams == 0 {
            println!("would create bundle stream {LAB_HEALTH_STREAM}");
        }
        return Ok(());
    }
    if lava_db::device_types::ensure(&tx, &args.device_type).await? {
        println!("added device type '{}' to the database", args.device_type);
    }
    let record = DeviceRecord::new(args.name.clone(), args.device_type.clone());
    lava_db::devices::add(&tx, &record).await?;
    if args.bundle_stream {
        if streams == 0 {
            lava_db::streams::add(&tx, &lab_health_stream()).await?;
            println!("created bundle stream {LAB_HEALTH_STREAM}");
        } else {
            println!("{streams} bundle stream(s) exist: not creating {LAB_HEALTH_STREAM}");
        }
    }
    if let Some(dir) = device_conf.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    conf.write_new()?;
    if let Err(e) = tx.commit().await {
        let _ = std::fs::remove_file(&device_conf);
        return Err(e).context("the database did not accept the device; the file was removed");
    }
    println!(
        "added device '{}' of type '{}'",
        args.name, args.device_type
    );
    println!("wrote {}", device_conf.display());
    Ok(())
}
