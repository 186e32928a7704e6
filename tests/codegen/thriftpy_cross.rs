//! Cross-implementation check against Python `thriftpy2`: a Thrift Binary
//! implementation that nobody in this project wrote.
//!
//! * thriftpy2 encodes a set of kitchen-sink values (`tests/python/thriftpy_peer.py
//!   encode`); each is decoded here with the generated type and compared with
//!   the Rust value built below; where the value has no set or map (whose
//!   order is free), the Rust encoding of that value must also equal
//!   thriftpy2's bytes exactly.
//! * The values built in `rust_encoded_cases` are encoded here and decoded by
//!   thriftpy2 (`thriftpy_peer.py decode`), which checks them field by field.
//!
//! Without thriftpy2 (`pip install thriftpy2`) the tests print a notice and
//! pass, unless `TONIC_THRIFT_REQUIRE_PYTHON=1` is set (CI), where they fail.

tonic_thrift::thrift_service!("idl/kitchen_sink.thrift");

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fmt::Debug;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use bytes::{Bytes, BytesMut};
use kitchen_sink::sink_server as sink;
use kitchen_sink::{AllTypes, Choice, Containers, Keywords, Node, Oops};
use shared::{Color, Item, NotFound};
use tonic_thrift::codec::{BinaryInput, BinaryOutput};
use tonic_thrift::codec::{TInputProtocol, TOutputProtocol};
use tonic_thrift::codec::{TMessageIdentifier, TMessageType};
use tonic_thrift::FastStr;
use tonic_thrift::{Message, OrderedFloat};
use tonic_thrift::{OneArg, ValueResult, VoidResult};

// ---------------------------------------------------------------------------
// The Python peer

fn peer_script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/python/thriftpy_peer.py")
}

/// Runs the peer in `mode`, feeding `input` on stdin; returns its stdout.
/// Panics with the peer's stderr if it exits non-zero.
fn run_peer(mode: &str, input: &str) -> String {
    run_python(&peer_script(), mode, input)
}

/// Runs the Python `script` in `mode`, feeding `input` on stdin; returns
/// its stdout. Panics with the script's stderr if it exits non-zero.
pub(crate) fn run_python(script: &std::path::Path, mode: &str, input: &str) -> String {
    let mut child = Command::new("python3")
        .arg(script)
        .arg(mode)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("failed to start python3");
    {
        let mut stdin = child.stdin.take().expect("stdin");
        stdin
            .write_all(input.as_bytes())
            .expect("writing to the peer");
    }
    let out = child.wait_with_output().expect("waiting for the peer");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.success(),
        "`python3 {} {mode}` failed ({}):\n{stderr}\nstdout:\n{stdout}",
        script.display(),
        out.status
    );
    stdout
}

pub(crate) fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub(crate) fn from_hex(hex: &str) -> Vec<u8> {
    assert_eq!(hex.len() % 2, 0, "odd-length hex {hex:?}");
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex digit"))
        .collect()
}

/// The string value of `"key": "..."` in one JSON line written by the peer
/// (its values are identifiers and hex: no escapes).
fn json_field<'a>(line: &'a str, key: &str) -> &'a str {
    let pat = format!("\"{key}\": \"");
    let start = line
        .find(&pat)
        .unwrap_or_else(|| panic!("no {key:?} in peer output line {line}"))
        + pat.len();
    let len = line[start..]
        .find('"')
        .unwrap_or_else(|| panic!("unterminated {key:?} in {line}"));
    &line[start..start + len]
}

// ---------------------------------------------------------------------------
// Encoding helpers

fn encode<M: Message>(m: &M) -> Vec<u8> {
    let mut buf = BytesMut::new();
    m.encode(&mut BinaryOutput::new(&mut buf))
        .unwrap_or_else(|e| panic!("encoding {}: {e}", std::any::type_name::<M>()));
    let size = m.size(&mut BinaryOutput::new(&mut BytesMut::new()));
    assert_eq!(
        size,
        buf.len(),
        "Message::size() disagrees with the encoded length of {}",
        std::any::type_name::<M>()
    );
    buf.to_vec()
}

/// Decodes a whole buffer as `M`; trailing bytes are an error.
fn decode_all<M: Message>(data: &[u8]) -> Result<M, String> {
    let mut bytes = Bytes::copy_from_slice(data);
    let m = M::decode(&mut BinaryInput::new(&mut bytes)).map_err(|e| e.to_string())?;
    if !bytes.is_empty() {
        return Err(format!("{} trailing bytes after the struct", bytes.len()));
    }
    Ok(m)
}

/// A whole Thrift message: strict header, then `body` (a method's
/// generated `{Method}Args` / `{Method}Result`).
fn encode_message<M: Message>(
    name: &'static str,
    kind: TMessageType,
    seq: i32,
    body: &M,
) -> Vec<u8> {
    let mut buf = BytesMut::new();
    let mut p = BinaryOutput::new(&mut buf);
    p.write_message_begin(&TMessageIdentifier::new(
        FastStr::from_static_str(name),
        kind,
        seq,
    ))
    .unwrap();
    body.encode(&mut p).unwrap();
    p.write_message_end().unwrap();
    buf.to_vec()
}

// ---------------------------------------------------------------------------
// Values shared by both directions

fn s(v: &str) -> FastStr {
    FastStr::new(v)
}

fn item(id: i64, label: Option<&str>, color: Color) -> Item {
    Item {
        id,
        label: label.map(s),
        color,
    }
}

fn all_types_full() -> AllTypes {
    AllTypes {
        b: true,
        by: -128,
        small: 127,
        short_: -32768,
        int32: i32::MIN,
        int64: i64::MAX,
        dbl: -0.0,
        str: s("h\u{e9}llo \u{2713} \u{1F980} \0 nul"),
        bin: Bytes::from((0..=255u8).collect::<Vec<u8>>()),
        maybe: Some(s("")),
        negative_id: Some(-1),
        count: Some(i32::MAX),
        ratio: f64::INFINITY,
    }
}

fn containers_full() -> Containers {
    let set64 = |v: &[i64]| v.iter().copied().collect::<HashSet<i64>>();
    Containers {
        ints: vec![1, -2, i32::MAX, i32::MIN, 0],
        names: ["a", "b", "\u{fc}", ""].into_iter().map(s).collect(),
        deep: HashMap::from([
            (
                s("k"),
                vec![
                    HashMap::from([(1, set64(&[1, 2, -3])), (-5, set64(&[]))]),
                    HashMap::new(),
                ],
            ),
            (s(""), vec![]),
            (
                s("big"),
                vec![HashMap::from([(i32::MAX, set64(&[i64::MAX, i64::MIN]))])],
            ),
        ]),
        nested_lists: vec![
            vec![vec![s("x"), s("y")], vec![]],
            vec![],
            vec![vec![s("")]],
        ],
        by_color: HashMap::from([
            (Color::Red, item(1, None, Color::Green)),
            (Color::Green, item(2, Some("two"), Color::Blue)),
            (Color::Negative, item(-3, None, Color::Negative)),
            (
                Color::Unknown(99),
                item(99, Some("unknown"), Color::Unknown(42)),
            ),
        ]),
        doubles: [0.5, -1.25, 1e100, 0.0, f64::NEG_INFINITY]
            .into_iter()
            .map(OrderedFloat)
            .collect(),
        flags: HashMap::from([
            (Bytes::from_static(b"\x00\xff"), true),
            (Bytes::from_static(b""), false),
            (Bytes::from_static(b"abc"), true),
        ]),
        items: Some(vec![
            item(1, Some("x"), Color::Green),
            item(2, None, Color::Green),
        ]),
        all: vec![
            AllTypes {
                b: true,
                ..Default::default()
            },
            AllTypes {
                b: false,
                maybe: Some(s("m")),
                negative_id: Some(-9),
                bin: Bytes::from_static(b"\x01"),
                ..Default::default()
            },
        ],
    }
}

fn choice_many() -> Choice {
    Choice::Many(vec![
        Choice::Number(1),
        Choice::Many(vec![Choice::Text(s("deep")), Choice::Many(vec![])]),
        Choice::Item(item(6, None, Color::Green)),
    ])
}

fn leaf(value: i32) -> Node {
    Node {
        value,
        next: None,
        children: vec![],
    }
}

/// value 0 -> 1 -> ... -> depth through `next`, each with one child leaf.
fn node_chain(depth: i32) -> Node {
    let mut n = leaf(depth);
    for v in (0..depth).rev() {
        n = Node {
            value: v,
            next: Some(Box::new(n)),
            children: vec![leaf(-v)],
        };
    }
    n
}

fn node_tree() -> Node {
    Node {
        value: 1,
        next: None,
        children: vec![
            Node {
                value: 2,
                next: None,
                children: vec![leaf(4)],
            },
            Node {
                value: 3,
                next: Some(Box::new(leaf(5))),
                children: vec![],
            },
        ],
    }
}

fn keywords() -> Keywords {
    Keywords {
        r#type: s("t"),
        r#match: -1,
        self_: true,
        crate_: s("c"),
        r#fn: 1 << 40,
    }
}

// ---------------------------------------------------------------------------
// thriftpy2 -> Rust

type Check = Box<dyn Fn(&[u8]) -> Result<(), String>>;

/// Decodes as `M` and compares with `want`.
fn value<M: Message + PartialEq + Debug + 'static>(want: M) -> Check {
    Box::new(move |data| {
        let got = decode_all::<M>(data)?;
        if got != want {
            return Err(format!("decoded\n  {got:?}\nexpected\n  {want:?}"));
        }
        Ok(())
    })
}

/// Like [`value`], and encoding `want` here must give thriftpy2's bytes
/// exactly (only for values without sets or maps, whose order is free).
fn exact<M: Message + PartialEq + Debug + 'static>(want: M) -> Check {
    let ours = encode(&want);
    let check = value(want);
    Box::new(move |data| {
        check(data)?;
        if ours != data {
            return Err(format!(
                "decodes right, but Rust encodes the expected value differently:\n  thriftpy2 {}\n  rust      {}",
                to_hex(data),
                to_hex(&ours)
            ));
        }
        Ok(())
    })
}

/// Decoding as `M` must fail with an error containing every needle.
fn error<M: Message + Debug + 'static>(needles: &'static [&'static str]) -> Check {
    Box::new(move |data| match decode_all::<M>(data) {
        Ok(v) => Err(format!("decoded {v:?}, expected an error")),
        Err(e) => {
            let missing: Vec<_> = needles.iter().filter(|n| !e.contains(**n)).collect();
            if missing.is_empty() {
                Ok(())
            } else {
                Err(format!("error {e:?} does not mention {missing:?}"))
            }
        }
    })
}

/// A whole message: the header must match and the body decode as `M` to `want`.
fn envelope<M: Message + PartialEq + Debug + 'static>(
    name: &'static str,
    kind: TMessageType,
    seq: i32,
    want: M,
) -> Check {
    Box::new(move |data| {
        let mut bytes = Bytes::copy_from_slice(data);
        let mut p = BinaryInput::new(&mut bytes);
        let header = p.read_message_begin().map_err(|e| e.to_string())?;
        if header.name != name || header.message_type != kind || header.sequence_number != seq {
            return Err(format!(
                "message header {:?} {:?} {}, expected {name:?} {kind:?} {seq}",
                header.name, header.message_type, header.sequence_number
            ));
        }
        let got = M::decode(&mut p).map_err(|e| e.to_string())?;
        p.read_message_end().map_err(|e| e.to_string())?;
        if !bytes.is_empty() {
            return Err(format!("{} trailing bytes after the message", bytes.len()));
        }
        if got != want {
            return Err(format!("body {got:?}, expected {want:?}"));
        }
        Ok(())
    })
}

/// What each value that thriftpy2 encodes must decode to.
fn python_encoded_expectations() -> Vec<(&'static str, &'static str, Check)> {
    vec![
        // thriftpy2 writes its IDL defaults for int32, dbl, str and count.
        (
            "alltypes_only_required",
            "AllTypes",
            value(AllTypes {
                b: true,
                ..Default::default()
            }),
        ),
        // Only field 1: IDL defaults fill the rest; an absent optional stays
        // unset even when the IDL gives it a default.
        (
            "alltypes_bare",
            "AllTypes",
            value(AllTypes {
                b: false,
                count: None,
                ..Default::default()
            }),
        ),
        ("alltypes_full", "AllTypes", exact(all_types_full())),
        (
            "alltypes_extremes",
            "AllTypes",
            exact(AllTypes {
                b: false,
                by: 127,
                small: -128,
                short_: 32767,
                int32: i32::MAX,
                int64: i64::MIN,
                dbl: 5e-324,
                str: s(""),
                bin: Bytes::new(),
                maybe: Some(s("\u{10FFFF}")),
                negative_id: Some(i32::MAX),
                count: Some(i32::MIN),
                ratio: -f64::MAX,
            }),
        ),
        (
            "alltypes_missing_required",
            "AllTypes",
            error::<AllTypes>(&["AllTypes", "`b`", "missing"]),
        ),
        (
            "containers_empty_struct",
            "Containers",
            value(Containers::default()),
        ),
        (
            "containers_empty_containers",
            "Containers",
            exact(Containers {
                items: Some(vec![]),
                ..Default::default()
            }),
        ),
        ("containers_full", "Containers", value(containers_full())),
        ("choice_number", "Choice", exact(Choice::Number(-7))),
        ("choice_text", "Choice", exact(Choice::Text(s("t\u{eb}xt")))),
        (
            "choice_item",
            "Choice",
            exact(Choice::Item(item(5, Some("five"), Color::Red))),
        ),
        ("choice_many", "Choice", exact(choice_many())),
        ("choice_many_empty", "Choice", exact(Choice::Many(vec![]))),
        (
            "choice_none_set",
            "Choice",
            error::<Choice>(&["Choice", "no field is set"]),
        ),
        (
            "choice_two_set",
            "Choice",
            error::<Choice>(&["Choice", "2 fields are set"]),
        ),
        ("node_leaf", "Node", value(leaf(0))),
        ("node_chain", "Node", exact(node_chain(25))),
        ("node_tree", "Node", exact(node_tree())),
        ("keywords", "Keywords", exact(keywords())),
        ("keywords_empty", "Keywords", value(Keywords::default())),
        (
            "oops_default",
            "Oops",
            value(Oops {
                message: s(""),
                code: 500,
            }),
        ),
        (
            "oops_full",
            "Oops",
            exact(Oops {
                message: s("bad"),
                code: -1,
            }),
        ),
        (
            "not_found",
            "NotFound",
            exact(NotFound {
                message: s("nf"),
                id: -42,
            }),
        ),
        ("item_default", "Item", exact(item(1, None, Color::Green))),
        (
            "item_enum_values",
            "Item",
            exact(item(2, Some("neg"), Color::Negative)),
        ),
        (
            "item_unknown_enum",
            "Item",
            exact(item(3, None, Color::Unknown(1234))),
        ),
        (
            "item_unknown_negative_enum",
            "Item",
            exact(item(4, None, Color::Unknown(i32::MIN))),
        ),
        (
            "item_missing_required",
            "Item",
            error::<Item>(&["Item", "`id`", "missing"]),
        ),
        // Schema evolution: unknown ids and wrong wire types are skipped.
        (
            "item_from_newer_peer",
            "Item",
            value(item(10, Some("ten"), Color::Blue)),
        ),
        (
            "alltypes_wrong_types",
            "AllTypes",
            value(AllTypes {
                b: true,
                count: None,
                ..Default::default()
            }),
        ),
        (
            "containers_wrong_element_type",
            "Containers",
            error::<Containers>(&["Containers.ints", "element type mismatch"]),
        ),
        (
            "node_from_newer_peer",
            "Node",
            value(Node {
                value: 1,
                next: Some(Box::new(leaf(2))),
                children: vec![leaf(3)],
            }),
        ),
        (
            "choice_with_unknown_variant",
            "Choice",
            value(Choice::Number(3)),
        ),
        (
            "choice_only_unknown_variant",
            "Choice",
            error::<Choice>(&["Choice", "no field is set"]),
        ),
        // Service wrappers (generated `{Method}Args` / `{Method}Result`)
        // against thriftpy2's `{Method}_args` / `{Method}_result`.
        ("sink_get_args", "GetArgs", exact(OneArg::<i64, 1>(-5))),
        (
            "sink_get_result_success",
            "GetResult",
            exact(sink::GetResult::Success(item(1, Some("one"), Color::Green))),
        ),
        (
            "sink_get_result_not_found",
            "GetResult",
            exact(sink::GetResult::NotFound(NotFound {
                message: s("gone"),
                id: 3,
            })),
        ),
        (
            "sink_get_result_oops",
            "GetResult",
            exact(sink::GetResult::Oops(Oops {
                message: s("o"),
                code: 500,
            })),
        ),
        (
            "sink_get_result_empty",
            "GetResult",
            error::<sink::GetResult>(&["Get", "neither a value nor a declared exception"]),
        ),
        (
            "sink_add_args",
            "AddArgs",
            exact(sink::AddArgs { a: 1, b: -2 }),
        ),
        ("sink_add_result", "AddResult", exact(ValueResult(3))),
        ("sink_nothing_result", "NothingResult", exact(VoidResult)),
        (
            "sink_fire_args",
            "FireArgs",
            exact(OneArg::<FastStr, 1>(s("e"))),
        ),
        (
            "sink_unary_args",
            "UnaryArgs",
            value(OneArg::<Containers, 1>(Containers {
                ints: vec![1],
                ..Default::default()
            })),
        ),
        (
            "base_ping_result",
            "PingResult",
            exact(ValueResult(s("pong"))),
        ),
        // Whole messages (strict header + wrapper struct).
        (
            "envelope_reply_exception",
            "envelope",
            envelope(
                "Get",
                TMessageType::Reply,
                9,
                sink::GetResult::Oops(Oops {
                    message: s("boom"),
                    code: 7,
                }),
            ),
        ),
        (
            "envelope_call",
            "envelope",
            envelope("Get", TMessageType::Call, -1, OneArg::<i64, 1>(77)),
        ),
    ]
}

#[test]
fn thriftpy2_encodes_rust_decodes() {
    if !crate::python_env::has("thriftpy2", "thriftpy2") {
        return;
    }
    let output = run_peer("encode", "");
    let expectations = python_encoded_expectations();
    let mut failures = Vec::new();
    let mut seen = BTreeSet::new();
    for line in output.lines().filter(|l| !l.trim().is_empty()) {
        let name = json_field(line, "name");
        let ty = json_field(line, "type");
        let data = from_hex(json_field(line, "hex"));
        seen.insert(name.to_string());
        let Some((_, want_ty, check)) = expectations.iter().find(|(n, _, _)| *n == name) else {
            failures.push(format!(
                "{name}: thriftpy2 sent a case this test does not know"
            ));
            continue;
        };
        if ty != *want_ty {
            failures.push(format!(
                "{name}: thriftpy2 says type {ty}, expected {want_ty}"
            ));
            continue;
        }
        if let Err(e) = check(&data) {
            failures.push(format!("{name} ({ty}): {e}\n  bytes: {}", to_hex(&data)));
        }
    }
    for (name, _, _) in &expectations {
        if !seen.contains(*name) {
            failures.push(format!("{name}: thriftpy2 did not send this case"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} thriftpy2-encoded cases failed:\n{}",
        failures.len(),
        expectations.len(),
        failures.join("\n")
    );
    println!("{} thriftpy2-encoded cases decoded", seen.len());
}

// ---------------------------------------------------------------------------
// Rust -> thriftpy2

/// Values encoded here; `thriftpy_peer.py decode` knows what each must be.
fn rust_encoded_cases() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("alltypes_default", encode(&AllTypes::default())),
        ("alltypes_full", encode(&all_types_full())),
        (
            "alltypes_unset_optionals",
            encode(&AllTypes {
                b: true,
                by: 127,
                small: -128,
                short_: 32767,
                int32: i32::MAX,
                int64: i64::MIN,
                dbl: f64::NAN,
                str: s(""),
                bin: Bytes::from_static(b"\xff\x00"),
                maybe: None,
                negative_id: None,
                count: None,
                ratio: f64::NEG_INFINITY,
            }),
        ),
        ("containers_default", encode(&Containers::default())),
        ("containers_full", encode(&containers_full())),
        (
            "containers_items_empty",
            encode(&Containers {
                items: Some(vec![]),
                ..Default::default()
            }),
        ),
        ("choice_number", encode(&Choice::Number(-7))),
        ("choice_text", encode(&Choice::Text(s("t\u{eb}xt")))),
        (
            "choice_item",
            encode(&Choice::Item(item(5, Some("five"), Color::Red))),
        ),
        ("choice_many", encode(&choice_many())),
        ("choice_many_empty", encode(&Choice::Many(vec![]))),
        ("node_default", encode(&Node::default())),
        ("node_chain", encode(&node_chain(25))),
        ("node_tree", encode(&node_tree())),
        ("keywords", encode(&keywords())),
        ("keywords_default", encode(&Keywords::default())),
        ("oops_default", encode(&Oops::default())),
        (
            "oops_full",
            encode(&Oops {
                message: s("bad"),
                code: -1,
            }),
        ),
        (
            "not_found",
            encode(&NotFound {
                message: s("nf"),
                id: -42,
            }),
        ),
        ("item_default", encode(&Item::default())),
        (
            "item_negative_enum",
            encode(&item(2, Some("neg"), Color::Negative)),
        ),
        (
            "item_unknown_enum",
            encode(&item(3, None, Color::Unknown(-7))),
        ),
        (
            "item_unknown_enum_max",
            encode(&item(4, Some(""), Color::from_value(i32::MAX))),
        ),
        ("sink_get_args", encode(&OneArg::<i64, 1>(42))),
        (
            "sink_get_result_success",
            encode(&sink::GetResult::Success(item(
                1,
                Some("one"),
                Color::Green,
            ))),
        ),
        (
            "sink_get_result_not_found",
            encode(&sink::GetResult::NotFound(NotFound {
                message: s("gone"),
                id: 3,
            })),
        ),
        (
            "sink_get_result_oops",
            encode(&sink::GetResult::Oops(Oops::default())),
        ),
        ("sink_add_args", encode(&sink::AddArgs { a: 1, b: -2 })),
        ("sink_add_result", encode(&ValueResult(3))),
        ("sink_nothing_result", encode(&VoidResult)),
        ("sink_fire_args", encode(&OneArg::<FastStr, 1>(s("e")))),
        (
            "sink_unary_args",
            encode(&OneArg::<Containers, 1>(Containers::default())),
        ),
        ("base_ping_result", encode(&ValueResult(s("pong")))),
        (
            "envelope_call",
            encode_message("Get", TMessageType::Call, 7, &OneArg::<i64, 1>(42)),
        ),
        (
            "envelope_reply",
            encode_message(
                "Get",
                TMessageType::Reply,
                -3,
                &sink::GetResult::Success(item(8, Some("eight"), Color::Blue)),
            ),
        ),
        (
            "envelope_oneway",
            encode_message(
                "Fire",
                TMessageType::OneWay,
                0,
                &OneArg::<FastStr, 1>(s("\u{e9}v")),
            ),
        ),
    ]
}

#[test]
fn rust_encodes_thriftpy2_decodes() {
    if !crate::python_env::has("thriftpy2", "thriftpy2") {
        return;
    }
    let cases = rust_encoded_cases();
    let input: String = cases
        .iter()
        .map(|(name, data)| format!("{{\"name\": \"{name}\", \"hex\": \"{}\"}}\n", to_hex(data)))
        .collect();
    let output = run_peer("decode", &input);
    assert!(
        output.starts_with(&format!("ok {} cases", cases.len())),
        "unexpected peer output: {output}"
    );
    println!("thriftpy2: {}", output.trim());
}

#[test]
fn unknown_enum_values_survive_a_rust_round_trip() {
    // The Rust half of the unknown-enum story, independent of Python.
    let v = item(3, None, Color::Unknown(1234));
    assert_eq!(decode_all::<Item>(&encode(&v)).unwrap(), v);
    assert_eq!(Color::from_value(1234), Color::Unknown(1234));
    assert_eq!(Color::Unknown(-7).value(), -7);
}
