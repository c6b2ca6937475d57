#!/usr/bin/python3
"""A raw-frame HTTP/2 client built on Python's h2 / hyperframe (Debian python3-h2).

Speaks to a server that implements HTTP/2 secondary certificates and checks its error paths
(digest http2-secondary-certs section 3.3). Frames of the extension are written by hand (a
9-byte header, RFC 9113 section 4.1) because hyperframe's ExtensionFrame.serialize() writes a
zero length, and SETTINGS carrying 16-bit identifiers are written by hand too because Debian's
hyperframe 6.0 truncates identifiers to 8 bits when sending. Received frames are parsed with
hyperframe. A plain request uses h2's H2Connection.

Exit status (interop convention): 0 pass, 1 fail, 127 scenario not supported.
"""
import argparse
import socket
import ssl
import struct
import sys
import time

try:
    import h2.config
    import h2.connection
    import h2.events
    from hyperframe.frame import Frame, GoAwayFrame, SettingsFrame
except ImportError as e:  # pragma: no cover
    print("skip: python h2 not importable: %s" % e)
    sys.exit(127)

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
SETTING_SERVER_CERT_AUTH = 0xF5A1
SETTING_CLIENT_CERT_AUTH = 0xF5A2
SERVER_CERTIFICATE = 0xF8
AUTHENTICATOR_REQUESTS = 0xF9
CLIENT_CERTIFICATE = 0xFA

# scenario -> (frame type, stream id, payload size or None for "max frame size + 1", expected GOAWAY code)
ERROR_SCENARIOS = {
    "err-authenticator-requests-at-server": (AUTHENTICATOR_REQUESTS, 0, 5, 0x1),
    "err-unsolicited-client-certificate": (CLIENT_CERTIFICATE, 0, 52, 0x1),
    "err-certificate-on-stream": (CLIENT_CERTIFICATE, 1, 52, 0x1),
    "err-server-certificate-from-client": (SERVER_CERTIFICATE, 0, 100, 0x1),
    "err-frame-too-large": (CLIENT_CERTIFICATE, 0, None, 0x6),
}


def frame_bytes(ftype, flags, stream_id, payload):
    """RFC 9113 section 4.1 frame: Length(24) Type(8) Flags(8) R(1)+StreamId(31)."""
    n = len(payload)
    return struct.pack(">BHBBI", (n >> 16) & 0xFF, n & 0xFFFF, ftype, flags, stream_id & 0x7FFFFFFF) + payload


def settings_bytes(entries):
    return frame_bytes(0x4, 0, 0, b"".join(struct.pack(">HI", i, v) for i, v in entries))


def tls_connect(host, port, ca):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.set_alpn_protocols(["h2"])
    if ca:
        ctx.load_verify_locations(ca)
        ctx.check_hostname = True
    else:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    raw = socket.create_connection((host, port), timeout=5)
    s = ctx.wrap_socket(raw, server_hostname="localhost")
    if s.selected_alpn_protocol() != "h2":
        raise RuntimeError("ALPN did not select h2")
    return s


class Reader:
    """Reads frames with hyperframe."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""
        self.eof = False

    def _fill(self, n, deadline):
        while len(self.buf) < n:
            self.sock.settimeout(max(0.01, deadline - time.time()))
            try:
                chunk = self.sock.recv(65536)
            except (socket.timeout, ssl.SSLError, ConnectionError):
                return False
            if not chunk:
                self.eof = True
                return False
            self.buf += chunk
        return True

    def next(self, deadline):
        if not self._fill(9, deadline):
            return None
        frame, length = Frame.parse_frame_header(memoryview(self.buf[:9]))
        if not self._fill(9 + length, deadline):
            return None
        body = self.buf[9 : 9 + length]
        self.buf = self.buf[9 + length :]
        frame.parse_body(memoryview(body))
        return frame


def run_error(args, scenario):
    ftype, stream_id, size, expected = ERROR_SCENARIOS[scenario]
    s = tls_connect(args.host, args.port, args.ca)
    s.sendall(PREFACE + settings_bytes([(SETTING_CLIENT_CERT_AUTH, 1), (SETTING_SERVER_CERT_AUTH, 1)]))
    r = Reader(s)
    deadline = time.time() + 5
    max_frame = 16384
    # Wait for the server's SETTINGS, ACK it.
    while True:
        f = r.next(deadline)
        if f is None:
            print("FAIL: no SETTINGS from the server")
            return 1
        if isinstance(f, SettingsFrame) and "ACK" not in f.flags:
            max_frame = f.settings.get(SettingsFrame.MAX_FRAME_SIZE, max_frame)
            s.sendall(frame_bytes(0x4, 0x1, 0, b""))
            break
    if size is None:
        size = max_frame + 1
    if ftype == AUTHENTICATOR_REQUESTS:
        payload = b"\x04\x0d\x00\x00\x00"[:size]
    else:
        payload = b"\x00" * size
    s.sendall(frame_bytes(ftype, 0, stream_id, payload))
    while True:
        f = r.next(deadline)
        if f is None:
            print("FAIL: connection ended without GOAWAY" if r.eof else "FAIL: no GOAWAY within 5 s")
            return 1
        if isinstance(f, GoAwayFrame):
            print("GOAWAY code=0x%x last_stream_id=%d" % (f.error_code, f.last_stream_id))
            return 0 if f.error_code == expected else 1


def run_plain(args):
    """An ordinary request through h2's state machine: the extension must not disturb it."""
    s = tls_connect(args.host, args.port, args.ca)
    conn = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=True))
    conn.initiate_connection()
    sid = conn.get_next_available_stream_id()
    conn.send_headers(sid, [(":method", "GET"), (":path", "/"), (":scheme", "https"), (":authority", "localhost")], end_stream=True)
    s.sendall(conn.data_to_send())
    deadline = time.time() + 5
    status = None
    while time.time() < deadline:
        s.settimeout(max(0.01, deadline - time.time()))
        try:
            data = s.recv(65536)
        except socket.timeout:
            break
        if not data:
            break
        for ev in conn.receive_data(data):
            if isinstance(ev, h2.events.ResponseReceived):
                status = dict(ev.headers).get(b":status")
            if isinstance(ev, h2.events.StreamEnded) and ev.stream_id == sid:
                print("status %s" % (status.decode() if status else None))
                return 0 if status == b"200" else 1
        s.sendall(conn.data_to_send())
    print("FAIL: no complete response")
    return 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--scenario", required=True)
    ap.add_argument("--ca")
    args = ap.parse_args()
    if args.scenario in ERROR_SCENARIOS:
        return run_error(args, args.scenario)
    if args.scenario == "plain-request":
        return run_plain(args)
    print("skip: python peer does not implement %s" % args.scenario)
    return 127


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception as e:  # a crash of the peer is a failed scenario, not a silent pass
        print("FAIL: %s: %s" % (type(e).__name__, e))
        sys.exit(1)
