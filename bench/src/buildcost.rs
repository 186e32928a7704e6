//! Build cost: `cargo check` time of a crate generated from an IDL with 200
//! methods and 200 structs, through tonic-thrift-build (build.rs), against
//! the same crate from an equivalent `.proto` through tonic-prost-build.
//!
//! Both crates live in one scratch workspace under `target/bench/buildcost/`
//! with its own target dir, so their dependencies are built once (untimed)
//! and shared. Measured, per repetition: "cold" (`cargo clean -p` of the
//! generated crate, then `cargo check`: build script compiled and run, the
//! generated code checked) and "IDL touched" (the IDL's mtime bumped, then
//! `cargo check`: build script rerun, generated code checked again).
//! tonic-prost-build needs `protoc` (Debian: `protobuf-compiler`); without
//! it the workload is skipped with that reason.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use crate::common::BenchResult;
use crate::Row;

const STRUCTS: usize = 200;
const METHODS: usize = 200;

const THRIFT_CRATE: &str = "thrift-gen";
const PROTO_CRATE: &str = "proto-gen";

fn thrift_idl() -> String {
    let mut s = String::from("namespace go big\nnamespace rs big\n\n");
    for i in 0..STRUCTS {
        // Chains of 8 structs, each holding the previous one (no cycle).
        let prev = if i % 8 == 0 {
            String::new()
        } else {
            format!("  8: optional S{} prev\n", i - 1)
        };
        s.push_str(&format!(
            "struct S{i} {{\n  1: required i32 id\n  2: optional i64 stamp\n  3: string name\n  \
             4: list<i32> values\n  5: bool flag\n  6: optional double score\n  \
             7: map<string, string> tags\n{prev}}}\n\n"
        ));
    }
    s.push_str("service Big {\n");
    for i in 0..METHODS {
        s.push_str(&format!(
            "  S{out} Method{i} (1: S{inp} req),\n",
            inp = i % STRUCTS,
            out = (i + 1) % STRUCTS
        ));
    }
    s.push_str("}\n");
    s
}

fn proto_idl() -> String {
    let mut s = String::from("syntax = \"proto3\";\npackage big;\n\n");
    for i in 0..STRUCTS {
        let prev = if i % 8 == 0 {
            String::new()
        } else {
            format!("  S{} prev = 8;\n", i - 1)
        };
        s.push_str(&format!(
            "message S{i} {{\n  int32 id = 1;\n  optional int64 stamp = 2;\n  string name = 3;\n  \
             repeated int32 values = 4;\n  bool flag = 5;\n  optional double score = 6;\n  \
             map<string, string> tags = 7;\n{prev}}}\n\n"
        ));
    }
    s.push_str("service Big {\n");
    for i in 0..METHODS {
        s.push_str(&format!(
            "  rpc Method{i} (S{inp}) returns (S{out});\n",
            inp = i % STRUCTS,
            out = (i + 1) % STRUCTS
        ));
    }
    s.push_str("}\n");
    s
}

fn write(path: &Path, text: &str) -> BenchResult<()> {
    if let Some(d) = path.parent() {
        std::fs::create_dir_all(d).map_err(|e| format!("creating {}: {e}", d.display()))?;
    }
    // Unchanged files keep their mtime, so a rerun reuses the built dependencies.
    if std::fs::read_to_string(path).ok().as_deref() == Some(text) {
        return Ok(());
    }
    std::fs::write(path, text).map_err(|e| format!("writing {}: {e}", path.display()))
}

/// The workspace root (where tonic-thrift's crates are).
fn workspace_root() -> BenchResult<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .ok_or("no workspace root")?
        .canonicalize()
        .map_err(|e| e.to_string())?;
    Ok(root.display().to_string())
}

/// Pins the scratch workspace's dependencies to the main workspace's.
fn copy_lock(dir: &Path, root: &str) -> BenchResult<()> {
    if !dir.join("Cargo.lock").exists() {
        if let Ok(lock) = std::fs::read_to_string(format!("{root}/Cargo.lock")) {
            write(&dir.join("Cargo.lock"), &lock)?;
        }
    }
    Ok(())
}

/// The manifest of the crate generated through tonic-thrift-build.
fn thrift_crate_manifest(t: &Path, root: &str) -> BenchResult<()> {
    write(
        &t.join("Cargo.toml"),
        &format!(
            "[package]\nname = \"{THRIFT_CRATE}\"\nversion = \"0.0.0\"\nedition = \"2021\"\npublish = false\n\n\
             [dependencies]\ntonic-thrift = {{ path = \"{root}/runtime\" }}\n\n\
             [build-dependencies]\ntonic-thrift-build = {{ path = \"{root}/codegen\" }}\n"
        ),
    )
}

/// Lays out the scratch workspace in `dir`.
fn scaffold(dir: &Path) -> BenchResult<()> {
    let root = workspace_root()?;
    write(
        &dir.join("Cargo.toml"),
        &format!(
            "[workspace]\nmembers = [\"{THRIFT_CRATE}\", \"{PROTO_CRATE}\"]\nresolver = \"2\"\n"
        ),
    )?;
    copy_lock(dir, &root)?;
    let t = dir.join(THRIFT_CRATE);
    thrift_crate_manifest(&t, &root)?;
    write(
        &t.join("build.rs"),
        "fn main() -> Result<(), Box<dyn std::error::Error>> {\n    \
         tonic_thrift_build::configure().compile(&[\"idl/big.thrift\"], &[\"idl\"])?;\n    Ok(())\n}\n",
    )?;
    write(
        &t.join("src/lib.rs"),
        "#![allow(missing_docs)]\ntonic_thrift::include_thrift!(\"big\");\n",
    )?;
    write(&t.join("idl/big.thrift"), &thrift_idl())?;

    let p = dir.join(PROTO_CRATE);
    write(
        &p.join("Cargo.toml"),
        &format!(
            "[package]\nname = \"{PROTO_CRATE}\"\nversion = \"0.0.0\"\nedition = \"2021\"\npublish = false\n\n\
             [dependencies]\ntonic = \"0.14\"\ntonic-prost = \"0.14\"\nprost = \"0.14\"\n\n\
             [build-dependencies]\ntonic-prost-build = \"0.14\"\n"
        ),
    )?;
    write(
        &p.join("build.rs"),
        "fn main() -> Result<(), Box<dyn std::error::Error>> {\n    \
         tonic_prost_build::compile_protos(\"proto/big.proto\")?;\n    Ok(())\n}\n",
    )?;
    write(
        &p.join("src/lib.rs"),
        "pub mod big {\n    tonic::include_proto!(\"big\");\n}\n",
    )?;
    write(&p.join("proto/big.proto"), &proto_idl())?;
    Ok(())
}

fn cargo() -> Command {
    let mut c = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    // Do not inherit what `cargo run` set for this binary.
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy().to_string();
        if k.starts_with("CARGO_") && k != "CARGO_HOME" && !k.starts_with("CARGO_REGISTRIES") {
            c.env_remove(&k);
        }
    }
    c.env_remove("RUSTFLAGS");
    c
}

fn run_cargo(dir: &Path, args: &[&str], what: &str) -> BenchResult<Duration> {
    let target = dir.join("target");
    let start = Instant::now();
    let out = cargo()
        .current_dir(dir)
        .args(args)
        .arg("--target-dir")
        .arg(&target)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("running cargo: {e}"))?;
    let took = start.elapsed();
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = err.lines().rev().take(15).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        return Err(format!("{what} failed:\n{}", tail.join("\n")));
    }
    Ok(took)
}

fn touch(path: &Path) -> BenchResult<()> {
    let f = std::fs::File::options()
        .append(true)
        .open(path)
        .map_err(|e| format!("opening {}: {e}", path.display()))?;
    f.set_modified(SystemTime::now())
        .map_err(|e| format!("touching {}: {e}", path.display()))
}

fn protoc_available() -> bool {
    let protoc = std::env::var_os("PROTOC").unwrap_or_else(|| "protoc".into());
    Command::new(protoc)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// Runs the workload; `reps` repetitions, medians.
pub(crate) fn run(reps: usize) -> BenchResult<Vec<Row>> {
    if !protoc_available() {
        return Err(
            "protoc not found (tonic-prost-build needs it: apt-get install protobuf-compiler, or set PROTOC)"
                .into(),
        );
    }
    let dir = scratch_dir("buildcost")?;
    scaffold(&dir)?;
    let systems = [
        System {
            name: "tonic-thrift",
            krate: THRIFT_CRATE,
            idl: "idl/big.thrift".into(),
        },
        System {
            name: "tonic-build (prost)",
            krate: PROTO_CRATE,
            idl: "proto/big.proto".into(),
        },
    ];
    let title = format!("cargo check, {METHODS} methods + {STRUCTS} structs");
    measure(&dir, &systems, reps, "build-cost", &title)
}

/// The build cost of a user's IDL (for example Hive's metastore IDL):
/// `cargo check` of a crate generated by tonic-thrift-build against the same
/// crate generated by volo-build (volo-thrift 0.12), side by side.
pub(crate) fn run_idl(idl: &Path, includes: &[PathBuf], reps: usize) -> BenchResult<Vec<Row>> {
    let idl = idl
        .canonicalize()
        .map_err(|e| format!("--build-cost-idl {}: {e}", idl.display()))?;
    let name = idl
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or("--build-cost-idl: not a file name")?
        .to_string();
    let stem = name.trim_end_matches(".thrift").to_string();
    // Includes resolve against the IDL's own folder and the given ones; the
    // IDL itself is copied, so touching it leaves the user's file alone.
    let mut dirs = vec![idl.parent().ok_or("no parent folder")?.to_path_buf()];
    for d in includes {
        dirs.push(
            d.canonicalize()
                .map_err(|e| format!("{}: {e}", d.display()))?,
        );
    }
    let text = std::fs::read_to_string(&idl).map_err(|e| format!("{}: {e}", idl.display()))?;
    let dir = scratch_dir("buildcost-idl")?;
    scaffold_idl(&dir, &name, &stem, &text, &dirs)?;
    let rel = format!("idl/{name}");
    let systems = [
        System {
            name: "tonic-thrift",
            krate: THRIFT_CRATE,
            idl: rel.clone(),
        },
        System {
            name: "volo-build",
            krate: VOLO_CRATE,
            idl: rel,
        },
    ];
    measure(
        &dir,
        &systems,
        reps,
        "build-cost-idl",
        &format!("cargo check, {name}"),
    )
}

const VOLO_CRATE: &str = "volo-gen";

/// `target/bench/<name>`, next to the results file.
fn scratch_dir(name: &str) -> BenchResult<PathBuf> {
    Ok(crate::results_path()
        .parent()
        .ok_or("no results dir")?
        .join(name))
}

/// Lays out the scratch workspace of [`run_idl`]: the same IDL through
/// tonic-thrift-build and through volo-build.
fn scaffold_idl(
    dir: &Path,
    name: &str,
    stem: &str,
    text: &str,
    includes: &[PathBuf],
) -> BenchResult<()> {
    let root = workspace_root()?;
    write(
        &dir.join("Cargo.toml"),
        &format!(
            "[workspace]\nmembers = [\"{THRIFT_CRATE}\", \"{VOLO_CRATE}\"]\nresolver = \"2\"\n"
        ),
    )?;
    copy_lock(dir, &root)?;
    let includes: Vec<String> = includes
        .iter()
        .map(|d| format!("{:?}", d.display().to_string()))
        .collect();
    let includes = includes.join(", ");
    let t = dir.join(THRIFT_CRATE);
    thrift_crate_manifest(&t, &root)?;
    write(
        &t.join("build.rs"),
        &format!(
            "fn main() -> Result<(), Box<dyn std::error::Error>> {{\n    \
             tonic_thrift_build::configure().compile(&[\"idl/{name}\"], &[{includes}])?;\n    Ok(())\n}}\n"
        ),
    )?;
    write(
        &t.join("src/lib.rs"),
        &format!("#![allow(missing_docs)]\ntonic_thrift::include_thrift!(\"{stem}\");\n"),
    )?;
    write(&t.join("idl").join(name), text)?;

    let v = dir.join(VOLO_CRATE);
    write(
        &v.join("Cargo.toml"),
        &format!(
            "[package]\nname = \"{VOLO_CRATE}\"\nversion = \"0.0.0\"\nedition = \"2021\"\npublish = false\n\n\
             [dependencies]\nvolo = \"0.12\"\nvolo-thrift = \"0.12\"\npilota = \"0.13\"\nanyhow = \"1\"\n\n\
             [build-dependencies]\nvolo-build = \"0.12\"\n"
        ),
    )?;
    write(
        &v.join("build.rs"),
        &format!(
            "fn main() {{\n    println!(\"cargo:rerun-if-changed=idl/{name}\");\n    \
             volo_build::Builder::thrift()\n        .add_service(\"idl/{name}\")\n        \
             .include_dirs(vec![{includes}].into_iter().map(std::path::PathBuf::from).collect())\n        \
             .write()\n        .expect(\"volo-build failed\");\n}}\n"
        ),
    )?;
    write(
        &v.join("src/lib.rs"),
        "include!(concat!(env!(\"OUT_DIR\"), \"/volo_gen.rs\"));\n",
    )?;
    write(&v.join("idl").join(name), text)?;
    Ok(())
}

/// One system of a build-cost comparison: its crate in the scratch
/// workspace, and the IDL file (relative to the crate) that a user edits.
struct System {
    name: &'static str,
    krate: &'static str,
    idl: String,
}

/// Builds the dependencies once (untimed), then per repetition and system
/// (interleaved): `cargo clean -p` + `cargo check` (cold), then the IDL
/// touched + `cargo check`. Medians; the second system is the comparison.
fn measure(
    dir: &Path,
    systems: &[System; 2],
    reps: usize,
    id: &str,
    title: &str,
) -> BenchResult<Vec<Row>> {
    eprintln!(
        "build cost: building the dependencies of {} once (untimed)...",
        dir.display()
    );
    run_cargo(dir, &["check", "--workspace"], "cargo check (dependencies)")?;
    // [system][0 = cold, 1 = touched] -> seconds per repetition
    let mut secs = vec![[Vec::new(), Vec::new()]; systems.len()];
    for rep in 0..reps {
        for k in 0..systems.len() {
            let i = (k + rep) % systems.len();
            let System { name, krate, idl } = &systems[i];
            run_cargo(dir, &["clean", "-p", krate], "cargo clean")?;
            let cold = run_cargo(dir, &["check", "-p", krate], "cargo check (cold)")?;
            touch(&dir.join(krate).join(idl))?;
            let touched = run_cargo(dir, &["check", "-p", krate], "cargo check (touched)")?;
            eprintln!(
                "build cost rep {} {name}: cold {:.2}s, IDL touched {:.2}s",
                rep + 1,
                cold.as_secs_f64(),
                touched.as_secs_f64()
            );
            secs[i][0].push(cold.as_secs_f64());
            secs[i][1].push(touched.as_secs_f64());
        }
    }
    let mut rows = Vec::new();
    for (what, unit) in [(0, "s cold"), (1, "s touched")] {
        let comp = crate::median(secs[1][what].clone());
        for (i, system) in systems.iter().enumerate() {
            let value = crate::median(secs[i][what].clone());
            rows.push(Row {
                id: id.into(),
                workload: title.to_string(),
                system: system.name.to_string(),
                comparison: systems[1].name.to_string(),
                unit: unit.to_string(),
                higher_is_better: false,
                value,
                runs: secs[i][what].clone(),
                ratio: match (value, comp) {
                    (Some(v), Some(c)) if c > 0.0 => Some(v / c),
                    _ => None,
                },
                failure: None,
            });
        }
    }
    Ok(rows)
}
