// A copy of ../shared/kitex-peer/missing.thrift: the same package and service
// name as echo.thrift (`namespace go echo`, so the gRPC path is
// `/echo.TestService/Missing`), but with methods the echo servers do not
// implement. examples/echo_client.rs uses it for the unimplemented_method
// cases. The Rust module is `missing` (the file stem), next to `echo`.
namespace go echo

struct Request {
    1: required string message
}

struct Response {
    1: required string message
}

service TestService {
    Response Missing (1: Request req) (streaming.mode="bidirectional"),
    Response MissingPingPong (1: Request req),
}
