//! A service written only against tonic-thrift's documented public API, as a
//! new user would write it from the README: no `tonic_thrift::codegen` paths.
//!
//! `idl/public_api.thrift` has a multi-argument ping-pong method, a method
//! that throws, a void method without arguments, and every streaming mode.
//! Each is called through the generated gRPC client (`StoreClient`) and the
//! ping-pong ones also through `StorePingPongClient`, each call with per-call
//! options (`CallOptions::apply`): a deadline that a fast call meets and a
//! slow one misses.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::Duration;

use futures_util::{Stream, StreamExt};
use tonic::{Code, Request, Response, Status, Streaming};
use tonic_thrift::pingpong::PingPongOptions;
use tonic_thrift::CallOptions;
use tonic_thrift::{Bytes, FastStr};

tonic_thrift::thrift_service!("idl/public_api.thrift");

use public_api::store_client::{AddArgs, ClearArgs, GetError, StoreClient, StorePingPongClient};
use public_api::store_server::{Store, StoreServer};
use public_api::{Item, NotFound};

/// How long a "slow" request makes its handler wait: far past the deadline.
const SLOW: Duration = Duration::from_secs(5);
/// The per-call deadline every call in this test carries.
const DEADLINE: Duration = Duration::from_millis(300);

#[derive(Default)]
struct Shop {
    counts: Mutex<HashMap<String, i64>>,
}

/// Waits far past the deadline when the request is named "slow".
async fn maybe_slow(name: &str) {
    if name == "slow" {
        tokio::time::sleep(SLOW).await;
    }
}

fn item(name: &str, count: Option<i64>) -> Item {
    Item {
        name: FastStr::new(name),
        count,
        blob: Bytes::from_static(b"\x00\xff"),
    }
}

type ItemStream = Pin<Box<dyn Stream<Item = Result<Item, Status>> + Send>>;

#[tonic::async_trait]
impl Store for Shop {
    async fn add(&self, request: Request<AddArgs>) -> Result<Response<i64>, Status> {
        let AddArgs { name, count } = request.into_inner();
        maybe_slow(&name).await;
        let mut counts = self.counts.lock().unwrap();
        let total = counts.entry(name.to_string()).or_default();
        *total += count;
        Ok(Response::new(*total))
    }

    async fn get(&self, request: Request<FastStr>) -> Result<Response<Item>, GetError> {
        let name = request.into_inner();
        maybe_slow(&name).await;
        match self.counts.lock().unwrap().get(name.as_str()) {
            Some(n) => Ok(Response::new(item(&name, Some(*n)))),
            None => Err(NotFound { name }.into()),
        }
    }

    async fn clear(&self, _request: Request<ClearArgs>) -> Result<Response<()>, Status> {
        self.counts.lock().unwrap().clear();
        Ok(Response::new(()))
    }

    type WatchStream = ItemStream;

    async fn watch(&self, request: Request<Item>) -> Result<Response<ItemStream>, Status> {
        let filter = request.into_inner();
        maybe_slow(&filter.name).await;
        let items = (1..=3).map(move |i| Ok(item(&filter.name, Some(i))));
        Ok(Response::new(Box::pin(futures_util::stream::iter(items))))
    }

    async fn collect(&self, request: Request<Streaming<Item>>) -> Result<Response<Item>, Status> {
        let mut stream = request.into_inner();
        let (mut names, mut total) = (Vec::new(), 0);
        while let Some(it) = stream.next().await {
            let it = it?;
            maybe_slow(&it.name).await;
            total += it.count.unwrap_or(0);
            names.push(it.name.to_string());
        }
        Ok(Response::new(item(&names.join("+"), Some(total))))
    }

    type ChatStream = ItemStream;

    async fn chat(
        &self,
        request: Request<Streaming<Item>>,
    ) -> Result<Response<ItemStream>, Status> {
        let stream = request.into_inner().then(|it| async move {
            let it = it?;
            maybe_slow(&it.name).await;
            Ok(item(&it.name.to_uppercase(), it.count.map(|n| n * 2)))
        });
        Ok(Response::new(Box::pin(stream)))
    }

    async fn lookup(&self, request: Request<Item>) -> Result<Response<Item>, Status> {
        let it = request.into_inner();
        maybe_slow(&it.name).await;
        Ok(Response::new(item(&it.name, Some(42))))
    }
}

/// `message` as a request that carries the test's per-call deadline.
fn with_deadline<T>(message: T) -> Request<T> {
    let mut request = Request::new(message);
    CallOptions::new().timeout(DEADLINE).apply(&mut request);
    request
}

/// Serves the store on an OS-chosen port and returns its address.
async fn start() -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(
        tonic_thrift::Server::builder()
            .add_service(StoreServer::new(Shop::default()))
            .serve_with_listener(listener, std::future::pending()),
    );
    addr
}

fn assert_deadline<T: std::fmt::Debug>(what: &str, result: Result<T, Status>) {
    match result {
        Err(s) => assert_eq!(s.code(), Code::DeadlineExceeded, "{what}: {s:?}"),
        Ok(v) => panic!("{what}: a slow call met a {DEADLINE:?} deadline: {v:?}"),
    }
}

#[tokio::test]
async fn grpc_client_every_shape_with_call_options() {
    let addr = start().await;
    let mut client = StoreClient::connect(format!("http://{addr}"))
        .await
        .unwrap();

    // Several arguments: the request is the Args struct the handler receives.
    let args = AddArgs {
        name: "apple".into(),
        count: 2,
    };
    let total = client.add(with_deadline(args)).await.unwrap().into_inner();
    assert_eq!(total, 2);
    let slow = AddArgs {
        name: "slow".into(),
        count: 1,
    };
    assert_deadline("add", client.add(with_deadline(slow)).await);

    // A declared exception comes back typed; a value comes back whole.
    let got = client
        .get(with_deadline(FastStr::new("apple")))
        .await
        .unwrap();
    assert_eq!(got.into_inner(), item("apple", Some(2)));
    match client.get(with_deadline(FastStr::new("pear"))).await {
        Err(GetError::NotFound(e)) => assert_eq!(e.name, "pear"),
        other => panic!("expected NotFound, got {other:?}"),
    }
    match client.get(with_deadline(FastStr::new("slow"))).await {
        Err(GetError::Status(s)) => assert_eq!(s.code(), Code::DeadlineExceeded),
        other => panic!("expected a deadline, got {other:?}"),
    }

    // Server streaming.
    let replies: Vec<Item> = client
        .watch(with_deadline(item("w", None)))
        .await
        .unwrap()
        .into_inner()
        .map(|r| r.unwrap())
        .collect()
        .await;
    let counts: Vec<_> = replies.iter().map(|r| r.count).collect();
    assert_eq!(counts, [Some(1), Some(2), Some(3)]);
    assert_deadline(
        "watch",
        client
            .watch(with_deadline(item("slow", None)))
            .await
            .map(|_| ()),
    );

    // Client streaming.
    let sent = futures_util::stream::iter([item("a", Some(1)), item("b", Some(2))]);
    let reply = client
        .collect(with_deadline(sent))
        .await
        .unwrap()
        .into_inner();
    assert_eq!((reply.name.as_str(), reply.count), ("a+b", Some(3)));
    let sent = futures_util::stream::iter([item("slow", Some(1))]);
    assert_deadline("collect", client.collect(with_deadline(sent)).await);

    // Bidirectional streaming.
    let sent = futures_util::stream::iter([item("x", Some(1)), item("y", Some(5))]);
    let replies: Vec<Item> = client
        .chat(with_deadline(sent))
        .await
        .unwrap()
        .into_inner()
        .map(|r| r.unwrap())
        .collect()
        .await;
    assert_eq!(replies, [item("X", Some(2)), item("Y", Some(10))]);
    let sent = futures_util::stream::iter([item("slow", None)]);
    let mut replies = client.chat(with_deadline(sent)).await.unwrap().into_inner();
    assert_deadline("chat", replies.message().await);

    // `unary` over gRPC.
    let reply = client.lookup(with_deadline(item("k", None))).await.unwrap();
    assert_eq!(reply.into_inner().count, Some(42));
    assert_deadline(
        "lookup",
        client.lookup(with_deadline(item("slow", None))).await,
    );

    // No arguments, no value.
    client.clear(with_deadline(ClearArgs {})).await.unwrap();
    assert!(matches!(
        client.get(with_deadline(FastStr::new("apple"))).await,
        Err(GetError::NotFound(_))
    ));
}

#[tokio::test]
async fn pingpong_client_every_method_with_call_options() {
    let addr = start().await;
    let client = StorePingPongClient::with_options(addr.to_string(), PingPongOptions::default());

    let total = client
        .add(with_deadline(AddArgs {
            name: "plum".into(),
            count: 5,
        }))
        .await
        .unwrap();
    assert_eq!(total.into_inner(), 5);
    let slow = AddArgs {
        name: "slow".into(),
        count: 1,
    };
    assert_deadline("add", client.add(with_deadline(slow)).await);

    let got = client
        .get(with_deadline(FastStr::new("plum")))
        .await
        .unwrap();
    assert_eq!(got.into_inner().count, Some(5));
    match client.get(with_deadline(FastStr::new("fig"))).await {
        Err(GetError::NotFound(e)) => assert_eq!(e.name, "fig"),
        other => panic!("expected NotFound, got {other:?}"),
    }
    match client.get(with_deadline(FastStr::new("slow"))).await {
        Err(GetError::Status(s)) => assert_eq!(s.code(), Code::DeadlineExceeded),
        other => panic!("expected a deadline, got {other:?}"),
    }

    client.clear(with_deadline(ClearArgs {})).await.unwrap();
    assert!(matches!(
        client.get(with_deadline(FastStr::new("plum"))).await,
        Err(GetError::NotFound(_))
    ));
}

/// The rule this file demonstrates holds for every test and example: none
/// reaches into the doc-hidden `tonic_thrift::codegen` module.
#[test]
fn no_test_or_example_uses_codegen_paths() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut offenders = Vec::new();
    let mut dirs = vec![root.join("tests"), root.join("examples")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                let needle = ["tonic_thrift", "::codegen::"].concat();
                if text.contains(&needle) {
                    offenders.push(path.display().to_string());
                }
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "these use `tonic_thrift::codegen`: {offenders:?}"
    );
}

/// A client-only expansion (`build_server = false`): the per-method types
/// move to the client module, and the client talks to the full server.
mod client_only {
    tonic_thrift::thrift_service!(
        "idl/public_api.thrift",
        build_server = false,
        build_pingpong_client = false
    );
    pub(crate) use public_api::store_client::{AddArgs, StoreClient};
}

#[tokio::test]
async fn a_client_only_expansion_calls_the_server() {
    let addr = start().await;
    let mut client = client_only::StoreClient::connect(format!("http://{addr}"))
        .await
        .unwrap();
    let args = client_only::AddArgs {
        name: "kiwi".into(),
        count: 7,
    };
    let total = client.add(with_deadline(args)).await.unwrap();
    assert_eq!(total.into_inner(), 7);
}

/// The raw-bytes call path a generic client uses: Args encoded by hand,
/// the Result struct back as bytes, over gRPC and over ping-pong.
#[tokio::test]
async fn raw_struct_calls_without_generated_clients() {
    use tonic_thrift::codec::{BinaryInput, BinaryOutput};
    use tonic_thrift::grpc::GrpcClient;
    use tonic_thrift::pingpong::PingPongClient;
    use tonic_thrift::{Message, OneArg, RawStruct, ValueResult};

    fn encode(value: &impl Message) -> RawStruct {
        let mut buf = bytes::BytesMut::new();
        value.encode(&mut BinaryOutput::new(&mut buf)).unwrap();
        RawStruct(buf.freeze())
    }

    let addr = start().await;
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap();

    // gRPC `unary`: Lookup(1: Item item) -> Item.
    let args = encode(&OneArg::<Item, 1>(item("raw", None)));
    let mut grpc = GrpcClient::new(channel);
    let reply = grpc
        .unary::<RawStruct, RawStruct>(with_deadline(args), "/publicapi.Store/Lookup")
        .await
        .unwrap()
        .into_inner();
    let mut bytes = reply.0;
    let result = ValueResult::<Item>::decode(&mut BinaryInput::new(&mut bytes)).unwrap();
    assert_eq!(result.0, item("raw", Some(42)));

    // Ping-pong: Get(1: string name) throws (1: NotFound); the declared
    // exception stays inside the raw Result struct, in field 1.
    let pingpong = PingPongClient::new(addr.to_string(), "Store", PingPongOptions::default());
    let args = encode(&OneArg::<FastStr, 1>(FastStr::new("nothing")));
    let reply = pingpong
        .call::<RawStruct, RawStruct>("Get", with_deadline(args), false)
        .await
        .unwrap()
        .into_inner();
    let mut bytes = reply.0;
    match public_api::store_server::GetResult::decode(&mut BinaryInput::new(&mut bytes)).unwrap() {
        public_api::store_server::GetResult::NotFound(e) => assert_eq!(e.name, "nothing"),
        other => panic!("expected NotFound inside the raw result, got {other:?}"),
    }

    // An unknown method is still the call's status.
    let args = encode(&OneArg::<FastStr, 1>(FastStr::new("x")));
    let err = pingpong
        .call::<RawStruct, RawStruct>("NoSuchMethod", with_deadline(args), false)
        .await
        .unwrap_err();
    assert!(err.message().contains("NoSuchMethod"), "{err:?}");
}
