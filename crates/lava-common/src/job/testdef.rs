//! Lava-Test Test Definition 1.0: the YAML file a test shell runs (`metadata`, `install`,
//! `run.steps`, `parse.pattern`), from a git repository, a URL or inline in the job.

use std::collections::BTreeMap;

use super::error::JobError;
use super::node::Node;
use super::reader::At;

/// A test definition, read and checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestDefinitionFile {
    /// `metadata.name`.
    pub name: String,
    /// `metadata.description`, if any.
    pub description: Option<String>,
    /// `install.steps`: shell commands run before the test.
    pub install_steps: Vec<String>,
    /// `run.steps`: the test's shell commands.
    pub run_steps: Vec<String>,
    /// `parse.pattern`: a regular expression with named groups `test_case_id`, `result` and
    /// optionally `measurement` and `units`, applied to every output line.
    pub parse_pattern: Option<String>,
    /// `parse.fixupdict`: maps words the test prints to LAVA results (`PASS: pass`).
    pub fixupdict: BTreeMap<String, String>,
    /// `params`: default parameter values, overridden by the job's `parameters`.
    pub params: BTreeMap<String, String>,
    /// Whether its markers go to the kernel log: the job's `lava-signal: kmsg` for it, set by
    /// the dispatcher (a definition file does not say).
    pub kmsg: bool,
}

/// Checks a test definition's path inside its repository (`path` in YAML, `testdef` in
/// seed-era JSON): relative, and never climbing out with `..`. The dispatcher also refuses a
/// symbolic link that leads out of the checkout, which only the checkout can show.
pub fn check_testdef_path(path: &str) -> Result<(), String> {
    if path.is_empty() {
        return Err("the path is empty".into());
    }
    if path.starts_with('/') {
        return Err(format!(
            "'{path}' is absolute; it must be relative to the repository"
        ));
    }
    if path.split('/').any(|part| part == "..") {
        return Err(format!("'{path}' leaves the repository with '..'"));
    }
    if path.contains('\0') {
        return Err("the path contains a NUL byte".into());
    }
    Ok(())
}

/// Reads a test definition from YAML text.
pub fn parse_testdef_yaml(text: &str) -> Result<TestDefinitionFile, JobError> {
    testdef(&Node::from_yaml_text(text)?)
}

/// Reads a test definition given inline in a job (already a JSON value).
pub fn parse_testdef_value(value: &serde_json::Value) -> Result<TestDefinitionFile, JobError> {
    testdef(&Node::from_json_text(&value.to_string())?)
}

fn testdef(node: &Node) -> Result<TestDefinitionFile, JobError> {
    let root = At::root(node).map()?;
    let metadata = root.required("metadata")?.map()?;
    let name = metadata.req_str("name")?;
    let description = metadata.opt_str("description")?;
    if let Some(format) = metadata.opt_str("format")?
        && !format.starts_with("Lava-Test")
    {
        return Err(metadata.required("format")?.error(format!(
            "unsupported format '{format}' (expected 'Lava-Test Test Definition 1.0')"
        )));
    }
    let install_steps = match root.get_some("install") {
        Some(install) => install.map()?.strings("steps")?,
        None => Vec::new(),
    };
    let run_steps = match root.get_some("run") {
        Some(run) => run.map()?.strings("steps")?,
        None => Vec::new(),
    };
    let (parse_pattern, fixupdict) = match root.get_some("parse") {
        Some(parse) => {
            let parse = parse.map()?;
            let fixup = match parse.get_some("fixupdict") {
                Some(f) => string_map(&f)?,
                None => BTreeMap::new(),
            };
            (parse.opt_str("pattern")?, fixup)
        }
        None => (None, BTreeMap::new()),
    };
    let params = match root.get_some("params") {
        Some(p) => string_map(&p)?,
        None => BTreeMap::new(),
    };
    Ok(TestDefinitionFile {
        name,
        description,
        install_steps,
        run_steps,
        parse_pattern,
        fixupdict,
        params,
        kmsg: false,
    })
}

fn string_map(at: &At<'_>) -> Result<BTreeMap<String, String>, JobError> {
    at.map()?
        .entries()
        .map(|(k, v)| Ok((k.to_string(), v.scalar_string()?)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_definition() {
        let text = "metadata:\n  format: Lava-Test Test Definition 1.0\n  name: smoke\n  description: checks\nparams:\n  COUNT: 3\ninstall:\n  steps:\n  - echo installing\nrun:\n  steps:\n  - lava-test-case uname --shell uname -a\nparse:\n  pattern: '(?P<test_case_id>\\w+): (?P<result>PASS|FAIL)'\n  fixupdict:\n    PASS: pass\n    FAIL: fail\n";
        let t = parse_testdef_yaml(text).unwrap();
        assert_eq!(t.name, "smoke");
        assert_eq!(t.install_steps, ["echo installing"]);
        assert_eq!(t.run_steps, ["lava-test-case uname --shell uname -a"]);
        assert_eq!(t.fixupdict["PASS"], "pass");
        assert_eq!(t.params["COUNT"], "3");
        assert!(t.parse_pattern.unwrap().contains("test_case_id"));
    }

    #[test]
    fn errors_name_the_path() {
        let e = parse_testdef_yaml(
            "metadata:\n  format: Lava-Test Test Definition 1.0\nrun:\n  steps: []\n",
        )
        .unwrap_err();
        assert_eq!(e.path(), "metadata.name");
        let e = parse_testdef_yaml("metadata:\n  name: x\nrun:\n  steps: 5\n").unwrap_err();
        assert_eq!(e.path(), "run.steps");
        assert_eq!(e.line(), Some(4));
    }

    #[test]
    fn paths_stay_in_the_repository() {
        assert!(check_testdef_path("ubuntu/smoke.yaml").is_ok());
        assert!(check_testdef_path("./a..b/x.yaml").is_ok());
        for bad in ["", "/etc/passwd", "../x.yaml", "a/../../x.yaml", "a/.."] {
            assert!(check_testdef_path(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn inline_values_work() {
        let v = serde_json::json!({"metadata": {"name": "inline"}, "run": {"steps": ["true"]}});
        assert_eq!(parse_testdef_value(&v).unwrap().run_steps, ["true"]);
    }
}
