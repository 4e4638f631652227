"""``async for record in consumer`` (Python 3.7+): polls run in the loop's default executor,
so the event loop is never blocked; the GIL is released during the C call."""

import asyncio


class AsyncRecords(object):
    def __init__(self, consumer):
        self._consumer = consumer
        self._batch = []
        self._pos = 0

    def __aiter__(self):
        return self

    async def __anext__(self):
        c = self._consumer
        while True:
            if c._stop_requested:
                if self._pos < len(self._batch):
                    c._uncommitted = False  # handled in part: delivered again
                c._finish_stop()
                raise StopAsyncIteration
            if self._pos < len(self._batch):
                rec = self._batch[self._pos]
                self._pos += 1
                return rec
            loop = asyncio.get_event_loop()
            try:
                self._batch = await loop.run_in_executor(None, c.poll, c.poll_timeout)
            except Exception:
                if c._stop_requested:
                    c._finish_stop()
                    raise StopAsyncIteration
                raise
            self._pos = 0
