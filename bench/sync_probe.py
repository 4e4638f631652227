#!/usr/bin/env python3
"""fdatasync of this directory's device, appending vs writing over preallocated zeros.

    python3 bench/sync_probe.py MODE SYNCS THREADS BYTES [PER_FILE]   (in a directory on the disk)

MODE: append (write at the end, as without preallocation), falloc (posix_fallocate'd space:
unwritten extents) or over (zeros written and synced beforehand, as cinesis's preallocated
space). Each of THREADS threads writes BYTES and fdatasyncs, SYNCS times, to a file of its
own (f0, f1, ... in the current directory, left behind; PER_FILE threads share each file,
each syncing while the others' syncs may be in flight: overlapping group commits). Prints the median latency of
write+fdatasync and the process CPU (user + system) per sync. docs/benchmarks.md,
"Preallocated segments".
"""
import os
import resource
import sys
import threading
import time

mode, n, threads, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
per_file = int(sys.argv[5]) if len(sys.argv) > 5 else 1
fds = []
for i in range(threads // per_file):
    fd = os.open("f%d" % i, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
    if mode == "falloc":
        os.posix_fallocate(fd, 0, n * size * per_file + 4096)
        os.fsync(fd)
    if mode == "over":
        os.write(fd, b"\0" * (n * size * per_file + 4096))
        os.fsync(fd)
        os.lseek(fd, 0, 0)
    fds.append(fd)
buf = b"x" * size
lat = []
ends = [0] * len(fds)
lock = threading.Lock()


def worker(k):
    fd = fds[k]
    for _ in range(n):
        a = time.time()
        with lock:  # one writer at a time per file, as a log's; the syncs overlap
            os.pwrite(fd, buf, ends[k])
            ends[k] += size
        os.fdatasync(fd)
        lat.append(time.time() - a)


r0 = resource.getrusage(resource.RUSAGE_SELF)
ts = [threading.Thread(target=worker, args=(i % len(fds),)) for i in range(threads)]
for t in ts:
    t.start()
for t in ts:
    t.join()
r1 = resource.getrusage(resource.RUSAGE_SELF)
syncs = n * threads
lat.sort()
cpu = r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime
print("%s %d bytes, %d threads, %d per file, %d syncs: p50 %.0f us, cpu %.1f us/sync" %
      (mode, size, threads, per_file, syncs, lat[len(lat) // 2] * 1e6, cpu / syncs * 1e6))
