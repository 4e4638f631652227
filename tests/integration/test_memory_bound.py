"""``--in-memory --max-memory-bytes`` (issue 19): the real server keeps the newest records within
the bound, trims the oldest of every shard first, and readers see what retention would leave
them (docs/storage-format.md, "Memory bound").

Run:  /usr/bin/python3 -m unittest -v tests/integration/test_memory_bound.py
"""

import base64
import subprocess
import tempfile
import unittest

from . import harness as h

BOUND = 100000
# Each record: 5-digit number + 95 bytes of data, a 2..4-byte key, a 32-byte index entry.
RECORD_COST = 100 + 3 + 32


class MemoryBound(h.ServerTestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = h.CinesisServer('--max-memory-bytes', BOUND).start()

    @classmethod
    def tearDownClass(cls):
        h.stop_server_checked(cls.server)

    def ok(self, op, payload):
        r = h.kinesis_call(self.server, op, payload)
        self.assertEqual(r.status, 200, r)
        return r.json() if r.body else {}

    def test_oldest_records_of_every_shard_go_first_and_trim_horizon_moves(self):
        self.ok('CreateStream', {'StreamName': 'bound', 'ShardCount': 2})
        first = {}
        for b in range(10):
            records = [{'Data': h.b64(b'%05d' % (b * 200 + i) + b'x' * 95), 'PartitionKey': 'k%d' % i}
                       for i in range(200)]
            out = self.ok('PutRecords', {'StreamName': 'bound', 'Records': records})
            self.assertEqual(out['FailedRecordCount'], 0)
            if b == 0:
                for rec in out['Records']:
                    first.setdefault(rec['ShardId'], rec['SequenceNumber'])
        kept = []
        for shard in ('shardId-000000000000', 'shardId-000000000001'):
            it = self.ok('GetShardIterator', {'StreamName': 'bound', 'ShardId': shard,
                                              'ShardIteratorType': 'TRIM_HORIZON'})['ShardIterator']
            got = self.ok('GetRecords', {'ShardIterator': it})['Records']
            numbers = [int(base64.b64decode(r['Data'])[:5]) for r in got]
            self.assertTrue(numbers, shard)
            kept += numbers
            # An iterator at the shard's first (trimmed) record starts at the oldest kept one.
            at = self.ok('GetShardIterator', {'StreamName': 'bound', 'ShardId': shard,
                                              'ShardIteratorType': 'AT_SEQUENCE_NUMBER',
                                              'StartingSequenceNumber': first[shard]})['ShardIterator']
            self.assertEqual(self.ok('GetRecords', {'ShardIterator': at})['Records'][0]['SequenceNumber'],
                             got[0]['SequenceNumber'])
        # The newest records are kept, about BOUND's worth; the oldest are gone from both shards.
        self.assertIn(1999, kept)
        self.assertNotIn(0, kept)
        self.assertLessEqual(len(kept) * RECORD_COST, BOUND + 1000)
        self.assertGreater(len(kept) * RECORD_COST, BOUND * 3 // 4)
        # Everything kept is newer than everything trimmed (to a batch's worth: a batch's
        # records of one shard arrive together).
        self.assertGreaterEqual(min(kept), 2000 - len(kept) - 200)


class MemoryBoundNeedsInMemory(unittest.TestCase):
    def test_without_in_memory_the_option_is_a_usage_error(self):
        with tempfile.TemporaryDirectory() as d:
            p = subprocess.run([h.binary_path(), 'serve', '--data-dir', d, '--port', '0',
                                '--max-memory-bytes', '1000'], capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn('--in-memory', p.stderr)


if __name__ == '__main__':
    unittest.main()
