//! Apache's Python client against our server.

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apache_client_calls_our_server() {
    let Some(gen) = generated() else { return };
    let handler = Handler::default();
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
    let mut failures = Vec::new();
    for (protocol, transport) in COMBINATIONS {
        let gen = gen.to_path_buf();
        let run = tokio::task::spawn_blocking(move || run_client(&gen, protocol, transport, port));
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
    let _ = stop.send(());
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    // Every combination's testOneway(1) reached the handler, and no reply
    // went back for it (the next call on the connection got its own).
    let oneway = handler.oneway.lock().unwrap().clone();
    assert_eq!(oneway, vec![1; COMBINATIONS.len()]);
}
