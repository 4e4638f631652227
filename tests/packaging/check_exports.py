#!/usr/bin/env python3
"""libcinesis.so exports its public interface and nothing else (test packaging.exports).

Reads `nm -D --defined-only --demangle LIBRARY` and fails, printing the offenders, when

  - a symbol is neither a C function of the C ABI (cinesis_*) nor in namespace cinesis
    (directly, or as the typeinfo / vtable / thunk of a class of it): e.g. a std::, boost::
    or fmt:: template instantiation, or a symbol of a static library linked in;
  - a cinesis:: symbol belongs to an internal namespace (engine, storage, server, detail,
    internal), or its class or function is not declared in the public headers (every
    header under include/): e.g. an internal cinesis::api:: type or cinesis::HttpService
    marked CINESIS_EXPORT by mistake;
  - it is a member of a pimpl (Producer::Impl::...): a class nested in an exported class
    is exported with it unless it is given hidden visibility;
  - a function the C header declares (CINESIS_EXPORT ... cinesis_x(...)) is not exported,
    or the core of the C++ API (KinesisClient, Producer, Consumer, OpenSqliteStore,
    LocalKinesis, Version) exports nothing.

Exceptions allowed, and why:
  - "operator..." members or functions of public classes (named like any other member);
  - 'u' (GNU unique) objects such as the static local of an inline function of a public
    class (SystemClock::Instance()::clock): exported on purpose, so that the program and
    the library share one instance;
  - nothing else: the version script (src/libcinesis/libcinesis.map) makes every other
    symbol local, so none is expected.
"""
import argparse
import glob
import os
import re
import subprocess
import sys

INTERNAL_NAMESPACES = {'engine', 'storage', 'server', 'detail', 'internal'}
SPECIAL_PREFIXES = ('typeinfo name for ', 'typeinfo for ', 'vtable for ', 'VTT for ',
                    'non-virtual thunk to ', 'virtual thunk to ', 'covariant return thunk to ',
                    'guard variable for ')
REQUIRED_CXX = ('KinesisClient', 'Producer', 'Consumer', 'OpenSqliteStore', 'LocalKinesis',
                'Version')
NM_LINE = re.compile(r'^(?:[0-9a-fA-F]+)?\s+(\S)\s+(.*)$')


def exported_symbols(nm, library):
    out = subprocess.run([nm, '-D', '--defined-only', '--demangle', library], check=True,
                         stdout=subprocess.PIPE, universal_newlines=True).stdout
    symbols = []
    for line in out.splitlines():
        m = NM_LINE.match(line)
        if m:
            symbols.append((m.group(1), m.group(2).strip()))
    return symbols


def qualified_parts(name):
    """'cinesis::consumer::OpenSqliteStore(std::...)' -> ['cinesis', 'consumer',
    'OpenSqliteStore']: the scope path up to the first '(' or template argument list."""
    depth = 0
    path = []
    cur = ''
    i = 0
    while i < len(name):
        c = name[i]
        if name.startswith('operator', i) and depth == 0 and (cur == '' or cur.endswith('::')):
            path.append(name[i:].split('(')[0].strip())
            return path
        if c == '<':
            depth += 1
        elif c == '>':
            depth -= 1
        elif depth == 0 and c == '(':
            break
        elif depth == 0 and name.startswith('::', i):
            path.append(cur)
            cur = ''
            i += 2
            continue
        elif depth == 0:
            cur += c
        i += 1
    if cur:
        path.append(cur)
    # GCC's ABI tags: Sha256Hex[abi:cxx11] -> Sha256Hex
    return [re.sub(r'\[abi:[^\]]*\]', '', p) for p in path]


def public_name(parts):
    """The first part that is not a lower-case namespace name: the class or function the
    symbol belongs to (namespaces are lower_case, types and functions CamelCase)."""
    for p in parts[1:]:
        if not re.fullmatch(r'[a-z0-9_]+', p):
            return p
    return parts[-1]


def header_words(include_dir):
    text = ''
    for path in glob.glob(os.path.join(include_dir, '**', '*.h'), recursive=True):
        with open(path, encoding='utf-8') as f:
            text += f.read() + '\n'
    return text, set(re.findall(r'[A-Za-z_][A-Za-z0-9_]*', text))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--library', required=True)
    ap.add_argument('--include', required=True, help='the include/ directory')
    ap.add_argument('--nm', default='nm')
    args = ap.parse_args()

    text, words = header_words(args.include)
    c_declared = set(re.findall(r'CINESIS_EXPORT[^;{}]*?\b(cinesis_[a-z0-9_]+)\s*\(', text))
    symbols = exported_symbols(args.nm, args.library)

    offenders = []
    c_exported = set()
    cxx_public = set()
    for kind, name in symbols:
        if re.fullmatch(r'cinesis_[a-z0-9_]+', name):
            c_exported.add(name)
            if name not in c_declared:
                offenders.append((kind, name, 'C symbol not declared in include/cinesis/'))
            continue
        bare = name
        for prefix in SPECIAL_PREFIXES:
            if bare.startswith(prefix):
                bare = bare[len(prefix):]
                break
        if not bare.startswith('cinesis::'):
            offenders.append((kind, name, 'outside namespace cinesis'))
            continue
        parts = qualified_parts(bare)
        internal = [p for p in parts[1:-1] if p in INTERNAL_NAMESPACES]
        if internal:
            offenders.append((kind, name, 'internal namespace cinesis::%s' % internal[0]))
            continue
        public = public_name(parts)
        pimpl = [p for p in parts[parts.index(public) + 1:-1] if p.endswith('Impl')]
        if pimpl:
            offenders.append((kind, name, '%s::%s is the implementation of %s, not API (give it '
                              'hidden visibility)' % (public, pimpl[0], public)))
            continue
        if public.startswith('operator'):
            owner = parts[-2] if len(parts) > 2 else None
            if owner is None or re.fullmatch(r'[a-z0-9_]+', owner) or owner in words:
                cxx_public.add(owner or public)
                continue
            offenders.append((kind, name, '%s is not declared in include/' % owner))
            continue
        if public.lstrip('~') not in words:
            offenders.append((kind, name, '%s is not declared in include/' % public))
            continue
        cxx_public.add(public.lstrip('~'))

    missing_c = sorted(c_declared - c_exported)
    missing_cxx = [n for n in REQUIRED_CXX if n not in cxx_public]

    print('%s: %d exported symbols (%d C, %d C++)' % (
        args.library, len(symbols), len(c_exported), len(symbols) - len(c_exported)))
    ok = True
    if offenders:
        ok = False
        print('\n%d symbols exported that are not public API:' % len(offenders))
        for kind, name, why in offenders:
            print('  %s %s\n      (%s)' % (kind, name, why))
    if missing_c:
        ok = False
        print('\n%d functions of the C ABI (include/cinesis/cinesis.h) are not exported%s:' % (
            len(missing_c), ' (C ABI not built: src/capi missing from libcinesis?)'
            if not c_exported else ''))
        for n in missing_c:
            print('  ' + n)
    if missing_cxx:
        ok = False
        print('\nno exported symbol of: %s (public classes not marked CINESIS_EXPORT?)' %
              ', '.join(missing_cxx))
    if ok:
        print('OK: only cinesis_* and public cinesis:: symbols; every C function and the core '
              'C++ API exported')
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
