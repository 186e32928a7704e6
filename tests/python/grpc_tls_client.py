#!/usr/bin/env python3
"""Python grpcio over TLS (and mTLS) with gzip against a tonic-thrift echo
server (idl/echo.thrift): calls EchoUnary with a hand-encoded Thrift Args
struct, compressed with gzip, and prints the reply's text.

Usage: grpc_tls_client.py HOST:PORT CA_PEM [CLIENT_CERT_PEM CLIENT_KEY_PEM]

The server's certificate must name `localhost`. Prints `reply: <text>`.
"""

import struct
import sys

import grpc

TIMEOUT = 30.0


def message_struct(text):
    data = text.encode("utf-8")
    return b"\x0b\x00\x01" + struct.pack(">i", len(data)) + data + b"\x00"


def args(text):
    return b"\x0c\x00\x01" + message_struct(text) + b"\x00"


def result_text(data):
    # Result{0: Response{1: text}}: 0c 0000 0b 0001 <len> <text> 00 00
    if data[:6] != b"\x0c\x00\x00\x0b\x00\x01":
        raise AssertionError(f"not a Result{{0: Response}}: {data[:16]!r}")
    (n,) = struct.unpack(">i", data[6:10])
    return data[10 : 10 + n].decode("utf-8")


def main():
    if len(sys.argv) not in (3, 5):
        sys.exit(__doc__)
    target = sys.argv[1]
    ca = open(sys.argv[2], "rb").read()
    cert = key = None
    if len(sys.argv) == 5:
        cert = open(sys.argv[3], "rb").read()
        key = open(sys.argv[4], "rb").read()
    creds = grpc.ssl_channel_credentials(
        root_certificates=ca, private_key=key, certificate_chain=cert
    )
    options = [("grpc.ssl_target_name_override", "localhost")]
    with grpc.secure_channel(
        target, creds, options=options, compression=grpc.Compression.Gzip
    ) as channel:
        grpc.channel_ready_future(channel).result(timeout=TIMEOUT)
        call = channel.unary_unary(
            "/echo.TestService/EchoUnary",
            request_serializer=None,
            response_deserializer=None,
        )
        text = "z" * 20000
        reply = call(args(text), timeout=TIMEOUT)
        got = result_text(reply)
        if not got.startswith(text + "|"):
            raise AssertionError(f"unexpected reply {got[:64]!r}")
        print("reply:", got[len(text) :])


if __name__ == "__main__":
    main()
