//! Generates the volo-thrift client and server of `idl/echo.thrift` (the
//! ping-pong comparison system) into `OUT_DIR/volo_gen.rs`, as
//! `interop/volo` does.

fn main() {
    println!("cargo:rerun-if-changed=idl/echo.thrift");
    volo_build::Builder::thrift()
        .add_service("idl/echo.thrift")
        .write()
        .expect("volo-build failed to generate code for idl/echo.thrift");
}
