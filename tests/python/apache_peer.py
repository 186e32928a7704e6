#!/usr/bin/env python3
"""An Apache Thrift (PyPI `thrift`) peer for tests/apache/.

Apache Thrift's own Python library, with code that Debian's `thrift-compiler`
generates from idl/thrift_test.thrift at test time (the Rust test runs
`thrift --gen py` into a temporary directory and passes it as GEN_DIR).

  python3 apache_peer.py GEN_DIR server PROTOCOL TRANSPORT
      serves ThriftTest (and, for TRANSPORT=mux-*, SecondService) on
      127.0.0.1 at a free port, prints "port N" and serves until stdin closes.

  python3 apache_peer.py GEN_DIR client PROTOCOL TRANSPORT PORT
      runs every case of the cross-language test client against 127.0.0.1:PORT
      and prints "ok <case>" per case; exits 1 after the first failure, with
      Apache's own error output on stderr.

PROTOCOL: binary | compact.  TRANSPORT: framed | buffered | header, each
also as mux-framed, ... (TMultiplexedProtocol / TMultiplexedProcessor).
"""

import logging
import sys
import threading
import time

GEN_DIR = sys.argv[1]
# GEN_DIR "thriftpy2": the client side with thriftpy2 instead (a second,
# independent Thrift implementation; binary and compact, framed and
# buffered, no multiplexing or THeader).
USE_THRIFTPY2 = GEN_DIR == "thriftpy2"

if USE_THRIFTPY2:
    import os

    import thriftpy2
    from thriftpy2.protocol import TBinaryProtocolFactory, TCompactProtocolFactory
    from thriftpy2.rpc import make_client
    from thriftpy2.server import TThreadedServer
    from thriftpy2.thrift import TProcessor
    from thriftpy2.transport import TServerSocket
    from thriftpy2.thrift import TApplicationException
    from thriftpy2.transport import TBufferedTransportFactory, TFramedTransportFactory

    ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    TT = thriftpy2.load(os.path.join(ROOT, "idl", "thrift_test.thrift"),
                        module_name="thrift_test_thrift")
    Insanity, Numberz, Xception, Xception2, Xtruct, Xtruct2 = (
        TT.Insanity, TT.Numberz, TT.Xception, TT.Xception2, TT.Xtruct, TT.Xtruct2)
else:
    sys.path.insert(0, GEN_DIR)

    from thrift.protocol import TBinaryProtocol, TCompactProtocol, THeaderProtocol
    from thrift.protocol.TMultiplexedProtocol import TMultiplexedProtocol
    from thrift.server import TServer
    from thrift.Thrift import TApplicationException
    from thrift.transport import THeaderTransport, TSocket, TTransport
    from thrift.TMultiplexedProcessor import TMultiplexedProcessor

    from thrift_test import SecondService, ThriftTest
    from thrift_test.ttypes import Insanity, Numberz, Xception, Xception2, Xtruct, Xtruct2


class Handler:
    """The behaviour every ThriftTest server of the cross-test has."""

    def testVoid(self):
        pass

    def testString(self, thing):
        return thing

    def testBool(self, thing):
        return thing

    def testByte(self, thing):
        return thing

    def testI32(self, thing):
        return thing

    def testI64(self, thing):
        return thing

    def testDouble(self, thing):
        return thing

    def testBinary(self, thing):
        return thing

    def testStruct(self, thing):
        return thing

    def testNest(self, thing):
        return thing

    def testMap(self, thing):
        return thing

    def testStringMap(self, thing):
        return thing

    def testSet(self, thing):
        return thing

    def testList(self, thing):
        return thing

    def testEnum(self, thing):
        return thing

    def testTypedef(self, thing):
        return thing

    def testMapMap(self, hello):
        return {-4: {-4: -4, -3: -3, -2: -2, -1: -1},
                4: {4: 4, 3: 3, 2: 2, 1: 1}}

    def testInsanity(self, argument):
        return {1: {Numberz.TWO: argument, Numberz.THREE: argument},
                2: {Numberz.SIX: Insanity()}}

    def testMulti(self, arg0, arg1, arg2, arg3, arg4, arg5):
        return Xtruct(string_thing="Hello2", byte_thing=arg0,
                      i32_thing=arg1, i64_thing=arg2)

    def testException(self, arg):
        if arg == "Xception":
            raise Xception(errorCode=1001, message=arg)
        if arg == "TException":
            raise TApplicationException(type=TApplicationException.INTERNAL_ERROR,
                                        message="TException")

    def testMultiException(self, arg0, arg1):
        if arg0 == "Xception":
            raise Xception(errorCode=1001, message="This is an Xception")
        if arg0 == "Xception2":
            raise Xception2(errorCode=2002,
                            struct_thing=Xtruct(string_thing="This is an Xception2"))
        return Xtruct(string_thing=arg1)

    def testOneway(self, seconds):
        time.sleep(seconds)

    def secondtestString(self, thing):
        return "testString(\"" + thing + "\")"


def protocol_factory(protocol, transport):
    if transport.endswith("header"):
        sub = (THeaderTransport.THeaderSubprotocolID.COMPACT if protocol == "compact"
               else THeaderTransport.THeaderSubprotocolID.BINARY)
        allowed = [THeaderTransport.THeaderClientType.HEADERS]
        return THeaderProtocol.THeaderProtocolFactory(allowed, sub)
    if protocol == "compact":
        return TCompactProtocol.TCompactProtocolFactory()
    return TBinaryProtocol.TBinaryProtocolFactory()


def transport_factory(transport):
    if transport.endswith("framed"):
        return TTransport.TFramedTransportFactory()
    return TTransport.TBufferedTransportFactory()


def thriftpy2_factories(protocol, transport):
    proto = TCompactProtocolFactory() if protocol == "compact" else TBinaryProtocolFactory()
    trans = TFramedTransportFactory() if transport == "framed" else TBufferedTransportFactory()
    return proto, trans


def thriftpy2_serve(protocol, transport):
    logging.disable(logging.ERROR)
    proto, trans = thriftpy2_factories(protocol, transport)
    socket = TServerSocket(host="127.0.0.1", port=0, client_timeout=10000)
    server = TThreadedServer(TProcessor(TT.ThriftTest, Handler()), socket,
                             iprot_factory=proto, itrans_factory=trans)
    server.trans.listen()
    port = server.trans.sock.getsockname()[1]
    # serve() listens again: keep the socket bound above.
    server.trans.listen = lambda: None
    server.daemon = True
    threading.Thread(target=server.serve, daemon=True).start()
    print("port %d" % port, flush=True)
    sys.stdin.read()


def serve(protocol, transport):
    if USE_THRIFTPY2:
        return thriftpy2_serve(protocol, transport)
    # testException("TException") fails on purpose: Apache's processor logs
    # the handler's error before answering INTERNAL_ERROR; keep that quiet.
    logging.disable(logging.ERROR)
    handler = Handler()
    if transport.startswith("mux-"):
        processor = TMultiplexedProcessor()
        processor.registerProcessor("ThriftTest", ThriftTest.Processor(handler))
        processor.registerProcessor("SecondService", SecondService.Processor(handler))
    else:
        processor = ThriftTest.Processor(handler)
    socket = TSocket.TServerSocket(host="127.0.0.1", port=0)
    socket.listen()
    port = socket.handle.getsockname()[1]
    # TServer.serve() listens again: keep the socket bound above.
    socket.listen = lambda: None
    server = TServer.TThreadedServer(
        processor, socket, transport_factory(transport),
        protocol_factory(protocol, transport), daemon=True)
    threading.Thread(target=server.serve, daemon=True).start()
    print("port %d" % port, flush=True)
    # Serve until the test closes stdin (or ends this process).
    sys.stdin.read()


def check(name, got, want):
    if got != want:
        raise AssertionError("%s: got %r, want %r" % (name, got, want))


def thriftpy2_client(protocol, transport, port):
    proto, trans = thriftpy2_factories(protocol, transport)
    client = make_client(TT.ThriftTest, "127.0.0.1", port, proto_factory=proto,
                         trans_factory=trans, timeout=10000)
    return client, None, client


def run_client(protocol, transport, port):
    if USE_THRIFTPY2:
        client, second, trans = thriftpy2_client(protocol, transport, port)
    else:
        client, second, trans = apache_client(protocol, transport, port)
    run_cases(client, second)
    trans.close()


def apache_client(protocol, transport, port):
    sock = TSocket.TSocket("127.0.0.1", port)
    sock.setTimeout(10000)
    if transport.endswith("header"):
        trans = TTransport.TBufferedTransport(sock)
    else:
        trans = transport_factory(transport).getTransport(sock)
    proto = protocol_factory(protocol, transport).getProtocol(trans)
    second = None
    if transport.startswith("mux-"):
        second = SecondService.Client(TMultiplexedProtocol(proto, "SecondService"))
        proto = TMultiplexedProtocol(proto, "ThriftTest")
    client = ThriftTest.Client(proto)
    trans.open()
    return client, second, trans


def run_cases(client, second):
    xtruct = Xtruct(string_thing="Zero", byte_thing=1, i32_thing=-3, i64_thing=-5)
    insanity = Insanity(userMap={Numberz.FIVE: 5, Numberz.EIGHT: 8},
                        xtructs=[Xtruct(string_thing="Goodbye4", byte_thing=4,
                                        i32_thing=4, i64_thing=4)])
    cases = [
        ("testVoid", lambda: check("testVoid", client.testVoid(), None)),
        ("testString", lambda: check("testString", client.testString("Python 🐍 ü"), "Python 🐍 ü")),
        ("testBool", lambda: (check("testBool", client.testBool(True), True),
                              check("testBool", client.testBool(False), False))),
        ("testByte", lambda: check("testByte", client.testByte(-127), -127)),
        ("testI32", lambda: check("testI32", client.testI32(-2147483648), -2147483648)),
        ("testI64", lambda: check("testI64", client.testI64(-34359738368), -34359738368)),
        ("testDouble", lambda: check("testDouble", client.testDouble(-5.2098523), -5.2098523)),
        ("testBinary", lambda: check("testBinary", client.testBinary(bytes(range(256))),
                                     bytes(range(256)))),
        ("testStruct", lambda: check("testStruct", client.testStruct(xtruct), xtruct)),
        ("testNest", lambda: check(
            "testNest",
            client.testNest(Xtruct2(byte_thing=1, struct_thing=xtruct, i32_thing=5)),
            Xtruct2(byte_thing=1, struct_thing=xtruct, i32_thing=5))),
        ("testMap", lambda: check("testMap", client.testMap({0: 10, 1: 11, -2: 8}),
                                  {0: 10, 1: 11, -2: 8})),
        ("testStringMap", lambda: check("testStringMap",
                                        client.testStringMap({"a": "2", "ü": "🐍"}),
                                        {"a": "2", "ü": "🐍"})),
        # thriftpy2 returns sets as lists.
        ("testSet", lambda: check("testSet", set(client.testSet({-2, 0, 1, 99})),
                                  {-2, 0, 1, 99})),
        ("testList", lambda: check("testList", client.testList(list(range(-5, 20))),
                                   list(range(-5, 20)))),
        ("testEnum", lambda: check("testEnum", client.testEnum(Numberz.FIVE), Numberz.FIVE)),
        ("testTypedef", lambda: check("testTypedef", client.testTypedef(309858235082523),
                                      309858235082523)),
        ("testMapMap", lambda: check("testMapMap", client.testMapMap(1),
                                     {-4: {-4: -4, -3: -3, -2: -2, -1: -1},
                                      4: {4: 4, 3: 3, 2: 2, 1: 1}})),
        ("testInsanity", lambda: check(
            "testInsanity", empty_as_none(client.testInsanity(insanity)),
            {1: {Numberz.TWO: insanity, Numberz.THREE: insanity},
             2: {Numberz.SIX: Insanity()}})),
        ("testMulti", lambda: check(
            "testMulti", client.testMulti(1, 2, 3, {1: "one"}, Numberz.TWO, 6),
            Xtruct(string_thing="Hello2", byte_thing=1, i32_thing=2, i64_thing=3))),
        ("testException", lambda: test_exception(client)),
        ("testMultiException", lambda: test_multi_exception(client)),
        ("testOneway", lambda: test_oneway(client)),
    ]
    if second is not None:
        cases.append(("secondtestString", lambda: check(
            "secondtestString", second.secondtestString("foo"), "testString(\"foo\")")))
    for name, run in cases:
        run()
        print("ok %s" % name, flush=True)


def empty_as_none(insane):
    """The empty Insanity of testInsanity's answer comes with empty fields
    from servers that write default-requiredness fields (C++, Java, ours)
    and without them from Python's: both mean the same."""
    for inner in insane.values():
        for value in inner.values():
            if value.userMap == {}:
                value.userMap = None
            if value.xtructs == []:
                value.xtructs = None
    return insane


def test_exception(client):
    try:
        client.testException("Xception")
        raise AssertionError("testException: no Xception")
    except Xception as e:
        check("testException", (e.errorCode, e.message), (1001, "Xception"))
    try:
        client.testException("TException")
        raise AssertionError("testException: no TException")
    except Xception:
        raise
    except TApplicationException:  # as Apache's own servers send
        pass
    check("testException", client.testException("success"), None)


def test_multi_exception(client):
    try:
        client.testMultiException("Xception", "ignored")
        raise AssertionError("testMultiException: no Xception")
    except Xception as e:
        check("testMultiException", (e.errorCode, e.message), (1001, "This is an Xception"))
    try:
        client.testMultiException("Xception2", "ignored")
        raise AssertionError("testMultiException: no Xception2")
    except Xception2 as e:
        check("testMultiException", (e.errorCode, e.struct_thing.string_thing),
              (2002, "This is an Xception2"))
    # Only string_thing is set; servers differ in writing the other fields.
    check("testMultiException", client.testMultiException("other", "Hello").string_thing,
          "Hello")


def test_oneway(client):
    start = time.time()
    client.testOneway(1)
    elapsed = time.time() - start
    if elapsed > 0.5:
        raise AssertionError("testOneway waited %.2f s for a oneway call" % elapsed)
    # The connection is still in step: the next call gets its own reply.
    check("testI32 after testOneway", client.testI32(-1), -1)


def main():
    mode = sys.argv[2]
    if mode == "server":
        serve(sys.argv[3], sys.argv[4])
    elif mode == "client":
        run_client(sys.argv[3], sys.argv[4], int(sys.argv[5]))
    else:
        sys.exit("unknown mode %r" % mode)


if __name__ == "__main__":
    main()
