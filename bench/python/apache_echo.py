"""Apache Thrift's Python library serving `TestService.EchoPingPong` of
bench/idl/echo.thrift, for the bench's reference rows only.

Usage: apache_echo.py GEN_DIR binary|compact

GEN_DIR holds the code `thrift --gen py` made of that IDL (the bench runs
the compiler into a temporary directory). The server listens on 127.0.0.1
at a free port, prints "LISTENING 127.0.0.1:N" and serves Framed
transport with the given protocol until stdin closes.
"""

import sys
import threading

GEN_DIR, PROTOCOL = sys.argv[1], sys.argv[2]
sys.path.insert(0, GEN_DIR)

from thrift.protocol import TBinaryProtocol, TCompactProtocol  # noqa: E402
from thrift.server import TServer  # noqa: E402
from thrift.transport import TSocket, TTransport  # noqa: E402

from echo import TestService  # noqa: E402
from echo.ttypes import Response  # noqa: E402


class Handler:
    def EchoPingPong(self, req):
        return Response(message=req.message)


def main():
    if PROTOCOL == "compact":
        protocol = TCompactProtocol.TCompactProtocolAcceleratedFactory()
    elif PROTOCOL == "binary":
        protocol = TBinaryProtocol.TBinaryProtocolAcceleratedFactory()
    else:
        sys.exit("protocol must be binary or compact, not %r" % PROTOCOL)
    socket = TSocket.TServerSocket(host="127.0.0.1", port=0)
    socket.listen()
    port = socket.handle.getsockname()[1]
    # TServer.serve() listens again: keep the socket bound above.
    socket.listen = lambda: None
    server = TServer.TThreadedServer(
        TestService.Processor(Handler()), socket,
        TTransport.TFramedTransportFactory(), protocol, daemon=True)
    threading.Thread(target=server.serve, daemon=True).start()
    print("LISTENING 127.0.0.1:%d" % port, flush=True)
    sys.stdin.read()


main()
