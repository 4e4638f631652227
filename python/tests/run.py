"""Runs the core Python suite (python/tests/test_*.py) under this interpreter and prints
one summary line, e.g. "python 2.7.18: 31 passed, 0 skipped, 0 failed". Exit status 1 on
any failure or error (and, under CI=true, when libcinesis is missing)."""

import os
import platform
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))


def main():
    import support
    loader = unittest.TestLoader()
    suite = loader.discover(HERE, pattern='test_*.py', top_level_dir=HERE)
    verbosity = 2 if '-v' in sys.argv else 1
    result = unittest.TextTestRunner(verbosity=verbosity).run(suite)
    support.stop_shared_server()
    bad = len(result.failures) + len(result.errors)
    skipped = len(result.skipped)
    passed = result.testsRun - bad - skipped
    print('python %s: %d passed, %d skipped, %d failed' % (platform.python_version(), passed,
                                                           skipped, bad))
    return 1 if bad or not result.wasSuccessful() else 0


if __name__ == '__main__':
    sys.exit(main())
