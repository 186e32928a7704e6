//! The generic transcoder against thriftpy2 on the kitchen-sink IDL: what
//! we encode from JSON, thriftpy2 decodes to the same JSON; what thriftpy2
//! encodes from JSON, we decode to the same JSON.
//!
//! Without thriftpy2 (`pip install thriftpy2`) the test prints a notice
//! and passes, unless `TONIC_THRIFT_REQUIRE_PYTHON=1` is set (CI).

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::{json, Value};
use tonic_thrift_generic::json as gjson;

use super::{load, repo, ty};

/// Runs the peer over `requests`, one JSON line each way.
fn peer(requests: &[Value]) -> Vec<Value> {
    let mut child = Command::new("python3")
        .arg(repo("tests/python/generic_peer.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    {
        let mut stdin = child.stdin.take().unwrap();
        for r in requests {
            writeln!(stdin, "{r}").unwrap();
        }
    }
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "generic_peer.py failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// Kitchen-sink values in the generic JSON form, as our decoder writes
/// them (every field the encoder fills from a default included, sets in
/// sorted order).
fn cases() -> Vec<(&'static str, Value)> {
    vec![
        (
            "AllTypes",
            json!({"b": true, "by": -1, "small": 7, "short_": -300, "int32": -5, "int64": 9007199254740993_i64,
                   "dbl": 2.5, "str": "ünïcode", "bin": "AAEC/w==", "maybe": "m", "negative_id": -7,
                   "count": 1, "ratio": -0.125}),
        ),
        (
            "Containers",
            json!({"ints": [3, 1, 2], "names": ["a", "b"],
                   "deep": {"x": [{"1": [5, 6], "-2": []}], "y": []},
                   "nested_lists": [[["p", "q"]], [[]]],
                   "by_color": {"RED": {"id": 1, "color": "GREEN"}, "NEGATIVE": {"id": -1, "label": "neg", "color": "BLUE"}},
                   "doubles": [0.5, 1.25], "flags": {"AA==": true, "/w==": false},
                   "items": [{"id": 10, "color": "RED"}],
                   "all": [{"b": false, "by": 0, "small": 0, "short_": 0, "int32": 42, "int64": 0, "dbl": 1.5,
                            "str": "default", "bin": "", "count": 3, "ratio": 0.0}]}),
        ),
        ("Choice", json!({"item": {"id": 4, "color": "BLUE"}})),
        ("Choice", json!({"many": [{"number": 1}, {"text": "two"}]})),
        (
            "Node",
            json!({"value": 1, "next": {"value": 2, "children": []}, "children": [{"value": 3, "children": []}]}),
        ),
        (
            "Keywords",
            json!({"type": "t", "match": 1, "self": true, "crate": "c", "fn": 2}),
        ),
        ("Oops", json!({"message": "bad", "code": 500})),
        ("shared.NotFound", json!({"message": "gone", "id": 404})),
    ]
}

/// `value` with its `set<string>` field (`Containers.names`) sorted: a
/// set's elements go on the wire in the encoder's order, and Python's
/// order for strings changes from run to run (`PYTHONHASHSEED`).
fn string_sets_sorted(mut value: serde_json::Value) -> serde_json::Value {
    if let Some(names) = value.get_mut("names").and_then(|n| n.as_array_mut()) {
        names.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
    }
    value
}

#[test]
fn thriftpy2_reads_what_we_encode_and_we_read_what_it_encodes() {
    if !crate::python_env::has("thriftpy2", "thriftpy2") {
        return;
    }
    let desc = load("idl/kitchen_sink.thrift");
    let cases = cases();
    let mut requests = Vec::new();
    for (name, value) in &cases {
        let bytes = gjson::encode(&desc, &ty(&desc, name), value).unwrap();
        requests.push(json!({"op": "decode", "type": name, "hex": hex(&bytes)}));
        requests.push(json!({"op": "encode", "type": name, "json": value}));
    }
    let replies = peer(&requests);
    assert_eq!(replies.len(), requests.len());
    for (i, (name, value)) in cases.iter().enumerate() {
        let theirs = &replies[2 * i]["json"];
        assert_eq!(
            theirs, value,
            "{name}: thriftpy2 decoded our bytes differently"
        );
        let bytes = unhex(replies[2 * i + 1]["hex"].as_str().unwrap());
        let ours = gjson::decode(&desc, &ty(&desc, name), &bytes)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            string_sets_sorted(ours),
            string_sets_sorted(value.clone()),
            "{name}: we decoded thriftpy2's bytes differently"
        );
    }
}
