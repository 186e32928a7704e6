//! Thrift Compact next to Binary, and oneway calls, over every ping-pong
//! framing (Kitex's TTHeader with and without the inner length, Apache's
//! THeader, Framed, Buffered), between our client and our server.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tonic::{Request, Response, Status};
use tonic_thrift::codec::Protocol;
use tonic_thrift::pingpong::PingPongOptions;
use tonic_thrift::transport::Framing;

use crate::echo;
use crate::support::Echo;
use echo::test_service_client::TestServicePingPongClient;
use echo::test_service_server::TestServiceServer;

mod sink {
    tonic_thrift::thrift_service!("idl/kitchen_sink.thrift");
}
use sink::kitchen_sink::sink_client::{AddArgs, NothingArgs, PingArgs, SinkPingPongClient};
use sink::kitchen_sink::sink_server::{GetError, Sink, SinkServer};

const FRAMINGS: [Framing; 5] = [
    Framing::TTHeader {
        inner_framed: false,
    },
    Framing::TTHeader { inner_framed: true },
    Framing::THeader,
    Framing::Framed,
    Framing::Buffered,
];

const PROTOCOLS: [Protocol; 2] = [Protocol::Binary, Protocol::Compact];

async fn serve<S: tonic_thrift::server::ThriftService>(svc: S) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(
        tonic_thrift::Server::builder()
            .add_service(svc)
            .serve_with_listener(listener, std::future::pending()),
    );
    addr
}

#[tokio::test]
async fn compact_and_binary_over_every_framing_on_one_port() {
    let addr = serve(TestServiceServer::new(Echo)).await;
    for framing in FRAMINGS {
        for protocol in PROTOCOLS {
            let client = TestServicePingPongClient::with_options(
                addr.to_string(),
                PingPongOptions::default()
                    .framing(framing)
                    .protocol(protocol),
            );
            let what = format!("{framing:?} {protocol:?}");
            let message = format!("hello {what} ✓");
            let r = client
                .echo_ping_pong(echo::Request {
                    message: message.clone().into(),
                })
                .await
                .unwrap_or_else(|e| panic!("{what}: {e}"));
            assert_eq!(r.into_inner().message, message);
            // The server saw the framing; a handler error comes back as a
            // TApplicationException in the caller's protocol.
            let r = client
                .echo_ping_pong(echo::Request {
                    message: "transport".into(),
                })
                .await
                .unwrap();
            assert_eq!(r.into_inner().message, format!("Some({framing:?})"));
            let e = client
                .echo_ping_pong(echo::Request {
                    message: "fail".into(),
                })
                .await
                .unwrap_err();
            assert!(
                e.message().contains("handler failed on purpose"),
                "{what}: {e}"
            );
        }
    }
}

/// The kitchen sink's `Sink`, recording its `Fire` (oneway) events.
#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Vec<String>>>);

#[tonic::async_trait]
impl Sink for Recorder {
    type StreamStream = futures_util::stream::Empty<Result<sink::kitchen_sink::AllTypes, Status>>;
    async fn ping(&self, _r: Request<PingArgs>) -> Result<Response<tonic_thrift::FastStr>, Status> {
        Ok(Response::new("pong".into()))
    }
    async fn nothing(&self, _r: Request<NothingArgs>) -> Result<Response<()>, Status> {
        Ok(Response::new(()))
    }
    async fn fire(&self, r: Request<tonic_thrift::FastStr>) -> Result<Response<()>, Status> {
        self.0.lock().unwrap().push(r.into_inner().to_string());
        Ok(Response::new(()))
    }
    async fn add(&self, r: Request<AddArgs>) -> Result<Response<i32>, Status> {
        let a = r.into_inner();
        Ok(Response::new(a.a + a.b))
    }
    async fn get(&self, _r: Request<i64>) -> Result<Response<sink::shared::Item>, GetError> {
        Err(Status::not_found("nothing here").into())
    }
    async fn stream(
        &self,
        _r: Request<tonic::Streaming<sink::kitchen_sink::AllTypes>>,
    ) -> Result<Response<Self::StreamStream>, Status> {
        Err(Status::unimplemented("not here"))
    }
    async fn unary(
        &self,
        r: Request<sink::kitchen_sink::Containers>,
    ) -> Result<Response<sink::kitchen_sink::Containers>, Status> {
        Ok(Response::new(r.into_inner()))
    }
}

#[tokio::test]
async fn oneway_calls_get_no_reply_on_any_framing_or_protocol() {
    let recorder = Recorder::default();
    let addr = serve(SinkServer::new(recorder.clone())).await;
    let mut sent = Vec::new();
    for framing in FRAMINGS {
        for protocol in PROTOCOLS {
            // One connection: a reply to the oneway call, if the server
            // sent one, would be read as the reply to the next call and
            // fail it (wrong method and sequence id).
            let client = SinkPingPongClient::with_options(
                addr.to_string(),
                PingPongOptions::default()
                    .framing(framing)
                    .protocol(protocol)
                    .max_connections(1),
            );
            let event = format!("{framing:?} {protocol:?}");
            let start = Instant::now();
            client
                .fire(tonic_thrift::FastStr::from(event.clone()))
                .await
                .unwrap_or_else(|e| panic!("{event}: {e}"));
            assert!(start.elapsed() < Duration::from_secs(1), "{event}");
            let sum = client.add(AddArgs { a: 2, b: 3 }).await.unwrap();
            assert_eq!(sum.into_inner(), 5, "{event}");
            sent.push(event);
        }
    }
    // Every oneway call reached its handler, in order.
    let deadline = Instant::now() + Duration::from_secs(5);
    while recorder.0.lock().unwrap().len() < sent.len() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(*recorder.0.lock().unwrap(), sent);
}
