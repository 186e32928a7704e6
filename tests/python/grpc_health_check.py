#!/usr/bin/env python3
"""grpcio-health-checking (the grpc.health.v1 client from PyPI) against a
tonic-thrift server: checks the server (""), the Thrift service
`echo.TestService`, and an unknown service.

Usage: grpc_health_check.py HOST:PORT

Prints one `NAME STATUS` line per check.
"""

import sys

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

TIMEOUT = 30.0


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    with grpc.insecure_channel(sys.argv[1]) as channel:
        grpc.channel_ready_future(channel).result(timeout=TIMEOUT)
        stub = health_pb2_grpc.HealthStub(channel)
        for name in ("", "echo.TestService"):
            reply = stub.Check(health_pb2.HealthCheckRequest(service=name), timeout=TIMEOUT)
            status = health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)
            print(f"{name or '<server>'} {status}")
        try:
            stub.Check(health_pb2.HealthCheckRequest(service="nope.Nope"), timeout=TIMEOUT)
            print("nope.Nope FOUND")
        except grpc.RpcError as e:
            print(f"nope.Nope {e.code().name}")


if __name__ == "__main__":
    main()
