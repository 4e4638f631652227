"""libcinesis used from outside the tree, as a user does (issue 14's acceptance test).

`cmake --install` of the build tree under test into a temporary prefix, then, against that
prefix only:
  - examples/ configured and built as a separate CMake project (find_package(cinesis
    REQUIRED)), and its LocalKinesis unit test run (cinesis::testing);
  - examples/c/produce_consume.c built with `pkg-config --cflags --libs cinesis`;
  - the installed bin/cinesis started (`serve --in-memory`, free port), and 100,000 records
    produced and consumed with SQLite checkpoints, once by the C++ example programs and once
    by the C program: every id 0..99999 consumed exactly once (0 missing, 0 duplicated), and
    a second consumer run on the same SQLite file consumes nothing (the checkpoints hold).

Environment: CINESIS_BUILD_DIR (the build tree to install; default: three levels above
CINESIS_BIN), CINESIS_CMAKE (default: cmake on PATH). Set by tests/CMakeLists.txt.
"""
import collections
import os
import re
import shutil
import subprocess
import tempfile
import unittest

from tests.integration import harness

REPO = harness.REPO_ROOT
RECORDS = 100000
CMAKE = os.environ.get('CINESIS_CMAKE') or shutil.which('cmake') or 'cmake'


def build_dir():
    d = os.environ.get('CINESIS_BUILD_DIR')
    if d:
        return d
    return os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(harness.binary_path()))))


def run(cmd, timeout=600, env=None, **kw):
    """Runs cmd; on a non-zero exit raises AssertionError with its output."""
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True,
                       timeout=timeout, env=env, **kw)
    if p.returncode != 0:
        raise AssertionError('command failed (exit %d): %s\n%s' % (p.returncode, ' '.join(cmd), p.stdout[-8000:]))
    return p.stdout


def exactly_once(ids, n):
    """(missing, duplicated) of a list of ids against 0..n-1."""
    counts = collections.Counter(ids)
    missing = [i for i in range(n) if counts[i] == 0]
    duplicated = sorted(i for i, c in counts.items() if c > 1 or not 0 <= i < n)
    return missing, duplicated


tmp = None
prefix = None
server = None


def setUpModule():
    global tmp, prefix, server
    tmp = tempfile.mkdtemp(prefix='cinesis-install-')
    prefix = os.path.join(tmp, 'prefix')
    run([CMAKE, '--install', build_dir(), '--prefix', prefix])
    server = harness.CinesisServer(binary=os.path.join(prefix, 'bin', 'cinesis')).start()
    InstallTest.server = server


def tearDownModule():
    try:
        harness.stop_server_checked(server)
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)


class InstallTest(harness.ServerTestCase):
    def test_1_installed_files(self):
        for rel in ('include/cinesis/cinesis.h', 'include/cinesis/client.h',
                    'include/cinesis/testing/local_kinesis.h', 'lib/libcinesis.a',
                    'lib/cmake/cinesis/cinesisConfig.cmake', 'lib/cmake/cinesis/cinesisConfigVersion.cmake',
                    'lib/cmake/cinesis/cinesisTargets.cmake', 'lib/cmake/cinesis/cinesisStaticTargets.cmake',
                    'lib/pkgconfig/cinesis.pc', 'bin/cinesis', 'bin/cinesis-bench'):
            self.assertTrue(os.path.isfile(os.path.join(prefix, rel)), 'not installed: ' + rel)
        so = os.path.realpath(os.path.join(prefix, 'lib', 'libcinesis.so'))
        soname = re.search(r'SONAME.*\[(.*)\]', run(['readelf', '-d', so])).group(1)
        self.assertRegex(soname, r'^libcinesis\.so\.\d+(\.\d+)?$')
        self.assertTrue(os.path.exists(os.path.join(prefix, 'lib', soname)), soname + ' link missing')
        # Relocatable: nothing installed names the build tree or the default prefix.
        for rel in ('lib/pkgconfig/cinesis.pc', 'lib/cmake/cinesis/cinesisTargets.cmake',
                    'lib/cmake/cinesis/cinesisConfig.cmake'):
            with open(os.path.join(prefix, rel)) as f:
                text = f.read()
            self.assertNotIn(build_dir(), text, rel)
            self.assertNotIn('/usr/local', text, rel)

    def test_2_cxx_examples_with_find_package(self):
        """examples/ as its own CMake project; producer and consumer over HTTP, SQLite checkpoints."""
        ex = os.path.join(tmp, 'examples-build')
        configure = [CMAKE, '-S', os.path.join(REPO, 'examples'), '-B', ex, '-G', 'Ninja',
                     '-DCMAKE_BUILD_TYPE=Debug', '-DCMAKE_PREFIX_PATH=' + prefix]
        if shutil.which('ccache'):
            configure.append('-DCMAKE_CXX_COMPILER_LAUNCHER=ccache')
        run(configure)
        run([CMAKE, '--build', ex, '--parallel', '2'], timeout=900)
        # The LocalKinesis unit test, through cinesis::testing (skipped by CMake without GTest).
        if os.path.exists(os.path.join(ex, 'example_local_kinesis_test')):
            run([os.path.join(ex, 'example_local_kinesis_test')])

        stream = 'install-cxx'
        out = run([os.path.join(ex, 'cinesis-example-producer'), '--endpoint', server.endpoint,
                   '--stream', stream, '--records', str(RECORDS), '--record-bytes', '16', '--shards', '4'])
        self.assertRegex(out, r'produced %d records \(0 failed\)' % RECORDS)
        self.assertRegex(out, r'read back %d records .*: 0 missing, 0 duplicates' % RECORDS)

        db = os.path.join(tmp, 'cxx-checkpoints.db')
        lines = os.path.join(tmp, 'cxx-consumed.txt')
        consumer = [os.path.join(ex, 'cinesis-example-consumer'), '--endpoint', server.endpoint,
                    '--stream', stream, '--app', 'install-test', '--store', 'sqlite:' + db,
                    '--out', lines, '--exit-when-idle-ms', '4000']
        out = run(consumer, timeout=300)
        self.assertIn('consumed %d records' % RECORDS, out)
        with open(lines) as f:
            ids = [int(line.split()[3]) for line in f if line.strip()]
        missing, duplicated = exactly_once(ids, RECORDS)
        self.assertEqual((len(missing), len(duplicated)), (0, 0),
                         'missing %s, duplicated %s' % (missing[:10], duplicated[:10]))

        # Again on the same SQLite file: the checkpoints say everything was processed.
        out = run(consumer, timeout=300)
        self.assertIn('consumed 0 records', out)

    def require_c_abi(self):
        so = os.path.join(prefix, 'lib', 'libcinesis.so')
        exported = run(['nm', '-D', '--defined-only', so])
        if not re.search(r'\bcinesis_client_new\b', exported):
            self.fail('C ABI not built: the installed libcinesis.so exports no cinesis_client_new '
                      '(src/capi, target cinesis_capi, is not part of libcinesis)')

    def test_3_c_program_with_pkg_config(self):
        """examples/c/produce_consume.c built with pkg-config; C producer and consumer, SQLite checkpoints."""
        self.require_c_abi()
        env = dict(os.environ, PKG_CONFIG_PATH=os.path.join(prefix, 'lib', 'pkgconfig'))
        flags = run(['pkg-config', '--cflags', '--libs', 'cinesis'], env=env).split()
        exe = os.path.join(tmp, 'produce_consume')
        cc = shutil.which('cc') or 'gcc'
        run([cc, '-std=c99', '-pedantic', '-Wall', '-Wextra', '-Werror',
             os.path.join(REPO, 'examples', 'c', 'produce_consume.c')] + flags +
            ['-Wl,-rpath,' + os.path.join(prefix, 'lib'), '-o', exe], env=env)

        db = os.path.join(tmp, 'c-checkpoints.db')
        ids_file = os.path.join(tmp, 'c-consumed.txt')
        out = run([exe, server.endpoint, 'install-c', str(RECORDS), db, ids_file], timeout=300)
        self.assertIn('produced %d (0 failed)' % RECORDS, out)
        self.assertIn('consumed %d records: 0 missing, 0 duplicates' % RECORDS, out)
        with open(ids_file) as f:
            ids = [int(line) for line in f if line.strip()]
        missing, duplicated = exactly_once(ids, RECORDS)
        self.assertEqual((len(missing), len(duplicated)), (0, 0),
                         'missing %s, duplicated %s' % (missing[:10], duplicated[:10]))

        # Again on the same SQLite file, producing nothing: nothing left to consume.
        out = run([exe, server.endpoint, 'install-c', '0', db], timeout=120)
        self.assertIn('consumed 0 records: 0 missing, 0 duplicates', out)

    def test_4_static_library(self):
        """libcinesis.a: the C program linked through find_package(cinesis COMPONENTS static)."""
        self.require_c_abi()
        src = os.path.join(tmp, 'static-project')
        os.makedirs(src)
        with open(os.path.join(src, 'CMakeLists.txt'), 'w') as f:
            f.write('cmake_minimum_required(VERSION 3.25)\n'
                    'project(static_check LANGUAGES C CXX)\n'
                    'find_package(cinesis REQUIRED COMPONENTS static)\n'
                    'add_executable(produce_consume %s)\n'
                    'target_link_libraries(produce_consume PRIVATE cinesis::cinesis_static)\n'
                    % os.path.join(REPO, 'examples', 'c', 'produce_consume.c'))
        build = os.path.join(tmp, 'static-build')
        run([CMAKE, '-S', src, '-B', build, '-G', 'Ninja', '-DCMAKE_PREFIX_PATH=' + prefix])
        run([CMAKE, '--build', build])
        exe = os.path.join(build, 'produce_consume')
        self.assertNotIn('libcinesis', run(['ldd', exe]))
        out = run([exe, server.endpoint, 'install-static', '1000', os.path.join(tmp, 'static.db')], timeout=120)
        self.assertIn('consumed 1000 records: 0 missing, 0 duplicates', out)


if __name__ == '__main__':
    unittest.main()
