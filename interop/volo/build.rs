//! Generates the volo-thrift client and server for `idl/echo.thrift` (the
//! ping-pong-only copy of the workspace's echo IDL) into `OUT_DIR/volo_gen.rs`.

fn main() {
    println!("cargo:rerun-if-changed=idl/echo.thrift");
    volo_build::Builder::thrift()
        .add_service("idl/echo.thrift")
        .write()
        .expect("volo-build failed to generate code for idl/echo.thrift");
}
