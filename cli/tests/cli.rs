//! The `tonic-thrift` binary, run as a user runs it (spawned, stdin and
//! stdout piped): against the real Kitex peer server (`kitex-peer-server`)
//! in every mode and over every transport, and against its own
//! `serve --mock`.
//!
//! The Kitex cases skip, saying why, where `../shared/kitex-peer/bin` is
//! missing, unless `TONIC_THRIFT_REQUIRE_KITEX` is set (CI), where that fails.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_tonic-thrift");

fn repo(path: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(path)
        .to_string_lossy()
        .into_owned()
}

/// Runs `tonic-thrift args...` with `stdin`; returns (exit code, stdout, stderr).
fn run(args: &[&str], stdin: &str) -> (i32, String, String) {
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("tonic-thrift starts");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A server process, killed on drop.
struct Server {
    child: Child,
    addr: String,
}

impl Server {
    fn start(cmd: &mut Command) -> Server {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("server starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = line
            .strip_prefix("LISTENING ")
            .unwrap_or_else(|| panic!("expected `LISTENING <addr>`, got {line:?}"))
            .trim()
            .to_string();
        Server { child, addr }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn kitex_server() -> Option<Server> {
    let dir = match std::env::var_os("KITEX_PEER_BIN") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(repo("../shared/kitex-peer/bin")),
    };
    let exe = dir.join("kitex-peer-server");
    if !exe.is_file() {
        let required =
            std::env::var("TONIC_THRIFT_REQUIRE_KITEX").is_ok_and(|v| !v.is_empty() && v != "0");
        assert!(
            !required,
            "TONIC_THRIFT_REQUIRE_KITEX is set but {} is missing",
            exe.display()
        );
        eprintln!("skipped: {} is missing", exe.display());
        return None;
    }
    Some(Server::start(
        Command::new(exe).args(["-addr", "127.0.0.1:0"]),
    ))
}

/// `tonic-thrift call --idl idl/echo.thrift --addr ADDR extra... METHOD [REQUEST]`.
fn call(
    addr: &str,
    extra: &[&str],
    method: &str,
    request: Option<&str>,
    stdin: &str,
) -> (i32, String, String) {
    let idl = repo("idl/echo.thrift");
    let mut args = vec!["call", "--idl", &idl, "--addr", addr];
    args.extend_from_slice(extra);
    args.push(method);
    if let Some(r) = request {
        args.push(r);
    }
    run(&args, stdin)
}

fn ok(r: (i32, String, String)) -> String {
    assert_eq!(r.0, 0, "exit code; stderr: {}", r.2);
    r.1
}

#[test]
fn every_mode_and_transport_against_the_kitex_server() {
    let Some(k) = kitex_server() else { return };
    let a = k.addr.as_str();
    for (st, seen) in [("grpc", "GRPC"), ("ttstream", "TTHeaderStreaming")] {
        let flags = ["--stream-transport", st];
        // Bidi: JSON lines in, one reply line per message, as they come.
        let out = ok(call(
            a,
            &flags,
            "TestService.Echo",
            None,
            "{\"message\":\"a\"}\n\n{\"message\":\"transport\"}\n",
        ));
        assert_eq!(
            out,
            format!("{{\"message\":\"a\"}}\n{{\"message\":\"{seen}\"}}\n"),
            "{st}"
        );
        let out = ok(call(
            a,
            &flags,
            "TestService.EchoClient",
            None,
            "{\"message\":\"a\"}\n{\"message\":\"b\"}\n",
        ));
        assert_eq!(out, "{\"message\":\"a,b\"}\n", "{st}");
        let out = ok(call(
            a,
            &flags,
            "TestService.EchoServer",
            Some("{\"message\":\"3\"}"),
            "",
        ));
        assert_eq!(
            out, "{\"message\":\"0\"}\n{\"message\":\"1\"}\n{\"message\":\"2\"}\n",
            "{st}"
        );
        let out = ok(call(
            a,
            &flags,
            "TestService.EchoUnary",
            Some("{\"message\":\"transport\"}"),
            "",
        ));
        assert_eq!(
            out, "{\"message\":\"GRPC\"}\n",
            "unary goes over gRPC ({st})"
        );
    }
    for (t, seen) in [
        ("ttheader", "TTHeader"),
        ("ttheader_framed", "TTHeader|Framed"),
        ("framed", "Framed"),
        ("buffered", "PurePayload"),
    ] {
        let out = ok(call(
            a,
            &["--transport", t],
            "TestService.EchoPingPong",
            Some("{\"message\":\"transport\"}"),
            "",
        ));
        assert_eq!(out, format!("{{\"message\":\"{seen}\"}}\n"), "{t}");
    }
    let out = ok(call(
        a,
        &["--stream-transport", "grpc"],
        "TestService.EchoPingPong",
        Some("{\"message\":\"transport\"}"),
        "",
    ));
    assert_eq!(out, "{\"message\":\"GRPC\"}\n");
    // The request from stdin when not given.
    let out = ok(call(
        a,
        &[],
        "TestService.EchoPingPong",
        None,
        "{\"message\":\"from stdin\"}",
    ));
    assert_eq!(out, "{\"message\":\"from stdin\"}\n");
}

#[test]
fn metainfo_timeouts_and_errors_against_the_kitex_server() {
    let Some(k) = kitex_server() else { return };
    let a = k.addr.as_str();
    for method in ["TestService.EchoPingPong", "TestService.EchoUnary"] {
        let out = ok(call(
            a,
            &["-H", "TEST_KEY=tv"],
            method,
            Some("{\"message\":\"metainfo\"}"),
            "",
        ));
        assert_eq!(out, "{\"message\":\"tv\"}\n", "{method}");
        let out = ok(call(
            a,
            &["--persist", "TEST_PERSIST=pv"],
            method,
            Some("{\"message\":\"persist\"}"),
            "",
        ));
        assert_eq!(out, "{\"message\":\"pv\"}\n", "{method}");
    }
    let out = ok(call(
        a,
        &["-H", "TEST_KEY=bidi"],
        "TestService.Echo",
        None,
        "{\"message\":\"metainfo\"}\n",
    ));
    assert_eq!(out, "{\"message\":\"bidi\"}\n");
    // Business errors: exit 3, code, message and extra on stderr.
    for (method, flags) in [
        ("TestService.EchoPingPong", &[][..]),
        ("TestService.EchoUnary", &[][..]),
        (
            "TestService.EchoServer",
            &["--stream-transport", "grpc"][..],
        ),
    ] {
        let (code, out, err) = call(a, flags, method, Some("{\"message\":\"biz-error\"}"), "");
        assert_eq!(code, 3, "{method}: {err}");
        assert_eq!(out, "");
        assert!(
            err.contains("business error 1001: biz error msg (extra: k=v)"),
            "{method}: {err}"
        );
    }
    // A deadline: 64 + DEADLINE_EXCEEDED (4).
    let (code, _, err) = call(
        a,
        &["--timeout", "300ms"],
        "TestService.EchoPingPong",
        Some("{\"message\":\"sleep\"}"),
        "",
    );
    assert_eq!(code, 68, "{err}");
    assert!(err.contains("DeadlineExceeded"), "{err}");
    // JSON that does not fit the IDL: exit 1, naming the path and field.
    let (code, _, err) = call(
        a,
        &[],
        "TestService.EchoPingPong",
        Some("{\"message\":7}"),
        "",
    );
    assert_eq!(code, 1);
    assert!(
        err.contains(
            "$.message (field `Request.message, string`): expected a string, found a number"
        ),
        "{err}"
    );
    let (code, _, err) = call(
        a,
        &[],
        "TestService.Echo",
        None,
        "{\"message\":\"a\"}\nnot json\n",
    );
    assert_eq!(code, 1);
    assert!(err.contains("stdin line 2 is not JSON"), "{err}");
}

#[test]
fn usage_and_connection_errors_have_their_exit_codes() {
    // Nothing listens on port 1 of loopback.
    let (code, _, err) = call(
        "127.0.0.1:1",
        &[],
        "TestService.EchoPingPong",
        Some("{\"message\":\"x\"}"),
        "",
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("could not connect"), "{err}");
    let (code, _, err) = call(
        "127.0.0.1:1",
        &[],
        "TestService.Echo",
        Some("{\"message\":\"x\"}"),
        "",
    );
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = call("127.0.0.1:1", &[], "TestService.Nope", Some("{}"), "");
    assert_eq!(code, 1);
    assert!(
        err.contains(
            "has no method `Nope` (methods: Echo, EchoClient, EchoServer, EchoUnary, EchoPingPong)"
        ),
        "{err}"
    );
    let (code, _, err) = call(
        "127.0.0.1:1",
        &["--transport", "carrier-pigeon"],
        "TestService.Echo",
        None,
        "",
    );
    assert_eq!(code, 1, "{err}");
    let (code, _, err) = run(
        &["describe", "--idl", &repo("idl/does_not_exist.thrift")],
        "",
    );
    assert_eq!(code, 1);
    assert!(err.contains("does_not_exist.thrift"), "{err}");
}

#[test]
fn describe_lists_services_methods_modes_and_types() {
    let out = ok(run(&["describe", "--idl", &repo("idl/echo.thrift")], ""));
    assert!(
        out.contains("service TestService (echo.TestService)"),
        "{out}"
    );
    assert!(
        out.contains("Response Echo(1: Request req) [bidirectional]"),
        "{out}"
    );
    assert!(
        out.contains("Response EchoPingPong(1: Request req) [ping-pong]"),
        "{out}"
    );
    let out = ok(run(
        &[
            "describe",
            "--idl",
            &repo("idl/kitchen_sink.thrift"),
            "-I",
            &repo("idl"),
            "Sink.Get",
        ],
        "",
    ));
    assert!(out.contains("shared.Item Get(1: i64 id) [ping-pong] throws (1: shared.NotFound not_found, 2: Oops oops)  /kitchen.Sink/Get"), "{out}");
    assert!(out.contains("struct shared.Item {\n  1: required i64 id\n  2: optional string label\n  3: shared.Color color\n}"), "{out}");
    assert!(
        out.contains("enum shared.Color { RED = 0, GREEN = 5, BLUE = 6, NEGATIVE = -3 }"),
        "{out}"
    );
    let (code, _, err) = run(&["describe", "--idl", &repo("idl/echo.thrift"), "Nope"], "");
    assert_eq!(code, 1);
    assert!(err.contains("no service `Nope`"), "{err}");
}

#[test]
fn help_has_examples_and_completions_are_generated() {
    let out = ok(run(&["--help"], ""));
    assert!(
        out.contains("Examples:") && out.contains("tonic-thrift call --idl"),
        "{out}"
    );
    let out = ok(run(&["call", "--help"], ""));
    for flag in [
        "--idl",
        "-I",
        "--addr",
        "--stream-transport",
        "--transport",
        "-H",
        "--persist",
        "--timeout",
        "Exit codes:",
    ] {
        assert!(out.contains(flag), "call --help lacks {flag}:\n{out}");
    }
    let out = ok(run(&["completions", "bash"], ""));
    assert!(
        out.contains("complete -F _tonic__thrift") && out.contains("--stream-transport"),
        "{out}"
    );
}

#[test]
fn serve_mock_answers_every_mode_with_defaults() {
    let ks = repo("idl/kitchen_sink.thrift");
    let s = Server::start(Command::new(BIN).args([
        "serve",
        "--idl",
        &ks,
        "--addr",
        "127.0.0.1:0",
        "--mock",
    ]));
    let c = |extra: &[&str], method: &str, req: Option<&str>, stdin: &str| {
        let mut args = vec!["call", "--idl", ks.as_str(), "--addr", s.addr.as_str()];
        args.extend_from_slice(extra);
        args.push(method);
        if let Some(r) = req {
            args.push(r);
        }
        run(&args, stdin)
    };
    // Ping-pong (an inherited method included), over two framings.
    assert_eq!(
        ok(c(&[], "Sink.Get", Some("7"), "")),
        "{\"color\":\"GREEN\",\"id\":0}\n"
    );
    assert_eq!(
        ok(c(
            &["--transport", "framed"],
            "Sink.Add",
            Some("{\"a\":1,\"b\":2}"),
            ""
        )),
        "0\n"
    );
    assert_eq!(ok(c(&[], "Sink.Ping", None, "")), "\"\"\n");
    assert_eq!(ok(c(&[], "Sink.Nothing", None, "")), "null\n");
    // Unary over gRPC, bidi over both stream transports, server streaming.
    let unary = ok(c(&[], "Sink.Unary", Some("{}"), ""));
    assert!(unary.starts_with("{\"all\":[]"), "{unary}");
    for st in ["grpc", "ttstream"] {
        let out = ok(c(
            &["--stream-transport", st],
            "Sink.Stream",
            None,
            "{\"b\":true}\n{\"b\":false}\n",
        ));
        assert_eq!(out.lines().count(), 1, "{st}: {out}");
        assert!(
            out.contains("\"int32\":42") && out.contains("\"str\":\"default\""),
            "{st}: {out}"
        );
    }
    assert_eq!(
        ok(c(&[], "Second.Pick", Some("{\"number\":1}"), "")),
        "{\"number\":0}\n"
    );
    // The mock checks requests against the IDL too.
    let (code, _, err) = c(&[], "Sink.Stream", None, "{\"b\":\"yes\"}\n");
    assert_eq!(code, 1, "{err}");
}
