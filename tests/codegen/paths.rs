//! The build.rs path and the macro path run the same generator: the file
//! build.rs wrote for `idl/echo.thrift` is exactly what `generate` + `render`
//! give for the same input, and the types of both paths put the same bytes
//! on the wire.

use std::path::Path;

use tonic_thrift::codec::BinaryOutput;
use tonic_thrift::Message;

mod from_build_rs {
    tonic_thrift::include_thrift!("echo");
}

mod from_macro {
    tonic_thrift::thrift_service!("idl/echo.thrift");
}

#[test]
fn build_rs_output_equals_the_generator_output() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let written = std::fs::read_to_string(Path::new(env!("OUT_DIR")).join("echo.rs")).unwrap();
    let generated = tonic_thrift_build::generate(&root.join("idl/echo.thrift"), &[], Some(root))
        .unwrap_or_else(|e| panic!("{e}"));
    let rendered =
        tonic_thrift_build::render(&generated.tokens, Path::new("idl/echo.thrift")).unwrap();
    assert_eq!(written, rendered);
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
