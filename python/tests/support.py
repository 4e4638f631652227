"""Test support (Python 2.7 and 3.6+): library availability, a `cinesis serve` child
process on a free loopback port (same start/stop pattern as tests/integration/harness.py)."""

import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.dirname(HERE))

import cinesis  # noqa: E402

CI = os.environ.get('CI') == 'true'


def library_error():
    try:
        cinesis.library_path()
        return None
    except cinesis.LibraryNotFoundError as e:
        return str(e)


def needs_library(cls):
    """Skips a TestCase when libcinesis is missing (a failure under CI=true)."""
    err = library_error()
    if err is not None and not CI:
        return unittest.skip('libcinesis not found: ' + err[:120])(cls)
    return cls


def server_binary():
    path = os.environ.get('CINESIS_BIN') or os.path.join(REPO, 'build', 'debug', 'apps',
                                                         'cinesis', 'cinesis')
    if os.path.isdir(path):
        path = os.path.join(path, 'cinesis')
    return path if os.path.isfile(path) and os.access(path, os.X_OK) else None


LISTEN_RE = re.compile(r'^cinesis listening on (\S+):(\d+)\s*$')


class Server(object):
    """`cinesis serve --in-memory` on 127.0.0.1:<free port>; stop() by our own PID."""

    def __init__(self, binary):
        self.binary = binary
        self.proc = None
        self.port = None

    def start(self, timeout=15):
        self.stderr = tempfile.TemporaryFile()
        self.proc = subprocess.Popen([self.binary, 'serve', '--host', '127.0.0.1', '--port', '0',
                                      '--in-memory'], stdout=subprocess.PIPE,
                                     stderr=self.stderr, close_fds=True)
        ready = threading.Event()

        def read():
            for raw in iter(self.proc.stdout.readline, b''):
                m = LISTEN_RE.match(raw.decode('utf-8', 'replace').strip())
                if m and self.port is None:
                    self.port = int(m.group(2))
                    ready.set()
            ready.set()
        t = threading.Thread(target=read)
        t.daemon = True
        t.start()
        ready.wait(timeout)
        if self.port is None:
            self.stop()
            raise RuntimeError('cinesis serve did not start')
        return self

    @property
    def endpoint(self):
        return 'http://127.0.0.1:%d' % self.port

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            deadline = time.time() + 10
            while self.proc.poll() is None and time.time() < deadline:
                time.sleep(0.05)
            if self.proc.poll() is None:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


_server = []


def shared_server():
    """One server for the whole run (None when the binary is not built)."""
    if not _server:
        b = server_binary()
        _server.append(Server(b).start() if b else None)
    return _server[0]


def stop_shared_server():
    if _server and _server[0] is not None:
        _server[0].stop()
    del _server[:]


def unique(prefix):
    return '%s-%d-%d' % (prefix, os.getpid(), int(time.time() * 1000000) % 1000000000)


def read_until(consumer, count, timeout=60):
    """Polls until `count` records arrived (or timeout); commits each batch."""
    out = []
    deadline = time.time() + timeout
    while len(out) < count and time.time() < deadline:
        out.extend(consumer.poll(0.2))
    return out
