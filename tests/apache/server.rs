//! Apache's Python client against our server.

use std::path::Path;

use crate::handler::Handler;
use crate::peer::{generated, run_client, COMBINATIONS};
use crate::thrift_test::second_service_server::SecondServiceServer;
use crate::thrift_test::thrift_test_server::ThriftTestServer;

/// The cases Apache's client runs, in order, as it reports them.
const CASES: [&str; 22] = [
    "testVoid",
    "testString",
    "testBool",
    "testByte",
    "testI32",
    "testI64",
    "testDouble",
    "testBinary",
    "testStruct",
    "testNest",
    "testMap",
    "testStringMap",
    "testSet",
    "testList",
    "testEnum",
    "testTypedef",
    "testMapMap",
    "testInsanity",
    "testMulti",
    "testException",
    "testMultiException",
    "testOneway",
];

/// Serves ThriftTest and SecondService on a free port of 127.0.0.1.
async fn start(handler: &Handler) -> (u16, tokio::sync::oneshot::Sender<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(
        tonic_thrift::Server::builder()
            .add_service(ThriftTestServer::new(handler.clone()))
            .add_service(SecondServiceServer::new(handler.clone()))
            .serve_with_listener(listener, async {
                let _ = stopped.await;
            }),
    );
    (port, stop)
}

/// Runs the Python client (`lib`: the directory of Apache's generated code,
/// or `thriftpy2`) for each combination against `port`; returns the
/// failures, each with the client's own output.
async fn run_python_clients(
    lib: &Path,
    combinations: &[(&'static str, &'static str)],
    port: u16,
) -> Vec<String> {
    let mut failures = Vec::new();
    for &(protocol, transport) in combinations {
        let lib = lib.to_path_buf();
        let run = tokio::task::spawn_blocking(move || run_client(&lib, protocol, transport, port));
        match run.await.unwrap() {
            Ok(out) => {
                let mut want: Vec<String> = CASES.iter().map(|c| format!("ok {c}")).collect();
                if transport.starts_with("mux-") {
                    want.push("ok secondtestString".into());
                }
                let got: Vec<String> = out.lines().map(str::to_owned).collect();
                if got != want {
                    failures.push(format!("{protocol}/{transport}: ran {got:?}"));
                }
            }
            Err(e) => failures.push(format!("{protocol}/{transport}:\n{e}")),
        }
    }
    failures
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apache_client_calls_our_server() {
    let Some(gen) = generated() else { return };
    let handler = Handler::default();
    let (port, stop) = start(&handler).await;
    let failures = run_python_clients(gen, &COMBINATIONS, port).await;
    let _ = stop.send(());
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    // Every combination's testOneway(1) reached the handler, and no reply
    // went back for it (the next call on the connection got its own).
    let oneway = handler.oneway.lock().unwrap().clone();
    assert_eq!(oneway, vec![1; COMBINATIONS.len()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thriftpy2_client_calls_our_server() {
    if !crate::python_env::has("thriftpy2", "thriftpy2") {
        return;
    }
    let handler = Handler::default();
    let (port, stop) = start(&handler).await;
    let combinations = [
        ("binary", "framed"),
        ("binary", "buffered"),
        ("compact", "framed"),
        ("compact", "buffered"),
    ];
    let failures = run_python_clients(Path::new("thriftpy2"), &combinations, port).await;
    let _ = stop.send(());
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    assert_eq!(*handler.oneway.lock().unwrap(), vec![1; combinations.len()]);
}
