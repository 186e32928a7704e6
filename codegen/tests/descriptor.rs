//! The run-time descriptor of `idl/echo.thrift` and `idl/kitchen_sink.thrift`
//! (with `idl/shared.thrift`), through the public API.

use std::path::{Path, PathBuf};

use tonic_thrift_build::descriptor::{
    self, annotation, ConstValue, Descriptor, FieldDescriptor, Mode, Requiredness, StructKind, Ty,
    TypeKind,
};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("codegen/ lives in the workspace")
        .to_path_buf()
}

fn load(name: &str) -> Descriptor {
    let root = root();
    descriptor::load(&root.join("idl").join(name), &[], Some(&root))
        .unwrap_or_else(|e| panic!("{e}"))
}

fn named(d: &Descriptor, name: &str) -> Ty {
    Ty::Named(d.type_by_name(name).expect(name).0)
}

/// (id, name, requiredness, type as IDL text) of each field.
fn shape(d: &Descriptor, fields: &[FieldDescriptor]) -> Vec<(i16, String, Requiredness, String)> {
    fields
        .iter()
        .map(|f| (f.id, f.name.clone(), f.requiredness, d.type_name(&f.ty)))
        .collect()
}

fn owned(v: &[(i16, &str, Requiredness, &str)]) -> Vec<(i16, String, Requiredness, String)> {
    v.iter()
        .map(|&(id, n, r, t)| (id, n.to_string(), r, t.to_string()))
        .collect()
}

#[test]
fn echo_methods_and_modes() {
    let d = load("echo.thrift");
    assert_eq!(d.files().len(), 1);
    assert_eq!(d.files()[0].package, "echo");
    assert_eq!(d.files()[0].module, "echo");
    assert_eq!(d.files()[0].display, Path::new("idl/echo.thrift"));
    let s = d.service("TestService").unwrap();
    assert_eq!(s.full_name, "echo.TestService");
    assert_eq!((s.span.file, s.span.line, s.span.col), (0, 6, 9));
    let modes: Vec<(&str, Mode, &str)> = s
        .methods
        .iter()
        .map(|m| (m.name.as_str(), m.mode, m.path.as_str()))
        .collect();
    assert_eq!(
        modes,
        [
            ("Echo", Mode::Bidirectional, "/echo.TestService/Echo"),
            (
                "EchoClient",
                Mode::ClientStreaming,
                "/echo.TestService/EchoClient"
            ),
            (
                "EchoServer",
                Mode::ServerStreaming,
                "/echo.TestService/EchoServer"
            ),
            ("EchoUnary", Mode::Unary, "/echo.TestService/EchoUnary"),
            (
                "EchoPingPong",
                Mode::PingPong,
                "/echo.TestService/EchoPingPong"
            ),
        ]
    );
    let echo = s.method("Echo").unwrap();
    assert!(echo.mode.is_streaming() && !Mode::Unary.is_streaming());
    assert_eq!(
        annotation(&echo.annotations, "streaming.mode"),
        Some("bidirectional")
    );
    assert_eq!(
        shape(&d, &echo.args),
        owned(&[(1, "req", Requiredness::Default, "Request")])
    );
    assert_eq!(echo.result, Some(named(&d, "Response")));
    let TypeKind::Struct(req) = &d.type_by_name("Request").unwrap().1.kind else {
        panic!("Request is a struct")
    };
    assert_eq!(
        shape(&d, &req.fields),
        owned(&[(1, "message", Requiredness::Required, "string")])
    );
}

#[test]
fn files_and_includes() {
    let d = load("kitchen_sink.thrift");
    let names: Vec<(&str, &str, &str, &[usize])> = d
        .files()
        .iter()
        .map(|f| {
            (
                f.include_name.as_str(),
                f.module.as_str(),
                f.package.as_str(),
                f.includes.as_slice(),
            )
        })
        .collect();
    assert_eq!(
        names,
        [
            ("kitchen_sink", "kitchen_sink", "kitchen", &[1][..]),
            ("shared", "shared", "shared", &[][..]),
        ]
    );
    assert_eq!(d.files()[0].namespace("go"), Some("kitchen"));
    assert_eq!(d.files()[1].display, Path::new("idl/shared.thrift"));
    assert!(d.files()[1].path.is_absolute());
}

#[test]
fn services_are_flattened_over_extends() {
    let d = load("kitchen_sink.thrift");
    let full: Vec<&str> = d.services().iter().map(|s| s.full_name.as_str()).collect();
    assert_eq!(full, ["kitchen.Sink", "kitchen.Second", "shared.Base"]);

    let sink = d.service("Sink").unwrap();
    assert_eq!(sink.extends.as_deref(), Some("shared.Base"));
    assert_eq!(sink.qualified_name, "kitchen_sink.Sink");
    let modes: Vec<(&str, Mode, bool)> = sink
        .methods
        .iter()
        .map(|m| (m.name.as_str(), m.mode, m.oneway))
        .collect();
    assert_eq!(
        modes,
        [
            ("Ping", Mode::PingPong, false),
            ("Nothing", Mode::PingPong, false),
            ("Fire", Mode::PingPong, true),
            ("Add", Mode::PingPong, false),
            ("Get", Mode::PingPong, false),
            ("Stream", Mode::Bidirectional, false),
            ("Unary", Mode::Unary, false),
        ]
    );
    // The inherited method is served under the derived service, and its
    // span points into the file that declares it.
    let ping = sink.method("Ping").unwrap();
    assert_eq!(ping.path, "/kitchen.Sink/Ping");
    assert_eq!(ping.result, Some(Ty::String));
    assert_eq!((ping.span.file, ping.span.line), (1, 25));
    assert_eq!(
        d.method("shared.Base", "Ping").unwrap().path,
        "/shared.Base/Ping"
    );
    assert!(
        d.method("Base", "Ping").is_none(),
        "Base is not in the main file"
    );

    let add = d.method("kitchen.Sink", "Add").unwrap();
    assert_eq!(
        shape(&d, &add.args),
        owned(&[
            (1, "a", Requiredness::Default, "i32"),
            (2, "b", Requiredness::Default, "i32"),
        ])
    );
    assert_eq!(add.result, Some(Ty::I32));
    let nothing = sink.method("Nothing").unwrap();
    assert!(nothing.args.is_empty() && nothing.result.is_none());

    let get = sink.method("Get").unwrap();
    assert_eq!(get.result, Some(named(&d, "shared.Item")));
    assert_eq!(
        shape(&d, &get.throws),
        owned(&[
            (1, "not_found", Requiredness::Default, "shared.NotFound"),
            (2, "oops", Requiredness::Default, "Oops"),
        ])
    );
    let Ty::Named(nf) = &get.throws[0].ty else {
        panic!("a named type")
    };
    let TypeKind::Struct(nf) = &d.type_def(*nf).kind else {
        panic!("an exception")
    };
    assert_eq!(nf.kind, StructKind::Exception);

    let pick = d.method("Second", "Pick").unwrap();
    assert_eq!(pick.mode, Mode::ServerStreaming);
    assert_eq!(pick.result, Some(named(&d, "Choice")));
}

#[test]
fn types_fields_and_defaults() {
    let d = load("kitchen_sink.thrift");
    let (_, all) = d.type_by_name("AllTypes").unwrap();
    assert_eq!(
        all.doc.as_deref().map(str::trim),
        Some("Every base type and requiredness.")
    );
    assert_eq!((all.span.file, all.span.line, all.span.col), (0, 28, 8));
    let TypeKind::Struct(all) = &all.kind else {
        panic!("a struct")
    };
    assert_eq!(all.kind, StructKind::Struct);
    use Requiredness::{Default as D, Optional as O, Required as R};
    assert_eq!(
        shape(&d, &all.fields),
        owned(&[
            (1, "b", R, "bool"),
            (2, "by", D, "i8"),
            (3, "small", D, "i8"),
            (4, "short_", D, "i16"),
            (5, "int32", D, "i32"),
            (6, "int64", D, "i64"),
            (7, "dbl", D, "double"),
            (8, "str", D, "string"),
            (9, "bin", D, "binary"),
            (10, "maybe", O, "string"),
            (-1, "negative_id", O, "i32"),
            (100, "count", O, "Count"),
            (101, "ratio", D, "Ratio"),
        ])
    );
    let default = |name: &str| all.field(name).unwrap().default.clone();
    assert_eq!(default("int32"), Some(ConstValue::Int(42)));
    assert_eq!(default("dbl"), Some(ConstValue::Double(1.5)));
    assert_eq!(default("str"), Some(ConstValue::String("default".into())));
    assert_eq!(default("count"), Some(ConstValue::Int(3)));
    assert_eq!(default("b"), None);
    assert_eq!(all.field_by_id(-1).unwrap().name, "negative_id");

    // Typedefs resolve to what is on the wire.
    let count = all.field("count").unwrap();
    assert_eq!(d.resolve(&count.ty), &Ty::I32);
    let (_, items) = d.type_by_name("Items").unwrap();
    let TypeKind::Typedef(target) = &items.kind else {
        panic!("a typedef")
    };
    assert_eq!(target, &Ty::List(Box::new(named(&d, "shared.Item"))));
    assert_eq!(d.type_name(target), "list<shared.Item>");
    assert_eq!(d.resolve(&named(&d, "Items")), target);

    // A union, recursive through a list.
    let (choice_id, choice) = d.type_by_name("Choice").unwrap();
    let TypeKind::Struct(choice) = &choice.kind else {
        panic!("a union")
    };
    assert_eq!(choice.kind, StructKind::Union);
    assert_eq!(
        choice.field("many").unwrap().ty,
        Ty::List(Box::new(Ty::Named(choice_id)))
    );
    assert_eq!(choice.field("item").unwrap().ty, named(&d, "shared.Item"));

    // Containers keep their element types.
    let (_, c) = d.type_by_name("Containers").unwrap();
    let TypeKind::Struct(c) = &c.kind else {
        panic!("a struct")
    };
    let ty = |n: &str| d.type_name(&c.field(n).unwrap().ty);
    assert_eq!(ty("deep"), "map<string, list<map<i32, set<i64>>>>");
    assert_eq!(ty("by_color"), "map<shared.Color, shared.Item>");
    assert_eq!(ty("items"), "Items");

    // Annotations on a field.
    let (_, kw) = d.type_by_name("Keywords").unwrap();
    let TypeKind::Struct(kw) = &kw.kind else {
        panic!("a struct")
    };
    let fn_field = kw.field("fn").unwrap();
    assert_eq!(
        annotation(&fn_field.annotations, "go.tag"),
        Some("json:\"fn\"")
    );
}

#[test]
fn included_types_enums_and_consts() {
    let d = load("kitchen_sink.thrift");
    assert!(
        d.type_by_name("Item").is_none(),
        "Item is not in the main file"
    );
    let (_, color) = d.type_by_name("shared.Color").unwrap();
    assert_eq!(color.file, 1);
    let TypeKind::Enum(color) = &color.kind else {
        panic!("an enum")
    };
    let values: Vec<(&str, i32)> = color
        .values
        .iter()
        .map(|v| (v.name.as_str(), v.number))
        .collect();
    assert_eq!(
        values,
        [("RED", 0), ("GREEN", 5), ("BLUE", 6), ("NEGATIVE", -3)]
    );
    assert_eq!(color.by_number(6).unwrap().name, "BLUE");
    assert_eq!(color.by_name("RED").unwrap().span.line, 7);

    let (_, item) = d.type_by_name("shared.Item").unwrap();
    let TypeKind::Struct(item) = &item.kind else {
        panic!("a struct")
    };
    let color_field = item.field_by_id(3).unwrap();
    assert_eq!(color_field.ty, named(&d, "shared.Color"));
    assert_eq!(color_field.default, Some(ConstValue::Int(5)), "Color.GREEN");

    let value = |name: &str| {
        d.consts()
            .iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("{name}"))
            .value
            .clone()
    };
    assert_eq!(value("FAVOURITE"), ConstValue::Int(6));
    assert_eq!(value("ALIAS_CONST"), ConstValue::Int(100));
    assert_eq!(value("ENABLED"), ConstValue::Bool(true));
    assert_eq!(value("MAGIC"), ConstValue::Binary(b"\0abc".to_vec()));
    assert_eq!(
        value("DEFAULT_ITEM"),
        ConstValue::Struct(vec![
            (1, ConstValue::Int(7)),
            (2, ConstValue::String("seven".into()))
        ])
    );
    assert_eq!(
        value("BY_RATIO"),
        ConstValue::Map(vec![
            (
                ConstValue::Double(0.5),
                ConstValue::List(vec![ConstValue::String("half".into())])
            ),
            (
                ConstValue::Double(1.0),
                ConstValue::List(vec![ConstValue::String("whole".into())])
            ),
        ])
    );
}

/// The descriptor's names are the ones the generated code uses.
#[test]
fn names_match_the_generated_code() {
    for file in ["echo.thrift", "kitchen_sink.thrift"] {
        let d = load(file);
        let root = root();
        let generated =
            tonic_thrift_build::generate(&root.join("idl").join(file), &[], Some(&root)).unwrap();
        let text = generated.tokens.to_string();
        for s in d.services() {
            assert!(
                text.contains(&format!("{:?}", s.full_name)),
                "{} not generated",
                s.full_name
            );
            for m in &s.methods {
                let path = format!("{:?}", m.path);
                assert!(text.contains(&path), "{path} not generated");
            }
        }
        assert_eq!(
            generated.files,
            d.files().iter().map(|f| f.path.clone()).collect::<Vec<_>>()
        );
    }
}

#[test]
fn a_malformed_idl_names_file_line_and_column() {
    let dir = std::env::temp_dir().join(format!("tonic-thrift-descriptor-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("bad.thrift"), "struct A {\n  1: strin x\n}\n").unwrap();
    std::fs::write(dir.join("syntax.thrift"), "struct A {\n  1: i32\n}\n").unwrap();
    let bad = descriptor::load(&dir.join("bad.thrift"), &[], Some(&dir)).unwrap_err();
    let syntax = descriptor::load(&dir.join("syntax.thrift"), &[], Some(&dir)).unwrap_err();
    let _ = std::fs::remove_dir_all(&dir);

    let d = &bad.errors().0[0];
    assert_eq!(
        (d.file.as_path(), d.line, d.col),
        (Path::new("bad.thrift"), 2, 6)
    );
    assert!(
        bad.to_string()
            .starts_with("bad.thrift:2:6: unknown type `strin`"),
        "{bad}"
    );
    assert_eq!(bad.files().len(), 1);
    assert!(bad.files()[0].ends_with("bad.thrift"));
    assert!(
        syntax.to_string().starts_with("syntax.thrift:3:1: "),
        "{syntax}"
    );
    let boxed: Box<dyn std::error::Error> = Box::new(syntax);
    assert!(boxed.to_string().contains("syntax.thrift"));
}
