// A copy of ../../../idl/echo.thrift for volo-build, WITHOUT the streaming
// methods (Echo, EchoClient, EchoServer, EchoUnary).
//
// Why it differs: volo-thrift 0.12 / volo-build 0.12 (pilota-build 0.13)
// have no notion of `streaming.mode`: the annotation is parsed and ignored,
// so those methods would be generated as ordinary ping-pong methods, i.e. a
// volo server would claim to serve `Echo` etc. over TTHeader/Framed, which is
// not what the IDL means (they are gRPC-only). The ping-pong method, the
// types, the namespace and the service name are identical, so the wire
// format of `TestService.EchoPingPong` is the same on both sides.
namespace go echo

struct Request { 1: required string message }
struct Response { 1: required string message }

service TestService {
    Response EchoPingPong (1: Request req),
}
