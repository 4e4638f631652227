#!/usr/bin/env python3
"""Every public header compiles on its own (test packaging.headers).

For every header under include/ (found by glob, so a new header is checked without being
listed), a translation unit that includes it twice (the include guard) is compiled with
    CXX -std=c++17 -Wall -Wextra -Werror -fsyntax-only -I include
and again with -std=c++20; only include/ is on the include path, so a public header that
reaches into src/ (or needs a header its user has not included first) fails. The C header
cinesis/cinesis.h (and what it includes) is compiled as C:
    CC -std=c99 -pedantic -Wall -Wextra -Werror -fsyntax-only -I include
Failures are printed with the compiler's first lines of output.
"""
import argparse
import concurrent.futures
import glob
import os
import subprocess
import sys

C_HEADERS = ('cinesis/cinesis.h',)


def compile_one(compiler, lang, flags, include_dir, header):
    tu = '#include "%s"\n#include "%s"\nint cinesis_header_check_dummy;\n' % (header, header)
    cmd = [compiler, '-x', lang] + flags + ['-fsyntax-only', '-I', include_dir, '-']
    p = subprocess.run(cmd, input=tu, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       universal_newlines=True)
    return header, ' '.join(flags), p.returncode, p.stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--include', required=True, help='the include/ directory')
    ap.add_argument('--cxx', default='g++')
    ap.add_argument('--cc', default='gcc')
    ap.add_argument('--jobs', type=int, default=2)
    args = ap.parse_args()

    headers = sorted(os.path.relpath(p, args.include)
                     for p in glob.glob(os.path.join(args.include, '**', '*.h'), recursive=True))
    if not headers:
        print('no headers under %s' % args.include)
        return 1
    warn = ['-Wall', '-Wextra', '-Werror']
    jobs = []
    for h in headers:
        for std in ('-std=c++17', '-std=c++20'):
            jobs.append((args.cxx, 'c++', [std] + warn, args.include, h))
    for h in C_HEADERS:
        jobs.append((args.cc, 'c', ['-std=c99', '-pedantic'] + warn, args.include, h))

    failures = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        for header, flags, rc, output in pool.map(lambda j: compile_one(*j), jobs):
            status = 'ok' if rc == 0 else 'FAILED'
            print('%-6s %-36s %s' % (status, header, flags))
            if rc != 0:
                failures.append((header, flags, output))
    for header, flags, output in failures:
        lines = output.splitlines()
        print('\n--- %s (%s) ---\n%s%s' % (header, flags, '\n'.join(lines[:25]),
                                          '\n[...]' if len(lines) > 25 else ''))
    print('\n%d of %d compilations failed' % (len(failures), len(jobs)))
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
