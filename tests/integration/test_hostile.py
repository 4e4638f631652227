"""Hostile input (issue 17): memory budgets, HTTP/2 budgets and write timeouts, descriptor
exhaustion, and browser safety (Host, CORS, the self-signed certificate, TLS ciphers).

Every test names the guarantee it checks; docs/security.md states the limits.

Run:  CINESIS_BIN=build/debug/apps/cinesis/cinesis /usr/bin/python3 -m unittest -v tests/integration/test_hostile.py
"""

import os
import re
import select
import socket
import ssl
import stat
import struct
import subprocess
import tempfile
import time
import unittest

from . import harness as h

CBOR_CT = 'application/x-amz-cbor-1.1'
CERT_RE = re.compile(r'^cinesis tls certificate (?P<path>\S+)\s*$')


def vm_hwm_kib(pid):
    """Peak resident set size of a process (VmHWM), in KiB."""
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            if line.startswith('VmHWM:'):
                return int(line.split()[1])
    raise AssertionError('no VmHWM for pid %d' % pid)


def cpu_seconds(pid):
    """User + system CPU time of a process so far."""
    with open('/proc/%d/stat' % pid) as f:
        fields = f.read().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


def raw_http(server, headers, body=b'{}', target='ListStreams', timeout=10.0):
    """One HTTP/1.1 request with exactly `headers` (Host included, or not); (status, headers, body)."""
    lines = ['POST / HTTP/1.1', 'Content-Type: ' + h.JSON_CT,
             'X-Amz-Target: %s.%s' % (h.TARGET_PREFIX, target), 'X-Amz-Date: ' + h.amz_date(),
             'Authorization: ' + h.dummy_auth_header(), 'Content-Length: %d' % len(body), 'Connection: close']
    lines += ['%s: %s' % kv for kv in headers]
    with socket.create_connection((server.host, server.port), timeout=timeout) as s:
        s.sendall(('\r\n'.join(lines) + '\r\n\r\n').encode('latin-1') + body)
        data = b''
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    head, _, rest = data.partition(b'\r\n\r\n')
    status_line, *header_lines = head.decode('latin-1').split('\r\n')
    hdrs = {}
    for line in header_lines:
        k, _, v = line.partition(':')
        hdrs[k.strip().lower()] = v.strip()
    return int(status_line.split()[1]), hdrs, rest


# ---------------------------------------------------------------------------
# A minimal HTTP/2 client: enough framing and HPACK (literal fields only) to hold a
# stream's window at zero and watch what the server does.
# ---------------------------------------------------------------------------

def _hpack_int(value, prefix_bits, first=0):
    limit = (1 << prefix_bits) - 1
    if value < limit:
        return bytes([first | value])
    out = [first | limit]
    value -= limit
    while value >= 128:
        out.append((value & 0x7f) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _hpack_literal(name, value):
    name, value = name.encode(), value.encode()
    return b'\x00' + _hpack_int(len(name), 7) + name + _hpack_int(len(value), 7) + value


class H2Client(object):
    DATA, HEADERS, RST_STREAM, SETTINGS, PING, GOAWAY, WINDOW_UPDATE = 0, 1, 3, 4, 6, 7, 8

    def __init__(self, server, initial_window=65535):
        self.server = server
        self.sock = socket.create_connection((server.host, server.port), timeout=10)
        self.buf = b''
        settings = struct.pack('>HI', 4, initial_window)  # SETTINGS_INITIAL_WINDOW_SIZE
        self.sock.sendall(b'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n' + self.frame(self.SETTINGS, 0, 0, settings))

    def close(self):
        self.sock.close()

    @staticmethod
    def frame(type_, flags, stream, payload):
        return struct.pack('>I', len(payload))[1:] + bytes([type_, flags]) + struct.pack('>I', stream) + payload

    def request(self, stream, operation, body=b'{}', end_stream=True, authority=None, content_length=None):
        fields = [(':method', 'POST'), (':scheme', 'http'), (':path', '/'),
                  (':authority', authority or '127.0.0.1:%d' % self.server.port),
                  ('content-type', h.JSON_CT), ('x-amz-target', '%s.%s' % (h.TARGET_PREFIX, operation)),
                  ('x-amz-date', h.amz_date()), ('authorization', h.dummy_auth_header()),
                  ('content-length', str(len(body) if content_length is None else content_length))]
        block = b''.join(_hpack_literal(k, v) for k, v in fields)
        self.sock.sendall(self.frame(self.HEADERS, 0x4, stream, block))  # END_HEADERS
        if body:
            self.sock.sendall(self.frame(self.DATA, 0x1 if end_stream else 0, stream, body))

    def next_frame(self, deadline):
        """(type, flags, stream, payload), answering SETTINGS and PING; None at the deadline."""
        while True:
            if len(self.buf) >= 9:
                length = struct.unpack('>I', b'\x00' + self.buf[:3])[0]
                if len(self.buf) >= 9 + length:
                    type_, flags = self.buf[3], self.buf[4]
                    stream = struct.unpack('>I', self.buf[5:9])[0] & 0x7fffffff
                    payload = self.buf[9:9 + length]
                    self.buf = self.buf[9 + length:]
                    if type_ == self.SETTINGS and not flags & 1:
                        self.sock.sendall(self.frame(self.SETTINGS, 1, 0, b''))
                    elif type_ == self.PING and not flags & 1:
                        self.sock.sendall(self.frame(self.PING, 1, 0, payload))
                    return type_, flags, stream, payload
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                return None
            if not chunk:
                return None
            self.buf += chunk

    def frames_until(self, deadline, stop):
        """Frames read until stop(frame) is true (that frame included) or the deadline."""
        got = []
        while True:
            f = self.next_frame(deadline)
            if f is None:
                return got
            got.append(f)
            if stop(f):
                return got


def rst_of(frames, stream):
    for type_, _, sid, payload in frames:
        if type_ == H2Client.RST_STREAM and sid == stream:
            return struct.unpack('>I', payload)[0]
    return None


CANCEL, REFUSED_STREAM = 0x8, 0x7


# ---------------------------------------------------------------------------
# 1. Memory budgets of a request
# ---------------------------------------------------------------------------

class RequestBudgetTest(h.ServerTestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = h.CinesisServer().start()

    @classmethod
    def tearDownClass(cls):
        h.stop_server_checked(cls.server)

    def test_cbor_declared_lengths_cost_no_memory(self):
        """The issue's 5-byte body (an array claiming 2^27 elements) and its kin take no memory:
        the server's peak RSS grows by less than 8 MiB (libcbor: ~1 GB)."""
        # warm up: the first requests allocate the server's buffers
        for _ in range(3):
            self.assertEqual(h.kinesis_call(self.server, 'ListStreams', {}).status, 200)
        before = vm_hwm_kib(self.server.proc.pid)
        bodies = [b'\x9a\x08\x00\x00\x00',                      # array of 2^27
                  b'\x9b\x00\x00\x00\x01\x00\x00\x00\x00',      # array of 2^32
                  b'\xba\x80\x00\x00\x00',                      # map of 2^31 entries
                  b'\x5b\x00\x00\x00\x10\x00\x00\x00\x00',      # 64 GiB byte string
                  b'\x9f' + b'\x9a\x00\x10\x00\x00' * 50 + b'\xff']
        for body in bodies:
            resp = h.kinesis_call(self.server, 'ListStreams', body, content_type=CBOR_CT)
            self.assertEqual(resp.status, 400, resp)
            self.assertIn(b'SerializationException', resp.body)
        grown = vm_hwm_kib(self.server.proc.pid) - before
        self.assertLess(grown, 8 * 1024, 'peak RSS grew by %d KiB' % grown)
        self.assertEqual(h.kinesis_call(self.server, 'ListStreams', {}).status, 200)

    def test_huge_invalid_request_gets_a_small_answer(self):
        """A 1 MB CBOR PutRecords whose every value is invalid gets an answer under 70 KB
        (echoed values cut at 32 KiB, the message at 64 KiB)."""
        entry = b'\xa2\x6cPartitionKey\x60\x64Data\x5a\x00\x00\x00\x40' + b'\x00' * 64
        body = b'\xa2\x6aStreamName\x79\x80\x00' + b'!' * 0x8000 + b'\x67Records\x99\x2e\xe0' + entry * 12000
        self.assertGreater(len(body), 1000000)
        resp = h.kinesis_call(self.server, 'PutRecords', body, content_type=CBOR_CT)
        self.assertEqual(resp.status, 400, resp)
        self.assertIn(b'ValidationException', resp.body)
        self.assertLess(len(resp.body), 70000)


class HeavyRequestOffloadTest(h.ServerTestCase):
    """A request with a large body is decoded off the I/O thread (--offload-body-bytes, 16 KiB by
    default), so with a single I/O thread a small request on another connection is answered
    while the large one is still being decoded."""
    @classmethod
    def setUpClass(cls):
        cls.server = h.CinesisServer('--threads', '1').start()

    @classmethod
    def tearDownClass(cls):
        h.stop_server_checked(cls.server)

    def test_small_request_is_answered_while_a_large_body_decodes(self):
        # A valid-size CBOR document that costs much CPU to decode: 8 Mi one-byte items
        # (about half a second in the debug build).
        items = 8 << 20
        body = (b'\xa2\x6aStreamName\x61x\x64Junk\x9a' + struct.pack('>I', items) + b'\x00' * items)
        heavy = socket.create_connection((self.server.host, self.server.port), timeout=60)
        self.addCleanup(heavy.close)
        head = ('POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Amz-Target: Kinesis_20131202.ListStreams\r\n'
                'Content-Type: %s\r\nAuthorization: %s\r\nX-Amz-Date: %s\r\nContent-Length: %d\r\n\r\n'
                % (CBOR_CT, h.dummy_auth_header(), h.amz_date(), len(body)))
        heavy.sendall(head.encode() + body)
        time.sleep(0.1)  # the server reads the rest of the body and starts decoding it
        resp = h.kinesis_call(self.server, 'ListStreams', {})
        self.assertEqual(resp.status, 200)
        # Decoded on the I/O thread, the large request would have been answered first (the
        # small one waited for it): its answer would be waiting on the socket by now.
        readable, _, _ = select.select([heavy], [], [], 0)
        self.assertEqual(readable, [], 'the small request was answered only after the large one')
        heavy.settimeout(60)
        answer = b''
        while b'\r\n\r\n' not in answer:
            chunk = heavy.recv(65536)
            self.assertTrue(chunk, 'the large request got no answer')
            answer += chunk
        self.assertTrue(answer.startswith(b'HTTP/1.1 200 '), answer[:100])


# ---------------------------------------------------------------------------
# 2. HTTP/2 budgets and the write timeout
# ---------------------------------------------------------------------------

class Http2BudgetTest(h.ServerTestCase):
    @classmethod
    def setUpClass(cls):
        # check period: min(read, idle timeout) / 4 = 250 ms
        cls.server = h.CinesisServer('--write-timeout-ms', '300', '--read-timeout-ms', '1000',
                                     '--max-connection-response-bytes', '10',
                                     '--max-buffered-body-bytes', '4096').start()

    @classmethod
    def tearDownClass(cls):
        h.stop_server_checked(cls.server)

    def test_zero_window_stream_is_reset_within_the_write_timeout(self):
        """A client that keeps the stream window at zero gets RST_STREAM(CANCEL) once the write
        timeout passes without send progress; the response waiting behind it (over the
        connection's response budget) runs only then."""
        c = H2Client(self.server, initial_window=0)
        self.addCleanup(c.close)
        c.request(1, 'ListStreams')
        c.request(3, 'ListStreams')
        start = time.monotonic()
        frames = c.frames_until(start + 10, lambda f: f[0] == H2Client.RST_STREAM and f[2] == 1)
        self.assertEqual(rst_of(frames, 1), CANCEL, frames)
        self.assertLess(time.monotonic() - start, 5)
        headers_before = [f for f in frames if f[0] == H2Client.HEADERS and f[2] == 3]
        self.assertEqual(headers_before, [], 'stream 3 ran although stream 1 held the budget')
        more = c.frames_until(time.monotonic() + 5, lambda f: f[2] == 3 and f[0] in (H2Client.HEADERS,
                                                                                     H2Client.RST_STREAM))
        self.assertTrue(any(f[0] == H2Client.HEADERS and f[2] == 3 for f in more), more)
        # the server still answers others
        self.assertEqual(h.kinesis_call(self.server, 'ListStreams', {}).status, 200)

    def test_buffered_bodies_beyond_the_budget_are_refused(self):
        """Request bodies received and not yet run count against --max-buffered-body-bytes; a
        stream going beyond it is refused (RST_STREAM REFUSED_STREAM)."""
        c = H2Client(self.server)
        self.addCleanup(c.close)
        c.request(1, 'ListStreams', body=b' ' * 3000, end_stream=False, content_length=3002)
        c.request(3, 'ListStreams', body=b' ' * 3000, end_stream=False, content_length=3002)
        frames = c.frames_until(time.monotonic() + 5, lambda f: f[0] == H2Client.RST_STREAM)
        self.assertEqual(rst_of(frames, 3), REFUSED_STREAM, frames)
        # stream 1 still completes
        c.sock.sendall(c.frame(H2Client.DATA, 1, 1, b'{}'))
        frames = c.frames_until(time.monotonic() + 5, lambda f: f[2] == 1 and f[0] == H2Client.HEADERS)
        self.assertTrue(any(f[0] == H2Client.HEADERS and f[2] == 1 for f in frames), frames)


# ---------------------------------------------------------------------------
# 3. Descriptor exhaustion
# ---------------------------------------------------------------------------

class DescriptorExhaustionTest(h.ServerTestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = h.CinesisServer('--threads', '2').start()

    @classmethod
    def tearDownClass(cls):
        h.stop_server_checked(cls.server)

    def test_emfile_backs_off_logs_once_and_keeps_serving(self):
        """At EMFILE the accept loop neither spins nor stops: it logs once, the open connection
        is still served, and pending connections are accepted once descriptors are free."""
        pid = self.server.proc.pid
        kept = socket.create_connection((self.server.host, self.server.port), timeout=10)
        self.addCleanup(kept.close)
        status, _ = self._request_on(kept)
        self.assertEqual(status, 200)
        open_fds = len(os.listdir('/proc/%d/fd' % pid))
        soft, hard = [int(x) for x in subprocess.check_output(
            ['prlimit', '--pid', str(pid), '--nofile', '--output', 'SOFT,HARD', '--noheadings']).split()]
        subprocess.check_call(['prlimit', '--pid', str(pid), '--nofile=%d:%d' % (open_fds, hard)])
        self.addCleanup(subprocess.call, ['prlimit', '--pid', str(pid), '--nofile=%d:%d' % (soft, hard)])
        err_start = self.server.stderr_size()
        waiting = [socket.create_connection((self.server.host, self.server.port), timeout=10) for _ in range(3)]
        for s in waiting:
            self.addCleanup(s.close)
            s.sendall(self._request_bytes())
        time.sleep(0.3)  # let accept fail
        cpu0, t0 = cpu_seconds(pid), time.monotonic()
        time.sleep(2.0)
        cpu = cpu_seconds(pid) - cpu0
        wall = time.monotonic() - t0
        self.assertLess(cpu, 0.25 * wall, 'server used %.2f s of CPU in %.2f s while out of descriptors' % (cpu, wall))
        status, _ = self._request_on(kept)
        self.assertEqual(status, 200, 'the open connection is still served')
        log = self.server.stderr_text(err_start)
        self.assertEqual(len(re.findall(r'accept: .*not accepting connections', log)), 1, log)
        subprocess.check_call(['prlimit', '--pid', str(pid), '--nofile=%d:%d' % (soft, hard)])
        for s in waiting:
            s.settimeout(10)
            self.assertIn(b' 200 ', s.recv(65536).split(b'\r\n')[0] + b' ')
        self.assertIn('accepting connections again', self.server.stderr_text(err_start))

    def _request_bytes(self):
        body = b'{}'
        return ('POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: %s\r\nX-Amz-Target: %s.ListStreams\r\n'
                'X-Amz-Date: %s\r\nAuthorization: %s\r\nContent-Length: %d\r\n\r\n'
                % (h.JSON_CT, h.TARGET_PREFIX, h.amz_date(), h.dummy_auth_header(), len(body))).encode() + body

    def _request_on(self, s):
        s.sendall(self._request_bytes())
        data = b''
        while b'\r\n\r\n' not in data:
            data += s.recv(65536)
        head, _, rest = data.partition(b'\r\n\r\n')
        length = int(re.search(rb'(?i)content-length: *(\d+)', head).group(1))
        while len(rest) < length:
            rest += s.recv(65536)
        return int(head.split()[1]), rest


# ---------------------------------------------------------------------------
# 4. Browser safety
# ---------------------------------------------------------------------------

class HostAndCorsDefaultTest(h.ServerTestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = h.CinesisServer().start()

    @classmethod
    def tearDownClass(cls):
        h.stop_server_checked(cls.server)

    def test_host_must_be_local_or_an_address(self):
        """DNS rebinding: a request naming another host gets 403; localhost and IP literals
        (as the AWS CLI, boto3 and the SDKs send them) are served."""
        port = self.server.port
        for host in ('127.0.0.1:%d' % port, 'localhost:%d' % port, 'LOCALHOST', '[::1]:%d' % port, '127.0.0.1',
                     '10.1.2.3:%d' % port):
            with self.subTest(host=host):
                status, _, body = raw_http(self.server, [('Host', host)])
                self.assertEqual(status, 200, body)
        for host in ('evil.example:%d' % port, 'evil.example', 'localhost.evil.example', '127.0.0.1.nip.io'):
            with self.subTest(host=host):
                status, _, body = raw_http(self.server, [('Host', host)])
                self.assertEqual(status, 403, body)
                self.assertIn(b'AccessDeniedException', body)
                self.assertIn(b'--allowed-host', body)
        # HTTP/2 checks :authority the same way
        c = H2Client(self.server)
        self.addCleanup(c.close)
        c.request(1, 'ListStreams', authority='evil.example')
        c.request(3, 'ListStreams')
        ended = set()

        def both_ended(f):
            if f[0] == H2Client.DATA and f[1] & 1:
                ended.add(f[2])
            return ended == {1, 3}
        frames = c.frames_until(time.monotonic() + 5, both_ended)
        self.assertIn(b'AccessDeniedException', b''.join(f[3] for f in frames if f[0] == H2Client.DATA and f[2] == 1))
        self.assertIn(b'StreamNames', b''.join(f[3] for f in frames if f[0] == H2Client.DATA and f[2] == 3))

    def test_no_cors_headers_by_default(self):
        """Without --cors-origin no origin gets CORS headers, and a preflight is not answered."""
        status, hdrs, _ = raw_http(self.server, [('Host', 'localhost'), ('Origin', 'http://evil.example')])
        self.assertEqual(status, 200)
        self.assertNotIn('access-control-allow-origin', hdrs)
        resp = h.raw_request(self.server, 'OPTIONS', '/', [
            ('Origin', 'http://evil.example'), ('Access-Control-Request-Method', 'POST'),
            ('Access-Control-Request-Headers', 'content-type, x-amz-target')], b'')
        self.assertEqual(resp.status, 403, resp)
        self.assertIsNone(resp.header('Access-Control-Allow-Origin'))


class HostAndCorsConfiguredTest(h.ServerTestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = h.CinesisServer('--cors-origin', 'http://app.example:3000', '--allowed-host',
                                     'kinesis.internal').start()

    @classmethod
    def tearDownClass(cls):
        h.stop_server_checked(cls.server)

    def test_listed_origin_is_echoed_others_get_nothing(self):
        status, hdrs, _ = raw_http(self.server, [('Host', 'localhost'), ('Origin', 'http://app.example:3000')])
        self.assertEqual(status, 200)
        self.assertEqual(hdrs.get('access-control-allow-origin'), 'http://app.example:3000')
        self.assertEqual(hdrs.get('vary'), 'Origin')
        resp = h.raw_request(self.server, 'OPTIONS', '/', [
            ('Origin', 'http://app.example:3000'), ('Access-Control-Request-Method', 'POST')], b'')
        self.assertEqual(resp.status, 200, resp)
        self.assertEqual(resp.header('Access-Control-Allow-Origin'), 'http://app.example:3000')
        status, hdrs, _ = raw_http(self.server, [('Host', 'localhost'), ('Origin', 'http://evil.example')])
        self.assertNotIn('access-control-allow-origin', hdrs)

    def test_allowed_host(self):
        self.assertEqual(raw_http(self.server, [('Host', 'kinesis.internal:%d' % self.server.port)])[0], 200)
        self.assertEqual(raw_http(self.server, [('Host', 'other.internal')])[0], 403)


class SelfSignedCertificateTest(unittest.TestCase):

    def _start(self, *args, **kw):
        server = h.CinesisServer('--tls-self-signed', *args, **kw).start()
        self.addCleanup(server.cleanup_files)
        return server

    @staticmethod
    def _cert_path(server):
        for line in server.stdout_lines:
            m = CERT_RE.match(line)
            if m:
                return m.group('path')
        raise AssertionError('no certificate line in %r' % server.stdout_lines)

    def test_in_memory_certificate_lives_in_a_private_directory(self):
        """--in-memory: the certificate is written into a fresh 0700 directory (mkdtemp), not a
        predictable /tmp name, and both are removed at exit."""
        server = self._start()
        path = self._cert_path(server)
        d = os.path.dirname(path)
        self.assertRegex(os.path.basename(d), r'^cinesis-tls-[A-Za-z0-9]{6}$')
        self.assertEqual(stat.S_IMODE(os.lstat(d).st_mode), 0o700)
        self.assertTrue(stat.S_ISREG(os.lstat(path).st_mode))
        self.assertEqual(stat.S_IMODE(os.lstat(path).st_mode), 0o600)
        h.stop_server_checked(server)
        self.assertFalse(os.path.exists(d))

    def test_planted_symlinks_are_not_followed(self):
        """A symlink planted at the certificate's path (or its temporary name) is replaced,
        never written through."""
        with tempfile.TemporaryDirectory() as tmp:
            data = os.path.join(tmp, 'data')
            os.mkdir(data, 0o700)
            victim = os.path.join(tmp, 'victim')
            with open(victim, 'w') as f:
                f.write('precious')
            os.symlink(victim, os.path.join(data, 'cinesis-selfsigned.pem'))
            os.symlink(victim, os.path.join(data, 'cinesis-selfsigned.pem.tmp'))
            server = h.CinesisServer('--tls-self-signed', data_dir=data).start()
            try:
                path = self._cert_path(server)
                self.assertTrue(stat.S_ISREG(os.lstat(path).st_mode))
                with open(path) as f:
                    self.assertIn('BEGIN CERTIFICATE', f.read())
            finally:
                h.stop_server_checked(server)
            with open(victim) as f:
                self.assertEqual(f.read(), 'precious')


@unittest.skipUnless(os.path.exists('/usr/bin/openssl'), 'openssl not installed')
class TlsCipherTest(unittest.TestCase):

    def test_only_forward_secret_suites_are_offered(self):
        """With an RSA certificate, TLS 1.2 without ECDHE (static RSA key exchange) fails; ECDHE works."""
        with tempfile.TemporaryDirectory() as tmp:
            cert, key = os.path.join(tmp, 'c.pem'), os.path.join(tmp, 'k.pem')
            subprocess.check_call(['openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key,
                                   '-out', cert, '-days', '1', '-subj', '/CN=localhost'],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            server = h.CinesisServer('--tls-cert', cert, '--tls-key', key).start()
            self.addCleanup(h.stop_server_checked, server)

            def handshake(ciphers):
                ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
                ctx.maximum_version = ssl.TLSVersion.TLSv1_2
                ctx.set_ciphers(ciphers)
                with socket.create_connection((server.host, server.port), timeout=10) as raw:
                    with ctx.wrap_socket(raw) as s:
                        return s.cipher()[0]

            self.assertEqual(handshake('ECDHE-RSA-AES128-GCM-SHA256'), 'ECDHE-RSA-AES128-GCM-SHA256')
            for weak in ('AES128-GCM-SHA256', 'AES256-SHA', 'ECDHE-RSA-AES128-SHA', 'DHE-RSA-AES128-GCM-SHA256'):
                with self.subTest(cipher=weak):
                    with self.assertRaises(ssl.SSLError):
                        handshake(weak)


if __name__ == '__main__':
    unittest.main()
