//! Our client against Apache's Python server.

use tonic_thrift::codec::Protocol;
use tonic_thrift::pingpong::PingPongOptions;
use tonic_thrift::transport::Framing;

use crate::cases::run_all;
use std::path::Path;

use crate::peer::{generated, PyServer, COMBINATIONS};
use crate::thrift_test::second_service_client::SecondServicePingPongClient;
use crate::thrift_test::thrift_test_client::ThriftTestPingPongClient;

/// Client options for a protocol × transport of [`COMBINATIONS`].
pub(crate) fn options(protocol: &str, transport: &str) -> PingPongOptions {
    let framing = if transport.ends_with("framed") {
        Framing::Framed
    } else if transport.ends_with("header") {
        Framing::THeader
    } else {
        Framing::Buffered
    };
    let protocol = match protocol {
        "compact" => Protocol::Compact,
        _ => Protocol::Binary,
    };
    PingPongOptions::default()
        .framing(framing)
        .protocol(protocol)
        .multiplexed(transport.starts_with("mux-"))
        .max_connections(1)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_client_calls_apache_server() {
    let Some(gen) = generated() else { return };
    for (protocol, transport) in COMBINATIONS {
        let server = PyServer::start(gen, protocol, transport);
        let addr = format!("127.0.0.1:{}", server.port);
        let opts = options(protocol, transport);
        let client = ThriftTestPingPongClient::with_options(addr.clone(), opts.clone());
        let second = transport
            .starts_with("mux-")
            .then(|| SecondServicePingPongClient::with_options(addr, opts));
        println!("{protocol}/{transport}");
        run_all(&client, second.as_ref()).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_client_calls_thriftpy2_server() {
    if !crate::python_env::has("thriftpy2", "thriftpy2") {
        return;
    }
    for (protocol, transport) in [
        ("binary", "framed"),
        ("binary", "buffered"),
        ("compact", "framed"),
        ("compact", "buffered"),
    ] {
        let server = PyServer::start(Path::new("thriftpy2"), protocol, transport);
        let client = ThriftTestPingPongClient::with_options(
            format!("127.0.0.1:{}", server.port),
            options(protocol, transport),
        );
        println!("thriftpy2 {protocol}/{transport}");
        run_all(&client, None).await;
    }
}
