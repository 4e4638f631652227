"""A minimal RFC 6455 WebSocket client for the /_cinesis/ws tests (Debian's python3 ships
no WebSocket library in the default install; this keeps the tests dependency-free and lets
them read slowly on purpose).

Text frames only from the application's side; the client masks what it sends (RFC 6455
5.3), answers pings, and reassembles fragmented messages.
"""

import base64
import hashlib
import json
import os
import socket
import struct

_GUID = b'258EAFA5-E914-47DA-95CA-C5AB0DC85B11'


class HandshakeError(Exception):
    def __init__(self, status, head):
        super().__init__('handshake refused: HTTP %d' % status)
        self.status = status
        self.head = head


class Closed(Exception):
    pass


class WsClient(object):
    def __init__(self, host, port, path='/_cinesis/ws', origin=None, timeout=10.0, rcvbuf=None,
                 extra_headers=None):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(timeout)
        self.sock.connect((host, port))
        key = base64.b64encode(os.urandom(16))
        head = ['GET %s HTTP/1.1' % path, 'Host: %s:%d' % (host, port), 'Upgrade: websocket',
                'Connection: Upgrade', 'Sec-WebSocket-Key: %s' % key.decode(), 'Sec-WebSocket-Version: 13']
        if origin is not None:
            head.append('Origin: %s' % origin)
        for k, v in (extra_headers or {}).items():
            head.append('%s: %s' % (k, v))
        self.sock.sendall(('\r\n'.join(head) + '\r\n\r\n').encode())
        self.buf = b''
        while b'\r\n\r\n' not in self.buf:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise Closed('closed during the handshake')
            self.buf += chunk
        raw, self.buf = self.buf.split(b'\r\n\r\n', 1)
        lines = raw.decode('latin-1').split('\r\n')
        status = int(lines[0].split()[1])
        if status != 101:
            raise HandshakeError(status, raw.decode('latin-1'))
        headers = {l.split(':', 1)[0].strip().lower(): l.split(':', 1)[1].strip() for l in lines[1:] if ':' in l}
        accept = base64.b64encode(hashlib.sha1(key + _GUID).digest()).decode()
        if headers.get('sec-websocket-accept') != accept:
            raise HandshakeError(status, 'bad Sec-WebSocket-Accept')

    def _send_frame(self, opcode, payload):
        mask = os.urandom(4)
        n = len(payload)
        if n < 126:
            hdr = struct.pack('!BB', 0x80 | opcode, 0x80 | n)
        elif n < 65536:
            hdr = struct.pack('!BBH', 0x80 | opcode, 0x80 | 126, n)
        else:
            hdr = struct.pack('!BBQ', 0x80 | opcode, 0x80 | 127, n)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload)) if n < 4096 else _mask_fast(payload, mask)
        self.sock.sendall(hdr + mask + masked)

    def send(self, obj):
        self._send_frame(0x1, json.dumps(obj).encode())

    def _read_exact(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(max(65536, n - len(self.buf)))
            if not chunk:
                raise Closed('connection closed')
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def recv_text(self):
        """The next text message (str); answers pings on the way."""
        parts = []
        while True:
            b0, b1 = self._read_exact(2)
            fin, opcode, n = b0 & 0x80, b0 & 0x0F, b1 & 0x7F
            if n == 126:
                n = struct.unpack('!H', self._read_exact(2))[0]
            elif n == 127:
                n = struct.unpack('!Q', self._read_exact(8))[0]
            if b1 & 0x80:
                raise AssertionError('server frames must not be masked')
            payload = self._read_exact(n)
            if opcode == 0x9:
                self._send_frame(0xA, payload)
                continue
            if opcode == 0xA:
                continue
            if opcode == 0x8:
                raise Closed('close frame')
            parts.append(payload)
            if fin:
                return b''.join(parts).decode('utf-8')

    def recv(self):
        return json.loads(self.recv_text())

    def close(self):
        try:
            self._send_frame(0x8, struct.pack('!H', 1000))
        except OSError:
            pass
        self.sock.close()


def _mask_fast(payload, mask):
    n = len(payload)
    key = int.from_bytes((mask * (n // 4 + 1))[:n], 'big')
    return (int.from_bytes(payload, 'big') ^ key).to_bytes(n, 'big')
