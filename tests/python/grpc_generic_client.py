#!/usr/bin/env python3
"""A generic gRPC client (Python grpcio, identity serializers) that speaks
to a tonic-thrift echo server (idl/echo.thrift) with hand-encoded Thrift
Binary bytes, checking every reply byte for byte.

Usage: grpc_generic_client.py HOST:PORT

grpcio sends `content-type: application/grpc`; the server must still decode
Thrift. Streaming modes carry bare structs; `unary` and ping-pong methods
carry the Args struct `{1: Request}` and the Result struct `{0: Response}`.

The server's echo handler (tests/service/common.rs): `Echo` echoes each message,
`EchoClient` joins the messages with " ", `EchoServer` answers `N:text` with
`text0` .. `text{N-1}`, `EchoUnary` and `EchoPingPong` echo.

Exits 0 and prints a summary when every check passed; otherwise raises.
"""

import struct
import sys

import grpc

TIMEOUT = 30.0


def message_struct(text):
    """Request{1: text} / Response{1: text}: 0b 0001 <len:i32> <bytes> 00."""
    data = text.encode("utf-8")
    return b"\x0b\x00\x01" + struct.pack(">i", len(data)) + data + b"\x00"


def wrap(field_id, inner):
    """A struct holding `inner` as struct field `field_id`: 0c <id:i16> <inner> 00."""
    return b"\x0c" + struct.pack(">h", field_id) + inner + b"\x00"


def args(text):
    return wrap(1, message_struct(text))


def result(text):
    return wrap(0, message_struct(text))


def expect_equal(what, got, want):
    if got != want:
        raise AssertionError(f"{what}: got {got!r}, want {want!r}")


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: grpc_generic_client.py HOST:PORT")
    target = sys.argv[1]
    checks = 0
    with grpc.insecure_channel(target) as channel:
        grpc.channel_ready_future(channel).result(timeout=TIMEOUT)

        # Unary and ping-pong: Args in, Result out.
        for method in ("EchoUnary", "EchoPingPong"):
            call = channel.unary_unary(
                f"/echo.TestService/{method}",
                request_serializer=None,
                response_deserializer=None,
            )
            for text in ("hello", "", "h\u00e9llo \u2603"):
                reply = call(args(text), timeout=TIMEOUT)
                expect_equal(f"{method}({text!r})", reply, result(text))
                checks += 1
            # Without the package, as Kitex allows.
            bare = channel.unary_unary(
                f"/TestService/{method}",
                request_serializer=None,
                response_deserializer=None,
            )
            expect_equal(f"/TestService/{method}", bare(args("bare"), timeout=TIMEOUT), result("bare"))
            checks += 1

        # Bidirectional: bare structs both ways.
        echo = channel.stream_stream(
            "/echo.TestService/Echo",
            request_serializer=None,
            response_deserializer=None,
        )
        for texts in ([], ["one"], [f"m{i}" for i in range(1000)]):
            replies = list(echo(iter([message_struct(t) for t in texts]), timeout=TIMEOUT))
            expect_equal(
                f"Echo with {len(texts)} messages",
                replies,
                [message_struct(t) for t in texts],
            )
            checks += 1

        # Client streaming: many bare structs in, one out.
        echo_client = channel.stream_unary(
            "/echo.TestService/EchoClient",
            request_serializer=None,
            response_deserializer=None,
        )
        for texts in ([], ["thrift"], ["thrift", "over", "grpc"]):
            reply = echo_client(iter([message_struct(t) for t in texts]), timeout=TIMEOUT)
            expect_equal(f"EchoClient{texts!r}", reply, message_struct(" ".join(texts)))
            checks += 1

        # Server streaming: one bare struct in, many out.
        echo_server = channel.unary_stream(
            "/echo.TestService/EchoServer",
            request_serializer=None,
            response_deserializer=None,
        )
        for n in (0, 1, 100):
            replies = list(echo_server(message_struct(f"{n}:tick"), timeout=TIMEOUT))
            expect_equal(
                f"EchoServer({n})",
                replies,
                [message_struct(f"tick{i}") for i in range(n)],
            )
            checks += 1

        # An unknown method: UNIMPLEMENTED.
        nope = channel.unary_unary(
            "/echo.TestService/Nope",
            request_serializer=None,
            response_deserializer=None,
        )
        try:
            nope(args("x"), timeout=TIMEOUT)
            raise AssertionError("an unknown method succeeded")
        except grpc.RpcError as e:
            expect_equal("unknown method code", e.code(), grpc.StatusCode.UNIMPLEMENTED)
            if "Nope" not in (e.details() or ""):
                raise AssertionError(f"unknown method details do not name it: {e.details()!r}")
        checks += 1

        # Not Thrift (protobuf bytes): INVALID_ARGUMENT or INTERNAL.
        unary = channel.unary_unary(
            "/echo.TestService/EchoUnary",
            request_serializer=None,
            response_deserializer=None,
        )
        try:
            unary(b"\x0a\x03abc", timeout=TIMEOUT)
            raise AssertionError("a protobuf payload was accepted")
        except grpc.RpcError as e:
            if e.code() not in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.INTERNAL):
                raise AssertionError(f"undecodable payload: unexpected code {e.code()}")
        checks += 1

        # And the server still serves.
        expect_equal("after errors", unary(args("still here"), timeout=TIMEOUT), result("still here"))
        checks += 1

    print(f"grpc generic client: {checks} checks passed")


if __name__ == "__main__":
    main()
