"""Starts a throw-away PostgreSQL on a free loopback port (as tests/unit/service_fixtures.h
does: initdb with trust auth, run as the "postgres" user when we are root), runs a command
with CINESIS_TEST_PG=postgresql://postgres@127.0.0.1:PORT/postgres, then stops it (SIGINT,
by PID). Usage: python3 pgserver.py COMMAND...   Exit status: the command's; 77 when
PostgreSQL is not installed."""

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time


def bindir():
    dirs = sorted(glob.glob('/usr/lib/postgresql/*/bin'),
                  key=lambda d: int(d.split('/')[-2]) if d.split('/')[-2].isdigit() else 0)
    for d in reversed(dirs):
        if os.access(os.path.join(d, 'initdb'), os.X_OK):
            return d
    return None


def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    p = s.getsockname()[1]
    s.close()
    return p


def main(argv):
    bd = bindir()
    if bd is None:
        sys.stderr.write('pgserver: PostgreSQL not installed\n')
        return 77
    tmp = tempfile.mkdtemp(prefix='cinesis-pypg-')
    demote = None
    if os.getuid() == 0:
        pw = pwd.getpwnam('postgres')
        os.chown(tmp, pw.pw_uid, pw.pw_gid)

        def demote():
            os.setgroups([pw.pw_gid])
            os.setgid(pw.pw_gid)
            os.setuid(pw.pw_uid)
    os.chmod(tmp, 0o700)
    data = os.path.join(tmp, 'data')
    log = open(os.path.join(tmp, 'log'), 'wb')
    subprocess.check_call([bd + '/initdb', '-D', data, '-U', 'postgres', '-A', 'trust', '-E',
                           'UTF8', '--locale=C', '--no-sync'], stdout=log, stderr=log,
                          preexec_fn=demote, cwd=tmp)
    port = free_port()
    proc = subprocess.Popen([bd + '/postgres', '-D', data, '-p', str(port), '-k', tmp, '-c',
                             'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c',
                             'synchronous_commit=off', '-c', 'max_connections=100'],
                            stdout=log, stderr=log, preexec_fn=demote, cwd=tmp)
    try:
        deadline = time.time() + 30
        while time.time() < deadline:
            if subprocess.call([bd + '/pg_isready', '-q', '-h', '127.0.0.1', '-p', str(port),
                                '-U', 'postgres', '-d', 'postgres', '-t', '1']) == 0:
                break
            if proc.poll() is not None:
                break
            time.sleep(0.1)
        else:
            sys.stderr.write('pgserver: postgres did not come up\n')
            return 1
        env = dict(os.environ, CINESIS_TEST_PG='postgresql://postgres@127.0.0.1:%d/postgres' % port)
        return subprocess.call(argv, env=env)
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGINT)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()
        log.close()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
