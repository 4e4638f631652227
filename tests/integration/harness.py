"""Shared harness for the cinesis-server integration tests.

Black-box helpers only: the tests start the real ``cinesis`` binary as a child
process and talk to it over TCP with boto3, the AWS CLI, or raw HTTP.

Environment:
  CINESIS_BIN   path of the server binary
                (default: <repo>/build/debug/apps/cinesis; when that is the CMake
                target directory, the executable <dir>/cinesis inside it)

Expectations (error types, message texts, hash ranges ...) come from
/work/shared/reference/kinesis-behaviour.md and kinesis-api.md, i.e. from the
behaviour of the real AWS service, not from the server under test.
"""

import atexit
import base64
import datetime
import hashlib
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import uuid

import boto3
import botocore.session
from botocore.config import Config

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_BIN = os.path.join(REPO_ROOT, 'build', 'debug', 'apps', 'cinesis', 'cinesis')

ACCOUNT_ID = '000000000000'
REGION = 'us-east-1'
TARGET_PREFIX = 'Kinesis_20131202'
JSON_CT = 'application/x-amz-json-1.1'

HASH_KEY_LIMIT = 2 ** 128          # exclusive upper bound of the hash-key space
MAX_HASH_KEY = 2 ** 128 - 1
MAX_RECORD_BYTES = 1048576          # data + partition key

UUID_RE = re.compile(r'^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$')
SEQ_RE = re.compile(r'^[0-9]{56}$')
LISTEN_RE = re.compile(r'^cinesis listening on (?P<host>[^\s:]+):(?P<port>\d+)\s*$')

# The AWS CLI v2 bundles a newer Kinesis model (Jan 2023) than Debian's
# python3-botocore 1.29 (Dec 2022): it has StreamARN on every stream-scoped
# operation and ListStreams NextToken/StreamSummaries.  boto3 is pointed at it
# so that those members can be sent; everything else is identical.
AWSCLI_MODEL_DIR = '/usr/lib/python3/dist-packages/awscli/botocore/data'
AWS_CLI = '/usr/bin/aws'

# The newest Kinesis model on this machine (botocore 1.43.11, kept next to the reference docs).  It adds
# what even the CLI model lacks: TagResource/UntagResource/ListTagsForResource, Put/Get/DeleteResourcePolicy,
# Describe/UpdateAccountSettings, UpdateMaxRecordSize, UpdateStreamWarmThroughput, CreateStream Tags /
# MaxRecordSizeInKiB, RegisterStreamConsumer Tags.  make_client(..., latest_model=True) puts it in front
# of the CLI model (Debian's botocore 1.29 loads it fine); without the file it silently falls back.
LATEST_MODEL_FILE = os.environ.get('CINESIS_LATEST_MODEL', os.path.join(REPO_ROOT, 'tests', 'data', 'botocore', 'kinesis', '2013-12-02', 'service-2.json'))

# Loopback traffic must never go through a proxy.
_no_proxy = [p for p in os.environ.get('NO_PROXY', '').split(',') if p]
for _h in ('127.0.0.1', 'localhost'):
    if _h not in _no_proxy:
        _no_proxy.append(_h)
os.environ['NO_PROXY'] = os.environ['no_proxy'] = ','.join(_no_proxy)
os.environ.setdefault('AWS_EC2_METADATA_DISABLED', 'true')


def binary_path():
    """CINESIS_BIN or the default; a directory (the CMake target dir) means <dir>/cinesis."""
    path = os.environ.get('CINESIS_BIN') or DEFAULT_BIN
    if os.path.isdir(path) and os.path.isfile(os.path.join(path, 'cinesis')):
        path = os.path.join(path, 'cinesis')
    return path


# ---------------------------------------------------------------------------
# Server process
# ---------------------------------------------------------------------------

_LIVE_SERVERS = set()


class ServerStartError(RuntimeError):
    pass


class CinesisServer(object):
    """One ``cinesis serve`` child process on a free loopback port.

    By default the server runs ``--in-memory``; with ``data_dir`` it runs in durable mode
    on that directory (``--data-dir DIR``), so that it can be crashed and restarted.
    """

    def __init__(self, *extra_args, startup_timeout=15.0, create_stream_ms=0, delete_stream_ms=0,
                 update_stream_ms=0, data_dir=None, binary=None):
        self.extra_args = [str(a) for a in extra_args]
        self.binary = binary              # default: binary_path()
        self.data_dir = data_dir
        self.timing_args = ['--create-stream-ms', str(create_stream_ms), '--delete-stream-ms', str(delete_stream_ms),
                            '--update-stream-ms', str(update_stream_ms)]
        self.startup_timeout = startup_timeout
        self.proc = None
        self.host = '127.0.0.1'
        self.port = None
        self.returncode = None
        self.died_early = False
        self.stdout_lines = []
        self._ready = threading.Event()
        self._stderr_file = None
        self.stderr_path = None
        self._reader = None

    # -- lifecycle ---------------------------------------------------------
    def command(self):
        storage = ['--data-dir', self.data_dir] if self.data_dir is not None else ['--in-memory']
        return ([self.binary or binary_path(), 'serve', '--host', '127.0.0.1', '--port', '0'] + storage + self.timing_args
                + self.extra_args)

    def start(self):
        binary = self.binary or binary_path()
        if not os.path.isfile(binary) or not os.access(binary, os.X_OK):
            raise ServerStartError('cinesis binary not found or not executable: %r '
                                   '(build it, or set CINESIS_BIN)' % binary)
        fd, self.stderr_path = tempfile.mkstemp(prefix='cinesis-stderr-', suffix='.log')
        self._stderr_file = os.fdopen(fd, 'wb')
        self.proc = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=self._stderr_file, close_fds=True)
        _LIVE_SERVERS.add(self)
        self._reader = threading.Thread(target=self._read_stdout, name='cinesis-stdout', daemon=True)
        self._reader.start()
        if not self._ready.wait(self.startup_timeout) or self.port is None:
            rc = self.proc.poll()
            self._kill()
            why = ('exited with code %r before printing' % rc) if rc is not None else \
                ('did not print within %.0fs' % self.startup_timeout)
            raise ServerStartError(
                'cinesis %s "cinesis listening on 127.0.0.1:<port>"\ncommand: %s\n--- stdout ---\n%s\n'
                '--- stderr (%s) ---\n%s'
                % (why, ' '.join(self.command()), ''.join(self.stdout_lines), self.stderr_path, self.stderr_text()))
        return self

    def _read_stdout(self):
        for raw in iter(self.proc.stdout.readline, b''):
            line = raw.decode('utf-8', 'replace')
            self.stdout_lines.append(line)
            if self.port is None:
                m = LISTEN_RE.match(line.strip())
                if m:
                    self.host = m.group('host')
                    self.port = int(m.group('port'))
                    self._ready.set()
        self._ready.set()  # EOF: process gone (or closed stdout)

    def _kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                pass
        _LIVE_SERVERS.discard(self)

    def crash(self, timeout=10.0):
        """SIGKILL the process (only ours, by PID) without any warning; return its exit status.

        The stderr log is kept (see ``stderr_text``/``cleanup_files``)."""
        if self.proc is None:
            return None
        self.died_early = self.proc.poll() is not None
        if not self.died_early:
            os.kill(self.proc.pid, signal.SIGKILL)
        try:
            self.returncode = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.returncode = 'still running %.0fs after SIGKILL' % timeout
        _LIVE_SERVERS.discard(self)
        if self._reader is not None:
            self._reader.join(2)
            if not self._reader.is_alive() and self.proc.stdout is not None:
                self.proc.stdout.close()
        try:
            self._stderr_file.close()
        except Exception:
            pass
        return self.returncode

    def stop(self, timeout=10.0):
        """SIGTERM the process (only ours, by PID) and return its exit code."""
        if self.proc is None:
            return None
        self.died_early = self.proc.poll() is not None
        if not self.died_early:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.returncode = self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self._kill()
                self.returncode = 'did not exit within %.0fs of SIGTERM (killed)' % timeout
        else:
            self.returncode = self.proc.returncode
        _LIVE_SERVERS.discard(self)
        if self._reader is not None:
            self._reader.join(2)
            if not self._reader.is_alive() and self.proc.stdout is not None:
                self.proc.stdout.close()
        try:
            self._stderr_file.close()
        except Exception:
            pass
        return self.returncode

    def cleanup_files(self):
        if self.stderr_path and os.path.exists(self.stderr_path):
            os.unlink(self.stderr_path)

    def is_alive(self):
        return self.proc is not None and self.proc.poll() is None

    # -- info ----------------------------------------------------------------
    @property
    def endpoint(self):
        return 'http://%s:%d' % (self.host, self.port)

    def stderr_size(self):
        try:
            self._stderr_file.flush()
        except Exception:
            pass
        try:
            return os.path.getsize(self.stderr_path)
        except (OSError, TypeError):
            return 0

    def stderr_text(self, start=0, limit=None):
        try:
            self._stderr_file.flush()
        except Exception:
            pass
        try:
            with open(self.stderr_path, 'rb') as f:
                f.seek(start)
                data = f.read()
        except (OSError, TypeError):
            return ''
        if limit is not None and len(data) > limit:
            data = b'[... %d bytes cut ...]\n' % (len(data) - limit) + data[-limit:]
        return data.decode('utf-8', 'replace')


def _kill_leftovers():
    for srv in list(_LIVE_SERVERS):
        srv._kill()


atexit.register(_kill_leftovers)


def stop_server_checked(server):
    """tearDownModule helper: stop with SIGTERM, raise if it did not exit 0."""
    if server is None:
        return
    if server.port is not None:
        close_clients(server.endpoint)
    rc = server.stop()
    try:
        if rc != 0:
            what = ('cinesis had already exited (code %r) before the suite stopped it' % rc) if server.died_early \
                else ('cinesis did not shut down cleanly on SIGTERM: exit code %r' % rc)
            raise AssertionError('%s\n--- stderr tail ---\n%s' % (what, server.stderr_text(limit=6000)))
    finally:
        if rc == 0:
            server.cleanup_files()


class ServerTestCase(unittest.TestCase):
    """Base class: set ``server`` (a CinesisServer) on a subclass in setUpModule.

    When a test fails or errors, the server's stderr written during that test is
    printed (to our stderr), together with a note if the process died.
    """

    server = None
    maxDiff = 4000

    def run(self, result=None):
        srv = type(self).server
        start = srv.stderr_size() if srv is not None else 0
        before = (len(result.failures) + len(result.errors)) if result is not None else 0
        out = super().run(result)
        if result is not None and srv is not None and len(result.failures) + len(result.errors) > before:
            died = '' if srv.is_alive() else (' -- SERVER PROCESS IS DEAD (exit code %r)' % srv.proc.poll())
            text = srv.stderr_text(0 if died else start, limit=4000).rstrip()
            if text or died:
                sys.stderr.write('\n--- cinesis stderr during %s%s ---\n%s\n--- end ---\n'
                                 % (self.id(), died, text or '(empty)'))
        return out


# ---------------------------------------------------------------------------
# boto3
# ---------------------------------------------------------------------------

_LATEST_MODEL_DIR = []


def latest_model_dir():
    """A temporary botocore data dir holding LATEST_MODEL_FILE as kinesis/2013-12-02; None if unavailable."""
    if not _LATEST_MODEL_DIR:
        if not os.path.isfile(LATEST_MODEL_FILE):
            return None
        root = tempfile.mkdtemp(prefix='cinesis-model-')
        atexit.register(shutil.rmtree, root, True)
        os.makedirs(os.path.join(root, 'kinesis', '2013-12-02'))
        shutil.copyfile(LATEST_MODEL_FILE, os.path.join(root, 'kinesis', '2013-12-02', 'service-2.json'))
        _LATEST_MODEL_DIR.append(root)
    return _LATEST_MODEL_DIR[0]


def make_session(use_cli_model=True, latest_model=False):
    bs = botocore.session.get_session()
    loader = bs.get_component('data_loader')
    if use_cli_model and os.path.isdir(os.path.join(AWSCLI_MODEL_DIR, 'kinesis')):
        loader.search_paths.insert(0, AWSCLI_MODEL_DIR)
    if latest_model and latest_model_dir() is not None:
        loader.search_paths.insert(0, latest_model_dir())
    return boto3.Session(botocore_session=bs, aws_access_key_id='AKIDEXAMPLE',
                         aws_secret_access_key='wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
                         region_name=REGION)


_CLIENTS = {}


def make_client(endpoint, use_cli_model=True, latest_model=False, **config):
    cfg = dict(retries={'max_attempts': 0}, connect_timeout=5, read_timeout=30)
    cfg.update(config)
    client = make_session(use_cli_model, latest_model).client('kinesis', endpoint_url=endpoint, config=Config(**cfg))
    _CLIENTS.setdefault(endpoint, []).append(client)
    return client


def close_clients(endpoint):
    for client in _CLIENTS.pop(endpoint, []):
        try:
            client.close()
        except Exception:
            pass


def client_has_operation(client, operation):
    return operation in client.meta.service_model.operation_names


def client_supports(client, operation, member):
    shape = client.meta.service_model.operation_model(operation).input_shape
    return member in shape.members


def error_of(exc):
    """(code, message) of a botocore ClientError."""
    err = exc.response.get('Error', {})
    return err.get('Code'), err.get('Message')


# ---------------------------------------------------------------------------
# Names, hashing, shards
# ---------------------------------------------------------------------------

def unique_name(prefix='it'):
    return '%s-%s' % (prefix, uuid.uuid4().hex[:16])


def stream_arn(name, account=ACCOUNT_ID, region=REGION):
    return 'arn:aws:kinesis:%s:%s:stream/%s' % (region, account, name)


def shard_id(index):
    return 'shardId-%012d' % index


def hash_ranges(n):
    """Even split of [0, 2^128) into n shards (kinesis-behaviour.md section 4)."""
    step = HASH_KEY_LIMIT // n
    out = []
    for i in range(n):
        end = MAX_HASH_KEY if i == n - 1 else (i + 1) * step - 1
        out.append((i * step, end))
    return out


def md5_hash_key(partition_key):
    return int.from_bytes(hashlib.md5(partition_key.encode('utf-8')).digest(), 'big')


def shard_index_for(hash_key, n):
    for i, (lo, hi) in enumerate(hash_ranges(n)):
        if lo <= hash_key <= hi:
            return i
    raise ValueError('hash key out of range: %r' % hash_key)


def expected_shard_for_pk(partition_key, n, explicit_hash_key=None):
    hk = int(explicit_hash_key) if explicit_hash_key is not None else md5_hash_key(partition_key)
    return shard_id(shard_index_for(hk, n))


def now_utc():
    return datetime.datetime.now(datetime.timezone.utc)


# ---------------------------------------------------------------------------
# boto3 convenience (stream setup / draining)
# ---------------------------------------------------------------------------

def wait_active(client, name, timeout=10.0):
    deadline = time.time() + timeout
    while True:
        desc = client.describe_stream_summary(StreamName=name)['StreamDescriptionSummary']
        if desc['StreamStatus'] == 'ACTIVE':
            return desc
        if time.time() > deadline:
            raise AssertionError('stream %s not ACTIVE after %.0fs (status %s)' % (name, timeout, desc['StreamStatus']))
        time.sleep(0.05)


def wait_deleted(client, name, timeout=10.0):
    """Poll DescribeStream until ResourceNotFoundException; return that ClientError."""
    deadline = time.time() + timeout
    while True:
        try:
            client.describe_stream(StreamName=name)
        except client.exceptions.ResourceNotFoundException as e:
            return e
        if time.time() > deadline:
            raise AssertionError('stream %s still exists %.0fs after DeleteStream' % (name, timeout))
        time.sleep(0.05)


def create_stream(testcase, client, shards=1, prefix='it'):
    """Create a fresh ACTIVE stream; deleted again in the test's cleanup."""
    name = unique_name(prefix)
    client.create_stream(StreamName=name, ShardCount=shards)
    testcase.addCleanup(_delete_quietly, client, name)
    wait_active(client, name)
    return name


def _delete_quietly(client, name):
    try:
        client.delete_stream(StreamName=name)
    except Exception:
        pass


def drain_shard(client, iterator, limit=None, max_calls=200):
    """GetRecords from ``iterator`` until caught up.

    Returns (records, responses).  Stops at the first empty page that reports
    MillisBehindLatest == 0, after three consecutive empty pages, or when the
    shard has no NextShardIterator.
    """
    records, responses, empty_streak = [], [], 0
    for _ in range(max_calls):
        kw = {'ShardIterator': iterator}
        if limit is not None:
            kw['Limit'] = limit
        resp = client.get_records(**kw)
        responses.append(resp)
        records.extend(resp['Records'])
        iterator = resp.get('NextShardIterator')
        if not resp['Records']:
            empty_streak += 1
            if resp.get('MillisBehindLatest') == 0 or empty_streak >= 3:
                break
        else:
            empty_streak = 0
        if iterator is None:
            break
    else:
        raise AssertionError('shard not drained after %d GetRecords calls' % max_calls)
    return records, responses


def read_shard(client, stream, shard, iterator_type='TRIM_HORIZON', limit=None, **kw):
    it = client.get_shard_iterator(StreamName=stream, ShardId=shard, ShardIteratorType=iterator_type,
                                   **kw)['ShardIterator']
    return drain_shard(client, it, limit=limit)[0]


# ---------------------------------------------------------------------------
# Raw HTTP
# ---------------------------------------------------------------------------

class RawResponse(object):
    def __init__(self, status, reason, header_list, body):
        self.status = status
        self.reason = reason
        self.header_list = header_list
        self.headers = {}
        for k, v in header_list:
            self.headers[k.lower()] = v
        self.body = body

    def header(self, name):
        return self.headers.get(name.lower())

    def json(self):
        return json.loads(self.body.decode('utf-8'))

    def __repr__(self):
        return 'RawResponse(%d %s, headers=%r, body=%r)' % (self.status, self.reason, self.headers, self.body[:600])


def amz_date():
    return time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())


def dummy_auth_header():
    """A syntactically complete SigV4 Authorization header (never verified)."""
    day = time.strftime('%Y%m%d', time.gmtime())
    return ('AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/%s/%s/kinesis/aws4_request, '
            'SignedHeaders=content-type;host;x-amz-date;x-amz-target, '
            'Signature=%s' % (day, REGION, '0' * 64))


def raw_request(server, method='POST', path='/', headers=None, body=b'', timeout=10.0,
                content_length=True):
    """Send one HTTP/1.1 request with exactly the given headers; return RawResponse.

    ``headers`` is a list of (name, value) pairs or a dict.  Host is added
    automatically; Content-Length too (unless content_length=False or given).
    """
    if isinstance(body, str):
        body = body.encode('utf-8')
    if isinstance(headers, dict):
        headers = list(headers.items())
    headers = list(headers or [])
    names = {k.lower() for k, _ in headers}
    conn = http.client.HTTPConnection(server.host, server.port, timeout=timeout)
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        for k, v in headers:
            conn.putheader(k, v)
        if content_length and 'content-length' not in names and 'transfer-encoding' not in names:
            conn.putheader('Content-Length', str(len(body or b'')))
        conn.endheaders()
        if body:
            conn.send(body)
        resp = conn.getresponse()
        data = resp.read()
        return RawResponse(resp.status, resp.reason, resp.getheaders(), data)
    finally:
        conn.close()


def kinesis_headers(operation, content_type=JSON_CT, auth=True, target=None):
    headers = []
    if content_type is not None:
        headers.append(('Content-Type', content_type))
    if target is None and operation is not None:
        target = '%s.%s' % (TARGET_PREFIX, operation)
    if target is not None:
        headers.append(('X-Amz-Target', target))
    if auth:
        headers.append(('X-Amz-Date', amz_date()))
        headers.append(('Authorization', dummy_auth_header()))
    return headers


def kinesis_call(server, operation, payload, content_type=JSON_CT, auth=True, extra_headers=None,
                 target=None, path='/', timeout=30.0):
    """POST one Kinesis JSON request; payload may be a dict (JSON-encoded) or bytes/str."""
    if isinstance(payload, (dict, list)):
        body = json.dumps(payload).encode('utf-8')
    else:
        body = payload
    headers = kinesis_headers(operation, content_type=content_type, auth=auth, target=target)
    headers += list(extra_headers or [])
    return raw_request(server, 'POST', path, headers, body, timeout=timeout)


def b64(data):
    return base64.b64encode(data).decode('ascii')


# ---------------------------------------------------------------------------
# AWS CLI
# ---------------------------------------------------------------------------

class CliRunner(object):
    """Runs Debian's /usr/bin/aws against the server with a clean HOME/config."""

    def __init__(self, endpoint):
        self.endpoint = endpoint
        self.home = tempfile.mkdtemp(prefix='cinesis-cli-home-')
        self.env = {
            'PATH': os.environ.get('PATH', '/usr/local/bin:/usr/bin:/bin'),
            'HOME': self.home,
            'LANG': 'C.UTF-8',
            'LC_ALL': 'C.UTF-8',
            'AWS_ACCESS_KEY_ID': 'AKIDEXAMPLE',
            'AWS_SECRET_ACCESS_KEY': 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
            'AWS_DEFAULT_REGION': REGION,
            'AWS_REGION': REGION,
            'AWS_PAGER': '',
            'AWS_CONFIG_FILE': os.path.join(self.home, 'aws-config-does-not-exist'),
            'AWS_SHARED_CREDENTIALS_FILE': os.path.join(self.home, 'aws-credentials-does-not-exist'),
            'AWS_MAX_ATTEMPTS': '1',
            'AWS_RETRY_MODE': 'standard',
            'AWS_EC2_METADATA_DISABLED': 'true',
            'NO_PROXY': os.environ['NO_PROXY'],
            'no_proxy': os.environ['NO_PROXY'],
        }

    def run(self, *args, timeout=60):
        cmd = [AWS_CLI, '--endpoint-url', self.endpoint, '--region', REGION, '--output', 'json',
               '--cli-connect-timeout', '5', '--cli-read-timeout', '30', 'kinesis'] + [str(a) for a in args]
        return subprocess.run(cmd, env=self.env, cwd=self.home, stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout,
                              universal_newlines=True)

    def write_file(self, name, content):
        path = os.path.join(self.home, name)
        with open(path, 'w') as f:
            f.write(content)
        return path

    def cleanup(self):
        shutil.rmtree(self.home, ignore_errors=True)
