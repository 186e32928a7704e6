//! Interop with a real Kitex v0.16.3 client and server (`../shared/kitex-peer/bin`).
//!
//! * our `examples/echo_client.rs` runs its 37 cases against
//!   `kitex-peer-server`;
//! * `kitex-peer-client -case all` runs its 37 cases against our
//!   `examples/echo_server.rs`;
//! * `kitex-peer-client -stream-transport ttstream -case streaming` runs its
//!   16 stream cases over TTHeader Streaming against the same server;
//! * and, as a baseline for the first, our client against our server.
//!
//! The Kitex binaries are looked up in `$KITEX_PEER_BIN`, else in
//! `../shared/kitex-peer/bin` next to the workspace. Where they are missing
//! (a user's machine) the tests print why and pass.
//!
//! **Running the examples.** Cargo builds example binaries for `cargo test`
//! (all targets) but gives tests no path to them (`CARGO_BIN_EXE_*` exists
//! for `[[bin]]`s only). So the first test that needs them runs
//! `cargo build --example echo_client --example echo_server` once per test
//! process, with the cargo that runs the tests (`$CARGO`), the same target
//! directory (found from this test executable's path, `<target>/<profile>/deps/`)
//! and the same profile (`debug` = dev, `release` = `--release`, any other
//! directory name = `--profile <name>`). Cargo releases its build lock before
//! it runs test binaries, so the nested build does not wait on the outer one,
//! and under `cargo test` the examples are already fresh: the nested build
//! only checks fingerprints. The binaries are then
//! `<target>/<profile>/examples/echo_{client,server}`. (A cross-compiled
//! test run, `--target <triple>`, is not supported: the nested build would
//! use the host layout.)
//!
//! Every child process is killed and reaped when its guard drops, on every
//! path, panics included.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

/// The 37 case names of `kitex-peer-client -case all`, in order.
const CASES: usize = 37;

/// How long a whole `-case all` run may take (each case has a 5 s deadline
/// and the slowest take about 0.5 s; a 15 s watchdog per case).
const RUN_LIMIT: Duration = Duration::from_secs(180);

/// The tests share two cores with each other and with the Kitex peers:
/// run one at a time so the deadline cases keep their margins.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// The directory of the Kitex peer binaries, or why the tests are skipped.
fn peer_bin() -> Result<PathBuf, String> {
    let dir = match std::env::var_os("KITEX_PEER_BIN") {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/kitex-peer/bin"),
    };
    for exe in ["kitex-peer-server", "kitex-peer-client"] {
        if !dir.join(exe).is_file() {
            let why = format!(
                "../shared/kitex-peer/bin not found ({} has no {exe}; set KITEX_PEER_BIN to the directory of the Kitex peer binaries)",
                dir.display()
            );
            // CI sets this: there an interop test that did not run is a failure.
            let required = std::env::var("TONIC_THRIFT_REQUIRE_KITEX")
                .is_ok_and(|v| !v.is_empty() && v != "0");
            assert!(!required, "TONIC_THRIFT_REQUIRE_KITEX is set but {why}");
            return Err(format!("skipped: {why}"));
        }
    }
    Ok(dir)
}

/// A child process, killed and reaped on drop.
struct Proc {
    name: String,
    child: Child,
    /// stderr, read in the background from the start so that a chatty
    /// child never blocks on a full pipe.
    stderr: Option<Drained>,
}

impl Proc {
    fn spawn(name: &str, cmd: &mut Command) -> Proc {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        let stderr = drain(child.stderr.take());
        Proc {
            name: name.to_string(),
            child,
            stderr,
        }
    }

    /// Reads the `LISTENING <addr>` line a server prints once it accepts
    /// connections (see [`crate::listening::addr`]).
    fn listening_addr(&mut self) -> String {
        crate::listening::addr(&mut self.child, &self.name)
    }

    /// Waits for the process to exit within `limit`, returning its exit
    /// code, stdout and stderr.
    fn finish(mut self, limit: Duration) -> (Option<i32>, String, String) {
        let out = drain(self.child.stdout.take());
        let err = self.stderr.take();
        let deadline = std::time::Instant::now() + limit;
        let code = loop {
            match self.child.try_wait() {
                Ok(Some(status)) => break status.code(),
                Ok(None) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(50))
                }
                _ => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    panic!("{} did not finish within {limit:?}", self.name);
                }
            }
        };
        (code, join(out), join(err))
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

type Drained = std::thread::JoinHandle<String>;

fn drain<R: Read + Send + 'static>(pipe: Option<R>) -> Option<Drained> {
    pipe.map(|mut p| {
        std::thread::spawn(move || {
            let mut s = String::new();
            let _ = p.read_to_string(&mut s);
            s
        })
    })
}

fn join(h: Option<Drained>) -> String {
    h.and_then(|h| h.join().ok()).unwrap_or_default()
}

// ------------------------------------------------------------------ examples

/// `<target>/<profile>` of this test executable (`.../deps/kitex_interop-HASH`).
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let deps = exe.parent().expect("executable directory");
    assert_eq!(
        deps.file_name().and_then(|n| n.to_str()),
        Some("deps"),
        "unexpected test executable location {}",
        exe.display()
    );
    deps.parent().expect("profile directory").to_path_buf()
}

/// Builds (or checks fresh) the example binaries once per test process and
/// returns `<target>/<profile>/examples`.
fn examples_dir() -> PathBuf {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let profile_dir = profile_dir();
            let target_dir = profile_dir.parent().expect("target directory");
            let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
            let mut cmd = Command::new(cargo);
            cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
                .args([
                    "build",
                    "--example",
                    "echo_client",
                    "--example",
                    "echo_server",
                ])
                .arg("--target-dir")
                .arg(target_dir);
            match profile_dir.file_name().and_then(|n| n.to_str()) {
                Some("debug") => {}
                Some("release") => {
                    cmd.arg("--release");
                }
                Some(other) => {
                    cmd.args(["--profile", other]);
                }
                None => return Err("no profile directory".to_string()),
            }
            let out = cmd.output().map_err(|e| format!("cannot run cargo: {e}"))?;
            if !out.status.success() {
                return Err(format!(
                    "`cargo build --example echo_client --example echo_server` failed:\n{}",
                    String::from_utf8_lossy(&out.stderr)
                ));
            }
            Ok(profile_dir.join("examples"))
        })
        .clone()
        .unwrap_or_else(|e| panic!("{e}"))
}

fn example(name: &str) -> PathBuf {
    let path = examples_dir().join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(path.is_file(), "{} was not built", path.display());
    path
}

// ------------------------------------------------------------------ results

/// One result line: `{"case":..,"ok":..,"detail":..}` (other fields ignored).
#[derive(Debug)]
struct CaseResult {
    case: String,
    ok: bool,
    detail: String,
}

/// Parses a flat JSON object of string and boolean values (what both
/// clients print), enough to read the result lines without a JSON crate.
fn parse_line(line: &str) -> Result<CaseResult, String> {
    let bad = |why: &str| format!("{why} in result line {line:?}");
    let mut chars = line.trim().chars().peekable();
    let mut fields = std::collections::HashMap::new();
    let skip_ws = |c: &mut std::iter::Peekable<std::str::Chars<'_>>| {
        while c.peek().is_some_and(|c| c.is_whitespace()) {
            c.next();
        }
    };
    let string = |c: &mut std::iter::Peekable<std::str::Chars<'_>>| -> Option<String> {
        if c.next()? != '"' {
            return None;
        }
        let mut s = String::new();
        loop {
            match c.next()? {
                '"' => return Some(s),
                '\\' => match c.next()? {
                    'n' => s.push('\n'),
                    'r' => s.push('\r'),
                    't' => s.push('\t'),
                    'b' => s.push('\u{8}'),
                    'f' => s.push('\u{c}'),
                    'u' => {
                        let hex: String = (0..4).filter_map(|_| c.next()).collect();
                        let code = u32::from_str_radix(&hex, 16).ok()?;
                        s.push(char::from_u32(code).unwrap_or('\u{fffd}'));
                    }
                    other => s.push(other),
                },
                ch => s.push(ch),
            }
        }
    };
    if chars.next() != Some('{') {
        return Err(bad("no object"));
    }
    loop {
        skip_ws(&mut chars);
        let key = string(&mut chars).ok_or_else(|| bad("bad key"))?;
        skip_ws(&mut chars);
        if chars.next() != Some(':') {
            return Err(bad("no `:`"));
        }
        skip_ws(&mut chars);
        let value = match chars.peek() {
            Some('"') => string(&mut chars).ok_or_else(|| bad("bad string"))?,
            _ => {
                let mut v = String::new();
                while chars.peek().is_some_and(|c| *c != ',' && *c != '}') {
                    v.extend(chars.next());
                }
                v.trim().to_string()
            }
        };
        fields.insert(key, value);
        skip_ws(&mut chars);
        match chars.next() {
            Some(',') => continue,
            Some('}') => break,
            _ => return Err(bad("no `,` or `}`")),
        }
    }
    Ok(CaseResult {
        case: fields.remove("case").ok_or_else(|| bad("no case"))?,
        ok: match fields.get("ok").map(String::as_str) {
            Some("true") => true,
            Some("false") => false,
            _ => return Err(bad("no boolean ok")),
        },
        detail: fields.remove("detail").unwrap_or_default(),
    })
}

/// Checks a `-case all` run: exit code 0, 37 result lines, all ok (and, when
/// given, the case names in the expected order). Panics listing every failure.
fn check_run(who: &str, run: (Option<i32>, String, String), names: Option<&[String]>) {
    check_cases(who, run, names, CASES);
}

/// [`check_run`] for a run of `cases` cases.
fn check_cases(
    who: &str,
    (code, stdout, stderr): (Option<i32>, String, String),
    names: Option<&[String]>,
    cases: usize,
) {
    let lines: Vec<&str> = stdout.lines().filter(|l| !l.trim().is_empty()).collect();
    let results: Vec<CaseResult> = lines
        .iter()
        .map(|l| parse_line(l).unwrap_or_else(|e| panic!("{who}: {e}\nstderr:\n{stderr}")))
        .collect();
    let failures: Vec<String> = results
        .iter()
        .filter(|r| !r.ok)
        .map(|r| format!("  {}: {}", r.case, r.detail))
        .collect();
    assert!(
        failures.is_empty(),
        "{who}: {} of {} cases failed:\n{}\nstderr (tail):\n{}",
        failures.len(),
        results.len(),
        failures.join("\n"),
        tail(&stderr, 40)
    );
    assert_eq!(
        results.len(),
        cases,
        "{who}: expected {cases} result lines, got {}:\n{stdout}\nstderr (tail):\n{}",
        results.len(),
        tail(&stderr, 40)
    );
    if let Some(names) = names {
        let got: Vec<&str> = results.iter().map(|r| r.case.as_str()).collect();
        let want: Vec<&str> = names.iter().map(String::as_str).collect();
        assert_eq!(
            got, want,
            "{who}: case names differ from kitex-peer-client's"
        );
    }
    assert_eq!(
        code,
        Some(0),
        "{who}: exit code (stderr: {})",
        tail(&stderr, 40)
    );
    println!("{who}: all {cases} cases passed");
}

fn tail(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// The first 37 names of `kitex-peer-client -case list` (the `-case all` list).
fn peer_case_names(bin: &Path) -> Vec<String> {
    let p = Proc::spawn(
        "kitex-peer-client -case list",
        Command::new(bin.join("kitex-peer-client")).args(["-case", "list"]),
    );
    let (code, out, err) = p.finish(Duration::from_secs(30));
    assert_eq!(code, Some(0), "kitex-peer-client -case list: {err}");
    out.lines().take(CASES).map(str::to_string).collect()
}

// ------------------------------------------------------------------ tests

#[test]
fn our_client_against_the_kitex_server() {
    let bin = match peer_bin() {
        Ok(b) => b,
        Err(why) => return println!("{why}"),
    };
    let _serial = serial();
    let client = example("echo_client");
    let names = peer_case_names(&bin);

    // Our case list is the Go client's.
    let list = Proc::spawn(
        "echo_client --case list",
        Command::new(&client).args(["--case", "list"]),
    )
    .finish(Duration::from_secs(30));
    assert_eq!(list.0, Some(0), "echo_client --case list: {}", list.2);
    // The v1 list, then the v2 stream case, as the Go client lists them.
    let ours: Vec<&str> = list.1.lines().collect();
    let mut want: Vec<&str> = names.iter().map(String::as_str).collect();
    want.push("transport_stream");
    assert_eq!(
        ours, want,
        "echo_client --case list != kitex-peer-client's -case all list + transport_stream"
    );

    let mut server = Proc::spawn(
        "kitex-peer-server",
        Command::new(bin.join("kitex-peer-server")).args(["-addr", "127.0.0.1:0"]),
    );
    let addr = server.listening_addr();
    let run = Proc::spawn(
        "echo_client",
        Command::new(&client).args(["--addr", &addr, "--case", "all"]),
    )
    .finish(RUN_LIMIT);
    check_run("echo_client against kitex-peer-server", run, Some(&names));
    drop(server);
}

#[test]
fn kitex_client_against_our_server() {
    let bin = match peer_bin() {
        Ok(b) => b,
        Err(why) => return println!("{why}"),
    };
    let _serial = serial();
    let names = peer_case_names(&bin);
    let mut server = Proc::spawn(
        "echo_server",
        Command::new(example("echo_server")).args(["--addr", "127.0.0.1:0"]),
    );
    let addr = server.listening_addr();
    let run = Proc::spawn(
        "kitex-peer-client",
        Command::new(bin.join("kitex-peer-client")).args(["-addr", &addr, "-case", "all"]),
    )
    .finish(RUN_LIMIT);
    check_run("kitex-peer-client against echo_server", run, Some(&names));
    drop(server);
}

/// The 16 cases of `kitex-peer-client -stream-transport ttstream -case
/// streaming`: every stream case over TTHeader Streaming.
const TTSTREAM_CASES: usize = 16;

#[test]
fn kitex_ttstream_client_against_our_server() {
    let bin = match peer_bin() {
        Ok(b) => b,
        Err(why) => return println!("{why}"),
    };
    let _serial = serial();
    let mut server = Proc::spawn(
        "echo_server",
        Command::new(example("echo_server")).args(["--addr", "127.0.0.1:0"]),
    );
    let addr = server.listening_addr();
    let run = Proc::spawn(
        "kitex-peer-client -stream-transport ttstream",
        Command::new(bin.join("kitex-peer-client")).args([
            "-addr",
            &addr,
            "-stream-transport",
            "ttstream",
            "-case",
            "streaming",
        ]),
    )
    .finish(RUN_LIMIT);
    assert!(
        run.1.contains(r#""case":"transport_stream","ok":true"#),
        "transport_stream did not pass:\n{}",
        run.1
    );
    check_cases(
        "kitex-peer-client -stream-transport ttstream against echo_server",
        run,
        None,
        TTSTREAM_CASES,
    );
    drop(server);
}

/// Runs `echo_client --stream-transport ttstream --case streaming` against
/// `addr` and checks the 16 results, each tagged `"stream_transport":"ttstream"`.
fn check_our_ttstream_client(who: &str, addr: &str) {
    let run = Proc::spawn(
        "echo_client --stream-transport ttstream",
        Command::new(example("echo_client")).args([
            "--addr",
            addr,
            "--stream-transport",
            "ttstream",
            "--case",
            "streaming",
        ]),
    )
    .finish(RUN_LIMIT);
    assert!(
        run.1.contains(r#""case":"transport_stream","ok":true"#),
        "{who}: transport_stream did not pass:\n{}",
        run.1
    );
    for line in run.1.lines().filter(|l| !l.trim().is_empty()) {
        assert!(
            line.ends_with(r#","stream_transport":"ttstream"}"#),
            "{who}: a line without its stream transport: {line}"
        );
    }
    check_cases(who, run, None, TTSTREAM_CASES);
}

#[test]
fn our_ttstream_client_against_the_kitex_server() {
    let bin = match peer_bin() {
        Ok(b) => b,
        Err(why) => return println!("{why}"),
    };
    let _serial = serial();
    let mut server = Proc::spawn(
        "kitex-peer-server",
        Command::new(bin.join("kitex-peer-server")).args(["-addr", "127.0.0.1:0"]),
    );
    let addr = server.listening_addr();
    check_our_ttstream_client(
        "echo_client --stream-transport ttstream against kitex-peer-server",
        &addr,
    );
    drop(server);
}

#[test]
fn our_ttstream_client_against_our_server() {
    if let Err(why) = peer_bin() {
        return println!("{why}");
    }
    let _serial = serial();
    let mut server = Proc::spawn(
        "echo_server",
        Command::new(example("echo_server")).args(["--addr", "127.0.0.1:0"]),
    );
    let addr = server.listening_addr();
    check_our_ttstream_client(
        "echo_client --stream-transport ttstream against echo_server",
        &addr,
    );
    drop(server);
}

#[test]
fn our_client_against_our_server() {
    if let Err(why) = peer_bin() {
        return println!("{why}");
    }
    let _serial = serial();
    let mut server = Proc::spawn(
        "echo_server",
        Command::new(example("echo_server")).args(["--addr", "127.0.0.1:0"]),
    );
    let addr = server.listening_addr();
    let run = Proc::spawn(
        "echo_client",
        Command::new(example("echo_client")).args(["--addr", &addr, "--case", "all"]),
    )
    .finish(RUN_LIMIT);
    check_run("echo_client against echo_server", run, None);
    drop(server);
}

#[test]
fn result_lines_parse() {
    let r = parse_line(r#"{"case":"a","ok":true,"detail":"x \"y\" \u003e\n"}"#).unwrap();
    assert_eq!(
        (r.case.as_str(), r.ok, r.detail.as_str()),
        ("a", true, "x \"y\" >\n")
    );
    let r = parse_line(r#"{"case":"b","ok":false,"detail":"","n":3}"#).unwrap();
    assert!(!r.ok);
    assert!(parse_line("not json").is_err());
}
