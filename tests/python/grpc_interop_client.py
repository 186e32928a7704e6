#!/usr/bin/env python3
"""The gRPC interop cases (grpc's doc/interop-test-descriptions.md) from an
independent client: Python grpcio with identity serializers, sending and
reading Thrift Binary bytes encoded here by hand, against a server of
idl/interop.thrift (grpc's TestService restated in Thrift), such as
examples/interop_server.rs.

Usage: grpc_interop_client.py --addr HOST:PORT [--case all|NAME]

Prints `PASS <case>` or `FAIL <case>: <why>` per case; exits 0 only if every
case run passed, 2 on bad arguments (an unknown case).

Wire shapes (tonic-thrift's, Kitex's): `unary` methods carry the Args struct
`{1: request}` and the Result struct `{0: response}`; streaming methods
carry the bare structs. grpcio sends `content-type: application/grpc`,
which the server accepts for Thrift methods.

Restated for grpcio: server_compressed_unary checks the payloads only
(grpcio does not show a message's compressed flag, which the spec allows);
the streaming compression cases are not run.
"""

import queue
import struct
import sys
import threading

import grpc

# The package is the last segment of `namespace go testing`, as in Kitex.
SERVICE = "/testing.TestService/"
TIMEOUT = 10.0

LARGE_REQUEST = 271828
LARGE_RESPONSE = 314159
INPUT_SIZES = [27182, 8, 1828, 45904]
OUTPUT_SIZES = [31415, 9, 2653, 58979]
ECHO_INITIAL = ("x-grpc-test-echo-initial", "test_initial_metadata_value")
ECHO_TRAILING = ("x-grpc-test-echo-trailing-bin", b"\xab\xab\xab")
STATUS_MESSAGE = "test status message"
SPECIAL_STATUS_MESSAGE = (
    "\t\ntest with whitespace\r\nand Unicode BMP \u263a and non-BMP \U0001f608\t\n"
)

# ------------------------------------------------------------ Thrift Binary

T_STOP, T_BOOL, T_BYTE, T_DOUBLE, T_I16, T_I32, T_I64 = 0, 2, 3, 4, 6, 8, 10
T_STRING, T_STRUCT, T_MAP, T_SET, T_LIST = 11, 12, 13, 14, 15


def field(ftype, fid, body):
    return struct.pack(">bh", ftype, fid) + body


def i32(fid, v):
    return field(T_I32, fid, struct.pack(">i", v))


def boolean(fid, v):
    return field(T_BOOL, fid, b"\x01" if v else b"\x00")


def binary(fid, data):
    return field(T_STRING, fid, struct.pack(">i", len(data)) + data)


def sub(fid, encoded):
    return field(T_STRUCT, fid, encoded)


def end(*fields):
    """A struct: its fields, then the stop byte."""
    return b"".join(fields) + b"\x00"


EMPTY = end()


def payload(size):
    """Payload {2: binary body} of `size` zeros."""
    return end(binary(2, b"\x00" * size))


def echo_status(code, message):
    """EchoStatus {1: i32 code, 2: string message}."""
    return end(i32(1, code), binary(2, message.encode("utf-8")))


def simple_request(response_size=0, payload_size=None, response_compressed=None,
                   status=None, expect_compressed=None):
    """SimpleRequest {2: response_size, 3: payload, 6: response_compressed,
    7: response_status, 8: expect_compressed}."""
    fields = [i32(2, response_size)]
    if payload_size is not None:
        fields.append(sub(3, payload(payload_size)))
    if response_compressed is not None:
        fields.append(boolean(6, response_compressed))
    if status is not None:
        fields.append(sub(7, echo_status(*status)))
    if expect_compressed is not None:
        fields.append(boolean(8, expect_compressed))
    return end(*fields)


def input_request(payload_size):
    """StreamingInputCallRequest {1: payload}."""
    return end(sub(1, payload(payload_size)))


def output_request(sizes=(), payload_size=None, status=None):
    """StreamingOutputCallRequest {2: list<ResponseParameters{1: size,
    2: interval_us}>, 3: payload, 7: response_status}."""
    params = b"".join(end(i32(1, s), i32(2, 0)) for s in sizes)
    fields = [field(T_LIST, 2, struct.pack(">bi", T_STRUCT, len(sizes)) + params)]
    if payload_size is not None:
        fields.append(sub(3, payload(payload_size)))
    if status is not None:
        fields.append(sub(7, echo_status(*status)))
    return end(*fields)


def args(request):
    """The Args struct of a unary method: {1: request}."""
    return end(sub(1, request))


class Reader:
    """Decodes Thrift Binary into {field id: value}; raises ValueError on
    bytes that are not a whole, valid struct."""

    FIXED = {T_BOOL: ">b", T_BYTE: ">b", T_DOUBLE: ">d", T_I16: ">h", T_I32: ">i", T_I64: ">q"}

    def __init__(self, data):
        self.data = data
        self.pos = 0

    def take(self, n):
        if n < 0 or self.pos + n > len(self.data):
            raise ValueError(f"truncated Thrift: need {n} bytes at offset {self.pos} of {len(self.data)}")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def unpack(self, fmt):
        return struct.unpack(fmt, self.take(struct.calcsize(fmt)))[0]

    def value(self, ftype):
        if ftype in self.FIXED:
            return self.unpack(self.FIXED[ftype])
        if ftype == T_STRING:
            return self.take(self.unpack(">i"))
        if ftype == T_STRUCT:
            return self.struct()
        if ftype in (T_LIST, T_SET):
            etype, n = self.unpack(">b"), self.unpack(">i")
            return [self.value(etype) for _ in range(max(n, 0))]
        if ftype == T_MAP:
            ktype, vtype, n = self.unpack(">b"), self.unpack(">b"), self.unpack(">i")
            return {self.value(ktype): self.value(vtype) for _ in range(max(n, 0))}
        raise ValueError(f"unknown Thrift type {ftype} at offset {self.pos}")

    def struct(self):
        fields = {}
        while True:
            ftype = self.unpack(">b")
            if ftype == T_STOP:
                return fields
            fid = self.unpack(">h")
            fields[fid] = self.value(ftype)


def decode(data):
    r = Reader(data)
    out = r.struct()
    if r.pos != len(data):
        raise ValueError(f"{len(data) - r.pos} bytes after the struct")
    return out


def result(data):
    """The success value (field 0) of a unary Result struct."""
    fields = decode(data)
    if 0 not in fields:
        raise ValueError(f"the Result struct has no success field: fields {sorted(fields)}")
    return fields[0]


class CaseFailed(Exception):
    pass


def check(cond, why):
    if not cond:
        raise CaseFailed(why)


def check_payload(what, message, size):
    """`message` (decoded) has payload field 1 whose body (field 2) is
    `size` zeros."""
    body = message.get(1, {}).get(2)
    check(body is not None, f"{what}: no payload body in {sorted(message)}")
    check(len(body) == size, f"{what}: payload body is {len(body)} bytes, want {size}")
    check(body.count(0) == size, f"{what}: payload body is not all zeros")


def expect_code(what, fn, code, details=None):
    try:
        fn()
    except grpc.RpcError as e:
        check(e.code() == code, f"{what}: got {e.code()} {e.details()!r}, want {code}")
        if details is not None:
            check(e.details() == details, f"{what}: details {e.details()!r}, want {details!r}")
        return
    raise CaseFailed(f"{what} succeeded; want {code}")


# ------------------------------------------------------------ cases


class Cases:
    def __init__(self, channel):
        self.channel = channel

    def unary(self, method):
        return self.channel.unary_unary(SERVICE + method, request_serializer=None,
                                        response_deserializer=None)

    def stream_unary(self, method):
        return self.channel.stream_unary(SERVICE + method, request_serializer=None,
                                         response_deserializer=None)

    def unary_stream(self, method):
        return self.channel.unary_stream(SERVICE + method, request_serializer=None,
                                         response_deserializer=None)

    def duplex(self):
        return self.channel.stream_stream(SERVICE + "FullDuplexCall", request_serializer=None,
                                          response_deserializer=None)

    def still_serves(self):
        self.unary("EmptyCall")(args(EMPTY), timeout=TIMEOUT)

    def empty_unary(self):
        reply = self.unary("EmptyCall")(args(EMPTY), timeout=TIMEOUT)
        # Result {0: Empty {}}: the Empty struct is the stop byte alone.
        check(reply == b"\x0c\x00\x00\x00\x00", f"EmptyCall answered {reply!r}")

    def large_unary(self):
        reply = self.unary("UnaryCall")(
            args(simple_request(LARGE_RESPONSE, LARGE_REQUEST)), timeout=TIMEOUT)
        check_payload("UnaryCall", result(reply), LARGE_RESPONSE)

    def client_compressed_unary(self):
        call = self.unary("UnaryCall")
        expect_code("the uncompressed probe with expect_compressed",
                    lambda: call(args(simple_request(LARGE_RESPONSE, LARGE_REQUEST,
                                                     expect_compressed=True)), timeout=TIMEOUT),
                    grpc.StatusCode.INVALID_ARGUMENT)
        reply = call(args(simple_request(LARGE_RESPONSE, LARGE_REQUEST, expect_compressed=True)),
                     timeout=TIMEOUT, compression=grpc.Compression.Gzip)
        check_payload("the compressed UnaryCall", result(reply), LARGE_RESPONSE)
        reply = call(args(simple_request(LARGE_RESPONSE, LARGE_REQUEST, expect_compressed=False)),
                     timeout=TIMEOUT)
        check_payload("the uncompressed UnaryCall", result(reply), LARGE_RESPONSE)

    def server_compressed_unary(self):
        for compressed in (True, False):
            reply = self.unary("UnaryCall")(
                args(simple_request(LARGE_RESPONSE, LARGE_REQUEST, response_compressed=compressed)),
                timeout=TIMEOUT)
            check_payload(f"UnaryCall with response_compressed={compressed}", result(reply),
                          LARGE_RESPONSE)

    def client_streaming(self):
        reply = self.stream_unary("StreamingInputCall")(
            iter([input_request(n) for n in INPUT_SIZES]), timeout=TIMEOUT)
        total = decode(reply).get(1)
        check(total == sum(INPUT_SIZES), f"aggregated_payload_size is {total}, want {sum(INPUT_SIZES)}")

    def server_streaming(self):
        replies = list(self.unary_stream("StreamingOutputCall")(
            output_request(OUTPUT_SIZES), timeout=TIMEOUT))
        check(len(replies) == len(OUTPUT_SIZES), f"{len(replies)} responses, want {len(OUTPUT_SIZES)}")
        for i, (reply, size) in enumerate(zip(replies, OUTPUT_SIZES)):
            check_payload(f"response {i}", decode(reply), size)

    def ping_pong(self):
        requests = queue.Queue()

        def outbound():
            while True:
                m = requests.get()
                if m is None:
                    return
                yield m

        call = self.duplex()(outbound(), timeout=TIMEOUT)
        try:
            for i, (size, sent) in enumerate(zip(OUTPUT_SIZES, INPUT_SIZES)):
                requests.put(output_request([size], sent))
                reply = next(call, None)
                check(reply is not None, f"the call ended after {i} responses, want 4")
                check_payload(f"response {i}", decode(reply), size)
            requests.put(None)
            rest = list(call)
            check(not rest, f"{len(rest)} more responses after half-close")
        finally:
            requests.put(None)

    def empty_stream(self):
        replies = list(self.duplex()(iter([]), timeout=TIMEOUT))
        check(not replies, f"{len(replies)} responses, want 0")

    def timeout_on_sleeping_server(self):
        done = threading.Event()

        def outbound():
            yield output_request(payload_size=27182)
            done.wait(TIMEOUT)  # the request stream stays open

        try:
            expect_code("FullDuplexCall with a 1 ms deadline",
                        lambda: list(self.duplex()(outbound(), timeout=0.001)),
                        grpc.StatusCode.DEADLINE_EXCEEDED)
        finally:
            done.set()

    def cancel_after_begin(self):
        done = threading.Event()

        def outbound():
            done.wait(TIMEOUT)  # sends nothing
            return
            yield

        future = self.stream_unary("StreamingInputCall").future(outbound(), timeout=TIMEOUT)
        try:
            check(future.cancel(), "the call could not be cancelled (it had ended)")
            check(future.code() == grpc.StatusCode.CANCELLED,
                  f"the cancelled call ended with {future.code()}")
        finally:
            done.set()
        self.still_serves()

    def cancel_after_first_response(self):
        done = threading.Event()

        def outbound():
            yield output_request([31415], 27182)
            done.wait(TIMEOUT)

        call = self.duplex()(outbound(), timeout=TIMEOUT)
        try:
            reply = next(call, None)
            check(reply is not None, "the call ended without a response")
            check_payload("the first response", decode(reply), 31415)
            check(call.cancel(), "the call could not be cancelled (it had ended)")
            check(call.code() == grpc.StatusCode.CANCELLED,
                  f"the cancelled call ended with {call.code()}")
        finally:
            done.set()
        self.still_serves()

    def check_echoed(self, what, call):
        initial = dict(call.initial_metadata() or ())
        check(initial.get(ECHO_INITIAL[0]) == ECHO_INITIAL[1],
              f"{what}: initial metadata {ECHO_INITIAL[0]} is {initial.get(ECHO_INITIAL[0])!r}")
        trailing = dict(call.trailing_metadata() or ())
        check(trailing.get(ECHO_TRAILING[0]) == ECHO_TRAILING[1],
              f"{what}: trailing metadata {ECHO_TRAILING[0]} is {trailing.get(ECHO_TRAILING[0])!r}")

    def custom_metadata(self):
        metadata = [ECHO_INITIAL, ECHO_TRAILING]
        reply, call = self.unary("UnaryCall").with_call(
            args(simple_request(LARGE_RESPONSE, LARGE_REQUEST)), metadata=metadata,
            timeout=TIMEOUT)
        check_payload("UnaryCall", result(reply), LARGE_RESPONSE)
        self.check_echoed("UnaryCall", call)
        call = self.duplex()(iter([output_request([LARGE_RESPONSE], LARGE_REQUEST)]),
                             metadata=metadata, timeout=TIMEOUT)
        replies = list(call)
        check(len(replies) == 1, f"FullDuplexCall: {len(replies)} responses, want 1")
        check_payload("FullDuplexCall", decode(replies[0]), LARGE_RESPONSE)
        self.check_echoed("FullDuplexCall", call)

    def echo_status(self, message, duplex):
        status = (2, message)
        expect_code("UnaryCall",
                    lambda: self.unary("UnaryCall")(args(simple_request(status=status)),
                                                    timeout=TIMEOUT),
                    grpc.StatusCode.UNKNOWN, message)
        if duplex:
            expect_code("FullDuplexCall",
                        lambda: list(self.duplex()(iter([output_request(status=status)]),
                                                   timeout=TIMEOUT)),
                        grpc.StatusCode.UNKNOWN, message)

    def status_code_and_message(self):
        self.echo_status(STATUS_MESSAGE, True)

    def special_status_message(self):
        self.echo_status(SPECIAL_STATUS_MESSAGE, False)

    def unimplemented_method(self):
        expect_code("TestService/UnimplementedCall",
                    lambda: self.unary("UnimplementedCall")(args(EMPTY), timeout=TIMEOUT),
                    grpc.StatusCode.UNIMPLEMENTED)

    def unimplemented_service(self):
        call = self.channel.unary_unary("/testing.UnimplementedService/UnimplementedCall",
                                        request_serializer=None, response_deserializer=None)
        expect_code("UnimplementedService/UnimplementedCall",
                    lambda: call(args(EMPTY), timeout=TIMEOUT),
                    grpc.StatusCode.UNIMPLEMENTED)


CASES = [
    "empty_unary",
    "large_unary",
    "client_compressed_unary",
    "server_compressed_unary",
    "client_streaming",
    "server_streaming",
    "ping_pong",
    "empty_stream",
    "timeout_on_sleeping_server",
    "cancel_after_begin",
    "cancel_after_first_response",
    "custom_metadata",
    "status_code_and_message",
    "special_status_message",
    "unimplemented_method",
    "unimplemented_service",
]

USAGE = "usage: grpc_interop_client.py --addr HOST:PORT [--case all|NAME]"


def parse_args(argv):
    addr, case = None, "all"
    it = iter(argv)
    for a in it:
        if a in ("--addr", "--case"):
            v = next(it, None)
            if v is None:
                raise ValueError(f"{a} needs a value\n{USAGE}")
            if a == "--addr":
                addr = v
            else:
                case = v
        else:
            raise ValueError(f"unknown argument `{a}`\n{USAGE}")
    if addr is None:
        raise ValueError(f"--addr is required\n{USAGE}")
    if case != "all" and case not in CASES:
        raise ValueError(f"unknown case `{case}`; the cases are: all, {', '.join(CASES)}")
    return addr, case


def main():
    try:
        addr, case = parse_args(sys.argv[1:])
    except ValueError as e:
        print(f"grpc_interop_client.py: {e}", file=sys.stderr)
        sys.exit(2)
    failures = 0
    with grpc.insecure_channel(addr) as channel:
        try:
            grpc.channel_ready_future(channel).result(timeout=TIMEOUT)
        except grpc.FutureTimeoutError:
            print(f"grpc_interop_client.py: cannot connect to {addr}", file=sys.stderr)
            sys.exit(1)
        cases = Cases(channel)
        for name in CASES if case == "all" else [case]:
            try:
                getattr(cases, name)()
                print(f"PASS {name}", flush=True)
            except CaseFailed as e:
                failures += 1
                print(f"FAIL {name}: {e}", flush=True)
            except grpc.RpcError as e:
                failures += 1
                print(f"FAIL {name}: {e.code()} {e.details()!r}", flush=True)
            except (ValueError, KeyError, AttributeError, TypeError) as e:
                failures += 1
                print(f"FAIL {name}: bad answer: {type(e).__name__}: {e}", flush=True)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
