#!/usr/bin/env python3
"""Echo backend for the gateway tests (standard library only; Python 3.8+).

Prints "listening on PORT" once bound to 127.0.0.1. Every response is JSON unless noted:
  /big?n=N         N bytes of a repeating pattern (streamed, content-length set)
  /slow?ms=N       sleeps N ms, then echoes
  /reset           closes the connection without answering
  anything else    echoes: method, path, headers (in order), body length + sha256, and the parsed
                   Secondary-Client-Cert / Secondary-Client-Cert-Chain / Client-Cert fields.

parse_dictionary() is the README's Python parsing example: RFC 8941 §4.2.2 Dictionaries whose
members are Byte Sequences or Inner Lists of Byte Sequences (parameters are skipped).
"""
import base64
import hashlib
import json
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


class SfError(ValueError):
    pass


def _bytes(s, i):
    # RFC 8941 §4.2.7: ":" base64 ":"
    if s[i] != ":":
        raise SfError("expected byte sequence at %d" % i)
    j = s.index(":", i + 1)
    return base64.b64decode(s[i + 1:j], validate=True), j + 1


def _skip_params(s, i):
    while i < len(s) and s[i] == ";":  # parameters: ;key[=value]; only skipped here
        i += 1
        while i < len(s) and s[i] not in ",;) ":
            i += 1
    return i


def parse_dictionary(field):
    """'device=:AAA:, user=:BBB:' -> {'device': b'...', 'user': b'...'}; inner lists -> [bytes]."""
    out, s, i = {}, field.strip(), 0
    while i < len(s):
        j = i
        while j < len(s) and (s[j].islower() or s[j].isdigit() or s[j] in "_-.*"):
            j += 1
        key = s[i:j]
        if not key or not (key[0].islower() or key[0] == "*"):
            raise SfError("bad key at %d" % i)
        if j >= len(s) or s[j] != "=":
            raise SfError("only byte sequences and inner lists here")
        i = j + 1
        if s[i] == "(":
            items, i = [], i + 1
            while True:
                while s[i] == " ":
                    i += 1
                if s[i] == ")":
                    i += 1
                    break
                b, i = _bytes(s, i)
                items.append(b)
                i = _skip_params(s, i)
            out[key] = items
        else:
            out[key], i = _bytes(s, i)
        i = _skip_params(s, i)
        while i < len(s) and s[i] in " \t":
            i += 1
        if i < len(s):
            if s[i] != ",":
                raise SfError("expected ',' at %d" % i)
            i += 1
            while i < len(s) and s[i] in " \t":
                i += 1
            if i >= len(s):
                raise SfError("trailing comma")
    return out


def b64(b):
    return base64.b64encode(b).decode()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def read_body(self):
        h = hashlib.sha256()
        n = 0
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                left = size
                while left:
                    c = self.rfile.read(min(left, 65536))
                    if not c:
                        raise ConnectionError("short chunk")
                    h.update(c)
                    n += len(c)
                    left -= len(c)
                self.rfile.readline()
        else:
            left = int(self.headers.get("Content-Length") or 0)
            while left:
                c = self.rfile.read(min(left, 65536))
                if not c:
                    raise ConnectionError("short body")
                h.update(c)
                n += len(c)
                left -= len(c)
        return n, h.hexdigest()

    def handle_any(self):
        url = urlsplit(self.path)
        q = parse_qs(url.query)
        if url.path == "/reset":
            self.close_connection = True
            self.connection.shutdown(2)
            return
        n, digest = self.read_body()
        if url.path == "/big":
            total = int(q.get("n", ["0"])[0])
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(total))
            self.end_headers()
            chunk = bytes(range(256)) * 256
            left = total
            while left:
                part = chunk[: min(left, len(chunk))]
                self.wfile.write(part)
                left -= len(part)
            return
        if url.path == "/slow":
            time.sleep(int(q.get("ms", ["1000"])[0]) / 1000)
        report = {
            "method": self.command,
            "path": self.path,
            "headers": [[k, v] for k, v in self.headers.items()],
            "body_length": n,
            "body_sha256": digest,
        }
        try:
            sc = self.headers.get_all("Secondary-Client-Cert")
            if sc:
                report["secondary"] = {k: b64(v) for k, v in parse_dictionary(", ".join(sc)).items()}
            sch = self.headers.get_all("Secondary-Client-Cert-Chain")
            if sch:
                report["secondary_chain"] = {k: [b64(x) for x in v] for k, v in parse_dictionary(", ".join(sch)).items()}
            cc = self.headers.get("Client-Cert")
            if cc:
                report["client_cert"] = b64(_bytes(cc.strip(), 0)[0])
        except (SfError, ValueError) as e:
            report["parse_error"] = str(e)
        body = json.dumps(report).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "keep-alive, X-Hop")
        self.send_header("X-Hop", "per-hop field the gateway must drop")
        self.send_header("Keep-Alive", "timeout=5")
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = handle_any

    def do_HEAD(self):
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()


class QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        # Clients that vanish mid-body are part of the tests; nothing to report.
        pass


if __name__ == "__main__":
    srv = QuietServer(("127.0.0.1", int(sys.argv[1]) if len(sys.argv) > 1 else 0), Handler)
    srv.daemon_threads = True
    print("listening on %d" % srv.server_address[1], flush=True)
    srv.serve_forever()
