"""A pipelined upload: a body spooled to disk while its finished parts already go to the store.

The caller writes the body as it arrives; as soon as one part-sized piece of the spool file is
complete (and there is more after it), that piece is uploaded as one part of a multipart upload,
read back from the file by the part's own reader, so memory stays at about one buffer per part in
flight. At most `concurrency` parts are in flight; the rest of the file waits on disk. `finish`
sends the last part and completes the upload; `abort` (any failure, a client gone) cancels what
has not started and aborts the multipart upload, so no half-written object is ever visible. A body
no longer than one part goes up as a single put at the end. A store without multipart parts
(`parts=None`) just spools and puts at the end.

NOTE: the spool file is kept until the whole upload is over: a part the store failed is re-read
from it by the store's retries (botocore seeks the part's reader back to its start).
"""

from __future__ import annotations

import abc
import logging
import math
import os
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from types import TracebackType

from shipyard.exceptions import ShipyardError

logger = logging.getLogger("shipyard.artifacts")


class PartUpload(abc.ABC):
    """One object's multipart upload on a store: begun, parts sent from a file, completed or aborted."""

    min_part_bytes: int = 1
    """The smallest part the store accepts (but for the last one)."""
    max_parts: int = 10_000
    """The most parts one upload may have."""

    @abc.abstractmethod
    def begin(self) -> None:
        """Start the multipart upload (called once, before the first part)."""

    @abc.abstractmethod
    def send_part(self, number: int, spool: Path, offset: int, length: int) -> None:
        """Upload bytes `[offset, offset + length)` of `spool` as part `number` (from 1); thread-safe."""

    @abc.abstractmethod
    def complete(self) -> None:
        """Make the object visible from the parts sent."""

    @abc.abstractmethod
    def abort(self) -> None:
        """Drop the parts sent; the object never appears."""


class PartReader:
    """Bytes `[offset, offset + length)` of a file as a seekable stream of their own (position 0 is
    `offset`), so an SDK reads one part in small pieces and seeks back to retry it.

    NOTE: `__len__` gives the part's length and there is no `fileno`: botocore and requests size a
    body by `len()` first, and by `fstat` of a file descriptor (the whole file) if one is offered."""

    def __init__(self, path: Path, offset: int, length: int) -> None:
        self._file = path.open("rb")
        self._file.seek(offset)
        self._offset, self._length, self._position = offset, length, 0
        self._in_step = True
        """Whether the file's own position is at `_position` (then a read needs no seek)."""

    def __len__(self) -> int:
        return self._length

    def read(self, size: int | None = -1) -> bytes:
        left = self._length - self._position
        wanted = left if size is None or size < 0 else min(size, left)
        if wanted <= 0:
            return b""
        if not self._in_step:  # NOTE: a seek empties the file's read buffer: only after our own seek
            self._file.seek(self._offset + self._position)
            self._in_step = True
        data = self._file.read(wanted)
        self._position += len(data)
        return data

    def seek(self, position: int, whence: int = os.SEEK_SET) -> int:
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self._position, os.SEEK_END: self._length}[whence]
        target = min(max(base + position, 0), self._length)
        self._in_step = self._in_step and target == self._position
        self._position = target
        return self._position

    def tell(self) -> int:
        return self._position

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> PartReader:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


def part_size(wanted: int, limit: int, parts: PartUpload) -> int:
    """The part size for a body of at most `limit` bytes: `wanted`, raised to the store's minimum
    and so that `limit` bytes fit in the store's most parts."""
    return max(wanted, parts.min_part_bytes, math.ceil(limit / parts.max_parts))


class StreamedUpload:
    """Receives a body by `write`, uploading finished parts in the background; `finish` or `abort`.

    `write`, `finish` and `abort` are called one at a time (from the server's thread pool)."""

    def __init__(
        self,
        spool: Path,
        parts: PartUpload | None,
        put_whole: Callable[[Path], None],
        *,
        part_bytes: int,
        concurrency: int,
    ) -> None:
        if part_bytes < 1 or concurrency < 1:
            raise ValueError(f"part_bytes ({part_bytes}) and concurrency ({concurrency}) must be positive")
        self.spool = spool
        self._parts = parts
        self._put_whole = put_whole
        self._part_bytes = part_bytes
        self._concurrency = concurrency
        self._out = spool.open("wb")
        self._written = 0
        self._sent = 0
        """Bytes of the spool file covered by parts already handed to the pool."""
        self._pool: ThreadPoolExecutor | None = None
        self._futures: list[Future[None]] = []

    def write(self, data: bytes | bytearray) -> None:
        """Append `data`; every part that is now complete and followed by more bytes is sent.
        Raises the first failed part's error, so a broken upload stops reading the body early."""
        self._out.write(data)
        self._written += len(data)
        if self._parts is None or self._written - self._sent <= self._part_bytes:
            return
        self._out.flush()  # NOTE: the part's reader opens the file itself: the bytes must be in the OS's hands
        while self._written - self._sent > self._part_bytes:
            self._submit(self._part_bytes)
        self._raise_failed()

    def finish(self) -> None:
        """The body is complete: send the rest and make the object visible (or put it whole)."""
        self._out.close()
        if not self._futures:
            self._put_whole(self.spool)
            return
        assert self._parts is not None  # parts were sent
        self._submit(self._written - self._sent)
        try:
            for future in self._futures:
                future.result()
        finally:
            self._shutdown()
        self._parts.complete()

    def abort(self) -> None:
        """Stop: cancel parts not started, wait for those running, abort the multipart upload.

        NOTE: a store that fails to abort (its bucket gone) is logged, not raised: the caller is
        handling the failure that made it abort, and that one is what the client must see."""
        self._out.close()
        self._shutdown()
        if self._futures and self._parts is not None:
            try:
                self._parts.abort()
            except ShipyardError as error:
                logger.warning("could not abort the multipart upload of %s: %s", self.spool.name, error.message)

    def _submit(self, length: int) -> None:
        assert self._parts is not None
        if self._pool is None:
            self._parts.begin()
            self._pool = ThreadPoolExecutor(self._concurrency, thread_name_prefix="shipyard-part")
        number = len(self._futures) + 1
        self._futures.append(self._pool.submit(self._parts.send_part, number, self.spool, self._sent, length))
        self._sent += length

    def _raise_failed(self) -> None:
        for future in self._futures:
            if future.done() and not future.cancelled() and (error := future.exception()) is not None:
                raise error

    def _shutdown(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)


__all__ = ["PartReader", "PartUpload", "StreamedUpload", "part_size"]
