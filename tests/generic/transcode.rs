//! JSON ⇄ Thrift Binary: golden payloads of Kitex's JSON generic tests,
//! every kitchen-sink type against the generated code, and errors that name
//! the JSON path and the IDL field.

use bytes::{Bytes, BytesMut};
use serde_json::{json, Value};
use tonic_thrift::codec::{BinaryInput, BinaryOutput};
use tonic_thrift::Message;
use tonic_thrift_generic::{json as gjson, method, ErrorKind};

use super::{load, ty};

tonic_thrift::thrift_service!("idl/kitchen_sink.thrift");

fn round_trip(idl: &str, type_name: &str, input: Value) -> Value {
    let desc = load(idl);
    let t = ty(&desc, type_name);
    let bytes = gjson::encode(&desc, &t, &input).unwrap_or_else(|e| panic!("{e}"));
    gjson::decode(&desc, &t, &bytes).unwrap_or_else(|e| panic!("{e}"))
}

/// Encodes a generated value, as the generated code does.
fn generated_bytes<M: Message>(m: &M) -> Bytes {
    let mut buf = BytesMut::new();
    m.encode(&mut BinaryOutput::new(&mut buf)).unwrap();
    buf.freeze()
}

fn generated_value<M: Message>(bytes: &Bytes) -> M {
    let mut wire = bytes.clone();
    M::decode(&mut BinaryInput::new(&mut wire)).unwrap()
}

const KITEX_IDL: &str = "tests/generic/kitex_example.thrift";

#[test]
fn kitex_json_generic_request_payloads_are_golden() {
    // `reqMsg` of Kitex's pkg/generic/json_test: nested structs by field
    // name; fields left out take their IDL defaults.
    let out = round_trip(
        KITEX_IDL,
        "ExampleReq",
        json!({"Msg":"hello","InnerBase":{"Base":{"LogID":"log_id_inner"}},"Base":{"LogID":"log_id"}}),
    );
    let base = |log: &str| json!({"LogID": log, "Caller": "", "Addr": "", "Client": ""});
    assert_eq!(
        out,
        json!({"Msg": "hello", "InnerBase": {"Base": base("log_id_inner")}, "Base": base("log_id")})
    );
    // `reqRegression`: integers and doubles given as strings come out as numbers.
    let out = round_trip(
        KITEX_IDL,
        "ExampleReq",
        json!({"Msg":"hello","InnerBase":{"Base":{"LogID":"log_id_inner"}},"Base":{"LogID":"log_id"},
               "I8":"8","I16":"16","I32":"32","I64":"64","Double":"12.3"}),
    );
    assert_eq!(out["I8"], json!(8));
    assert_eq!(out["I16"], json!(16));
    assert_eq!(out["I32"], json!(32));
    assert_eq!(out["I64"], json!(64));
    assert_eq!(out["Double"], json!(12.3));
}

#[test]
fn kitex_json_generic_response_payload_is_golden() {
    // `respMsg` of the same tests, with `num` as a number. `Test` and
    // `BaseResp` have no IDL default, so they stay unset.
    let out = round_trip(
        KITEX_IDL,
        "ExampleResp",
        json!({"Msg":"world","required_field":"required_field","num":64,"I8":"8","I16":"16",
               "I32":"32","I64":"64","Double":"12.3"}),
    );
    assert_eq!(
        out,
        json!({"Msg":"world","required_field":"required_field","num":64,"I8":8,"I16":16,"I32":32,
               "I64":64,"Double":12.3})
    );
}

#[test]
fn a_method_with_several_arguments_takes_an_object_keyed_by_name() {
    let desc = load(KITEX_IDL);
    let add = desc.method("ExampleService", "Add").unwrap();
    let bytes = method::encode_request(&desc, add, &json!({"a": 1, "b": "2"})).unwrap();
    // Args {1: i32 1, 2: i32 2}
    assert_eq!(
        &bytes[..],
        b"\x08\x00\x01\x00\x00\x00\x01\x08\x00\x02\x00\x00\x00\x02\x00"
    );
    assert_eq!(
        method::decode_request(&desc, add, &bytes).unwrap(),
        json!({"a": 1, "b": 2})
    );
    // A single argument is the JSON itself.
    let ping = desc.method("ExampleService", "Ping").unwrap();
    let bytes = method::encode_request(&desc, ping, &json!("hello")).unwrap();
    assert_eq!(&bytes[..], b"\x0b\x00\x01\x00\x00\x00\x05hello\x00");
}

#[test]
fn declared_exceptions_come_back_by_field_name() {
    let desc = load(KITEX_IDL);
    let m = desc.method("ExampleService", "ExampleMethod").unwrap();
    let reply = method::Reply::Exception {
        field: "err".into(),
        type_name: String::new(),
        value: json!({"code": 400, "msg": "this is an exception"}),
    };
    let bytes = method::encode_reply(&desc, m, &reply).unwrap();
    match method::decode_reply(&desc, m, &bytes).unwrap() {
        method::Reply::Exception {
            field,
            type_name,
            value,
        } => {
            assert_eq!(field, "err");
            assert_eq!(type_name, "Exception");
            assert_eq!(value, json!({"code": 400, "msg": "this is an exception"}));
        }
        other => panic!("expected the exception, got {other:?}"),
    }
    let void = desc.method("ExampleService", "Void").unwrap();
    let bytes = method::encode_reply(&desc, void, &method::Reply::Success(Value::Null)).unwrap();
    assert_eq!(&bytes[..], b"\x00");
    assert_eq!(
        method::decode_reply(&desc, void, &bytes).unwrap(),
        method::Reply::Success(Value::Null)
    );
}

const KS: &str = "idl/kitchen_sink.thrift";

#[test]
fn every_base_type_matches_the_generated_code() {
    let desc = load(KS);
    let t = ty(&desc, "AllTypes");
    let input = json!({
        "b": true, "by": -128, "small": 127, "short_": -32768, "int32": 2147483647,
        "int64": "-9223372036854775808", "dbl": -0.25, "str": "héllo", "bin": "AP8=",
        "maybe": "x", "negative_id": -1, "count": 9, "ratio": 1e300
    });
    let bytes = gjson::encode(&desc, &t, &input).unwrap();
    let g: kitchen_sink::AllTypes = generated_value(&bytes);
    assert!(g.b);
    assert_eq!((g.by, g.small, g.short_), (-128, 127, -32768));
    assert_eq!((g.int32, g.int64), (i32::MAX, i64::MIN));
    assert_eq!((g.dbl, g.ratio), (-0.25, 1e300));
    assert_eq!(&g.str[..], "héllo");
    assert_eq!(&g.bin[..], &[0x00, 0xff]);
    assert_eq!(g.maybe.as_deref(), Some("x"));
    assert_eq!((g.negative_id, g.count), (Some(-1), Some(9)));
    // Back from the generated encoding: i64 out as a number.
    let back = gjson::decode(&desc, &t, &generated_bytes(&g)).unwrap();
    let mut expected = input.clone();
    expected["int64"] = json!(i64::MIN);
    assert_eq!(back, expected);
}

#[test]
fn missing_fields_take_the_idl_defaults() {
    let desc = load(KS);
    let t = ty(&desc, "AllTypes");
    let bytes = gjson::encode(&desc, &t, &json!({"b": false})).unwrap();
    let g: kitchen_sink::AllTypes = generated_value(&bytes);
    let d = kitchen_sink::AllTypes {
        b: false,
        ..Default::default()
    };
    assert_eq!(
        (g.int32, g.dbl, &g.str[..], g.count),
        (42, 1.5, "default", Some(3))
    );
    assert_eq!(
        g, d,
        "the JSON encoder's defaults are the generated Default"
    );
}

#[test]
fn containers_enums_and_non_string_map_keys() {
    let desc = load(KS);
    let t = ty(&desc, "Containers");
    let input = json!({
        "ints": [1, -2, 3],
        "names": ["a"],
        "deep": {"k": [{"7": [5]}, {"-1": []}]},
        "nested_lists": [[["x"], []], []],
        "by_color": {"RED": {"id": 1, "color": "BLUE"}, "5": {"id": 2, "color": 6}},
        "doubles": [0.5],
        "flags": {"AP8=": true},
        "items": [{"id": 3}],
        "all": []
    });
    let bytes = gjson::encode(&desc, &t, &input).unwrap();
    let g: kitchen_sink::Containers = generated_value(&bytes);
    assert_eq!(g.ints, vec![1, -2, 3]);
    assert_eq!(g.by_color.len(), 2);
    assert_eq!(
        g.by_color[&shared::Color::Green].id,
        2,
        "enum key by number"
    );
    assert_eq!(g.by_color[&shared::Color::Red].color, shared::Color::Blue);
    assert!(g.flags[&Bytes::from_static(&[0, 0xff])]);
    assert!(g.deep["k"][0][&7].contains(&5));
    let back = gjson::decode(&desc, &t, &generated_bytes(&g)).unwrap();
    // Enums out by name; defaults written by the encoder come back.
    assert_eq!(back["by_color"]["GREEN"], json!({"id": 2, "color": "BLUE"}));
    assert_eq!(back["by_color"]["RED"], json!({"id": 1, "color": "BLUE"}));
    assert_eq!(back["items"], json!([{"id": 3, "color": "GREEN"}]));
    assert_eq!(back["deep"], input["deep"]);
    assert_eq!(back["flags"], input["flags"]);
}

#[test]
fn unions_and_recursive_structs() {
    let desc = load(KS);
    let t = ty(&desc, "Choice");
    let input =
        json!({"many": [{"number": 1}, {"text": "t"}, {"item": {"id": 9, "color": "RED"}}]});
    let bytes = gjson::encode(&desc, &t, &input).unwrap();
    let g: kitchen_sink::Choice = generated_value(&bytes);
    let kitchen_sink::Choice::Many(items) = &g else {
        panic!("expected Many, got {g:?}")
    };
    assert_eq!(items[0], kitchen_sink::Choice::Number(1));
    assert_eq!(
        gjson::decode(&desc, &t, &generated_bytes(&g)).unwrap(),
        input
    );
    let node = round_trip(
        KS,
        "Node",
        json!({"value": 1, "next": {"value": 2, "children": []}, "children": []}),
    );
    assert_eq!(node["next"]["value"], json!(2));
    // An unknown enum number from a newer peer comes out as the number.
    let item = round_trip("idl/shared.thrift", "Item", json!({"id": 1, "color": 77}));
    assert_eq!(item["color"], json!(77));
}

fn encode_error(idl: &str, type_name: &str, input: Value) -> tonic_thrift_generic::Error {
    let desc = load(idl);
    gjson::encode(&desc, &ty(&desc, type_name), &input).expect_err("the JSON must be refused")
}

#[test]
fn errors_name_the_json_path_and_the_idl_field() {
    let e = encode_error(
        KS,
        "Containers",
        json!({"items": [{"id": 1}, {"id": 1, "colour": "RED"}]}),
    );
    assert_eq!(*e.kind(), ErrorKind::UnknownField);
    assert_eq!(e.path(), "$.items[1].colour");
    assert!(e.to_string().contains("Item has no field `colour`"), "{e}");

    let e = encode_error(
        KS,
        "Containers",
        json!({"by_color": {"RED": {"id": "one"}}}),
    );
    assert_eq!(*e.kind(), ErrorKind::WrongType);
    assert_eq!(e.path(), "$.by_color[\"RED\"].id");
    assert_eq!(e.field(), Some("Item.id, i64"));

    let e = encode_error(KS, "Containers", json!({"items": [{"label": "no id"}]}));
    assert_eq!(*e.kind(), ErrorKind::MissingField);
    assert_eq!(e.path(), "$.items[0].id");
    assert!(
        e.to_string()
            .contains("required field `id` of Item is missing"),
        "{e}"
    );

    let e = encode_error(KS, "AllTypes", json!({"b": true, "short_": 40000}));
    assert_eq!(*e.kind(), ErrorKind::OutOfRange);
    assert_eq!(
        e.to_string(),
        "$.short_ (field `AllTypes.short_, i16`): 40000 is out of range for i16 (-32768..=32767)"
    );

    let e = encode_error(
        "idl/shared.thrift",
        "Item",
        json!({"id": 1, "color": "PURPLE"}),
    );
    assert_eq!(*e.kind(), ErrorKind::UnknownEnumValue);
    assert!(e.to_string().contains("RED, GREEN, BLUE, NEGATIVE"), "{e}");

    let e = encode_error(KS, "Choice", json!({"number": 1, "text": "two"}));
    assert_eq!(*e.kind(), ErrorKind::BadUnion);
    let e = encode_error(KS, "AllTypes", json!({"b": true, "bin": "not base64!"}));
    assert_eq!(e.path(), "$.bin");
}

#[test]
fn bad_wire_bytes_are_errors_not_panics() {
    let desc = load(KS);
    let t = ty(&desc, "Containers");
    let good = gjson::encode(&desc, &t, &json!({"ints": [1, 2, 3], "names": ["abc"]})).unwrap();
    for cut in 0..good.len() {
        assert!(
            gjson::decode(&desc, &t, &good[..cut]).is_err(),
            "cut at {cut}"
        );
    }
    // A list claiming 2^31-1 elements.
    let huge = b"\x0f\x00\x01\x08\x7f\xff\xff\xff\x00";
    let e = gjson::decode(&desc, &t, huge).unwrap_err();
    assert!(e.to_string().contains("larger than"), "{e}");
    // A missing required field on the wire.
    let item = ty(&desc, "shared.Item");
    let e = gjson::decode(&desc, &item, b"\x00").unwrap_err();
    assert_eq!(*e.kind(), ErrorKind::MissingField);
}
