"""The pure-Python AMI parser and action encoder: the executable form of docs/parser-contract.md.

Framing works on bytes with ``bytes.find`` (and one regex for the end of a plain message) over
the whole buffer; fields are decoded lazily by
the message objects. Between ``feed()`` calls only the unfinished tail is kept, and the search
for its end resumes where it stopped, so byte-by-byte input stays O(n). Runs of plain messages
(CRLF-terminated, small, not Follows, lenient mode) take a short loop (``_common_run``); every
other case goes through the general loop, which implements the contract line for line.
"""

from __future__ import annotations

import re

from ._pymessages import Event, Message, Response, decode
from .errors import InvalidActionError, MessageTooLargeError, ProtocolError

__all__ = ["Parser", "encode_action"]

_LF = 10
_CR = 13
_MARKER = b"--END COMMAND--"
_LOOK_BEHIND = 18  # longest unfinished end sequence: marker + CRLF + CR
_EXCERPT = 64
# The first empty line at or after a position: one scan finds both a CRLF and a bare-LF end
# (two bytes.find calls, one per form, would scan every byte twice).
_find_end = re.compile(rb"\n\r?\n").search

# Discard states after a size error (normal messages): where the next byte falls.
_MID = 0  # inside a non-empty line
_LINE_START = 1  # right after an LF
_LINE_START_CR = 2  # after an LF and a CR

_NORMAL = 0
_DISCARD = 1
_DISCARD_FOLLOWS = 2


def _is_follows_line(line: bytes) -> bool:
    """``Response: Follows`` (case-insensitive, one optional space) without its line end."""
    key, sep, value = line.partition(b":")
    if not sep or key.lower() != b"response":
        return False
    if value[:1] == b" ":
        value = value[1:]
    return value.lower() == b"follows"


def _is_header_line(line: bytes) -> bool:
    key, sep, _ = line.partition(b":")
    return bool(sep) and key.lower() in (b"privilege", b"actionid")


def _match_end(buf: bytes | bytearray, i: int, n: int) -> int:
    """At a marker found at ``i``: the end of ``marker \\r?\\n \\r?\\n``, -1 if not, -2 if unknown."""
    j = i + 15
    for _ in range(2):
        if j >= n:
            return -2
        b = buf[j]
        if b == _CR:
            j += 1
            if j >= n:
                return -2
            b = buf[j]
        if b != _LF:
            return -1
        j += 1
    return j


def _find_follows_end(buf: bytes | bytearray, frm: int, n: int) -> tuple[int, int, int]:
    """First complete end sequence at or after ``frm``: ``(marker, end, resume)``.

    ``end`` is -1 when there is none yet; then ``resume`` is where the next search starts.
    """
    while True:
        i = buf.find(_MARKER, frm)
        if i < 0:
            return -1, -1, max(frm, n - 14)
        end = _match_end(buf, i, n)
        if end == -1:
            frm = i + 1
            continue
        if end == -2:
            return -1, -1, i
        return i, end, i


def _classify(raw: bytes, head: int) -> Message:
    """Build the message object; the class and name come from the first field."""
    if raw.startswith(b"Event: "):  # most traffic: first colon at 5, one space to drop
        lf = raw.index(b"\n", 7)
        name = raw[7 : lf - 1 if raw[lf - 1] == _CR else lf].decode("utf-8", "surrogateescape")
        return Event(raw, head, "event", name)
    lf = raw.find(b"\n")
    colon = raw.find(b":", 0, lf)
    if colon < 0:
        return _classify_slow(raw, head)
    end = lf - 1 if raw[lf - 1] == _CR else lf
    start = colon + 1
    if start < end and raw[start] == 32:
        start += 1
    key = raw[:colon]
    if key == b"Event":
        return Event(raw, head, "event", decode(raw[start:end]))
    if key == b"Response":
        return Response(raw, head, "response", decode(raw[start:end]))
    folded = key.lower()
    if folded == b"event":
        return Event(raw, head, "event", decode(raw[start:end]))
    if folded == b"response":
        return Response(raw, head, "response", decode(raw[start:end]))
    if folded == b"action":
        return Message(raw, head, "action", decode(raw[start:end]))
    return Message(raw, head, "unknown", None)


def _classify_slow(raw: bytes, head: int) -> Message:
    # The first line has no colon: the first field is further down (or absent).
    probe = Message(raw, head, "unknown", None)
    items = probe.items()
    if not items:
        return probe
    key, value = items[0]
    folded = key.encode("utf-8", "surrogateescape").lower()
    if folded == b"event":
        return Event(raw, head, "event", value)
    if folded == b"response":
        return Response(raw, head, "response", value)
    if folded == b"action":
        return Message(raw, head, "action", value)
    return probe


class Parser:
    """Incremental AMI parser: ``feed(bytes) -> [Message | ProtocolError, ...]``."""

    __slots__ = (
        "_banner",
        "_base",
        "_dstate",
        "_lf_count",
        "_lf_pos",
        "_look",
        "_max_bytes",
        "_max_fields",
        "_max_follows",
        "_mode",
        "_resume",
        "_strict",
        "_tail",
        "version",
    )

    def __init__(
        self,
        *,
        max_message_bytes: int = 1 << 20,
        max_fields: int = 8192,
        max_follows_bytes: int = 8 << 20,
        strict: bool = False,
    ) -> None:
        for label, value, least in (
            ("max_message_bytes", max_message_bytes, 64),
            ("max_fields", max_fields, 1),
            ("max_follows_bytes", max_follows_bytes, 64),
        ):
            if not isinstance(value, int) or isinstance(value, bool):
                raise TypeError(f"{label} must be an int")
            if value < least:
                raise ValueError(f"{label} must be at least {least}")
        self._max_bytes = max_message_bytes
        self._max_fields = max_fields
        self._max_follows = max_follows_bytes
        self._strict = bool(strict)
        self.reset()

    def reset(self) -> None:
        """Back to the initial state: nothing held, offsets from 0, banner checked again."""
        self._tail = bytearray()
        self._base = 0  # stream offset of _tail[0]
        self._banner = True
        self.version: str | None = None
        self._mode = _NORMAL
        self._dstate = _MID
        self._look = b""
        self._resume = 0  # where the search for the held message's end resumes
        self._lf_count = 0  # LFs counted in the held message, up to _lf_pos
        self._lf_pos = 0

    @property
    def buffered(self) -> int:
        return 0 if self._mode else len(self._tail)

    def feed_eof(self) -> list[ProtocolError]:
        """End of stream: ``[]``, or one error for an unfinished message. Resets the parser."""
        out: list[ProtocolError] = []
        if self._mode == _NORMAL:
            held = bytes(self._tail)
            if held and held != b"\r":
                out.append(
                    ProtocolError(
                        f"connection closed in the middle of a message ({len(held)} bytes)",
                        offset=self._base,
                        excerpt=held[:_EXCERPT],
                        raw=held,
                    )
                )
        self.reset()
        return out

    def feed(self, data: bytes) -> list[Message | ProtocolError]:
        """Every complete item (message or error) the new bytes finish, in stream order."""
        if not isinstance(data, bytes):
            raise TypeError(f"feed() takes bytes, not {type(data).__name__}")
        out: list[Message | ProtocolError] = []
        if not data:
            return out
        if self._mode:
            skip = self._discard(data)
            if skip < 0:
                self._base += len(data)
                return out
            self._base += skip
            data = data[skip:]
            if not data:
                return out
        tail = self._tail
        buf: bytes | bytearray
        if not tail:
            buf = data
        elif len(data) >= len(tail):
            buf = bytes(tail) + data  # one copy, paid for by the new data
        else:
            tail += data  # trickled input: amortised append, no rescanning
            buf = tail
        consumed = self._process(buf, out)
        if consumed:
            # Positions kept for the held message are relative to the tail's first byte.
            self._resume = max(0, self._resume - consumed)
            self._lf_pos = max(0, self._lf_pos - consumed)
        if buf is tail:
            del tail[:consumed]
        else:
            self._tail = bytearray(buf[consumed:])
        self._base += consumed
        return out

    # -- discarding after a size error -------------------------------------------------------

    def _discard(self, data: bytes) -> int:
        """Skip the rest of an oversized message; the index just after its end, or -1."""
        if self._mode == _DISCARD_FOLLOWS:
            look = self._look
            buf = look + data
            _, end, _ = _find_follows_end(buf, 0, len(buf))
            if end < 0:
                self._look = buf[-_LOOK_BEHIND:]
                return -1
            self._mode = _NORMAL
            self._look = b""
            return end - len(look)
        n = len(data)
        pos = 0
        state = self._dstate
        while pos < n:
            if state == _MID:
                a = data.find(b"\n\n", pos)
                b = data.find(b"\n\r\n", pos)
                if a >= 0 and (b < 0 or a < b):
                    pos = a + 2
                    break
                if b >= 0:
                    pos = b + 3
                    break
                state = self._state_at_end(data, pos, n)
                pos = n
                continue
            c = data[pos]
            if c == _LF:
                pos += 1
                break
            if state == _LINE_START and c == _CR:
                state = _LINE_START_CR
                pos += 1
                continue
            state = _MID
        else:
            self._dstate = state
            return -1
        self._mode = _NORMAL
        return pos

    @staticmethod
    def _state_at_end(buf: bytes | bytearray, pos: int, n: int) -> int:
        """Discard state after ``buf[pos:n]`` when that span holds no empty line."""
        lf = buf.rfind(b"\n", pos, n)
        if lf < 0:
            return _MID
        if lf == n - 1:
            return _LINE_START
        if lf == n - 2 and buf[n - 1] == _CR:
            return _LINE_START_CR
        return _MID

    def _start_discard(self, buf: bytes | bytearray, start: int, n: int) -> None:
        # Everything from start to n belongs to the oversized message: the state at n decides
        # where its end can still be found.
        self._mode = _DISCARD
        self._dstate = self._state_at_end(buf, start, n)

    # -- framing -------------------------------------------------------------------------------

    def _size_error(self, buf: bytes | bytearray, start: int, cert: int, text: str) -> MessageTooLargeError:
        return MessageTooLargeError(
            text,
            offset=self._base + start,
            excerpt=bytes(buf[start : min(cert + 1, start + _EXCERPT)]),
        )

    def _fields_cert(self, buf: bytes | bytearray, start: int) -> int:
        """Index of the LF of the (max_fields + 1)-th line from ``start`` (known to exist)."""
        pos = start - 1
        for _ in range(self._max_fields + 1):
            pos = buf.index(b"\n", pos + 1)
        return pos

    def _over_limit(
        self, buf: bytes | bytearray, start: int, cert_b: int, cert_f: int
    ) -> MessageTooLargeError:
        # The limit certain at the earlier byte wins; a tie goes to the byte limit.
        if cert_b >= 0 and (cert_f < 0 or cert_b <= cert_f):
            return self._size_error(
                buf, start, cert_b, f"message exceeds max_message_bytes ({self._max_bytes})"
            )
        return self._size_error(buf, start, cert_f, f"message exceeds max_fields ({self._max_fields})")

    def _process(self, buf: bytes | bytearray, out: list[Message | ProtocolError]) -> int:
        """Frame everything complete in ``buf``; return how many bytes were consumed."""
        n = len(buf)
        pos = 0
        max_bytes = self._max_bytes
        resume = self._resume
        held_lf = (self._lf_count, self._lf_pos)  # LFs already counted in a held message
        if self._banner:
            lf = buf.find(b"\n", resume)
            if lf < 0 and n < max_bytes + 2:
                self._resume = n
                return 0
            self._banner = False
            resume = 0
            # A first line whose LF comes after byte max + 1 is too long for a banner: fed in
            # pieces it would already have been declared too large, so it must be here too.
            if 0 <= lf <= max_bytes + 1:
                line = buf[: lf - 1] if lf and buf[lf - 1] == _CR else buf[:lf]
                if b":" not in line and b"Manager" in line and b"/" in line:
                    self.version = decode(bytes(line[line.rfind(b"/") + 1 :]))
                    pos = lf + 1
        self._resume = self._lf_count = self._lf_pos = 0
        strict = self._strict
        max_fields = self._max_fields
        next_lflf = next_lfcrlf = -2  # cached searches; -1: none in the rest of buf
        common = not strict and type(buf) is bytes
        while pos < n:
            if common:
                pos, lflf = self._common_run(buf, pos, out)  # type: ignore[arg-type]
                if lflf >= 0:
                    next_lflf = lflf  # the run stopped at the first bare LF LF: no need to search
                if pos >= n:
                    break
            c = buf[pos]
            if c == _LF:
                pos += 1
                continue
            if c == _CR:
                if pos + 1 == n:
                    return pos  # a lone CR: maybe the start of an empty line
                if buf[pos + 1] == _LF:
                    pos += 2
                    continue
            start = pos
            if c == 82 or c == 114:  # R/r: maybe "Response: Follows"
                lf = buf.find(b"\n", start)
                if lf < 0:
                    if n - start >= max_bytes + 2:  # a Follows first line is short
                        out.append(self._over_limit(buf, start, start + max_bytes + 1, -1))
                        self._start_discard(buf, start, n)
                        return n
                    return start
                line_end = lf - 1 if lf > start and buf[lf - 1] == _CR else lf
                if _is_follows_line(bytes(buf[start:line_end])):
                    done = self._follows(buf, start, lf + 1, max(lf + 1, resume), n, out)
                    if done < 0:
                        return start if self._mode == _NORMAL else n
                    pos = done
                    continue
            frm = resume if resume > start else start
            if 0 <= next_lflf < frm or next_lflf == -2:
                next_lflf = buf.find(b"\n\n", frm)
            if 0 <= next_lfcrlf < frm or next_lfcrlf == -2:
                next_lfcrlf = buf.find(b"\n\r\n", frm)
            if next_lflf >= 0 and (next_lfcrlf < 0 or next_lflf < next_lfcrlf):
                last_lf = next_lflf
                end = last_lf + 2
            elif next_lfcrlf >= 0:
                last_lf = next_lfcrlf
                end = last_lf + 3
            else:
                return self._unfinished(buf, start, n, out, held_lf if start == 0 else (0, 0))
            head = last_lf + 1 - start
            # Each line takes at least 2 bytes, so short messages skip the line count.
            many = head > 2 * max_fields and buf.count(b"\n", start, last_lf + 1) > max_fields
            if head > max_bytes or many:
                cert_b = start + max_bytes + 1 if head > max_bytes else -1
                cert_f = self._fields_cert(buf, start) if many else -1
                out.append(self._over_limit(buf, start, cert_b, cert_f))
                pos = end
                continue
            raw = bytes(buf[start:end])
            message = _classify(raw, head)
            if strict:
                error = self._strict_error(raw, head, len(raw), self._base + start, message)
                out.append(message if error is None else error)
            else:
                out.append(message)
            pos = end
        return pos

    def _common_run(self, buf: bytes, pos: int, out: list[Message | ProtocolError]) -> tuple[int, int]:
        """Frame the run of plain messages at ``pos``; return where the general loop takes over.

        Plain: ends at its first empty line, which is a CRLF one, is small enough that no limit
        can apply, and is not a Follows response. CRLF blank lines between messages are skipped.
        Anything else (and anything unfinished) is left to the exact general loop. The second
        number returned is the first bare ``\n\n`` at or after the returned position when the
        run stopped at one, else -2 (not known).
        """
        find_end = _find_end
        small = min(self._max_bytes, 2 * self._max_fields)  # head <= small: no limit applies
        append = out.append
        n = len(buf)
        while pos < n:
            c = buf[pos]
            if c < 14:  # CR or LF (any other control byte goes to the general loop too)
                if buf.startswith(b"\r\n", pos):
                    pos += 2
                    continue
                break
            if (c == 82 or c == 114) and not buf.startswith(b"Response: Success", pos):
                break  # maybe "Response: Follows"
            found = find_end(buf, pos)
            if found is None:
                break
            lf, end = found.span()
            if end - lf == 2:
                return pos, lf
            if lf + 1 - pos > small:
                break
            append(_classify(buf[pos:end], lf + 1 - pos))
            pos = end
        return pos, -2

    def _unfinished(
        self,
        buf: bytes | bytearray,
        start: int,
        n: int,
        out: list[Message | ProtocolError],
        counted: tuple[int, int],
    ) -> int:
        """The message at ``start`` has no end in ``buf``: hold it, or report it as too large."""
        held = n - start
        max_fields = self._max_fields
        cert_b = start + self._max_bytes + 1 if held >= self._max_bytes + 2 else -1
        cert_f = -1
        if held >= 2 * (max_fields + 1):
            # Count LFs incrementally so trickled input is not rescanned.
            if counted[1] > start:
                count = counted[0] + buf.count(b"\n", counted[1], n)
            else:
                count = buf.count(b"\n", start, n)
            if count > max_fields:
                cert_f = self._fields_cert(buf, start)
            else:
                self._lf_count, self._lf_pos = count, n
        if cert_b >= 0 or cert_f >= 0:
            out.append(self._over_limit(buf, start, cert_b, cert_f))
            self._start_discard(buf, start, n)
            self._lf_count = self._lf_pos = 0
            return n
        self._resume = max(start, n - 2)
        return start

    def _follows(
        self,
        buf: bytes | bytearray,
        start: int,
        second: int,
        frm: int,
        n: int,
        out: list[Message | ProtocolError],
    ) -> int:
        """Frame a legacy ``Response: Follows`` message; its end, or -1 when unfinished."""
        limit = self._max_follows
        marker, end, resume = _find_follows_end(buf, frm, n)
        if end < 0:
            if n - start >= limit + 2:
                out.append(
                    self._size_error(
                        buf, start, start + limit + 1, f"command output exceeds max_follows_bytes ({limit})"
                    )
                )
                self._mode = _DISCARD_FOLLOWS
                self._look = bytes(buf[max(second, n - _LOOK_BEHIND) : n])
                return -1
            self._resume = resume
            return -1
        empty_start = end - 1 if buf[end - 2] == _LF else end - 2
        if empty_start - start > limit:
            out.append(
                self._size_error(
                    buf, start, start + limit + 1, f"command output exceeds max_follows_bytes ({limit})"
                )
            )
            return end
        # Header lines: Privilege/ActionID fields that end before the marker.
        body = second
        while True:
            lf = buf.find(b"\n", body)
            if lf < 0 or lf >= marker:
                break
            line_end = lf - 1 if lf > body and buf[lf - 1] == _CR else lf
            if not _is_header_line(bytes(buf[body:line_end])):
                break
            body = lf + 1
        raw = bytes(buf[start:end])
        output = decode(bytes(buf[body:marker]))
        if output.endswith("\n"):
            output = output[:-1]
        head = body - start
        first_lf = raw.index(b"\n")
        name_line = raw[: first_lf - 1] if raw[first_lf - 1] == _CR else raw[:first_lf]
        name = decode(name_line.partition(b":")[2])
        if name.startswith(" "):
            name = name[1:]
        message = Response(raw, head, "response", name, output=output)
        if self._strict:
            error = self._strict_error(raw, head, None, self._base + start, message)
            if error is not None:
                out.append(error)
                return end
        out.append(message)
        return end

    def _strict_error(
        self, raw: bytes, head: int, total: int | None, offset: int, message: Message
    ) -> ProtocolError | None:
        """The first strict-mode problem of a complete message, or None.

        ``raw[:head]`` are the lines checked; ``total`` is given when the terminating empty
        line (``raw[head:]``) must be checked too (not for Follows messages).
        """
        pos = 0
        while pos < head:
            lf = raw.index(b"\n", pos)
            problem = None
            if raw.find(b":", pos, lf) < 0:
                problem = "line without a colon"
            elif lf == pos or raw[lf - 1] != _CR:
                problem = "line ending without CR"
            if problem is not None:
                return self._strict_fail(problem, offset + pos, raw, offset, message)
            pos = lf + 1
        if total is not None and total - head == 1:
            return self._strict_fail("line ending without CR", offset + head, raw, offset, message)
        return None

    @staticmethod
    def _strict_fail(problem: str, at: int, raw: bytes, offset: int, message: Message) -> ProtocolError:
        return ProtocolError(
            f"{problem} at offset {at}",
            offset=offset,
            excerpt=raw[:_EXCERPT],
            action_id=message.action_id,
            raw=raw,
        )


# -- encoder -----------------------------------------------------------------------------------

_MAX_LINE = 1024
_MAX_LINES = 128


def _encode(text: str, what: str) -> bytes:
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        raise InvalidActionError(f"{what} is not valid UTF-8 text") from None


def _has_ctl(data: bytes) -> bool:
    return b"\r" in data or b"\n" in data or b"\0" in data


def _has_sep(data: bytes) -> bool:
    return b":" in data or b" " in data or b"\t" in data


def encode_action(name: str, fields: list[tuple[str, str]]) -> bytes:
    """``Action: name`` + one ``key: value`` line per field + an empty line, CRLF, validated.

    Raises ``InvalidActionError`` (nothing produced) on the first problem, in contract order.
    Error texts never contain values: they may be secrets.
    """
    if not isinstance(name, str):
        raise TypeError("action name must be str")
    if not name:
        raise InvalidActionError("action name is empty")
    name_b = _encode(name, "action name")
    if _has_ctl(name_b):
        raise InvalidActionError("action name contains a CR, LF or NUL character")
    if _has_sep(name_b):
        raise InvalidActionError("action name contains ':' or whitespace")
    parts = [b"Action: ", name_b, b"\r\n"]
    size = len(name_b) + 10
    if size > _MAX_LINE:
        raise InvalidActionError(f"action line is {size} bytes; Asterisk's limit is 1024 including CRLF")
    for i, pair in enumerate(fields):
        if not isinstance(pair, tuple) or len(pair) != 2:
            raise TypeError(f"field #{i} must be a (key, value) tuple")
        key, value = pair
        if not isinstance(key, str) or not isinstance(value, str):
            raise TypeError(f"field #{i} must be a (str, str) tuple")
        if not key:
            raise InvalidActionError(f"field #{i} has an empty key")
        key_b = _encode(key, f"key of field #{i}")
        if _has_ctl(key_b):
            raise InvalidActionError(f"key of field #{i} contains a CR, LF or NUL character")
        if _has_sep(key_b):
            raise InvalidActionError(f"key of field #{i} contains ':' or whitespace")
        value_b = _encode(value, f"value of field '{key}'")
        if _has_ctl(value_b):
            raise InvalidActionError(f"value of field '{key}' contains a CR, LF or NUL character")
        size = len(key_b) + len(value_b) + 4
        if size > _MAX_LINE:
            raise InvalidActionError(
                f"line for field '{key}' is {size} bytes; Asterisk's limit is 1024 including CRLF"
            )
        parts += (key_b, b": ", value_b, b"\r\n")
    lines = len(fields) + 1
    if lines > _MAX_LINES:
        raise InvalidActionError(f"action has {lines} lines; Asterisk's limit is 128")
    parts.append(b"\r\n")
    return b"".join(parts)
