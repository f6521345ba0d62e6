"""Just enough of the D-Bus wire protocol to hear one signal on the system bus.

Outside notifications the app needs one thing from D-Bus: logind's ``PrepareForSleep``
signal, so it can poll the moment the machine resumes (see :mod:`tray_app.wake`). dbus-fast,
which the notifier ships, would do it, but importing it with asyncio adds about 3.5 MB of
resident memory to an idle tray, more than its footprint budget leaves (README, Footprint).
So this speaks the protocol itself over a blocking Unix socket: EXTERNAL authentication,
method calls whose arguments are strings, and messages whose bodies hold basic types only
(strings, object paths, signatures, booleans, bytes, 32-bit integers). A body of any other
type is kept as ``None``; anything malformed or oversized raises :class:`DBusError`, and the
caller drops the connection.
"""

from __future__ import annotations

import os
import socket
import struct
from collections import deque
from dataclasses import dataclass, field
from urllib.parse import unquote

METHOD_CALL, METHOD_RETURN, ERROR, SIGNAL = 1, 2, 3, 4
# Header field codes (D-Bus specification, "Message Format").
PATH, INTERFACE, MEMBER, ERROR_NAME, REPLY_SERIAL, DESTINATION, SENDER, SIGNATURE = range(1, 9)

BUS_NAME = "org.freedesktop.DBus"
BUS_PATH = "/org/freedesktop/DBus"
SYSTEM_BUS_DEFAULT = "unix:path=/var/run/dbus/system_bus_socket"

MAX_FIELDS = 64 * 1024  # real headers are a few hundred bytes
MAX_BODY = 1024 * 1024  # the signals and replies we read are tiny


class DBusError(Exception):
    """The bus refused us, answered with an error, or sent something we can't read."""


def system_bus_address() -> str:
    return os.environ.get("DBUS_SYSTEM_BUS_ADDRESS") or SYSTEM_BUS_DEFAULT


def _socket_paths(address: str) -> list[str]:
    """Unix socket paths (abstract ones start with NUL) in a D-Bus address list."""
    paths = []
    for entry in address.split(";"):
        transport, _, params = entry.partition(":")
        if transport != "unix":
            continue  # tcp and the rest: the system bus is a local socket
        values = dict(p.partition("=")[::2] for p in params.split(",") if "=" in p)
        if "path" in values:
            paths.append(unquote(values["path"]))
        elif "abstract" in values:
            paths.append("\0" + unquote(values["abstract"]))
    return paths


class _Writer:
    def __init__(self) -> None:
        self.buf = bytearray()

    def align(self, n: int) -> None:
        self.buf += b"\0" * (-len(self.buf) % n)

    def byte(self, value: int) -> None:
        self.buf.append(value)

    def u32(self, value: int) -> None:
        self.align(4)
        self.buf += struct.pack("<I", value)

    def string(self, value: str) -> None:
        data = value.encode("utf-8")
        self.u32(len(data))
        self.buf += data + b"\0"

    def signature(self, value: str) -> None:
        data = value.encode("ascii")
        self.byte(len(data))
        self.buf += data + b"\0"


def method_call(serial: int, destination: str, path: str, interface: str, member: str,
                args: tuple[str, ...] = ()) -> bytes:
    """A METHOD_CALL message, little-endian, whose arguments are all strings."""
    body = _Writer()
    for arg in args:
        body.string(arg)
    w = _Writer()
    w.buf += struct.pack("<cBBBII", b"l", METHOD_CALL, 0, 1, len(body.buf), serial)
    w.u32(0)  # the length of the header fields, patched below
    fields: list[tuple[int, str, str]] = [
        (PATH, "o", path), (INTERFACE, "s", interface), (MEMBER, "s", member),
        (DESTINATION, "s", destination),
    ]
    if args:
        fields.append((SIGNATURE, "g", "s" * len(args)))
    for code, kind, value in fields:
        w.align(8)
        w.byte(code)
        w.signature(kind)
        if kind == "g":
            w.signature(value)
        else:
            w.string(value)
    struct.pack_into("<I", w.buf, 12, len(w.buf) - 16)
    w.align(8)
    return bytes(w.buf + body.buf)


class _Reader:
    def __init__(self, data: bytes, order: str, pos: int = 0, end: int | None = None) -> None:
        self.data, self.order, self.pos = data, order, pos
        self.end = len(data) if end is None else end

    def _take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > self.end:
            raise DBusError("truncated D-Bus message")
        chunk = self.data[self.pos:self.pos + n]
        self.pos += n
        return chunk

    def align(self, n: int) -> None:
        pad = -self.pos % n
        if any(self._take(pad)):
            raise DBusError("non-zero padding in a D-Bus message")

    def byte(self) -> int:
        return self._take(1)[0]

    def u32(self) -> int:
        self.align(4)
        return int(struct.unpack(self.order + "I", self._take(4))[0])

    def i32(self) -> int:
        self.align(4)
        return int(struct.unpack(self.order + "i", self._take(4))[0])

    def _text(self, n: int) -> str:
        data = self._take(n)
        if self._take(1) != b"\0":
            raise DBusError("unterminated string in a D-Bus message")
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DBusError("a D-Bus string is not UTF-8") from exc

    def string(self) -> str:
        return self._text(self.u32())

    def signature(self) -> str:
        return self._text(self.byte())

    def value(self, kind: str) -> object:
        if kind in ("s", "o"):
            return self.string()
        if kind == "g":
            return self.signature()
        if kind == "y":
            return self.byte()
        if kind == "u":
            return self.u32()
        if kind == "i":
            return self.i32()
        if kind == "b":
            flag = self.u32()
            if flag > 1:
                raise DBusError("a D-Bus boolean that is neither 0 nor 1")
            return bool(flag)
        raise _Unsupported(kind)


class _Unsupported(Exception):
    """A type this reader doesn't decode: the body is skipped, the connection kept."""


@dataclass(frozen=True)
class Message:
    type: int
    serial: int
    fields: dict[int, object] = field(default_factory=dict)
    body: tuple[object, ...] | None = ()  # None: of a type we don't decode

    def _field(self, code: int) -> str:
        value = self.fields.get(code)
        return value if isinstance(value, str) else ""

    @property
    def path(self) -> str:
        return self._field(PATH)

    @property
    def interface(self) -> str:
        return self._field(INTERFACE)

    @property
    def member(self) -> str:
        return self._field(MEMBER)

    @property
    def sender(self) -> str:
        return self._field(SENDER)

    @property
    def error_name(self) -> str:
        return self._field(ERROR_NAME)

    @property
    def reply_serial(self) -> int | None:
        value = self.fields.get(REPLY_SERIAL)
        return value if isinstance(value, int) else None


def parse_header(start: bytes) -> tuple[str, int, int]:
    """From the first 16 bytes: byte order, and how many more bytes the message has."""
    if len(start) != 16 or start[:1] not in (b"l", b"B") or start[3] != 1:
        raise DBusError("not a D-Bus message")
    order = "<" if start[:1] == b"l" else ">"
    body_len, _serial, fields_len = struct.unpack(order + "III", start[4:16])
    if fields_len > MAX_FIELDS or body_len > MAX_BODY:
        raise DBusError("an oversized D-Bus message")
    header_end = 16 + fields_len + (-(16 + fields_len) % 8)
    return order, header_end - 16 + body_len, header_end


def parse_message(data: bytes) -> Message:
    order, rest, header_end = parse_header(data[:16])
    if len(data) != 16 + rest:
        raise DBusError("truncated D-Bus message")
    kind = data[1]
    serial, fields_len = struct.unpack(order + "II", data[8:16])
    reader = _Reader(data, order, 16, 16 + fields_len)
    fields: dict[int, object] = {}
    while reader.pos < reader.end:
        reader.align(8)
        code = reader.byte()
        sig = reader.signature()
        if len(sig) != 1:
            raise DBusError("a D-Bus header field that is not a basic type")
        try:
            fields[code] = reader.value(sig)
        except _Unsupported as exc:
            raise DBusError(f"a D-Bus header field of type {sig!r}") from exc
    body_reader = _Reader(data[header_end:], order)
    body_sig = fields.get(SIGNATURE, "")
    body: tuple[object, ...] | None
    try:
        body = tuple(body_reader.value(k) for k in str(body_sig))
    except _Unsupported:
        body = None
    return Message(kind, serial, fields, body)


class Connection:
    """A blocking connection to a bus: authenticate, say Hello, call methods, read messages."""

    def __init__(self, address: str, timeout: float = 5.0) -> None:
        self._sock = self._connect(address, timeout)
        self._serial = 0
        self._pending: deque[Message] = deque()  # messages read while waiting for a reply
        try:
            self._authenticate()
            self.call(BUS_NAME, BUS_PATH, BUS_NAME, "Hello")  # the bus talks only after it
        except BaseException:
            self._sock.close()
            raise
        self._sock.settimeout(None)  # from now on, block until the bus says something

    @staticmethod
    def _connect(address: str, timeout: float) -> socket.socket:
        paths = _socket_paths(address)
        if not paths:
            raise DBusError(f"no Unix socket in the bus address {address!r}")
        error: OSError | None = None
        for path in paths:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(timeout)
            try:
                sock.connect(path)
                return sock
            except OSError as exc:
                sock.close()
                error = exc
        assert error is not None
        raise error

    def _authenticate(self) -> None:
        uid = str(os.getuid()).encode("ascii").hex()  # type: ignore[attr-defined,unused-ignore]
        self._sock.sendall(b"\0AUTH EXTERNAL " + uid.encode("ascii") + b"\r\n")
        line = b""
        while not line.endswith(b"\r\n"):
            chunk = self._sock.recv(1)
            if not chunk or len(line) > 512:
                raise DBusError("the bus closed the connection while authenticating")
            line += chunk
        if not line.startswith(b"OK "):
            raise DBusError(f"the bus refused us: {line.strip().decode('ascii', 'replace')}")
        self._sock.sendall(b"BEGIN\r\n")

    def _read_exactly(self, n: int) -> bytes:
        chunks = bytearray()
        while len(chunks) < n:
            chunk = self._sock.recv(n - len(chunks))
            if not chunk:
                raise DBusError("the bus closed the connection")
            chunks += chunk
        return bytes(chunks)

    def _read(self) -> Message:
        start = self._read_exactly(16)
        _order, rest, _end = parse_header(start)
        return parse_message(start + self._read_exactly(rest))

    def call(self, destination: str, path: str, interface: str, member: str,
             *args: str) -> tuple[object, ...]:
        """Call a method and return its reply's body; an error reply raises DBusError."""
        self._serial += 1
        serial = self._serial
        self._sock.sendall(method_call(serial, destination, path, interface, member, args))
        while True:
            msg = self._read()
            if msg.reply_serial == serial and msg.type in (METHOD_RETURN, ERROR):
                if msg.type == ERROR:
                    detail = msg.body[0] if msg.body else ""
                    raise DBusError(f"{member}: {msg.error_name} {detail}".strip())
                return msg.body or ()
            self._pending.append(msg)

    def receive(self) -> Message:
        """The next message (a signal, usually); blocks until one comes or the bus goes."""
        return self._pending.popleft() if self._pending else self._read()

    def shutdown(self) -> None:
        """Wake a thread blocked in :meth:`receive` (it then raises DBusError)."""
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def close(self) -> None:
        self.shutdown()
        self._sock.close()
