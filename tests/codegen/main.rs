//! The code generator and the generated types: IDL errors (diagnostics and
//! trybuild), the build.rs and macro paths, golden Thrift Binary bytes,
//! round trips, hostile input for the decoders (Binary and Compact), and a cross-check with
//! Python `thriftpy2`.
//!
//! One test binary; each file is a module. `fuzz_support` (shared with the
//! runtime's fuzz targets) installs a counting global allocator for the
//! whole binary (it counts per thread) and reads the fuzz count and seed
//! (`TONIC_THRIFT_FUZZ_CASES`, `TONIC_THRIFT_FUZZ_SEED`).

mod compact_fuzz;
mod compile_fail;
mod corpus;
mod decode_fuzz;
#[path = "../../runtime/tests/fuzz_support/mod.rs"]
mod fuzz_support;
mod golden;
mod paths;
#[path = "../support/python.rs"]
mod python_env;
mod syntax;
mod thriftpy_cross;
mod thriftpy_new;
mod torture;
mod types;
