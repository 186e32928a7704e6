// The IDL the documentation examples of tonic-thrift expand with
// `tonic_thrift::thrift_service!("docs/echo.thrift")`: one method per mode.
// A copy of the repository's idl/echo.thrift, kept inside the crate so that
// the examples build from the published package too.
namespace go echo

struct Request { 1: required string message }
struct Response { 1: required string message }

service TestService {
    Response Echo (1: Request req) (streaming.mode="bidirectional"),
    Response EchoClient (1: Request req) (streaming.mode="client"),
    Response EchoServer (1: Request req) (streaming.mode="server"),
    Response EchoUnary (1: Request req) (streaming.mode="unary"),
    Response EchoPingPong (1: Request req),
}
