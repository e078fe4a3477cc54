//! The validate step: before anything runs, the device can do what the job asks, and the
//! job asks only for what a job may have on this host: QEMU arguments of the allow-list
//! (checked at submit, checked again here for a definition that came another way), file URLs
//! inside `jobs.file_url_dirs`, remote URLs that do not lead to local addresses, git
//! repositories of the supported kinds. The same checks run again when each thing is
//! fetched; here they stop a job before it powers or boots anything.

use lava_common::job::{ActionKind, JobPlan, TestSource, check_boot_option, check_image_arg};

use super::download::outbound_failure;
use super::{boot, deploy};
use crate::job::{Ctx, Failure};
use crate::outbound;
use crate::testshell::git::git_target;

/// Checks, before anything runs, that the device can do what the job asks.
pub async fn validate(ctx: &Ctx, plan: &JobPlan) -> Result<(), Failure> {
    let action = "validate";
    let dt = ctx.device.device_type.clone();
    if let Some(wanted) = &plan.device_type
        && !wanted.is_empty()
        && *wanted != dt
    {
        return Err(Failure::config(
            action,
            format!("the job asks for device type '{wanted}' but the device is of type '{dt}'"),
        ));
    }
    // The job's QEMU arguments were checked at submit; a definition that reached this
    // worker another way is checked again before anything runs.
    let roles: Vec<&str> = plan
        .actions
        .iter()
        .filter_map(|a| match &a.kind {
            ActionKind::Deploy(d) => Some(d.images.iter().map(|(r, _)| r.as_str())),
            _ => None,
        })
        .flatten()
        .collect();
    let refused = |e: lava_common::job::QemuArgError| Failure::job(action, e.to_string());
    for a in &plan.actions {
        match &a.kind {
            ActionKind::Boot(b) => {
                boot::check(ctx, b, plan)?;
                for o in &b.options {
                    check_boot_option(o).map_err(refused)?;
                }
            }
            ActionKind::Deploy(d) => {
                deploy::check(ctx, d)?;
                for (_, image) in &d.images {
                    if let Some(arg) = &image.image_arg {
                        check_image_arg(arg, &roles).map_err(refused)?;
                    }
                    image_url(ctx, &image.url).await?;
                    for (_, file) in image.overlays.iter().flat_map(|o| &o.files) {
                        image_url(ctx, &file.source.url).await?;
                    }
                }
            }
            ActionKind::Test(t) => {
                for def in &t.definitions {
                    match &def.source {
                        TestSource::Url { url } | TestSource::Archive { url, .. } => {
                            image_url(ctx, url).await?
                        }
                        TestSource::Git { repository, .. } => {
                            git_target(&ctx.settings, repository)
                                .await
                                .map_err(|e| outbound_failure(action, repository, e))?;
                        }
                        TestSource::Inline { .. } => {}
                    }
                }
            }
            ActionKind::SubmitResults(_) => {}
        }
    }
    ctx.log.debug(format!(
        "device type '{dt}', {} action(s)",
        plan.actions.len()
    ));
    Ok(())
}

/// An image or test definition URL: a file inside `jobs.file_url_dirs`, or an http(s) URL
/// whose host is not a local address.
async fn image_url(ctx: &Ctx, url: &str) -> Result<(), Failure> {
    let action = "validate";
    let checked = if url.starts_with("file://") {
        outbound::file_url(&ctx.settings, url).map(|_| ())
    } else {
        match outbound::parse(url, &["http", "https"]) {
            Ok(parsed) => outbound::resolve(&ctx.settings, &parsed).await.map(|_| ()),
            Err(e) => Err(e),
        }
    };
    checked.map_err(|e| outbound_failure(action, url, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::job::test_ctx as ctx;

    /// A plan that did not come through the parser (a stored one, say) is checked too.
    #[tokio::test]
    async fn job_arguments_that_skipped_the_submit_checks_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = ctx(dir.path());
        let images = dir.path().join("var/lib/lava-server/images");
        std::fs::create_dir_all(&images).unwrap();
        std::fs::write(images.join("k"), "k").unwrap();
        let plan = |deploy: serde_json::Value, boot_options: serde_json::Value| -> JobPlan {
            let text = serde_json::json!({"device_type": "kvm", "timeout": 60, "actions": []});
            let mut plan =
                serde_json::to_value(lava_common::job::parse_job(&text.to_string()).unwrap())
                    .unwrap();
            plan["actions"] = serde_json::json!([
                {"kind": {"deploy": {"to": "tmpfs", "images": [["kernel", deploy]]}}, "timeout": null},
                {"kind": {"boot": {"method": "qemu", "commands": [], "options": boot_options, "prompts": [], "auto_login": null}}, "timeout": null}
            ]);
            serde_json::from_value(plan).unwrap()
        };
        let url = format!("file://{}/k", images.display());
        let image = |arg: &str| serde_json::json!({"url": url, "compression": null, "checksum": null, "image_arg": arg});
        validate(
            &ctx,
            &plan(image("-kernel {kernel}"), serde_json::json!(["-m 512"])),
        )
        .await
        .unwrap();
        let e = validate(
            &ctx,
            &plan(image("-kernel {kernel} $(reboot)"), serde_json::json!([])),
        )
        .await
        .unwrap_err();
        assert!(
            e.message
                .contains("image_arg '-kernel {kernel} $(reboot)' is refused"),
            "{e}"
        );
        let e = validate(
            &ctx,
            &plan(
                image("-kernel {kernel}"),
                serde_json::json!(["-m 1; reboot"]),
            ),
        )
        .await
        .unwrap_err();
        assert!(
            e.message.contains("options '-m 1; reboot' is refused"),
            "{e}"
        );
    }
}
