"""The web console (issue 18, docs/console.md): the embedded files over HTTP, and the console
in real headless Chromium (tests/browser/console.mjs, playwright-core).

Run:  /usr/bin/python3 -m unittest -v tests/integration/test_console.py   (from the repo root)

The browser test needs Debian's chromium (scripts/install-deps.sh), Node.js and
tests/browser/node_modules (scripts/test.sh runs npm install there); without them it is
skipped, and under CI=true run.py turns that skip into a failure. Screenshots go to
$CINESIS_BUILD_DIR/artifacts (default build/debug/artifacts)/console-*.png.
"""

import hashlib
import os
import re
import shutil
import subprocess
import time
import unittest

from . import harness as h

SERVER = None
CHROMIUM = os.environ.get('CINESIS_CHROMIUM', '/usr/bin/chromium')
BROWSER_DIR = os.path.join(h.REPO_ROOT, 'tests', 'browser')


def setUpModule():
    global SERVER
    SERVER = h.CinesisServer().start()
    ConsoleFiles.server = SERVER


def tearDownModule():
    h.stop_server_checked(SERVER)


def artifacts_dir():
    build = os.environ.get('CINESIS_BUILD_DIR') or os.path.join(h.REPO_ROOT, 'build', 'debug')
    return os.path.join(build, 'artifacts')


def get(server, path, headers=None):
    return h.raw_request(server, method='GET', path=path, headers=headers or {})


class ConsoleFiles(h.ServerTestCase):
    """The console's files come from the binary, byte for byte, with the right headers."""

    def test_index_and_assets(self):
        index = get(self.server, '/_cinesis/console')
        self.assertEqual(index.status, 200)
        self.assertEqual(index.header('Content-Type'), 'text/html; charset=utf-8')
        self.assertIn(b'<title>cinesis console</title>', index.body)
        self.assertEqual(get(self.server, '/_cinesis/console/').body, index.body)
        self.assertEqual(get(self.server, '/_cinesis/console/index.html?x=1').body, index.body)
        # Every file the page names is served, with its type.
        for name, ctype in [('app.js', 'text/javascript; charset=utf-8'), ('app.css', 'text/css; charset=utf-8'),
                            ('uPlot.iife.min.js', 'text/javascript; charset=utf-8'),
                            ('uPlot.min.css', 'text/css; charset=utf-8')]:
            self.assertIn(('/_cinesis/console/' + name).encode(), index.body)
            r = get(self.server, '/_cinesis/console/' + name)
            self.assertEqual(r.status, 200, name)
            self.assertEqual(r.header('Content-Type'), ctype, name)
            self.assertEqual(r.header('X-Content-Type-Options'), 'nosniff')
            self.assertIn("default-src 'self'", r.header('Content-Security-Policy'))
            self.assertEqual(r.header('Cache-Control'), 'no-cache')
            self.assertGreater(len(r.body), 500, name)
        # The console's own files are the ones in console/, and uPlot is the npm package's.
        for name in ('app.js', 'app.css', 'index.html'):
            with open(os.path.join(h.REPO_ROOT, 'console', name), 'rb') as f:
                self.assertEqual(get(self.server, '/_cinesis/console/' + name).body, f.read(), name)
        self.assertIn(b'uPlot', get(self.server, '/_cinesis/console/uPlot.iife.min.js').body)

    def test_etag_revalidation(self):
        r = get(self.server, '/_cinesis/console/app.js')
        etag = r.header('ETag')
        self.assertRegex(etag, r'^"[0-9a-f]{16}"$')
        self.assertEqual(etag, '"%s"' % hashlib.sha256(r.body).hexdigest()[:16])
        again = get(self.server, '/_cinesis/console/app.js', {'If-None-Match': etag})
        self.assertEqual(again.status, 304)
        self.assertEqual(again.body, b'')
        self.assertEqual(again.header('ETag'), etag)
        other = get(self.server, '/_cinesis/console/app.js', {'If-None-Match': '"0000000000000000"'})
        self.assertEqual(other.status, 200)
        self.assertEqual(other.body, r.body)

    def test_unknown_asset_and_methods(self):
        self.assertEqual(get(self.server, '/_cinesis/console/nope.js').status, 404)
        self.assertEqual(get(self.server, '/_cinesis/console/../console/app.js').status, 404)
        r = h.raw_request(self.server, method='POST', path='/_cinesis/console/app.js', headers={}, body=b'x')
        self.assertEqual(r.status, 405)
        self.assertEqual(r.header('Allow'), 'GET')
        # The Kinesis API beside it is untouched.
        self.assertEqual(h.kinesis_call(self.server, 'ListStreams', {}).status, 200)


class ConsoleInChromium(unittest.TestCase):
    """tests/browser/console.mjs against a fresh server: see its header for what it asserts."""

    def test_console_in_headless_chromium(self):
        node = shutil.which('node')
        if not node:
            self.skipTest('node is not installed (scripts/install-deps.sh)')
        if not os.access(CHROMIUM, os.X_OK):
            self.skipTest('%s is missing (scripts/install-deps.sh installs Debian chromium)' % CHROMIUM)
        if not os.path.isdir(os.path.join(BROWSER_DIR, 'node_modules', 'playwright-core')):
            self.skipTest('tests/browser/node_modules lacks playwright-core (scripts/test.sh installs it)')
        server = h.CinesisServer().start()
        try:
            out_dir = artifacts_dir()
            os.makedirs(out_dir, exist_ok=True)
            for f in os.listdir(out_dir):
                if re.match(r'^console-.*\.png$', f):
                    os.unlink(os.path.join(out_dir, f))
            started = time.monotonic()
            p = subprocess.run([node, os.path.join(BROWSER_DIR, 'console.mjs'), '--url', server.endpoint,
                                '--cinesis', server.binary or h.binary_path(), '--artifacts', out_dir],
                               capture_output=True, text=True, timeout=180)
            took = time.monotonic() - started
            print(p.stdout, end='')
            print('browser test took %.1f s' % took)
            self.assertEqual(p.returncode, 0, 'console.mjs failed:\n%s\n%s\n--- server stderr ---\n%s'
                             % (p.stdout, p.stderr, server.stderr_text(limit=4000)))
            for shot in ('console-stream.png', 'console-tail.png', 'console-split.png'):
                path = os.path.join(out_dir, shot)
                self.assertTrue(os.path.isfile(path) and os.path.getsize(path) > 10000, path)
        finally:
            h.stop_server_checked(server)


if __name__ == '__main__':
    unittest.main()
