#![deny(unsafe_code)]
//! The checks behind the fuzz targets: each takes one input from libFuzzer, runs a parser of
//! untrusted input on it and asserts what must hold for any input. A panic, a stack overflow,
//! an allocation past libFuzzer's memory limit or an input that takes longer than its timeout
//! is a crash, and `make fuzz` fails with the input saved under `fuzz/artifacts/TARGET/`.
//!
//! Who sends these inputs: anyone on the network (XML-RPC calls, job definitions through REST,
//! XML-RPC and the submission form), job authors (test definitions fetched by workers, the
//! console output their tests print, which becomes log lines and signals), and admins or, with
//! worker approval, workers (device `.conf` files).

use std::path::Path;

use lava_common::conf::{ConfFile, DeviceConfig};
use lava_common::job::{JobPlan, parse_json, parse_testdef_yaml, parse_yaml};
use lava_common::log::parse_line;
use lava_common::signals::scan_line;
use lava_server::web::xmlrpc::codec::{Value, parse_call, parse_response, response};

/// An XML-RPC request body, as `/RPC2` reads it. When it parses, the server's reply carrying
/// the same parameters back must be a well-formed response with as many values: whatever a
/// caller sends, the server never writes XML its clients cannot read.
pub fn xmlrpc_call(data: &[u8]) {
    let Ok((_method, params)) = parse_call(data) else {
        return;
    };
    let reply = response(&Value::Array(params.clone()));
    match parse_response(reply.as_bytes()) {
        Ok(Ok(Value::Array(back))) => assert_eq!(back.len(), params.len(), "{reply}"),
        other => panic!("the reply to a parsed call does not read back: {other:?}\n{reply}"),
    }
}

/// A LAVA YAML job definition. A plan that parses must survive the database's JSON column.
pub fn job_yaml(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(plan) = parse_yaml(text)
    {
        stored_plan_reads_back(&plan);
    }
}

/// A seed-era JSON job definition. A plan that parses must survive the database's JSON
/// column.
pub fn job_json(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(plan) = parse_json(text)
    {
        stored_plan_reads_back(&plan);
    }
}

fn stored_plan_reads_back(plan: &JobPlan) {
    let stored = serde_json::to_value(plan).expect("a plan is JSON");
    let back: JobPlan = serde_json::from_value(stored).expect("a stored plan reads back");
    assert_eq!(&back, plan);
}

/// A Lava-Test Test Definition file, as a worker reads it from a job's repository.
pub fn testdef(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = parse_testdef_yaml(text);
    }
}

/// A device `.conf` file: parsed, written back (the writer's output must parse to the same
/// entries, values edited through `set` included) and layered, with every value interpolated.
pub fn device_conf(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let path = Path::new("/etc/lava-dispatcher/devices/fuzz.conf");
    let Ok(file) = ConfFile::parse(path, text) else {
        return;
    };
    let mut copy = ConfFile::new(path);
    for entry in file.entries() {
        if copy.set(entry.key(), entry.value()).is_err() {
            return;
        }
    }
    let written = copy.to_string();
    let back = ConfFile::parse(path, &written).expect("written config parses");
    let pairs = |f: &ConfFile| -> Vec<(String, String)> {
        let entries = f.entries().iter();
        entries
            .map(|e| (e.key().to_owned(), e.value().to_owned()))
            .collect()
    };
    assert_eq!(pairs(&back), pairs(&file), "{written}");
    let _ = DeviceConfig::layered(&[&file]).to_map();
}

/// A console line as the test shell's markers are looked for in it.
pub fn signals(data: &[u8]) {
    for line in String::from_utf8_lossy(data).lines() {
        let _ = scan_line(line);
    }
}

/// A line of `output.yaml`, as the server reads a worker's log batch. A line that parses must
/// be written back byte for byte to a line that parses to the same.
pub fn log_line(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(line) = parse_line(text) {
        let written = line.to_line();
        let back = parse_line(&written).expect("a written log line parses");
        assert_eq!(back, line, "{written}");
    }
}
