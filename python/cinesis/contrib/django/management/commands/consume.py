"""manage.py consume STREAM HANDLER: reads the stream configured as CINESIS["STREAMS"][STREAM]
and calls HANDLER (a dotted path to a callable taking one cinesis.Record) for every record.
Several processes share the shards through the leases of the stream's store (LEASES).
SIGTERM/SIGINT: the record being handled finishes, the batch is checkpointed if complete,
leases are released, then the command exits 0."""

import signal

from django.core.management.base import BaseCommand
from django.utils.module_loading import import_string


class Command(BaseCommand):
    help = 'Consume a stream with a handler given by dotted path.'

    def add_arguments(self, parser):
        parser.add_argument('stream', help='name in CINESIS["STREAMS"]')
        parser.add_argument('handler', help='dotted path of a callable(record)')
        parser.add_argument('--worker-id', default=None)
        parser.add_argument('--max-records', type=int, default=0,
                            help='stop after this many records (0: run until signalled)')

    def handle(self, *args, **options):
        from cinesis.contrib.django.conf import build_native_stream
        handler = import_string(options['handler'])
        overrides = {}
        if options['worker_id']:
            overrides['worker_id'] = options['worker_id']
        stream = build_native_stream(options['stream'], **overrides)
        consumer = stream.consumer()

        def on_signal(signum, frame):
            consumer.stop()

        old = {}
        for sig in (signal.SIGTERM, signal.SIGINT):
            old[sig] = signal.signal(sig, on_signal)
        n = 0
        try:
            self.stdout.write('consuming %s as %s' % (stream.stream_name, consumer.worker_id))
            self.stdout.flush()
            for record in consumer:
                handler(record)
                n += 1
                if options['max_records'] and n >= options['max_records']:
                    consumer.stop()
        finally:
            consumer.close()
            from cinesis.contrib.django.conf import close_stream
            close_stream(stream)
            for sig, h in old.items():
                signal.signal(sig, h)
        self.stdout.write('handled %d records' % n)
