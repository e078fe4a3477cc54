//! The `test` action of a YAML job: test definitions from git, a URL, or inline.
//!
//! An inline definition's `repository` is the test definition mapping itself (`metadata`,
//! `run`, `parse`); it is kept as JSON for the dispatcher. Interactive tests and monitors
//! are LAVA features we do not have, and say so rather than being skipped.

use super::action::{Test, TestDefinition, TestSource};
use super::error::JobError;
use super::fields;
use super::reader::{At, MapAt};
use super::testdef::check_testdef_path;
use super::yaml_actions::allow;
use super::yaml_image::compression;

pub(crate) fn test(map: &MapAt<'_>) -> Result<Test, JobError> {
    for unsupported in ["interactive", "monitors"] {
        if let Some(at) = map.get(unsupported) {
            return Err(at.error(format!("{unsupported} tests are not supported")));
        }
    }
    allow(map, &["definitions"])?;
    let definitions = map
        .required("definitions")?
        .seq()?
        .iter()
        .map(definition)
        .collect::<Result<_, _>>()?;
    Ok(Test { definitions })
}

fn definition(at: &At<'_>) -> Result<TestDefinition, JobError> {
    let map = at.map()?;
    map.deny_unknown(&[
        "repository",
        "from",
        "path",
        "name",
        "revision",
        "branch",
        "history",
        "compression",
        "parameters",
        "params",
        "lava-signal",
        "skip_install",
    ])?;
    refuse_unsupported(&map)?;
    let repository = map.required("repository")?;
    let from = map.required("from")?;
    let source = match from.str()? {
        "git" => {
            let path = checked_path(&map, at)?;
            TestSource::Git {
                repository: repository.str()?.to_string(),
                path,
                revision: map.opt_str("revision")?.or(map.opt_str("branch")?),
            }
        }
        // LAVA 2023: a compressed tarball of definitions, `path` the one to run.
        "url" => TestSource::Archive {
            url: repository.str()?.to_string(),
            compression: compression(&map.required("compression")?)?,
            path: checked_path(&map, at)?,
        },
        "inline" => {
            repository.map()?.required("metadata")?.map()?;
            TestSource::Inline {
                definition: repository.json(),
            }
        }
        other => {
            return Err(from.error(format!(
                "unknown test source '{other}' (supported: git, inline, url)"
            )));
        }
    };
    let parameters = match map
        .get_some("parameters")
        .or_else(|| map.get_some("params"))
    {
        Some(p) => fields::string_map(&p)?,
        None => Default::default(),
    };
    let kmsg = match map.get_some("lava-signal") {
        None => false,
        Some(at) => match at.str()? {
            "stdout" => false,
            "kmsg" => true,
            other => {
                return Err(at.error(format!(
                    "unknown lava-signal '{other}' (expected stdout or kmsg)"
                )));
            }
        },
    };
    Ok(TestDefinition {
        kmsg,
        name: map.req_str("name")?,
        source,
        parameters,
    })
}

/// `path`: required, relative, inside the repository or tarball.
fn checked_path(map: &MapAt<'_>, at: &At<'_>) -> Result<String, JobError> {
    let path = map.req_str("path")?;
    check_testdef_path(&path).map_err(|why| {
        map.get("path")
            .map_or_else(|| at.error(why.clone()), |p| p.error(why.clone()))
    })?;
    Ok(path)
}

/// LAVA 2023 keys of a definition that change how it runs and that this test shell does
/// not do are refused by name.
fn refuse_unsupported(map: &MapAt<'_>) -> Result<(), JobError> {
    if let Some(at) = map.get("skip_install") {
        return Err(
            at.error("skip_install is not supported: a definition's install steps always run")
        );
    }
    if let Some(at) = map.get("history") {
        return Err(
            at.error("history is not supported: a git definition's clone is always kept whole")
        );
    }
    if let Some(at) = map.get("compression")
        && map.get("from").and_then(|f| f.str().ok()) != Some("url")
    {
        return Err(at.error("compression applies to definitions from: url only"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::action::Compression;
    use super::super::node::Node;
    use super::*;

    fn parse(text: &str) -> Result<Test, JobError> {
        let node = Node::from_yaml_text(text).unwrap();
        test(&At::root(&node).map().unwrap())
    }

    #[test]
    fn test_definitions_from_git_and_url() {
        let t = parse(
            "definitions:\n- {from: git, repository: https://g/x.git, path: a/b.yaml, name: b, branch: main, parameters: {N: 2}}\n- {from: url, repository: http://x/t.tar.xz, compression: xz, path: t/t.yaml, name: t, lava-signal: kmsg}\n",
        )
        .unwrap();
        let TestSource::Git { revision, .. } = &t.definitions[0].source else {
            panic!()
        };
        assert_eq!(revision.as_deref(), Some("main"));
        assert_eq!(t.definitions[0].parameters["N"], "2");
        assert!(!t.definitions[0].kmsg && t.definitions[1].kmsg);
        assert!(
            matches!(&t.definitions[1].source, TestSource::Archive { url, compression: Some(Compression::Xz), path }
                if url == "http://x/t.tar.xz" && path == "t/t.yaml")
        );
    }

    #[test]
    fn lava_2023_definition_keys_we_do_not_run_are_refused_by_name() {
        let cases = [
            (
                "- {from: url, repository: http://x/t.tar, path: t.yaml, name: t}\n",
                "line 2: definitions[0].compression: required key not provided",
            ),
            (
                "- {from: url, repository: http://x/t.tar, compression: none, name: t}\n",
                "line 2: definitions[0].path: required key not provided",
            ),
            (
                "- {from: url, repository: http://x/t.tar, compression: none, path: ../t.yaml, name: t}\n",
                "line 2: definitions[0].path: '../t.yaml' leaves the repository with '..'",
            ),
            (
                "- {from: git, repository: http://x/t.git, path: t.yaml, name: t, compression: gz}\n",
                "line 2: definitions[0].compression: compression applies to definitions from: url only",
            ),
            (
                "- {from: git, repository: http://x/t.git, path: t.yaml, name: t, lava-signal: dmesg}\n",
                "line 2: definitions[0].lava-signal: unknown lava-signal 'dmesg' (expected stdout or kmsg)",
            ),
            (
                "- {from: git, repository: http://x/t.git, path: t.yaml, name: t, skip_install: [deps]}\n",
                "line 2: definitions[0].skip_install: skip_install is not supported: a definition's install steps always run",
            ),
            (
                "- {from: git, repository: http://x/t.git, path: t.yaml, name: t, history: false}\n",
                "line 2: definitions[0].history: history is not supported: a git definition's clone is always kept whole",
            ),
        ];
        for (defs, want) in cases {
            let e = parse(&format!("definitions:\n{defs}")).unwrap_err();
            assert_eq!(e.to_string(), want, "{defs}");
        }
    }

    #[test]
    fn a_git_path_outside_the_repository_is_refused_at_submit() {
        let e = parse("definitions:\n- {from: git, repository: https://g/x.git, path: ../../etc/passwd, name: b}\n")
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "line 2: definitions[0].path: '../../etc/passwd' leaves the repository with '..'"
        );
    }
}
