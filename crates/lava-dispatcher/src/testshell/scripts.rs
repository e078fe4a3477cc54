//! The files the test shell puts on the target: the `lava-test-*` helpers, one `run.sh` per
//! test definition, and the runner.
//!
//! The helpers print LAVA's markers, but never contain a marker's literal text (they build
//! it from `$L`), because the shell echoes what is typed when the files are transferred, and
//! that echo must not look like a result. A definition with `lava-signal: kmsg` sets `KMSG`,
//! and the markers go to `/dev/kmsg` instead (at level 0, so the console shows them whatever
//! the kernel's log level), as LAVA's `lava-common-functions` do.

use std::collections::BTreeMap;

use lava_common::job::TestDefinitionFile;

/// A `lava-test-*` helper: `#!/bin/sh`, its usage comment, then the `signal` function every
/// helper prints its markers with (to the console, or to `/dev/kmsg` under `KMSG`), then its
/// body. Each helper is a file of its own on the target, so each carries the function.
macro_rules! helper {
    ($comment:literal, $body:literal) => {
        concat!(
            "#!/bin/sh\n",
            $comment,
            r#"L=LAVA
signal() {
    if [ -n "$KMSG" ]; then echo "<0>$1" > /dev/kmsg; else echo "$1"; fi
}
"#,
            $body
        )
    };
}

/// `lava-test-case NAME --result R [--measurement M] [--units U]` or
/// `lava-test-case NAME --shell COMMAND...`.
pub const LAVA_TEST_CASE: &str = helper!(
    r#"# lava-test-case NAME --result pass|fail|skip|unknown [--measurement M] [--units U]
# lava-test-case NAME --shell COMMAND...
"#,
    r#"name="$1"
if [ -z "$name" ] || [ $# -lt 2 ]; then
    echo "usage: lava-test-case NAME --result RESULT | --shell COMMAND..." >&2
    exit 1
fi
shift
case "$1" in
--shell)
    shift
    signal "<${L}_SIGNAL_STARTTC $name>"
    "$@"
    rc=$?
    signal "<${L}_SIGNAL_ENDTC $name>"
    if [ "$rc" -eq 0 ]; then result=pass; else result=fail; fi
    signal "<${L}_SIGNAL_TESTCASE TEST_CASE_ID=$name RESULT=$result>"
    ;;
--result)
    result="$2"
    shift 2
    measurement=
    units=
    while [ $# -gt 0 ]; do
        case "$1" in
        --measurement) measurement="$2"; shift 2 ;;
        --units) units="$2"; shift 2 ;;
        *) shift ;;
        esac
    done
    extra=
    [ -n "$units" ] && extra="$extra UNITS=$units"
    [ -n "$measurement" ] && extra="$extra MEASUREMENT=$measurement"
    signal "<${L}_SIGNAL_TESTCASE TEST_CASE_ID=$name RESULT=$result$extra>"
    ;;
*)
    echo "lava-test-case: expected --result or --shell after the name" >&2
    exit 1
    ;;
esac
"#
);

/// `lava-test-set start NAME` / `lava-test-set stop`.
pub const LAVA_TEST_SET: &str = helper!(
    "",
    r#"case "$1" in
start) signal "<${L}_SIGNAL_TESTSET START $2>" ;;
stop) signal "<${L}_SIGNAL_TESTSET STOP>" ;;
*) echo "usage: lava-test-set start NAME | stop" >&2; exit 1 ;;
esac
"#
);

/// `lava-test-raise MESSAGE`: ends the job with a test error.
pub const LAVA_TEST_RAISE: &str = helper!(
    "",
    r#"signal "<${L}_SIGNAL_TESTRAISE $*>"
"#
);

/// Quotes a value for `sh`.
pub fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// The overlay's `secrets` file, which a test step sources (`. /lava-*/secrets`), as in
/// LAVA: one `NAME=value` per secret, the value quoted for the shell.
pub fn secrets(values: &BTreeMap<String, String>) -> String {
    values
        .iter()
        .map(|(k, v)| format!("{k}={}\n", sh_quote(v)))
        .collect()
}

/// The runner: every definition's `run.sh` in order, then the end marker.
pub fn runner(root: &str, ids: &[String]) -> String {
    let mut s = String::from("#!/bin/sh\nL=LAVA\n");
    for id in ids {
        s.push_str(&format!("sh {root}/tests/{id}/run.sh\n"));
    }
    s.push_str("echo \"<${L}_TEST_RUNNER EXIT>\"\n");
    s
}

/// One definition's `run.sh`: parameters, install steps, run steps, framed by the run
/// markers.
pub fn run_sh(
    root: &str,
    id: &str,
    uuid: &str,
    def: &TestDefinitionFile,
    params: &BTreeMap<String, String>,
) -> String {
    let mut s = format!(
        "#!/bin/sh\nL=LAVA\nexport PATH={root}/bin:$PATH\nexport TESTRUN_ID={id}\ncd {root}/tests/{id}\n"
    );
    let mut all = def.params.clone();
    all.extend(params.iter().map(|(k, v)| (k.clone(), v.clone())));
    for (k, v) in &all {
        s.push_str(&format!("export {k}={}\n", sh_quote(v)));
    }
    // `lava-signal: kmsg`: the markers at the kernel's highest level, which every console
    // shows, as LAVA writes them; the helpers follow `KMSG`.
    let (to, level) = if def.kmsg {
        s.push_str("export KMSG=true\n");
        (" > /dev/kmsg", "<0>")
    } else {
        ("", "")
    };
    s.push_str(&format!(
        "echo \"{level}<${{L}}_SIGNAL_STARTRUN {id} {uuid}>\"{to}\n"
    ));
    for step in def.install_steps.iter().chain(&def.run_steps) {
        s.push_str(step);
        s.push('\n');
    }
    if def.kmsg {
        s.push_str("unset KMSG\n");
    }
    s.push_str(&format!(
        "echo \"{level}<${{L}}_SIGNAL_ENDRUN {id} {uuid}>\"{to}\n"
    ));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_secrets_file_sources_every_value_back_unchanged() {
        let mut values = BTreeMap::new();
        values.insert("A".to_string(), "it's $HOME `id` \\ \"q\"".to_string());
        values.insert("B_2".to_string(), String::new());
        let text = secrets(&values);
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("{text}printf '%s|%s' \"$A\" \"$B_2\""))
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        assert_eq!(
            String::from_utf8(out.stdout).unwrap(),
            format!("{}|", values["A"])
        );
    }

    #[test]
    fn no_script_contains_a_literal_marker() {
        let def = TestDefinitionFile {
            name: "smoke".into(),
            description: None,
            install_steps: vec![],
            run_steps: vec!["lava-test-case a --shell true".into()],
            parse_pattern: None,
            fixupdict: BTreeMap::new(),
            params: BTreeMap::from([("X".to_string(), "it's".to_string())]),
            kmsg: false,
        };
        let run = run_sh("/lava-1", "0_smoke", "1_0", &def, &BTreeMap::new());
        assert!(run.contains("export X='it'\\''s'"), "{run}");
        for text in [
            LAVA_TEST_CASE,
            LAVA_TEST_SET,
            LAVA_TEST_RAISE,
            &run,
            &runner("/lava-1", &["0_smoke".into()]),
        ] {
            assert!(!text.contains("<LAVA_"), "{text}");
        }
    }
}
