"""Runs the core Python suite (python/tests/test_*.py; the Django suite in django_tests runs
under pytest-django) under this interpreter and prints one summary line, e.g.
"python 2.7.18: 31 passed, 0 skipped, 0 failed". Exit status 1 on any failure or error
(and, under CI=true, when libcinesis or the server binary is missing)."""

import glob
import os
import platform
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))


class CountingResult(unittest.TextTestResult):
    passed = 0

    def addSuccess(self, test):
        unittest.TextTestResult.addSuccess(self, test)
        self.passed += 1


def main():
    import support
    loader = unittest.TestLoader()
    suite = unittest.TestSuite()
    names = [os.path.basename(p)[:-3] for p in sorted(glob.glob(os.path.join(HERE, 'test_*.py')))]
    only = [a for a in sys.argv[1:] if not a.startswith('-')]
    for name in names:
        if only and name not in only:
            continue
        suite.addTests(loader.loadTestsFromName(name))
    verbosity = 2 if '-v' in sys.argv else 1
    result = unittest.TextTestRunner(verbosity=verbosity, resultclass=CountingResult).run(suite)
    support.stop_shared_server()
    bad = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    print('python %s: %d passed, %d skipped, %d failed' % (
        platform.python_version(), result.passed, len(result.skipped), bad))
    return 0 if result.wasSuccessful() else 1


if __name__ == '__main__':
    sys.exit(main())
