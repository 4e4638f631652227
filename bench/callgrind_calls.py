#!/usr/bin/env python3
# Sums the calls made to the named functions in a callgrind output file.
import re, sys
names = {}
counts = {}
want = sys.argv[2:] or ["malloc"]
cur_cfn = None
with open(sys.argv[1]) as f:
    for line in f:
        m = re.match(r'^c?fn=\((\d+)\)(?: (.*))?$', line.rstrip('\n'))
        if m:
            i, n = m.group(1), m.group(2)
            if n is not None: names[i] = n
            if line.startswith('cfn='): cur_cfn = names.get(i)
            continue
        if line.startswith('calls=') and cur_cfn is not None:
            c = int(line.split('=')[1].split()[0])
            for w in want:
                if cur_cfn == w:
                    counts[w] = counts.get(w, 0) + c
for w in want: print(w, counts.get(w, 0))
