// grpc's interop test service (src/proto/grpc/testing/test.proto and
// messages.proto) restated in Thrift, for the standard gRPC interop cases
// (doc/interop-test-descriptions.md) run over Thrift payloads:
// examples/interop_server.rs, examples/interop_client.rs and
// tests/python/grpc_interop_client.py.
//
// The gRPC paths are `/testing.TestService/UnaryCall` (grpc's are
// `/grpc.testing.TestService/...`): as in Kitex, the package in a path is
// the last segment of `namespace go`. The Rust module is `interop`.
//
// What changed from the protobuf: `unary` methods carry Kitex's Args/Result
// structs (`{1: request}` in, `{0: response}` out) and streaming methods the
// bare structs, as every tonic-thrift method does; protobuf's wrapper
// `BoolValue` fields are `optional bool`; the `PayloadType` enum (which has
// one value) and the fields for authentication cases (`fill_username`,
// `fill_oauth_scope`, ...) are left out. Field ids follow the protobuf's
// where the field exists in both; every field is documented with who reads it.
namespace go testing

/// An empty message (protobuf's grpc.testing.Empty): encodes as the single
/// stop byte 0x00.
struct Empty {}

/// A payload (the protobuf's `type` field is dropped: its only value is
/// COMPRESSABLE).
struct Payload {
    /// The bytes; the cases send and expect zeros.
    2: binary body,
}

/// The status a server must end the call with (Echo Status).
struct EchoStatus {
    /// A gRPC status code (2 is UNKNOWN).
    1: i32 code,
    /// The status message, sent back byte for byte.
    2: string message,
}

/// The request of UnaryCall.
struct SimpleRequest {
    /// How many bytes the response payload's body has (zeros).
    2: i32 response_size,
    /// Sent to the server, which ignores it (it tests sending large messages).
    3: optional Payload payload,
    /// CompressedResponse: compress the response (true) or not (false).
    6: optional bool response_compressed,
    /// Echo Status: end the call with this status instead of answering.
    7: optional EchoStatus response_status,
    /// CompressedRequest: the request must (true) or need not (false) have
    /// come compressed; one that should have and did not is INVALID_ARGUMENT.
    8: optional bool expect_compressed,
}

/// The response of UnaryCall.
struct SimpleResponse {
    /// `response_size` bytes of zeros.
    1: optional Payload payload,
}

/// One message of StreamingInputCall.
struct StreamingInputCallRequest {
    /// Counted into the response's `aggregated_payload_size`.
    1: optional Payload payload,
    /// CompressedRequest, as in SimpleRequest.
    2: optional bool expect_compressed,
}

/// The response of StreamingInputCall.
struct StreamingInputCallResponse {
    /// The sum of the sizes of all request payload bodies received.
    1: i32 aggregated_payload_size,
}

/// What one response of StreamingOutputCall or FullDuplexCall looks like.
struct ResponseParameters {
    /// How many bytes its payload body has (zeros).
    1: i32 size,
    /// How long the server waits before sending it, in microseconds,
    /// counted from the previous response.
    2: i32 interval_us,
    /// CompressedResponse for this one message.
    3: optional bool compressed,
}

/// The request of StreamingOutputCall, and each message of FullDuplexCall
/// and HalfDuplexCall.
struct StreamingOutputCallRequest {
    /// One response per entry, in order.
    2: list<ResponseParameters> response_parameters,
    /// Sent to the server, which ignores it.
    3: optional Payload payload,
    /// Echo Status: end the call with this status (after the responses of
    /// this message).
    7: optional EchoStatus response_status,
}

/// One response of StreamingOutputCall, FullDuplexCall or HalfDuplexCall.
struct StreamingOutputCallResponse {
    /// The payload the matching ResponseParameters asked for.
    1: optional Payload payload,
}

/// grpc's TestService: every interop case calls one of these.
service TestService {
    /// Answers an Empty with an Empty at once.
    Empty EmptyCall (1: Empty request) (streaming.mode="unary"),
    /// Answers with a payload of `response_size` bytes, or ends with `response_status`.
    SimpleResponse UnaryCall (1: SimpleRequest request) (streaming.mode="unary"),
    /// One response per `response_parameters` entry, in order.
    StreamingOutputCallResponse StreamingOutputCall (1: StreamingOutputCallRequest request) (streaming.mode="server"),
    /// Answers, once the client half-closes, with the sum of the payload sizes.
    StreamingInputCallResponse StreamingInputCall (1: StreamingInputCallRequest request) (streaming.mode="client"),
    /// Answers each message as it arrives, one response per entry.
    StreamingOutputCallResponse FullDuplexCall (1: StreamingOutputCallRequest request) (streaming.mode="bidirectional"),
    /// Reads every message until the client half-closes, then answers them all.
    StreamingOutputCallResponse HalfDuplexCall (1: StreamingOutputCallRequest request) (streaming.mode="bidirectional"),
    /// Always UNIMPLEMENTED: the server declares it and does not implement it.
    Empty UnimplementedCall (1: Empty request) (streaming.mode="unary"),
}

/// A service no interop server serves: every call is UNIMPLEMENTED.
service UnimplementedService {
    /// Never reached.
    Empty UnimplementedCall (1: Empty request) (streaming.mode="unary"),
}
