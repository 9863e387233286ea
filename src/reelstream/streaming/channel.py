"""A :class:`multiprocessing.connection.Connection` used from an asyncio loop.

The worker and its processor process talk over one ``Connection`` (length-prefixed pickles:
the standard library's framing). Its calls block, so each side receives on a thread of its own
(the other side's messages are read while this side's loop is busy applying a batch) and sends
on another, one message at a time, in order.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.connection import Connection

__all__ = ["AsyncConnection"]

_CLOSED = object()


class AsyncConnection:
    """``await send(obj)`` / ``await recv()`` over ``conn``; ``recv`` raises ``EOFError`` once
    the other end is gone (and every time after)."""

    def __init__(self, conn: Connection, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self.conn = conn
        self._loop = loop or asyncio.get_running_loop()
        self._received: asyncio.Queue[object] = asyncio.Queue()
        self._sender = ThreadPoolExecutor(max_workers=1, thread_name_prefix="conn-send")
        self._reader = threading.Thread(target=self._read, name="conn-recv", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            try:
                obj = self.conn.recv()
            except (EOFError, OSError):
                obj = _CLOSED
            try:
                self._loop.call_soon_threadsafe(self._received.put_nowait, obj)
            except RuntimeError:  # the loop is closed: nobody is listening any more
                return
            if obj is _CLOSED:
                return

    async def recv(self) -> object:
        obj = await self._received.get()
        if obj is _CLOSED:
            self._received.put_nowait(_CLOSED)
            raise EOFError("the other end closed the connection")
        return obj

    async def send(self, obj: object) -> None:
        """Send ``obj`` (pickled on the sending thread); ``OSError`` when the other end is gone."""
        await self._loop.run_in_executor(self._sender, self.conn.send, obj)

    def close(self) -> None:
        """Close the connection; the receiving thread sees the end first (shutdown), so it
        never reads a descriptor number reused by something else."""
        self._sender.shutdown(wait=False, cancel_futures=True)
        if self.conn.closed:
            return
        try:
            with socket.fromfd(self.conn.fileno(), socket.AF_UNIX, socket.SOCK_STREAM) as dup:
                dup.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass  # not a socket, or already shut down
        self._reader.join(timeout=1.0)
        self.conn.close()
