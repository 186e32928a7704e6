//! Compiles `idl/echo.thrift` through `tonic-thrift-build`: the build.rs path,
//! used by `include_thrift!("echo")` in the examples and tests. The torture
//! IDLs (`tests/codegen/paths.rs`) check that the build.rs path names
//! everything as the macro does, and that two main files sharing an include
//! each get their own file.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    tonic_thrift_build::configure().compile(
        &[
            "idl/echo.thrift",
            "idl/torture.thrift",
            "idl/torture_twin.thrift",
        ],
        &["idl"],
    )?;
    Ok(())
}
