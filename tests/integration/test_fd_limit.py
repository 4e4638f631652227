"""File descriptors: a durable server under a low ``nofile`` limit (docs/storage-format.md, "Open files").

Segment files go through a bounded cache of open descriptors, so the number of streams is not
limited by the process's open-files limit:

- 10,000 single-shard streams are created, written, and the server restarted, all under
  ``prlimit --nofile=1024:1024``; after the restart every stream serves its records and takes
  new ones, and the process never holds more than the limit (before, CreateStream failed near
  stream 1010 and the server could not start again: "Too many open files").
- When the descriptors run short anyway (here: hundreds of idle client connections), requests
  that would create shards are refused with LimitExceededException, in AWS's shard-limit form,
  before anything fails; writes keep working, and once the connections are gone streams can be
  created again.
- At start the soft limit is raised to the hard limit.

The data directory lives in /dev/shm when there is one (tmpfs: fsync costs nothing, and this
test is about descriptors, not the disk), else in the temp directory (much slower).

Environment: CINESIS_BIN (see harness.py); CINESIS_FD_STREAMS (default 10000).

Run:  /usr/bin/python3 -m unittest -v tests/integration/test_fd_limit.py
"""

import base64
import http.client
import json
import os
import re
import shutil
import socket
import sys
import tempfile
import threading
import time
import unittest

from . import harness as h

STREAMS = int(os.environ.get('CINESIS_FD_STREAMS') or 10000)
NOFILE = 1024
THREADS = 8


class LimitedServer(h.CinesisServer):
    """``cinesis serve`` started through ``prlimit --nofile=SOFT:HARD`` (which execs it: same PID)."""

    def __init__(self, soft, hard, *args, **kw):
        super().__init__(*args, **kw)
        self.nofile = (soft, hard)

    def command(self):
        return ['prlimit', '--nofile=%d:%d' % self.nofile, '--'] + super().command()

    def open_files(self):
        return len(os.listdir('/proc/%d/fd' % self.proc.pid))

    def soft_limit(self):
        with open('/proc/%d/limits' % self.proc.pid) as f:
            for line in f:
                if line.startswith('Max open files'):
                    return int(line.split()[3])
        raise AssertionError('no "Max open files" in /proc/%d/limits' % self.proc.pid)


def data_dir_root():
    shm = '/dev/shm'
    return shm if os.path.isdir(shm) and os.access(shm, os.W_OK) else None


class Conn(object):
    """Kinesis JSON requests over one keep-alive HTTP/1.1 connection."""

    def __init__(self, server):
        self.conn = http.client.HTTPConnection(server.host, server.port, timeout=60)

    def call(self, op, payload):
        self.conn.request('POST', '/', json.dumps(payload).encode(), dict(h.kinesis_headers(op)))
        resp = self.conn.getresponse()
        body = resp.read()
        return resp.status, (json.loads(body) if body else {})

    def ok(self, op, payload):
        status, out = self.call(op, payload)
        if status != 200:
            raise AssertionError('%s %r -> %d %r' % (op, payload, status, out))
        return out

    def close(self):
        self.conn.close()


def in_parallel(server, items, work):
    """Runs work(conn, item) for every item on THREADS threads, each with its own connection."""
    errors = []

    def run(part):
        conn = Conn(server)
        try:
            for item in part:
                work(conn, item)
        except Exception as e:  # reported by the caller
            errors.append(e)
        finally:
            conn.close()

    threads = [threading.Thread(target=run, args=(items[i::THREADS],)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(600)
        if t.is_alive():
            errors.append(AssertionError('a worker thread did not finish within 600 s'))
    if errors:
        raise errors[0]


def name(i):
    return 'fd-%05d' % i


def data(i, round_):
    return ('stream %d record %d' % (i, round_)).encode()


class FdLimitTest(h.ServerTestCase):

    def setUp(self):
        self.servers = []
        self.dir = tempfile.mkdtemp(prefix='cinesis-fd-', dir=data_dir_root())

    def tearDown(self):
        for s in self.servers:
            if s.is_alive():
                s.stop()
            s.cleanup_files()
        shutil.rmtree(self.dir, ignore_errors=True)

    def start(self, soft, hard, *args, durable=True):
        srv = LimitedServer(soft, hard, *args, data_dir=self.dir if durable else None,
                            startup_timeout=180)
        self.servers.append(srv)
        type(self).server = srv  # ServerTestCase prints its stderr on failure
        return srv.start()

    def stop(self, srv):
        rc = srv.stop(timeout=120)
        self.assertEqual(rc, 0, 'server did not stop cleanly:\n' + srv.stderr_text(limit=4000))

    def test_soft_limit_is_raised_to_the_hard_limit_at_start(self):
        srv = self.start(1024, 4096, durable=False)
        self.assertEqual(srv.soft_limit(), 4096)
        self.assertIn('open files limit raised from 1024 to 4096', srv.stderr_text())

    def test_ten_thousand_streams_restart_and_serve_under_nofile_1024(self):
        t0 = time.monotonic()
        srv = self.start(NOFILE, NOFILE)
        self.assertEqual(srv.soft_limit(), NOFILE)
        in_parallel(srv, list(range(STREAMS)),
                    lambda c, i: c.ok('CreateStream', {'StreamName': name(i), 'ShardCount': 1}))
        t_created = time.monotonic()

        def put(round_):
            def work(c, i):
                out = c.ok('PutRecord', {'StreamName': name(i), 'PartitionKey': 'k',
                                         'Data': base64.b64encode(data(i, round_)).decode()})
                self.assertEqual(out['ShardId'], 'shardId-000000000000')
            return work

        in_parallel(srv, list(range(STREAMS)), put(0))
        self.assertLess(srv.open_files(), NOFILE)
        peak_before = srv.open_files()
        self.stop(srv)
        t_first = time.monotonic()

        srv = self.start(NOFILE, NOFILE)  # failed before: "Too many open files"
        t_restarted = time.monotonic()

        def put_and_read(c, i):
            put(1)(c, i)
            it = c.ok('GetShardIterator', {'StreamName': name(i), 'ShardId': 'shardId-000000000000',
                                           'ShardIteratorType': 'TRIM_HORIZON'})['ShardIterator']
            got = c.ok('GetRecords', {'ShardIterator': it})
            self.assertEqual([base64.b64decode(r['Data']) for r in got['Records']],
                             [data(i, 0), data(i, 1)], name(i))

        in_parallel(srv, list(range(STREAMS)), put_and_read)
        self.assertLess(srv.open_files(), NOFILE)
        peak_after = srv.open_files()
        self.stop(srv)
        t_end = time.monotonic()
        sys.stderr.write('\n[fd-limit] %d streams under nofile %d (%s): create %.1fs, put + stop %.1fs, '
                         'restart %.1fs, put + read %.1fs + stop, total %.1fs; open files %d / %d\n'
                         % (STREAMS, NOFILE, data_dir_root() or tempfile.gettempdir(), t_created - t0,
                            t_first - t_created, t_restarted - t_first, t_end - t_restarted, t_end - t0,
                            peak_before, peak_after))

    def test_shard_creating_requests_are_refused_before_descriptors_run_out(self):
        srv = self.start(NOFILE, NOFILE)
        conn = Conn(srv)
        conn.ok('CreateStream', {'StreamName': 'a', 'ShardCount': 2})
        before = srv.open_files()
        # Idle connections take descriptors the storage would need (half the limit is its
        # cache of segment files, a quarter of that the flushers', 64 spare).
        socks = []
        try:
            for _ in range(400):
                socks.append(socket.create_connection((srv.host, srv.port), timeout=10))
            deadline = time.monotonic() + 30
            while srv.open_files() < before + 400:
                self.assertLess(time.monotonic(), deadline, 'the server did not accept 400 connections')
                time.sleep(0.05)
            refused = ('This request would exceed the shard limit for the account %s in %s. '
                       'Current shard count for the account: 2. Limit: 2. Number of additional shards '
                       'that would have resulted from this request: %%d. Refer to the AWS Service Limits '
                       'page (http://docs.aws.amazon.com/general/latest/gr/aws_service_limits.html) for '
                       'current limits and how to request higher limits.' % (h.ACCOUNT_ID, h.REGION))
            status, out = conn.call('CreateStream', {'StreamName': 'b', 'ShardCount': 1})
            self.assertEqual((status, out.get('__type')), (400, 'LimitExceededException'), out)
            self.assertEqual(out.get('message'), refused % 1)
            status, out = conn.call('SplitShard', {'StreamName': 'a', 'ShardToSplit': 'shardId-000000000000',
                                                   'NewStartingHashKey': '12345'})
            self.assertEqual((status, out.get('__type'), out.get('message')),
                             (400, 'LimitExceededException', refused % 2))
            # The streams there are keep working.
            conn.ok('PutRecord', {'StreamName': 'a', 'PartitionKey': 'k', 'Data': 'AA=='})
        finally:
            for s in socks:
                s.close()
        deadline = time.monotonic() + 30
        while srv.open_files() > before + 10:
            self.assertLess(time.monotonic(), deadline, 'the server kept the closed connections')
            time.sleep(0.05)
        conn.ok('CreateStream', {'StreamName': 'b', 'ShardCount': 1})
        conn.close()
        self.stop(srv)


if __name__ == '__main__':
    unittest.main()
