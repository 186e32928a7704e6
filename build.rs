//! Compiles `idl/echo.thrift` through `tonic-thrift-build`: the build.rs path,
//! used by `include_thrift!("echo")` in the examples and tests.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    tonic_thrift_build::configure().compile(&["idl/echo.thrift"], &["idl"])?;
    Ok(())
}
