"""``async for record in consumer`` (Python 3.7+): polls run in the loop's default executor,
so the event loop is never blocked; the GIL is released during the C call. A record counts as
handled when the next one is asked for (the consumer's _iter_records/_handled, as in its
records() iteration: stopping or closing in the middle of a batch checkpoints what was
handled)."""

import asyncio


class AsyncRecords(object):
    def __init__(self, consumer):
        self._consumer = consumer
        self._returned = False  # a record was returned and not yet counted as handled

    def __aiter__(self):
        return self

    async def __anext__(self):
        c = self._consumer
        if self._returned:
            self._returned = False
            c._handled += 1
        while True:
            if c._stop_requested:
                c._finish_stop()
                raise StopAsyncIteration
            recs = c._iter_records
            if recs is not None and c._handled < len(recs):
                self._returned = True
                return recs[c._handled]
            c._iter_records = None  # handled: the next poll commits it
            loop = asyncio.get_event_loop()
            try:
                recs = await loop.run_in_executor(None, c.poll, c.poll_timeout)
            except Exception:
                if c._stop_requested:
                    c._finish_stop()
                    raise StopAsyncIteration
                raise
            c._iter_records, c._handled = recs, 0
