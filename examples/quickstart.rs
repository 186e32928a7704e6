//! The quickstart: generated types from `idl/echo.thrift`, encoded to Thrift
//! Binary and back.
//!
//! Run with `cargo run --release --example quickstart`.

tonic_thrift::include_thrift!("echo");

use tonic_thrift::codec::{BinaryInput, BinaryOutput};
use tonic_thrift::codegen::Message;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let req = echo::Request {
        message: "hello".into(),
    };
    let mut buf = bytes::BytesMut::new();
    req.encode(&mut BinaryOutput::new(&mut buf))?;
    println!("Request {{ message: \"hello\" }} on the wire: {:02x?}", &buf[..]);
    let mut bytes = buf.freeze();
    let back = echo::Request::decode(&mut BinaryInput::new(&mut bytes))?;
    println!("decoded back: {back:?}");
    assert_eq!(back, req);
    Ok(())
}
