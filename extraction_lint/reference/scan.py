"""Checking a pickle's opcodes as they are read, before the unpickler acts on them.

The C unpickler trusts the numbers a file gives it: ``LONG_BINPUT`` with memo index
2**29 makes it allocate and zero an 8 GiB memo table in one call, and ``BINBYTES8`` with
a length of 2**40 makes it allocate that buffer before reading a byte of it. Neither
passes through Python code a memory guard could stop.

:class:`OpcodeChecker` parses the same bytes the unpickler reads, as they are handed
to it (the unpickler reads each opcode and its argument exactly, through the reader of
:mod:`.unpickle`, so the checker has seen an opcode whole before the unpickler can act on
it). It refuses, before the allocation:

- a memo index out of sequence (``pickle`` writes 0, 1, 2, ...; any index above the
  number of entries so far only serves to make the memo table huge);
- a length (of a frame, string, bytes, long) larger than what is left of the file;
- a file whose objects would take more than ``max_bytes`` to build (the sum, over its
  opcodes, of what each may allocate: see :data:`OBJECT_BYTES` and :meth:`_payload_cost`);

and calls ``check_allocation(nbytes, what)`` (a guard's, so that the memory limit is
checked against the process's current memory) before each large buffer is built.
"""

from __future__ import annotations

import pickle
import pickletools
import re
from collections.abc import Callable

from extraction_lint.guardrails.units import format_bytes

# What one opcode may add beyond its payload: a Python object's header, a dict or list
# slot, a stack and a memo entry. Generous: real signal files have a few opcodes a signal.
OBJECT_BYTES = 96
# Buffers at least this large are checked against the memory limit before they are built.
CHECK_ALLOCATION_BYTES = 1 << 20
# Chunks at most this large are copied to bytes for the fast path.
FAST_COPY_BYTES = 1 << 18
# Decimal arguments (memo indexes) longer than this are not numbers a real pickle writes.
MAX_DECIMAL_CHARS = 24

_OPCODES = {ord(op.code): op for op in pickletools.opcodes}
_MEMO_PUT = {"PUT", "BINPUT", "LONG_BINPUT"}
_UNICODE = {"UNICODE", "SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8"}
# Payloads turned into another object (a Python 2 str, an int) after they are read.
_DECODED = {"SHORT_BINSTRING", "BINSTRING", "LONG1", "LONG4"}
# Argument descriptors whose payload length comes first: (prefix bytes, signed).
_COUNTED = {
    pickletools.TAKEN_FROM_ARGUMENT1: (1, False),
    pickletools.TAKEN_FROM_ARGUMENT4: (4, True),
    pickletools.TAKEN_FROM_ARGUMENT4U: (4, False),
    pickletools.TAKEN_FROM_ARGUMENT8U: (8, False),
}
# UTF-8 lead bytes of code points above U+00FF (a str of 2 bytes a character) and above
# U+FFFF (4 bytes a character); raw-unicode-escape's \u and \U escapes likewise.
_WIDE_UTF8 = re.compile(rb"[\xc4-\xef]")
_WIDEST_UTF8 = re.compile(rb"[\xf0-\xff]")
_WIDE_ESCAPE = re.compile(rb"\\u")
_WIDEST_ESCAPE = re.compile(rb"\\U")
_NEWLINE = re.compile(rb"\n")

# The fast path's table: opcode byte -> (shape, argument bytes, what to check).
_PLAIN, _FIXED, _COUNTED_ARG, _LINE = range(4)
_NOTHING, _STOP, _MEMOIZE, _PUT, _FRAME, _TEXT, _DECODE = range(7)


def _fast_entry(op: pickletools.OpcodeInfo) -> tuple[int, int, int, bool]:
    check = _NOTHING
    if op.name == "STOP":
        check = _STOP
    elif op.name == "MEMOIZE":
        check = _MEMOIZE
    elif op.name in _MEMO_PUT:
        check = _PUT
    elif op.name == "FRAME":
        check = _FRAME
    elif op.name in _UNICODE:
        check = _TEXT
    elif op.name in _DECODED:
        check = _DECODE
    arg = op.arg
    if arg is None:
        return (_PLAIN, 0, check, False)
    if arg.n >= 0:
        return (_FIXED, arg.n, check, False)
    if arg.n == pickletools.UP_TO_NEWLINE:
        # The slow path takes these (protocol 0): GLOBAL and INST have two lines.
        return (_LINE, 0, check, False)
    prefix, signed = _COUNTED[arg.n]
    return (_COUNTED_ARG, prefix, check, signed)


_FAST: list[tuple[int, int, int, bool] | None] = [
    _fast_entry(_OPCODES[code]) if code in _OPCODES else None for code in range(256)
]


class PickleRefused(pickle.UnpicklingError):
    """The pickle asks for something the checker refuses; the message says what."""


class PickleTooLarge(PickleRefused):
    """Building the pickle's objects would take more than the file's allowance."""


AllocationCheck = Callable[[int, str], object]


class OpcodeChecker:
    """An incremental parser of a pickle's opcode stream that refuses what a file may not ask.

    ``feed`` every chunk of the file, in order, before the unpickler sees it;
    ``file_size`` is the size of the whole file, ``max_bytes`` (``None``: no allowance)
    the most its objects may take, ``max_bytes_reason`` what that figure comes from (for
    the message).
    """

    def __init__(
        self,
        file_size: int,
        max_bytes: int | None = None,
        max_bytes_reason: str = "",
        check_allocation: AllocationCheck | None = None,
    ) -> None:
        self.file_size = file_size
        self.max_bytes = max_bytes
        self.max_bytes_reason = max_bytes_reason
        self.check_allocation = check_allocation
        self.position = 0  # bytes fed so far
        self.cost = 0  # bytes the objects built so far may take
        self.memo_entries = 0
        self.stopped = False  # STOP seen, or an opcode the unpickler itself will refuse
        self._op: pickletools.OpcodeInfo | None = None
        self._op_at = 0
        self._header = bytearray()  # the current opcode's fixed argument or length prefix
        self._need = 0  # bytes of _header still to come
        self._payload_left = 0  # bytes of a counted payload still to pass
        self._payload_size = 0
        self._lines_left = 0  # newline-terminated arguments still to pass
        self._line = bytearray()  # the current line, kept only while short
        self._line_size = 0
        self._width = 1  # bytes a character of the current string may take
        self._escape_pending = False  # the last line chunk ended with a backslash

    # -- feeding ---------------------------------------------------------------------

    def feed(self, data: bytes | bytearray | memoryview) -> None:
        """Check ``data``, the next bytes of the file; raise :class:`PickleRefused` if refused."""
        view = memoryview(data).cast("B")
        whole = data if isinstance(data, bytes) else None
        index = 0
        size = len(view)
        while index < size and not self.stopped:
            if self._payload_left or self._lines_left or self._need:
                index = self._continue_opcode(view, index)
            else:
                index = self._whole_opcodes(view, index, whole)
        self.position += size

    def _whole_opcodes(self, view: memoryview, index: int, whole: bytes | None = None) -> int:
        """Check the opcodes that lie whole in ``view`` from ``index``; start the next one.

        The common case, kept to a few operations an opcode: frames of protocol 4 and 5
        hold thousands of opcodes, and the unpickler reads each frame in one call.
        """
        size = len(view)
        # Indexing bytes is faster than indexing a memoryview: use the bytes read when
        # there are some, else copy a small chunk.
        data: bytes | memoryview = view
        if whole is not None:
            data = whole
        elif size - index <= FAST_COPY_BYTES:
            data = view.tobytes()
        table = _FAST
        memo = self.memo_entries
        opcodes = 0
        payload = 0
        try:
            while index < size:
                entry = table[data[index]]
                if entry is None or entry[0] == _LINE:
                    break
                shape, width, check, signed = entry
                opcodes += 1
                if shape == _PLAIN:
                    if check == _STOP:
                        self.stopped = True
                        return index + 1
                    if check == _MEMOIZE:
                        memo += 1
                    index += 1
                    continue
                end = index + 1 + width
                if end > size:
                    break
                if shape == _FIXED:
                    if check == _PUT:
                        put = int.from_bytes(data[index + 1 : end], "little")
                        if put == memo:
                            memo += 1
                        elif put > memo:
                            break  # the slow path refuses it
                    elif check == _FRAME:
                        framed = int.from_bytes(data[index + 1 : end], "little")
                        if framed >= CHECK_ALLOCATION_BYTES or (
                            framed > self.file_size - self.position - end
                        ):
                            break  # the slow path checks it
                        payload += framed
                    index = end
                    continue
                length = int.from_bytes(data[index + 1 : end], "little", signed=signed)
                stop = end + length
                if stop > size or length < 0 or length >= CHECK_ALLOCATION_BYTES:
                    break  # the slow path checks it, and passes the payload chunk by chunk
                if check == _TEXT:
                    chars = 4 if _WIDEST_UTF8.search(data, end, stop) else 1
                    if chars == 1 and _WIDE_UTF8.search(data, end, stop):
                        chars = 2
                    payload += length * (1 + chars)
                elif check == _DECODE:
                    payload += 2 * length
                else:
                    payload += length
                index = stop
        finally:
            self.memo_entries = memo
            self._add_cost(opcodes * OBJECT_BYTES + payload)
        if index == size:
            return index
        # An opcode split over two chunks, or one to check closely: byte by byte.
        self._start_opcode(data[index], self.position + index)
        return index + 1

    def _continue_opcode(self, view: memoryview, index: int) -> int:
        """Take the current opcode's bytes from ``view`` at ``index``, chunk by chunk."""
        size = len(view)
        if self._payload_left:
            take = min(self._payload_left, size - index)
            self._scan_payload(view[index : index + take])
            self._payload_left -= take
            if not self._payload_left:
                self._end_payload()
            return index + take
        if self._lines_left:
            return self._take_line(view, index)
        take = min(self._need, size - index)
        self._header += view[index : index + take]
        self._need -= take
        if not self._need:
            self._end_header()
        return index + take

    # -- opcodes ---------------------------------------------------------------------

    def _start_opcode(self, code: int, at: int) -> None:
        op = _OPCODES.get(code)
        if op is None:
            # The unpickler refuses an unknown opcode itself, with its own message.
            self.stopped = True
            return
        self._op, self._op_at = op, at
        self._add_cost(OBJECT_BYTES)
        self._header.clear()
        if op.name == "STOP":
            self.stopped = True
            return
        arg = op.arg
        if arg is None:
            if op.name == "MEMOIZE":
                self.memo_entries += 1
            return
        if arg.n >= 0:
            self._header.clear()
            self._need = arg.n
            if not self._need:
                self._end_header()
        elif arg.n == pickletools.UP_TO_NEWLINE:
            self._lines_left = 2 if op.name in ("GLOBAL", "INST") else 1
            self._start_line()
        else:
            self._header.clear()
            self._need = _COUNTED[arg.n][0]

    def _end_header(self) -> None:
        op = self._op
        assert op is not None and op.arg is not None
        if op.arg.n >= 0:
            if op.name in _MEMO_PUT:
                self._memo_put(int.from_bytes(self._header, "little"))
            elif op.name == "FRAME":
                # The unpickler reads a frame whole into one buffer, then its opcodes.
                length = int.from_bytes(self._header, "little")
                self._declared(length)
                self._add_cost(length)
                if self.check_allocation is not None and length >= CHECK_ALLOCATION_BYTES:
                    self.check_allocation(length, f"FRAME of {length:,} bytes")
            return
        _, signed = _COUNTED[op.arg.n]
        length = int.from_bytes(self._header, "little", signed=signed)
        if length < 0:
            raise PickleRefused(f"{self._where()} declares a negative length ({length:,})")
        self._declared(length)
        self._payload_size = self._payload_left = length
        self._width = 1
        # Counted now, before the payload is read (a str's width is known after it).
        cost = self._payload_cost(length)
        self._add_cost(cost)
        if self.check_allocation is not None and cost >= CHECK_ALLOCATION_BYTES:
            self.check_allocation(cost, f"{self._describe_op()} of {length:,} bytes")
        if not length:
            self._end_payload()

    def _end_payload(self) -> None:
        if self._width > 1:
            extra = self._payload_cost(self._payload_size) - self._payload_cost_at_width_1()
            if self.check_allocation is not None and extra >= CHECK_ALLOCATION_BYTES:
                self.check_allocation(extra, f"{self._describe_op()} decoded")
            self._add_cost(extra)
        self._op = None

    def _payload_cost_at_width_1(self) -> int:
        width, self._width = self._width, 1
        try:
            return self._payload_cost(self._payload_size)
        finally:
            self._width = width

    def _payload_cost(self, length: int) -> int:
        # What reading and building the object may allocate. A bytes object is read
        # straight into place (an array then uses it without a copy); a str is decoded
        # from the bytes read, and may take up to 4 bytes a character.
        op = self._op
        assert op is not None
        if op.name in _UNICODE:
            return length * (1 + self._width)
        if op.name in _DECODED:
            return 2 * length
        return length

    def _scan_payload(self, chunk: memoryview) -> None:
        op = self._op
        if op is None or op.name not in _UNICODE or self._width == 4:
            return
        if _WIDEST_UTF8.search(chunk):
            self._width = 4
        elif self._width == 1 and _WIDE_UTF8.search(chunk):
            self._width = 2

    # -- newline-terminated arguments ---------------------------------------------------

    def _start_line(self) -> None:
        self._line.clear()
        self._line_size = 0
        self._width = 1
        self._escape_pending = False

    def _take_line(self, view: memoryview, index: int) -> int:
        end = _find_newline(view, index)
        stop = len(view) if end < 0 else end
        piece = view[index:stop]
        self._line_size += len(piece)
        if len(self._line) <= MAX_DECIMAL_CHARS:
            self._line += piece[: MAX_DECIMAL_CHARS + 1]
        self._scan_line(piece)
        if end < 0:
            return len(view)
        self._end_line()
        return end + 1

    def _scan_line(self, piece: memoryview) -> None:
        op = self._op
        if op is None or op.name != "UNICODE" or self._width == 4:
            return
        data = bytes(piece) if not self._escape_pending else b"\\" + bytes(piece)
        if _WIDEST_ESCAPE.search(data):
            self._width = 4
        elif _WIDE_ESCAPE.search(data):
            self._width = 2
        self._escape_pending = data.endswith(b"\\")

    def _end_line(self) -> None:
        op = self._op
        assert op is not None
        self._lines_left -= 1
        size = self._line_size
        if op.name == "PUT":
            self._memo_put(self._decimal())
        if op.name in _UNICODE or op.name == "STRING":
            self._add_cost(size * (1 + (4 if op.name == "STRING" else self._width)))
        else:
            self._add_cost(2 * size)
        if self._lines_left:
            self._start_line()
        else:
            self._op = None

    def _decimal(self) -> int:
        text = bytes(self._line).strip()
        if len(text) > MAX_DECIMAL_CHARS or not text.isdigit():
            raise PickleRefused(f"{self._where()} has a memo index that is not a small number")
        return int(text)

    # -- the checks ----------------------------------------------------------------------

    def _memo_put(self, index: int) -> None:
        if index > self.memo_entries:
            raise PickleRefused(
                f"{self._where()} stores memo entry {index:,}, out of sequence after "
                f"{self.memo_entries:,} entries (pickle numbers them 0, 1, 2, ...; a large "
                "index only makes the unpickler allocate a memo table that large)"
            )
        if index == self.memo_entries:
            self.memo_entries += 1

    def _declared(self, length: int) -> None:
        after = self._op_at + 1 + len(self._header)
        left = self.file_size - after
        if length > left:
            raise PickleRefused(
                f"truncated pickle: the file ends after {self.file_size:,} bytes, before the "
                f"pickle is complete ({self._where()} declares {length:,} bytes, "
                f"{max(left, 0):,} are left)"
            )

    def _add_cost(self, nbytes: int) -> None:
        self.cost += nbytes
        if self.max_bytes is not None and self.cost > self.max_bytes:
            raise PickleTooLarge(
                f"its objects would take more than {format_bytes(self.max_bytes)} to build "
                f"({self.max_bytes_reason or 'the limit for one file'}), reached at "
                f"{self._where()}"
            )

    def _describe_op(self) -> str:
        return self._op.name if self._op is not None else "opcode"

    def _where(self) -> str:
        return f"{self._describe_op()} at byte {self._op_at:,}"


def _find_newline(view: memoryview, start: int) -> int:
    found = _NEWLINE.search(view, start)
    return -1 if found is None else found.start()
