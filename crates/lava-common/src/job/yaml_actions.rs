//! The actions of a YAML job: `deploy`, `boot` and `test`, each a single-key mapping.
//!
//! Anything else is an error naming the action, never silently skipped. Keys LAVA uses for
//! features we do not have (`namespace`, `failure_retry`, `os`, boot `media`/`connection`) are
//! accepted and ignored because they do not change what a single-device job does.

use super::action::{
    Action, ActionKind, AutoLogin, Boot, BootMethod, Checksum, ChecksumAlgorithm, Compression,
    Deploy, DeployTo, Image,
};
use super::error::JobError;
use super::fields;
use super::qemu_args::check_image_arg;
use super::reader::{At, MapAt};
use super::yaml_test;

/// Keys every action may carry that do not change a single-device job.
const COMMON: [&str; 4] = ["timeout", "namespace", "failure_retry", "os"];

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
    Ok(Action { kind, timeout })
}

pub(crate) fn allow(map: &MapAt<'_>, own: &[&str]) -> Result<(), JobError> {
    let keys: Vec<&str> = COMMON.iter().chain(own).copied().collect();
    map.deny_unknown(&keys)
}

fn deploy(map: &MapAt<'_>) -> Result<Deploy, JobError> {
    allow(map, &["to", "images"])?;
    let to_at = map.required("to")?;
    let to = match to_at.str()? {
        "tmpfs" => DeployTo::Tmpfs,
        "tftp" => DeployTo::Tftp,
        other => {
            return Err(to_at.error(format!(
                "unknown deploy target '{other}' (supported: tmpfs, tftp)"
            )));
        }
    };
    let images_at = map.required("images")?;
    let images = images_at
        .map()?
        .entries()
        .map(|(name, at)| Ok((name.to_string(), image(&at)?, at)))
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

fn image(at: &At<'_>) -> Result<Image, JobError> {
    let map = at.map()?;
    map.deny_unknown(&[
        "url",
        "compression",
        "md5sum",
        "sha256sum",
        "sha512sum",
        "image_arg",
        "format",
    ])?;
    let compression = match map.get_some("compression") {
        None => None,
        Some(c) => match c.str()? {
            "gz" => Some(Compression::Gz),
            "xz" => Some(Compression::Xz),
            "bz2" => Some(Compression::Bz2),
            "zstd" => Some(Compression::Zstd),
            "none" => None,
            other => {
                return Err(c.error(format!(
                    "unknown compression '{other}' (supported: gz, xz, bz2, zstd, none)"
                )));
            }
        },
    };
    let mut checksum = None;
    for (key, algorithm, len) in ChecksumAlgorithm::KEYS {
        let Some(at) = map.get_some(key) else {
            continue;
        };
        let hex = at.str()?.to_ascii_lowercase();
        if hex.len() != len || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(at.error(format!("expected {len} hex digits")));
        }
        if checksum.is_some() {
            return Err(at.error("only one of md5sum, sha256sum, sha512sum may be given"));
        }
        checksum = Some(Checksum { algorithm, hex });
    }
    Ok(Image {
        url: map.req_str("url")?,
        compression,
        checksum,
        image_arg: map.opt_str("image_arg")?,
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
    let commands = map
        .get_some("commands")
        .map(|c| c.string_or_strings())
        .transpose()?;
    let prompts = map
        .get_some("prompts")
        .map(|c| c.string_or_strings())
        .transpose()?;
    let auto_login = map
        .get_some("auto_login")
        .map(|a| auto_login(&a))
        .transpose()?;
    Ok(Boot {
        method: *method,
        commands: commands.unwrap_or_default(),
        options: Vec::new(),
        prompts: prompts.unwrap_or_default(),
        auto_login,
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
            "deploy:\n  to: tftp\n  timeout: {{minutes: 3}}\n  images:\n    rootfs: {{url: http://x/r.xz, compression: xz, md5sum: {md5}}}\n    kernel: {{url: http://x/k}}\n"
        ))
        .unwrap();
        assert_eq!(a.timeout, Some(std::time::Duration::from_secs(180)));
        let ActionKind::Deploy(d) = a.kind else {
            panic!()
        };
        assert_eq!(d.to, DeployTo::Tftp);
        assert_eq!(d.images[0].0, "rootfs");
        let rootfs = &d.images[0].1;
        assert_eq!(rootfs.compression, Some(Compression::Xz));
        assert_eq!(
            rootfs.checksum.as_ref().unwrap().algorithm,
            ChecksumAlgorithm::Md5
        );
        assert!(
            parse("deploy: {to: nfs, images: {}}")
                .unwrap_err()
                .to_string()
                .contains("'nfs'")
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
        assert_eq!(b.commands, ["ramdisk"]);
        assert_eq!(b.auto_login.unwrap().password.as_deref(), Some("1234"));
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
