"""Never lose data: the data directory under attack, with the real server and boto3.

- Two servers on one directory: the second refuses to start and names the holder's pid; a
  lock left by a kill -9'd server never blocks the restart.
- The directory is created 0700 and its files 0600.
- meta.sqlite deleted, truncated, or its WAL lost while the server is down: the server
  refuses to start and deletes nothing; with --recover-metadata every acknowledged record
  is back, in its shard, with its sequence number.
- A full disk (a 4 MiB tmpfs mounted for the test): writes fail with InternalFailure, an
  error line names the segment's path, and once space is freed writes succeed again;
  after a restart every acknowledged record is there and none answered as failed.

The tmpfs needs root (mount); under CI=true its absence is a failure, elsewhere a skip (the
same behaviour is covered through the fault-injecting Env in tests/unit/storage_test.cc).

Run: CINESIS_BIN=build/debug/apps/cinesis/cinesis /usr/bin/python3 -m unittest -v tests/integration/test_data_dir.py
"""

import os
import re
import shutil
import stat
import subprocess
import tempfile
import unittest

from tests.integration import harness


def _put_batch(client, stream, prefix, n, size=20):
    """PutRecords of n records; returns (acknowledged, failed) as lists of
    (data, shard, sequence) / data. A whole-request error fails every entry."""
    records = [{'Data': ('%s-%d' % (prefix, i)).encode() * size, 'PartitionKey': '%s-%d' % (prefix, i)}
               for i in range(n)]
    try:
        out = client.put_records(StreamName=stream, Records=records)
    except Exception as e:  # InternalFailure (500) for the whole request
        return [], [r['Data'] for r in records], harness.error_of(e)
    acked, failed = [], []
    for r, e in zip(records, out['Records']):
        if 'SequenceNumber' in e:
            acked.append((r['Data'], e['ShardId'], e['SequenceNumber']))
        else:
            failed.append(r['Data'])
    return acked, failed, None


def _read_all(client, stream):
    found = []
    shards = client.list_shards(StreamName=stream)['Shards']
    for sh in shards:
        for rec in harness.read_shard(client, stream, sh['ShardId']):
            found.append((rec['Data'], sh['ShardId'], rec['SequenceNumber']))
    return found


class DataDirTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix='cinesis-datadir-')
        self.dir = os.path.join(self.tmp, 'data')
        self.servers = []

    def tearDown(self):
        for s in self.servers:
            if s.is_alive():
                s.stop()
            s.cleanup_files()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def start(self, *args, data_dir=None, expect_fail=False):
        srv = harness.CinesisServer(*args, data_dir=data_dir or self.dir, startup_timeout=20)
        self.servers.append(srv)
        if expect_fail:
            with self.assertRaises(harness.ServerStartError) as cm:
                srv.start()
            return srv, str(cm.exception)
        return srv.start(), None

    def client(self, srv):
        return harness.make_client(srv.endpoint)

    def files(self, top):
        out = {}
        for root, _, names in os.walk(top):
            for n in names:
                p = os.path.join(root, n)
                out[os.path.relpath(p, top)] = os.path.getsize(p)
        return out

    # -- the lock ------------------------------------------------------------------------
    def test_second_server_on_one_directory_is_refused_and_a_killed_holder_never_blocks(self):
        first, _ = self.start()
        c = self.client(first)
        c.create_stream(StreamName='s', ShardCount=1)
        harness.wait_active(c, 's')
        acked, _, _ = _put_batch(c, 's', 'one', 10)
        self.assertEqual(len(acked), 10)
        second, why = self.start(expect_fail=True)
        self.assertIn('pid %d' % first.proc.pid, why)
        self.assertIn('another cinesis server uses it', why)
        self.assertNotEqual(second.proc.poll(), 0)
        self.assertTrue(first.is_alive())
        # The holder dies without unlocking: the next start must not be blocked.
        first.crash()
        third, _ = self.start()
        self.assertEqual(sorted(_read_all(self.client(third), 's')), sorted(acked))

    def test_directory_is_0700_and_files_0600(self):
        srv, _ = self.start()
        c = self.client(srv)
        c.create_stream(StreamName='p', ShardCount=1)
        harness.wait_active(c, 'p')
        _put_batch(c, 'p', 'x', 3)
        srv.stop()
        seen = 0
        for root, dirs, names in os.walk(self.dir):
            for d in [root] + [os.path.join(root, x) for x in dirs]:
                self.assertEqual(stat.S_IMODE(os.stat(d).st_mode), 0o700, d)
            for n in names:
                p = os.path.join(root, n)
                self.assertEqual(stat.S_IMODE(os.stat(p).st_mode), 0o600, p)
                seen += 1
        self.assertGreaterEqual(seen, 4)

    def test_sigterm_right_after_listening_exits_0(self):
        # Regression: the port was announced before SIGTERM was caught, so a supervisor that
        # stopped the server at once killed it (exit -15) instead of a clean stop (exit 0).
        for i in range(25):
            srv, _ = self.start(data_dir=os.path.join(self.tmp, 'quick%d' % i))
            self.assertEqual(srv.stop(), 0, srv.stderr_text(limit=2000))

    def test_self_signed_certificate_file_is_0600(self):
        tls_dir = os.path.join(self.tmp, 'tls')
        srv, _ = self.start('--tls-self-signed', data_dir=tls_dir)
        self.assertEqual(srv.stop(), 0)
        pem = os.path.join(tls_dir, 'cinesis-selfsigned.pem')
        self.assertTrue(os.path.exists(pem))
        self.assertEqual(stat.S_IMODE(os.stat(pem).st_mode), 0o600)

    # -- lost metadata -------------------------------------------------------------------
    def _fill(self):
        srv, _ = self.start()
        c = self.client(srv)
        c.create_stream(StreamName='keep', ShardCount=3)
        harness.wait_active(c, 'keep')
        acked = []
        for k in range(5):
            a, f, err = _put_batch(c, 'keep', 'b%d' % k, 200)
            self.assertFalse(f, err)
            acked += a
        return srv, acked

    def _lost_metadata(self, damage):
        srv, acked = self._fill()
        srv.crash()  # as a crash: the WAL is not checkpointed into meta.sqlite
        damage()
        def records_and_descriptors():
            return {k: v for k, v in self.files(self.dir).items()
                    if k.startswith('logs') and (k.endswith('.log') or k.endswith('DESCRIPTOR'))}
        before = records_and_descriptors()
        self.assertEqual(len([k for k in before if k.endswith('.log')]), 3)
        refused, why = self.start(expect_fail=True)
        self.assertIn('--recover-metadata', why)
        self.assertNotEqual(refused.proc.poll(), 0)
        self.assertEqual(records_and_descriptors(), before, 'a refused start must not delete or change a log')
        srv2, _ = self.start('--recover-metadata')
        self.assertIn('rebuilt from its logs', srv2.stderr_text())
        got = _read_all(self.client(srv2), 'keep')
        self.assertEqual(sorted(got), sorted(acked))
        # Writes continue; a plain restart needs no flag any more.
        a, f, _ = _put_batch(self.client(srv2), 'keep', 'after', 10)
        self.assertEqual(len(a), 10)
        self.assertEqual(srv2.stop(), 0)
        srv3, _ = self.start()
        self.assertEqual(len(_read_all(self.client(srv3), 'keep')), len(acked) + 10)

    def test_deleted_metadata_refuses_start_then_recovers_every_record(self):
        def damage():
            for f in ('meta.sqlite', 'meta.sqlite-wal', 'meta.sqlite-shm'):
                p = os.path.join(self.dir, f)
                if os.path.exists(p):
                    os.unlink(p)
        self._lost_metadata(damage)

    def test_lost_wal_refuses_start_then_recovers_every_record(self):
        def damage():
            for f in ('meta.sqlite-wal', 'meta.sqlite-shm'):
                p = os.path.join(self.dir, f)
                if os.path.exists(p):
                    os.unlink(p)
        self._lost_metadata(damage)

    def test_truncated_metadata_refuses_start_then_recovers_every_record(self):
        def damage():
            for f in ('meta.sqlite-wal', 'meta.sqlite-shm'):
                p = os.path.join(self.dir, f)
                if os.path.exists(p):
                    os.unlink(p)
            with open(os.path.join(self.dir, 'meta.sqlite'), 'r+b') as f:
                f.truncate(1000)  # not even one page: "file is not a database"
        self._lost_metadata(damage)

    # -- a full disk -----------------------------------------------------------------------
    def test_full_disk_fails_writes_logs_the_path_and_resumes_when_space_is_freed(self):
        mnt = os.path.join(self.tmp, 'small')
        os.mkdir(mnt)
        rc = subprocess.call(['mount', '-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', mnt],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if rc != 0:
            msg = 'cannot mount a tmpfs here (needs root); storage_test covers ENOSPC via FaultEnv'
            if os.environ.get('CI') == 'true':
                self.fail(msg)
            self.skipTest(msg)
        self.addCleanup(subprocess.call, ['umount', '-l', mnt])
        data = os.path.join(mnt, 'data')
        srv, _ = self.start('--segment-bytes', '1048576', data_dir=data)
        c = self.client(srv)
        c.create_stream(StreamName='full', ShardCount=1)
        harness.wait_active(c, 'full')
        # Leave little room: a filler file we can delete to free space.
        filler = os.path.join(mnt, 'filler')
        with open(filler, 'wb') as f:
            try:
                f.write(b'\0' * (3 * 1024 * 1024 + 256 * 1024))
            except OSError:
                pass
        acked, failed, errors = [], [], set()
        for k in range(40):
            a, f, err = _put_batch(c, 'full', 'f%d' % k, 100, size=200)
            acked += a
            failed += f
            if err:
                errors.add(err[0] if isinstance(err, tuple) else str(err))
            if failed and k > 5:
                break
        self.assertTrue(failed, 'the disk never filled up')
        self.assertIn('InternalFailure', ' '.join(str(e) for e in errors))
        log = srv.stderr_text()
        self.assertRegex(log, r'write to %s/logs/[0-9a-f]{16}/\d{20}\.log failed: .*No space left on device'
                         % re.escape(data))
        os.unlink(filler)  # space freed: writes work again, without a restart
        later, f2, err = _put_batch(c, 'full', 'later', 50)
        self.assertEqual(len(later), 50, err)
        acked += later
        self.assertEqual(srv.stop(), 0)
        srv2, _ = self.start(data_dir=data)
        got = _read_all(self.client(srv2), 'full')
        self.assertEqual(sorted(got), sorted(acked))
        answered_failed = set(failed) - {d for d, _, _ in acked}
        self.assertFalse(answered_failed & {d for d, _, _ in got},
                         'a record answered as failed reappeared after the restart')


if __name__ == '__main__':
    unittest.main()
