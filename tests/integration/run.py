"""Runs one integration test module and prints what ran (issue 16: no silent skips).

    python3 tests/integration/run.py tests/integration/test_X.py

Prints one summary line, "suite test_X: N executed, M skipped, F failed", with the reason of
every skip, and appends it to $CINESIS_TEST_SUMMARY when set (scripts/test.sh prints that
file at the end). Under CI=true a skipped test is a failure: CI installs everything the
tests need (scripts/test.sh), so a skip means a test silently did not run.
"""
import os
import sys
import unittest


def main(argv):
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    path = argv[1]
    name = os.path.splitext(os.path.basename(path))[0]
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(path))))
    sys.path.insert(0, root)
    suite = unittest.defaultTestLoader.loadTestsFromName('tests.integration.' + name)
    result = unittest.TextTestRunner(verbosity=2, stream=sys.stdout).run(suite)
    skipped = len(result.skipped)
    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    executed = result.testsRun - skipped
    ci = os.environ.get('CI', '').lower() in ('1', 'true', 'yes')
    line = 'suite %s: %d executed, %d skipped, %d failed' % (name, executed, skipped, failed)
    reasons = ['  skipped %s: %s' % (t.id(), why) for t, why in result.skipped]
    print(line)
    for r in reasons:
        print(r)
    summary = os.environ.get('CINESIS_TEST_SUMMARY')
    if summary:
        with open(summary, 'a') as f:
            f.write('\n'.join([line] + reasons) + '\n')
    if skipped and ci:
        print('run.py: CI=true and %d test(s) of %s were skipped: a skipped test is a failure '
              'in CI (install what it needs: scripts/test.sh)' % (skipped, name))
        return 1
    if result.testsRun == 0:
        print('run.py: no test ran in %s' % name)
        return 1
    return 0 if result.wasSuccessful() else 1


if __name__ == '__main__':
    sys.exit(main(sys.argv))
