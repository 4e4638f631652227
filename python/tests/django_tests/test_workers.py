"""3 worker processes started by `manage.py consume` share 6 shards through the Django
database (SQLite file) against a real `cinesis serve`; one is kill -9'd, the others take
over its shards; every record is handled, none lost; SIGTERM stops the others cleanly."""

import glob
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time

import pytest

import support

import cinesis

HERE = os.path.dirname(os.path.abspath(__file__))
PYTHONPATH = os.pathsep.join([os.path.dirname(HERE), os.path.dirname(os.path.dirname(HERE))])

needs = pytest.mark.skipif(
    support.library_error() is not None or support.server_binary() is None
    or bool(os.environ.get('CINESIS_TEST_PG')),
    reason='libcinesis or the cinesis binary not built (or the PostgreSQL run: the workers '
           'use their own SQLite file, tested once)')


def _env(tmp, endpoint, stream):
    env = dict(os.environ, PYTHONPATH=PYTHONPATH, DJANGO_SETTINGS_MODULE='django_tests.worker_settings',
               CINESIS_TEST_DB=os.path.join(tmp, 'db.sqlite3'), CINESIS_TEST_ENDPOINT=endpoint,
               CINESIS_TEST_STREAM=stream, CINESIS_TEST_OUT=os.path.join(tmp, 'handled'))
    return env


def _handled(tmp):
    out = {}
    for path in glob.glob(os.path.join(tmp, 'handled.*')):
        with open(path, 'rb') as f:
            out[path] = [line for line in f.read().split(b'\n') if line]
    return out


def _owners(tmp):
    db = sqlite3.connect(os.path.join(tmp, 'db.sqlite3'), timeout=30)
    try:
        return dict(db.execute("select shard_id, owner from cinesis_lease where shard_id like "
                               "'shardId-%' and expires_at_ms > ?", (int(time.time() * 1000),)))
    finally:
        db.close()


@needs
def test_three_workers_share_six_shards_and_survive_kill_9():
    server = support.Server(support.server_binary()).start()
    tmp = tempfile.mkdtemp(prefix='cinesis-workers-')
    procs = []
    try:
        stream = support.unique('work')
        client = cinesis.Client(endpoint=server.endpoint, region='us-east-1')
        client.create_stream(stream, shard_count=6)
        env = _env(tmp, server.endpoint, stream)
        subprocess.check_call([sys.executable, '-m', 'django', 'migrate', '-v', '0'], env=env)
        expected = set()
        with client.producer(stream) as producer:
            for i in range(600):
                data = ('r%04d' % i).encode('ascii')
                expected.add(data)
                producer.put(data, partition_key='k%d' % i)
        for w in range(3):
            procs.append(subprocess.Popen(
                [sys.executable, '-m', 'django', 'consume', 'work',
                 'django_tests.handlers.append_to_file', '--worker-id', 'w%d' % w],
                env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT))
        deadline = time.time() + 60
        while time.time() < deadline:
            owners = _owners(tmp)
            if len(owners) == 6 and len(set(owners.values())) == 3:
                break
            time.sleep(0.2)
        owners = _owners(tmp)
        if not (len(owners) == 6 and len(set(owners.values())) == 3):
            for p in procs:
                if p.poll() is None:
                    os.kill(p.pid, signal.SIGKILL)
            outs = [p.communicate()[0].decode('utf-8', 'replace')[-3000:] for p in procs]
            raise AssertionError('shards not shared by 3 workers: %r\n%s' % (
                owners, '\n---\n'.join(outs)))
        victim = procs[0]
        victim_shards = [s for s, o in owners.items() if o == 'w0']
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait()
        with client.producer(stream) as producer:
            for i in range(600, 1200):
                data = ('r%04d' % i).encode('ascii')
                expected.add(data)
                producer.put(data, partition_key='k%d' % i)
        deadline = time.time() + 90
        while time.time() < deadline:
            seen = set(x for lines in _handled(tmp).values() for x in lines)
            if expected <= seen:
                break
            time.sleep(0.25)
        seen = set(x for lines in _handled(tmp).values() for x in lines)
        assert expected - seen == set(), 'lost records: %d' % len(expected - seen)
        owners = _owners(tmp)
        for shard in victim_shards:
            assert owners.get(shard) in ('w1', 'w2'), owners
        for p in procs[1:]:
            os.kill(p.pid, signal.SIGTERM)
        for p in procs[1:]:
            out = p.communicate(timeout=30)[0].decode('utf-8', 'replace')
            assert p.returncode == 0, out
            assert 'handled' in out
        client.close()
    finally:
        for p in procs:
            if p.poll() is None:
                os.kill(p.pid, signal.SIGKILL)
                p.wait()
        server.stop()
