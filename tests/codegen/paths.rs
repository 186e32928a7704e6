//! The build.rs path and the macro path run the same generator: the files
//! build.rs wrote for `idl/echo.thrift` and `idl/torture.thrift` are exactly
//! what `generate` + `render` give for the same input, and the types of both
//! paths put the same bytes on the wire. Two main files that share an
//! include (`torture.thrift`, `torture_twin.thrift`) each get a file
//! holding every module they need.

use std::path::Path;

use tonic_thrift::codec::BinaryOutput;
use tonic_thrift::Message;

mod from_build_rs {
    tonic_thrift::include_thrift!("echo");
}

mod from_macro {
    tonic_thrift::thrift_service!("idl/echo.thrift");
}

mod torture_from_build_rs {
    tonic_thrift::include_thrift!("torture");
}

mod twin_from_build_rs {
    tonic_thrift::include_thrift!("torture_twin");
}

#[test]
fn build_rs_output_equals_the_generator_output() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for stem in ["echo", "torture", "torture_twin"] {
        let idl = format!("idl/{stem}.thrift");
        let written =
            std::fs::read_to_string(Path::new(env!("OUT_DIR")).join(format!("{stem}.rs"))).unwrap();
        // build.rs passes `idl` as an include directory.
        let generated =
            tonic_thrift_build::generate(&root.join(&idl), &[root.join("idl")], Some(root))
                .unwrap_or_else(|e| panic!("{e}"));
        let rendered = tonic_thrift_build::render(&generated.tokens, Path::new(&idl)).unwrap();
        assert_eq!(written, rendered, "{idl}");
    }
}

#[test]
fn two_main_files_sharing_an_include_each_get_it() {
    let shared = twin_from_build_rs::common::Shared { id: 3 };
    let twin = twin_from_build_rs::torture_twin::Twin {
        shared: shared.clone(),
    };
    assert_eq!(twin.shared, shared);
    // Each expansion is self-contained: the same IDL type, two Rust types,
    // the same bytes.
    let other = torture_from_build_rs::common::Shared { id: 3 };
    let (mut x, mut y) = (bytes::BytesMut::new(), bytes::BytesMut::new());
    shared.encode(&mut BinaryOutput::new(&mut x)).unwrap();
    other.encode(&mut BinaryOutput::new(&mut y)).unwrap();
    assert_eq!(x, y);
    let _ = torture_from_build_rs::torture::b_server::BServer::<()>::new(());
}

#[test]
fn both_paths_encode_the_same_bytes() {
    let a = from_build_rs::echo::Request {
        message: "same".into(),
    };
    let b = from_macro::echo::Request {
        message: "same".into(),
    };
    let (mut x, mut y) = (bytes::BytesMut::new(), bytes::BytesMut::new());
    a.encode(&mut BinaryOutput::new(&mut x)).unwrap();
    b.encode(&mut BinaryOutput::new(&mut y)).unwrap();
    assert_eq!(x, y);
}
