"""The exact wire form of HTTP/1.1 answers (issue 19): the common answer is serialised by the
session itself, not by Beast, so its head must stay what Beast wrote: the status line, then
x-amzn-RequestId, x-amz-id-2, Content-Type, Connection only where it differs from the
version's default, and Content-Length; keep-alive as the request asks.

Run:  CINESIS_BIN=build/debug/apps/cinesis/cinesis /usr/bin/python3 -m unittest -v tests/integration/test_http1_answers.py
"""

import base64
import json
import re
import socket
import threading
import time
import unittest

from . import harness as h

UUID_RE = re.compile(r'^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$')
ID2_RE = re.compile(r'^[A-Za-z0-9+/]{96}$')


def setUpModule():
    Http1AnswerTest.server = h.CinesisServer('--in-memory').start()


def tearDownModule():
    h.stop_server_checked(Http1AnswerTest.server)


def request(operation, body, version='1.1', extra=()):
    data = json.dumps(body).encode()
    lines = ['POST / HTTP/%s' % version, 'Host: 127.0.0.1', 'Content-Type: ' + h.JSON_CT,
             'X-Amz-Target: %s.%s' % (h.TARGET_PREFIX, operation), 'X-Amz-Date: ' + h.amz_date(),
             'Authorization: ' + h.dummy_auth_header(), 'Content-Length: %d' % len(data)]
    lines += list(extra)
    return ('\r\n'.join(lines) + '\r\n\r\n').encode('latin-1') + data


def read_answer(sock):
    """(status line, [(name, value)] in order, body, raw head) of one answer."""
    data = b''
    while b'\r\n\r\n' not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise AssertionError('connection closed before an answer: %r' % data)
        data += chunk
    head, _, rest = data.partition(b'\r\n\r\n')
    status_line, *lines = head.decode('latin-1').split('\r\n')
    fields = [tuple(x.strip() for x in line.split(':', 1)) for line in lines]
    length = int(dict(fields)['Content-Length'])
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        rest += chunk
    return status_line, fields, rest[:length], head


def closed_by_server(sock):
    sock.settimeout(5)
    try:
        return sock.recv(1) == b''
    except ConnectionResetError:
        return True


class Http1AnswerTest(h.ServerTestCase):
    @classmethod
    def setUpClass(cls):
        cls.stream = h.unique_name('http1')
        with socket.create_connection((cls.server.host, cls.server.port), timeout=10) as s:
            s.sendall(request('CreateStream', {'StreamName': cls.stream, 'ShardCount': 1}))
            status, _, body, _ = read_answer(s)
            assert status == 'HTTP/1.1 200 OK', (status, body)

    def put(self):
        return request('PutRecord', {'StreamName': self.stream, 'Data': 'aGk=', 'PartitionKey': 'k'})

    def check_head(self, fields, body, connection=None):
        names = [n for n, _ in fields]
        expected = ['x-amzn-RequestId', 'x-amz-id-2', 'Content-Type']
        if connection:
            expected.append('Connection')
        expected.append('Content-Length')
        self.assertEqual(names, expected)
        values = dict(fields)
        self.assertRegex(values['x-amzn-RequestId'], UUID_RE)
        self.assertRegex(values['x-amz-id-2'], ID2_RE)
        self.assertEqual(values['Content-Type'], h.JSON_CT)
        self.assertEqual(values['Content-Length'], str(len(body)))
        if connection:
            self.assertEqual(values['Connection'], connection)

    def test_keep_alive_answers_in_order_on_one_connection(self):
        """HTTP/1.1: three PutRecords and an error on one connection; each answer has exactly
        the expected fields in order, no Connection field, and a fresh request id."""
        with socket.create_connection((self.server.host, self.server.port), timeout=10) as s:
            ids = set()
            for _ in range(3):
                s.sendall(self.put())
                status, fields, body, _ = read_answer(s)
                self.assertEqual(status, 'HTTP/1.1 200 OK')
                self.check_head(fields, body)
                self.assertEqual(json.loads(body)['ShardId'], 'shardId-000000000000')
                ids.add(dict(fields)['x-amzn-RequestId'])
            self.assertEqual(len(ids), 3)
            s.sendall(request('PutRecord', {'StreamName': 'no-such-stream', 'Data': 'aGk=',
                                            'PartitionKey': 'k'}))
            status, fields, body, _ = read_answer(s)
            self.assertEqual(status, 'HTTP/1.1 400 Bad Request')
            self.check_head(fields, body)
            self.assertEqual(json.loads(body)['__type'], 'ResourceNotFoundException')

    def test_header_fields_and_bodies_do_not_leak_between_requests(self):
        """The session reuses its parser's storage from request to request (the header fields in a
        per-connection buffer, the body's capacity): a long body then a short one, a request whose
        fields do not fit the buffer (40 fields, one of 6 KB) then a plain one, each parsed whole
        and on its own."""
        long_key = 'k' * 200
        with socket.create_connection((self.server.host, self.server.port), timeout=10) as s:
            s.sendall(request('PutRecord', {'StreamName': self.stream, 'Data': h.b64(b'x' * 900),
                                            'PartitionKey': long_key}))
            status, fields, body, _ = read_answer(s)
            self.assertEqual(status, 'HTTP/1.1 200 OK', body)
            s.sendall(self.put())
            status, fields, body, _ = read_answer(s)
            self.assertEqual(status, 'HTTP/1.1 200 OK', body)
            self.check_head(fields, body)
            extra = ['X-Pad-%d: %s' % (i, 'v' * 40) for i in range(40)] + ['X-Big: ' + 'b' * 6000]
            s.sendall(request('PutRecord', {'StreamName': self.stream, 'Data': 'aGk=',
                                            'PartitionKey': 'big'}, extra=extra))
            status, fields, body, _ = read_answer(s)
            self.assertEqual(status, 'HTTP/1.1 200 OK', body)
            # the target and type of this request are its own, not the previous one's
            s.sendall(request('DescribeStreamSummary', {'StreamName': self.stream}))
            status, fields, body, _ = read_answer(s)
            self.assertEqual(status, 'HTTP/1.1 200 OK', body)
            self.assertEqual(json.loads(body)['StreamDescriptionSummary']['StreamName'], self.stream)
            # a request without a body after ones with bodies
            s.sendall(b'POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: ' + h.JSON_CT.encode() +
                      b'\r\nX-Amz-Target: ' + h.TARGET_PREFIX.encode() + b'.ListStreams\r\n'
                      b'Content-Length: 0\r\n\r\n')
            status, fields, body, _ = read_answer(s)
            self.assertEqual(status, 'HTTP/1.1 400 Bad Request', body)
            self.assertEqual(json.loads(body), {'__type': 'SerializationException'})

    def test_an_answer_larger_than_the_socket_takes_arrives_whole(self):
        """The session sends a common answer itself, at once, and writes what the socket did not
        take asynchronously: a ~5.6 MB GetRecords answer to a client reading through a small
        receive buffer arrives whole, and the connection then serves the next request."""
        stream = h.unique_name('http1-large')
        records = [bytes([65 + i]) * ((1 << 20) - 1) for i in range(4)]  # with the key: 1 MiB
        with socket.create_connection((self.server.host, self.server.port), timeout=30) as s:
            s.sendall(request('CreateStream', {'StreamName': stream, 'ShardCount': 1}))
            self.assertEqual(read_answer(s)[0], 'HTTP/1.1 200 OK')
            for data in records:
                s.sendall(request('PutRecord', {'StreamName': stream, 'Data': h.b64(data),
                                                'PartitionKey': 'p'}))
                status, _, body, _ = read_answer(s)
                self.assertEqual(status, 'HTTP/1.1 200 OK', body[:200])
            s.sendall(request('GetShardIterator', {'StreamName': stream, 'ShardId': 'shardId-000000000000',
                                                   'ShardIteratorType': 'TRIM_HORIZON'}))
            iterator = json.loads(read_answer(s)[2])['ShardIterator']
        r = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.addCleanup(r.close)
        r.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        r.settimeout(30)
        r.connect((self.server.host, self.server.port))
        r.sendall(request('GetRecords', {'ShardIterator': iterator}))
        status, fields, body, _ = read_answer(r)
        self.assertEqual(status, 'HTTP/1.1 200 OK')
        self.check_head(fields, body)
        got = [base64.b64decode(x['Data']) for x in json.loads(body)['Records']]
        self.assertEqual(got, records)
        r.sendall(request('DescribeStreamSummary', {'StreamName': stream}))
        status, fields, body, _ = read_answer(r)
        self.assertEqual(status, 'HTTP/1.1 200 OK', body)

    def test_pipelined_live_requests_are_each_answered(self):
        """Regression: a /_cinesis/ request's answer, sent whole at once, started the next read
        while the request's header fields still lived in the connection's arena; a pipelined
        request parsed into it overwrote them (memory corruption, a crash under ASan). Several
        such requests in one segment (200 and 403 answers) are each answered, in order, and
        the connection then serves the Kinesis API."""
        live = b'GET /_cinesis/metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Pad: %s\r\n\r\n'
        refused = b'GET /_cinesis/faults HTTP/1.1\r\nHost: evil.example\r\n\r\n'
        for n in (2, 3, 8):
            with socket.create_connection((self.server.host, self.server.port), timeout=10) as s:
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                wire = b''.join((live % (b'p' * (i * 37)) if i % 3 != 2 else refused)
                                for i in range(n))
                s.sendall(wire + request('ListStreams', {}))
                buf = b''
                statuses = []
                while len(statuses) < n + 1:
                    while b'\r\n\r\n' not in buf:
                        chunk = s.recv(65536)
                        self.assertTrue(chunk, 'closed after %d answers' % len(statuses))
                        buf += chunk
                    head, _, buf = buf.partition(b'\r\n\r\n')
                    lines = head.decode('latin-1').split('\r\n')
                    length = int([x.split(':', 1)[1] for x in lines[1:]
                                  if x.lower().startswith('content-length:')][0])
                    while len(buf) < length:
                        chunk = s.recv(65536)
                        self.assertTrue(chunk)
                        buf += chunk
                    statuses.append(lines[0])
                    buf = buf[length:]
                expected = ['HTTP/1.1 200 OK' if i % 3 != 2 else 'HTTP/1.1 403 Forbidden'
                            for i in range(n)] + ['HTTP/1.1 200 OK']
                self.assertEqual(statuses, expected)
        self.assertTrue(self.server.is_alive())

    def test_a_body_arriving_with_or_after_its_header_is_read_whole(self):
        """The session parses the part of the body that came with the header at once and reads
        the rest: a body split after its first half, a chunked body split inside a chunk, and a
        request with the next one pipelined in the same segment are each answered, in order."""
        def put_body(key):
            return json.dumps({'StreamName': self.stream, 'Data': h.b64(b'z' * 300),
                               'PartitionKey': key}).encode()

        with socket.create_connection((self.server.host, self.server.port), timeout=10) as s:
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            whole = request('PutRecord', json.loads(put_body('split')))
            cut = whole.index(b'\r\n\r\n') + 4 + 100
            s.sendall(whole[:cut])
            time.sleep(0.2)
            s.sendall(whole[cut:])
            status, _, body, _ = read_answer(s)
            self.assertEqual(status, 'HTTP/1.1 200 OK', body)

            data = put_body('chunked')
            head = request('PutRecord', {})
            head = head[:head.index(b'Content-Length:')] + b'Transfer-Encoding: chunked\r\n\r\n'
            chunked = (head + b'%x\r\n' % 150 + data[:150] + b'\r\n' + b'%x\r\n' % (len(data) - 150)
                       + data[150:] + b'\r\n0\r\n\r\n')
            cut = len(head) + 60
            s.sendall(chunked[:cut])
            time.sleep(0.2)
            s.sendall(chunked[cut:])
            status, _, body, _ = read_answer(s)
            self.assertEqual(status, 'HTTP/1.1 200 OK', body)

            s.sendall(request('PutRecord', json.loads(put_body('first'))) +
                      request('DescribeStreamSummary', {'StreamName': self.stream}))
            data, answers = b'', []
            while len(answers) < 2:
                head_end = data.find(b'\r\n\r\n')
                length = re.search(rb'Content-Length: (\d+)', data[:head_end]) if head_end >= 0 else None
                if length and len(data) >= head_end + 4 + int(length.group(1)):
                    end = head_end + 4 + int(length.group(1))
                    answers.append((data[:data.index(b'\r\n')], data[head_end + 4:end]))
                    data = data[end:]
                    continue
                chunk = s.recv(65536)
                self.assertTrue(chunk, 'connection closed before both answers')
                data += chunk
            self.assertEqual(answers[0][0], b'HTTP/1.1 200 OK')
            self.assertIn('SequenceNumber', json.loads(answers[0][1]))
            self.assertEqual(answers[1][0], b'HTTP/1.1 200 OK')
            self.assertIn('StreamDescriptionSummary', json.loads(answers[1][1]))

    def test_connection_close_is_echoed_and_honoured(self):
        with socket.create_connection((self.server.host, self.server.port), timeout=10) as s:
            s.sendall(request('PutRecord', {'StreamName': self.stream, 'Data': 'aGk=', 'PartitionKey': 'k'},
                              extra=['Connection: close']))
            status, fields, body, _ = read_answer(s)
            self.assertEqual(status, 'HTTP/1.1 200 OK')
            self.check_head(fields, body, connection='close')
            self.assertTrue(closed_by_server(s))

    def test_http10_keep_alive_only_when_asked(self):
        with socket.create_connection((self.server.host, self.server.port), timeout=10) as s:
            s.sendall(request('PutRecord', {'StreamName': self.stream, 'Data': 'aGk=', 'PartitionKey': 'k'},
                              version='1.0', extra=['Connection: keep-alive']))
            status, fields, body, _ = read_answer(s)
            self.assertEqual(status, 'HTTP/1.0 200 OK')
            self.check_head(fields, body, connection='keep-alive')
            s.sendall(request('PutRecord', {'StreamName': self.stream, 'Data': 'aGk=', 'PartitionKey': 'k'},
                              version='1.0'))
            status, fields, body, _ = read_answer(s)
            self.assertEqual(status, 'HTTP/1.0 200 OK')
            self.check_head(fields, body)
            self.assertTrue(closed_by_server(s))


if __name__ == '__main__':
    unittest.main()


class Http1TimeoutTest(h.ServerTestCase):
    """The read, idle and write timeouts of HTTP/1.1 connections: one deadline per connection,
    checked by a timer that is re-armed only when it would fire after the deadline (issue 19
    item 3). A connection that misses one is closed unanswered; one kept busy is never closed."""

    @classmethod
    def setUpClass(cls):
        cls.server = h.CinesisServer('--in-memory', '--read-timeout-ms', '500', '--idle-timeout-ms',
                                     '1000', '--write-timeout-ms', '300').start()
        cls.stream = h.unique_name('http1-timeouts')
        with socket.create_connection((cls.server.host, cls.server.port), timeout=10) as s:
            s.sendall(request('CreateStream', {'StreamName': cls.stream, 'ShardCount': 1}))
            status, _, body, _ = read_answer(s)
            assert status == 'HTTP/1.1 200 OK', (status, body)

    @classmethod
    def tearDownClass(cls):
        h.stop_server_checked(cls.server)

    def put(self):
        return request('PutRecord', {'StreamName': self.stream, 'Data': 'aGk=', 'PartitionKey': 'k'})

    def assert_closed_unanswered(self, sock):
        sock.settimeout(20)
        try:
            got = sock.recv(65536)
        except ConnectionResetError:
            got = b''
        self.assertEqual(got, b'', 'expected the server to close the connection unanswered')

    def test_a_chunk_line_or_trailer_block_past_the_limit_is_refused_at_once(self):
        # Regression: Beast keeps a chunk-size line (with extensions) and the trailer block in
        # the read buffer until they end; the buffer grew without bound (2 GB from one
        # connection in 5 s). Now past max_header_bytes + 128 KiB: 431 and closed, without
        # waiting for the rest or for the read timeout.
        head = ('POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: %s\r\n'
                'X-Amz-Target: %s.ListStreams\r\nX-Amz-Date: %s\r\nAuthorization: %s\r\n'
                'Transfer-Encoding: chunked\r\n\r\n' % (h.JSON_CT, h.TARGET_PREFIX, h.amz_date(),
                                                       h.dummy_auth_header())).encode()
        for name, start, filler in (
                ('trailers', b'2\r\n{}\r\n0\r\n', b'X-T: ' + b'y' * 1000 + b'\r\n'),
                ('extension', b'2;', b'x' * 1000)):
            with socket.create_connection((self.server.host, self.server.port), timeout=10) as s:
                s.sendall(head + start)
                sent = 0
                try:
                    while sent < 4 << 20:  # the server answers long before 4 MB
                        s.sendall(filler)
                        sent += len(filler)
                except (BrokenPipeError, ConnectionResetError):
                    pass
                self.assertLess(sent, 4 << 20, name)
                status, _, _, _ = read_answer(s)
                self.assertEqual(status, 'HTTP/1.1 431 Request Header Fields Too Large', name)
                self.assertTrue(closed_by_server(s), name)
        # A trailer within the limit is still accepted.
        with socket.create_connection((self.server.host, self.server.port), timeout=10) as s:
            s.sendall(head + b'2\r\n{}\r\n0\r\nX-T: ' + b'y' * 1000 + b'\r\n\r\n')
            status, _, body, _ = read_answer(s)
            self.assertEqual(status, 'HTTP/1.1 200 OK', body)

    def test_a_partial_header_is_closed_after_the_read_timeout(self):
        with socket.create_connection((self.server.host, self.server.port), timeout=10) as s:
            s.sendall(b'POST / HTTP/1.1\r\nHost: 127.0.0.1\r\n')
            self.assert_closed_unanswered(s)

    def test_a_partial_body_is_closed_after_the_read_timeout(self):
        with socket.create_connection((self.server.host, self.server.port), timeout=10) as s:
            s.sendall(self.put()[:-5])
            self.assert_closed_unanswered(s)

    def test_an_idle_keep_alive_connection_is_closed_after_the_idle_timeout(self):
        with socket.create_connection((self.server.host, self.server.port), timeout=10) as s:
            s.sendall(self.put())
            self.assertEqual(read_answer(s)[0], 'HTTP/1.1 200 OK')
            self.assert_closed_unanswered(s)

    def test_a_busy_connection_outlives_every_timeout(self):
        """30 requests 0.1 s apart (3 s, beyond the read, idle and write timeouts): each deadline
        is pushed past the one before, and none closes the connection."""
        with socket.create_connection((self.server.host, self.server.port), timeout=10) as s:
            for _ in range(30):
                s.sendall(self.put())
                self.assertEqual(read_answer(s)[0], 'HTTP/1.1 200 OK')
                time.sleep(0.1)

    def test_answers_left_unread_are_dropped_after_the_write_timeout(self):
        """Pipelined console requests whose answers (31 KB each) the client does not read: once a
        write makes no progress for the write timeout the connection is closed, so not every
        answer arrives when the client finally reads."""
        count = 300
        one = b'GET /_cinesis/console/app.js HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.connect((self.server.host, self.server.port))
        self.addCleanup(s.close)

        def send():
            try:
                s.sendall(one * count)
            except OSError:
                pass  # the server closed the connection

        sender = threading.Thread(target=send, daemon=True)
        sender.start()
        time.sleep(3)  # ten write timeouts without reading
        s.settimeout(20)
        data = b''
        try:
            while True:
                chunk = s.recv(1 << 20)
                if not chunk:
                    break
                data += chunk
        except ConnectionResetError:
            pass
        answers = data.count(b'HTTP/1.1 200 OK\r\n')
        self.assertGreater(answers, 0)
        self.assertLess(answers, count)
