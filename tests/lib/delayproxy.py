#!/usr/bin/env python3
"""tests/lib/delayproxy.py - a TCP proxy that delays every byte by a fixed time each way, and
counts the round trips and LDAP searches that cross it (python3 stdlib only).

The kernel here has no netem, so a directory "a WAN away" is slapd behind this proxy. Bytes
keep their order and are forwarded DELAY after they arrived, in each direction: a request and
its answer cross it in 2 x DELAY plus the server's time. Used by tests/directory (how many round
trips one verdict costs) and bench/run.py (cold verdict latency against the round trip).

What it counts, over all connections (plain LDAP only: StartTLS or ldaps:// hide the messages,
and then only turns are counted):
  turns        client bursts: bytes from the client that arrive after the proxy delivered
               something from the server on that connection (or the connection's first bytes).
               Requests a client sends together, before any answer reached it, are one turn:
               one round trip.
  searches     LDAP SearchRequests from clients (the BER stream is parsed)
  store_reads  those whose base is --store-dn (case-insensitive)

Command line:
    delayproxy.py HOST:PORT --delay-ms N --port-file FILE [--stats FILE] [--store-dn DN]
        listens on 127.0.0.1 (a free port, written to FILE once it listens) and forwards to
        HOST:PORT. --stats: after every change, FILE holds one line
        "turns=N searches=N store_reads=N" (replaced atomically; written before the bytes
        that changed it are forwarded, so a client that got its answer reads its turn).
        Runs until killed (at most 900 s).
"""

import argparse
import asyncio
import os
import signal
import sys


class Counts:
    def __init__(self, path, store_dn):
        self.path = path
        self.store_dn = store_dn.lower().encode() if store_dn else None
        self.turns = self.searches = self.store_reads = 0

    def write(self):
        if not self.path:
            return
        with open(self.path + ".tmp", "w", encoding="ascii") as f:
            f.write(f"turns={self.turns} searches={self.searches} "
                    f"store_reads={self.store_reads}\n")
        os.replace(self.path + ".tmp", self.path)


def ber_len(b, i):
    """(length, offset of the content) of the BER element whose length octets start at @i, or
    None when @b does not hold them yet."""
    if i >= len(b):
        return None
    first = b[i]
    if first < 0x80:
        return first, i + 1
    n = first & 0x7F
    if n == 0 or n > 4:
        return -1, i
    if i + 1 + n > len(b):
        return None
    return int.from_bytes(b[i + 1:i + 1 + n], "big"), i + 1 + n


class LdapCounter:
    """Counts SearchRequests in a client's stream of LDAPMessages (RFC 4511 4.1.1, 4.5.1)."""

    def __init__(self, counts):
        self.counts = counts
        self.buf = b""
        self.broken = False  # not LDAP as expected (TLS): stop parsing

    def feed(self, data):
        if self.broken:
            return
        self.buf += data
        while len(self.buf) >= 2:
            if self.buf[0] != 0x30:
                self.broken = True
                return
            ln = ber_len(self.buf, 1)
            if ln is None:
                return
            length, start = ln
            if length < 0:
                self.broken = True
                return
            if len(self.buf) < start + length:
                return
            self.message(self.buf[start:start + length])
            self.buf = self.buf[start + length:]

    def message(self, m):
        # messageID INTEGER, then the protocolOp: [APPLICATION 3] SearchRequest
        if len(m) < 3 or m[0] != 0x02:
            return
        op = 2 + m[1]
        if op >= len(m) or m[op] != 0x63:
            return
        self.counts.searches += 1
        ln = ber_len(m, op + 1)
        if ln is None or ln[0] < 0:
            return
        i = ln[1]
        if i < len(m) and m[i] == 0x04:  # baseObject LDAPDN (OCTET STRING)
            bl = ber_len(m, i + 1)
            if bl and bl[0] >= 0:
                base = m[bl[1]:bl[1] + bl[0]].lower()
                if self.counts.store_dn is not None and base == self.counts.store_dn:
                    self.counts.store_reads += 1


async def relay(loop, reader, writer, delay, on_data, on_sent):
    """Forward @reader to @writer, each chunk @delay seconds after it arrived."""
    queue = asyncio.Queue()

    async def send():
        while True:
            due, data = await queue.get()
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            if data is None:
                try:
                    writer.write_eof()
                except (OSError, RuntimeError):
                    pass
                return
            writer.write(data)
            if on_sent:
                on_sent()
            await writer.drain()

    sender = asyncio.ensure_future(send())
    try:
        while True:
            data = await reader.read(65536)
            if data and on_data:
                on_data(data)
            queue.put_nowait((loop.time() + delay, data or None))
            if not data:
                break
        await sender
    except (OSError, asyncio.IncompleteReadError):
        sender.cancel()


async def serve(target, delay, counts, port_file):
    loop = asyncio.get_running_loop()
    host, port = target.rsplit(":", 1)

    async def handle(creader, cwriter):
        try:
            sreader, swriter = await asyncio.open_connection(host, int(port))
        except OSError:
            cwriter.close()
            return
        state = {"answered": True}
        parser = LdapCounter(counts)

        def from_client(data):
            if state["answered"]:
                counts.turns += 1
                state["answered"] = False
            parser.feed(data)
            counts.write()

        def to_client():
            state["answered"] = True

        await asyncio.gather(relay(loop, creader, swriter, delay, from_client, None),
                             relay(loop, sreader, cwriter, delay, None, to_client),
                             return_exceptions=True)
        for w in (cwriter, swriter):
            w.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    counts.write()
    with open(port_file + ".tmp", "w", encoding="ascii") as f:
        f.write(str(server.sockets[0].getsockname()[1]))
    os.replace(port_file + ".tmp", port_file)
    async with server:
        await server.serve_forever()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("target", help="HOST:PORT")
    p.add_argument("--delay-ms", type=float, required=True)
    p.add_argument("--port-file", required=True)
    p.add_argument("--stats")
    p.add_argument("--store-dn")
    a = p.parse_args()
    signal.alarm(900)  # never outlive a lost harness by long
    counts = Counts(a.stats, a.store_dn)
    try:
        asyncio.run(serve(a.target, a.delay_ms / 1000.0, counts, a.port_file))
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
