// The ping-pong part of ../../idl/echo.thrift, for volo-build (the volo-thrift
// side of the ping-pong benchmarks). volo-build 0.12 ignores `streaming.mode`
// and would generate the streaming methods as ping-pong ones, so they are left
// out; the types, namespace, service and `EchoPingPong` are identical, so both
// sides put the same bytes on the wire.
namespace go echo

struct Request { 1: required string message }
struct Response { 1: required string message }

service TestService {
    Response EchoPingPong (1: Request req),
}
