"""pynesis's documented examples, unchanged, against a real `cinesis serve`: a boto3 client
passed as kinesis_client (its endpoint/region/credentials drive the C++ path), the reading
loop with stop(), put, and the Redis checkpointer resume (a real redis-server on a free
loopback port). Needs boto3 (Debian's /usr/bin/python3); redis-py for the Redis test."""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest

import support
from support import needs_library, unique

try:
    import boto3
except ImportError:  # the pyenv interpreters have the standard library only
    boto3 = None

from pynesis import checkpointers, streams


def _free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


class RedisServer(object):
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix='cinesis-redis-')
        self.port = _free_port()
        self.proc = subprocess.Popen(['redis-server', '--port', str(self.port), '--bind',
                                      '127.0.0.1', '--save', '', '--appendonly', 'no',
                                      '--dir', self.dir], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                socket.create_connection(('127.0.0.1', self.port), 0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError('redis-server did not start')

    def stop(self):
        self.proc.kill()
        self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


@needs_library
@unittest.skipIf(boto3 is None, 'boto3 not installed for this interpreter')
class PynesisAgainstServerTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = support.shared_server()
        if cls.server is None:
            if support.CI:
                raise AssertionError('cinesis binary not built (CINESIS_BIN)')
            raise unittest.SkipTest('cinesis binary not built')

    def setUp(self):
        self.boto = boto3.client('kinesis', endpoint_url=self.server.endpoint,
                                 region_name='us-east-1', aws_access_key_id='x',
                                 aws_secret_access_key='x')
        self.name = unique('pynesis')
        self.boto.create_stream(StreamName=self.name, ShardCount=2)
        self.boto.get_waiter('stream_exists').wait(StreamName=self.name,
                                                   WaiterConfig={'Delay': 0.1})

    def tearDown(self):
        self.boto.delete_stream(StreamName=self.name)

    def test_reading_loop_with_stop_and_put(self):
        stream = streams.KinesisStream(self.name, 'us-east-1', kinesis_client=self.boto,
                                       read_interval=0.1)
        for i in range(20):
            stream.put('key%d' % i, ('value %d' % i).encode('ascii'))
        seen = []
        for record in stream.read():
            seen.append(record.data)
            if len(seen) == 20:
                stream.stop()
        self.assertEqual(sorted(seen), sorted(('value %d' % i).encode('ascii')
                                              for i in range(20)))

    def test_redis_checkpointer_resume(self):
        if shutil.which('redis-server') is None:
            self.skipTest('redis-server not installed')
        try:
            import redis  # noqa: F401
        except ImportError:
            self.skipTest('redis-py not installed')
        server = RedisServer()
        try:
            def make():
                cp = checkpointers.RedisCheckpointer(redis_host='127.0.0.1',
                                                     redis_port=server.port,
                                                     key='kinesis:%s' % self.name)
                return streams.KinesisStream(self.name, 'us-east-1', kinesis_client=self.boto,
                                             checkpointer=cp, read_interval=0.1)
            stream = make()
            for i in range(10):
                stream.put('k%d' % i, ('a%d' % i).encode('ascii'))
            first = []
            for record in stream.read():
                first.append(record.data)
                if len(first) == 10:
                    stream.stop()
            stream.put('k', b'after restart')
            again = make()  # a new process would do the same: resume from Redis
            second = []
            for record in again.read():
                second.append(record.data)
                again.stop()
            self.assertEqual(second, [b'after restart'])
        finally:
            server.stop()

    def _stderr_of(self, fn):
        """fn() with file descriptor 2 sent to a file; (result or exception, its text)."""
        sys.stderr.flush()
        saved = os.dup(2)
        with tempfile.TemporaryFile() as f:
            os.dup2(f.fileno(), 2)
            try:
                try:
                    out = fn()
                except Exception as e:  # noqa: B902 - returned to the test
                    out = e
                time.sleep(0.3)  # lines the library's threads may still write
            finally:
                os.dup2(saved, 2)
                os.close(saved)
            f.seek(0)
            return out, f.read().decode('utf-8', 'replace')

    def test_errors_are_botocore_client_errors(self):
        from botocore.exceptions import ClientError
        import cinesis
        missing = unique('missing')
        stream = streams.KinesisStream(missing, 'us-east-1', kinesis_client=self.boto,
                                       read_interval=0.1)
        for op, fn in (('PutRecord', lambda: stream.put('k', b'x')),
                       ('ListShards', lambda: next(stream.read()))):
            e, err = self._stderr_of(fn)
            self.assertIsInstance(e, ClientError)
            self.assertIsInstance(e, self.boto.exceptions.ResourceNotFoundException)
            self.assertIsInstance(e, cinesis.ResourceNotFoundException)  # still cinesis's
            self.assertEqual(e.response['Error']['Code'], 'ResourceNotFoundException')
            self.assertIn(missing, e.response['Error']['Message'])
            self.assertEqual(e.operation_name, op)
            self.assertIn('when calling the %s operation' % op, str(e))
            self.assertNotIn('cinesis: error', err)  # raised, not also printed

    def test_errors_with_the_default_client_are_client_errors_too(self):
        # pynesis made a boto3 client when given none: code written for it catches
        # ClientError
        from botocore.exceptions import ClientError
        os.environ['AWS_ENDPOINT_URL_KINESIS'] = self.server.endpoint
        try:
            stream = streams.KinesisStream(unique('missing'), 'us-east-1',
                                           aws_access_key_id='x', aws_secret_access_key='x')
        finally:
            del os.environ['AWS_ENDPOINT_URL_KINESIS']
        with self.assertRaises(ClientError) as ctx:
            stream.put('k', b'x')
        self.assertEqual(ctx.exception.response['Error']['Code'], 'ResourceNotFoundException')


if __name__ == '__main__':
    unittest.main()
