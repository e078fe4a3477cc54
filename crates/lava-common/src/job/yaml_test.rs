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
        "parameters",
        "params",
    ])?;
    let repository = map.required("repository")?;
    let from = map.required("from")?;
    let source = match from.str()? {
        "git" => {
            let path = map.req_str("path")?;
            check_testdef_path(&path).map_err(|why| {
                map.get("path")
                    .map_or_else(|| at.error(why.clone()), |p| p.error(why.clone()))
            })?;
            TestSource::Git {
                repository: repository.str()?.to_string(),
                path,
                revision: map.opt_str("revision")?.or(map.opt_str("branch")?),
            }
        }
        "url" => TestSource::Url {
            url: repository.str()?.to_string(),
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
    Ok(TestDefinition {
        name: map.req_str("name")?,
        source,
        parameters,
    })
}

#[cfg(test)]
mod tests {
    use super::super::node::Node;
    use super::*;

    fn parse(text: &str) -> Result<Test, JobError> {
        let node = Node::from_yaml_text(text).unwrap();
        test(&At::root(&node).map().unwrap())
    }

    #[test]
    fn test_definitions_from_git_and_url() {
        let t = parse(
            "definitions:\n- {from: git, repository: https://g/x.git, path: a/b.yaml, name: b, branch: main, parameters: {N: 2}}\n- {from: url, repository: http://x/t.yaml, name: t}\n",
        )
        .unwrap();
        let TestSource::Git { revision, .. } = &t.definitions[0].source else {
            panic!()
        };
        assert_eq!(revision.as_deref(), Some("main"));
        assert_eq!(t.definitions[0].parameters["N"], "2");
        assert!(
            matches!(&t.definitions[1].source, TestSource::Url { url } if url == "http://x/t.yaml")
        );
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
