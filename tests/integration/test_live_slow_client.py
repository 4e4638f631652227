"""Issue 18 acceptance: a WebSocket tail client that reads slowly for 60 s while 1,000,000
records are written keeps the server's memory bounded (the per-connection queue of
docs/console.md: the server stops reading the shard while the queue is full and resumes from
the client's position) and still receives every record, exactly once and in order.

Runs in CI's debug stage with the other integration tests (label `integration`; about 1.5
minutes). CINESIS_SLOW_CLIENT_SECONDS shortens the slow phase when run by hand.
"""

import base64
import http.client
import json
import os
import shutil
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import CinesisServer  # noqa: E402
from wsclient import WsClient  # noqa: E402

RECORDS = 1_000_000
BATCH = 500
SLOW_SECONDS = float(os.environ.get('CINESIS_SLOW_CLIENT_SECONDS', '60'))
# docs/console.md: the server's RSS may grow by at most this much over its RSS before the
# writes (storage index and heap for 1M records included; the queue itself is ~1000 records).
RSS_BOUND_BYTES = 48 << 20


def rss_bytes(pid):
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1]) * 1024
    return 0


class SlowClientTest(unittest.TestCase):
    def test_slow_reader_bounded_memory_and_every_record(self):
        data_dir = tempfile.mkdtemp(prefix='cinesis-slow-')
        self.addCleanup(shutil.rmtree, data_dir, True)
        srv = CinesisServer('--fsync', 'never', data_dir=data_dir).start()
        self.addCleanup(harness.stop_server_checked, srv)
        client = harness.make_client(srv.endpoint)
        name = harness.create_stream(self, client, shards=1, prefix='slow')
        pid = srv.proc.pid

        c = WsClient(srv.host, srv.port, rcvbuf=32 * 1024, timeout=60)
        self.addCleanup(c.close)
        c.send({'op': 'tail', 'id': 't', 'stream': name, 'from': 'TRIM_HORIZON'})
        time.sleep(0.2)
        baseline = rss_bytes(pid)
        peak = [baseline]
        stop = threading.Event()

        def sample():
            while not stop.is_set():
                peak[0] = max(peak[0], rss_bytes(pid))
                time.sleep(0.2)

        written = [0]
        writer_error = []

        def write():
            try:
                conn = http.client.HTTPConnection(srv.host, srv.port, timeout=60)
                headers = dict(harness.kinesis_headers('PutRecords'))
                for start in range(0, RECORDS, BATCH):
                    recs = [{'PartitionKey': 'k', 'Data': base64.b64encode(b'%08d' % i).decode()}
                            for i in range(start, start + BATCH)]
                    conn.request('POST', '/', body=json.dumps({'StreamName': name, 'Records': recs}),
                                 headers=headers)
                    r = conn.getresponse()
                    body = json.loads(r.read())
                    if r.status != 200 or body['FailedRecordCount']:
                        raise AssertionError('PutRecords: %d %r' % (r.status, body)[:300])
                    written[0] = start + BATCH
                conn.close()
            except Exception as e:  # reported by the main thread
                writer_error.append(e)

        sampler = threading.Thread(target=sample, daemon=True)
        writer = threading.Thread(target=write, daemon=True)
        sampler.start()
        writer.start()

        expected = 0
        last_seq = 0
        slow_until = time.monotonic() + SLOW_SECONDS
        deadline = time.monotonic() + SLOW_SECONDS + 120
        while expected < RECORDS:
            self.assertFalse(writer_error, writer_error)
            self.assertLess(time.monotonic(), deadline, 'got %d of %d records' % (expected, RECORDS))
            m = c.recv()
            self.assertEqual(m['type'], 'records', m)
            for r in m['records']:
                self.assertEqual(base64.b64decode(r['data']), b'%08d' % expected)
                seq = int(r['seq'])
                self.assertGreater(seq, last_seq)
                last_seq = seq
                expected += 1
            if time.monotonic() < slow_until:
                time.sleep(0.1)  # the slow phase: about 10 messages a second
        writer.join(60)
        stop.set()
        sampler.join(5)
        self.assertFalse(writer_error, writer_error)
        self.assertEqual(written[0], RECORDS)
        growth = peak[0] - baseline
        sys.stderr.write('\nslow client: RSS before %.1f MiB, peak %.1f MiB (+%.1f MiB) for %d records\n'
                         % (baseline / 2**20, peak[0] / 2**20, growth / 2**20, RECORDS))
        self.assertLess(growth, RSS_BOUND_BYTES)


if __name__ == '__main__':
    unittest.main()
