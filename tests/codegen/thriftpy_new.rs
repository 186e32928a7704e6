//! The constructs the real-IDL work added, against Python `thriftpy2`
//! where it supports them (`tests/python/new_constructs.thrift`): string
//! escapes in constants, and fields without ids (implicit negative ids).
//! thriftpy2 has no `uuid` and no hashable sets or maps, so those are pinned
//! by golden bytes in `syntax` instead.

use std::path::PathBuf;

use bytes::BytesMut;
use tonic_thrift::codec::{BinaryInput, BinaryOutput};
use tonic_thrift::{FastStr, Message};

use crate::thriftpy_cross::{from_hex, run_python, to_hex};

tonic_thrift::thrift_service!("tests/python/new_constructs.thrift");

use new_constructs::Implicit;

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/python/new_constructs.py")
}

#[test]
fn escapes_and_implicit_ids_match_thriftpy2() {
    if !crate::python_env::has("thriftpy2", "thriftpy2") {
        return;
    }
    let out = run_python(&script(), "encode", "");
    let mut lines = out.lines();
    let escaped = from_hex(lines.next().expect("escaped line"));
    assert_eq!(
        String::from_utf8(escaped).unwrap(),
        new_constructs::ESCAPED,
        "string escapes"
    );

    // thriftpy2's bytes decode into the generated type, and the generated
    // type encodes to exactly those bytes (ids -1, -2, 5, -3).
    let wire = from_hex(lines.next().expect("value line"));
    let want = Implicit {
        name: FastStr::new("n"),
        count: 7,
        big: Some(9),
        tags: vec![FastStr::new("a"), FastStr::new("b")],
    };
    let mut bytes = bytes::Bytes::from(wire.clone());
    assert_eq!(
        Implicit::decode(&mut BinaryInput::new(&mut bytes)).unwrap(),
        want
    );
    let mut buf = BytesMut::new();
    want.encode(&mut BinaryOutput::new(&mut buf)).unwrap();
    assert_eq!(
        to_hex(&buf),
        to_hex(&wire),
        "Rust encoding of the same value"
    );

    // And the other way: thriftpy2 checks what Rust wrote.
    let ours = Implicit {
        name: FastStr::new("from rust"),
        count: -3,
        big: None,
        tags: vec![FastStr::new("x")],
    };
    let mut buf = BytesMut::new();
    ours.encode(&mut BinaryOutput::new(&mut buf)).unwrap();
    assert_eq!(run_python(&script(), "decode", &to_hex(&buf)).trim(), "ok");
}
