"""Small helpers shared by the cinesis modules (Python 2.7 and 3.6+)."""

import base64
import ctypes
import datetime
import sys

from . import _lib
from .errors import error_from_code

PY2 = sys.version_info[0] == 2
if PY2:  # pragma: no cover - exercised under 2.7
    text_type = unicode  # noqa: F821
    binary_types = (str, bytearray, memoryview, buffer)  # noqa: F821
    string_types = (str, unicode)  # noqa: F821
    integer_types = (int, long)  # noqa: F821
else:
    text_type = str
    binary_types = (bytes, bytearray, memoryview)
    string_types = (str,)
    integer_types = (int,)


class _UTC(datetime.tzinfo):
    def utcoffset(self, dt):
        return datetime.timedelta(0)

    def tzname(self, dt):
        return 'UTC'

    def dst(self, dt):
        return datetime.timedelta(0)

    def __repr__(self):
        return 'UTC'


UTC = getattr(datetime, 'timezone', None) and datetime.timezone.utc or _UTC()
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=UTC)


def from_ms(ms):
    """A timezone-aware UTC datetime for milliseconds since the epoch."""
    return EPOCH + datetime.timedelta(milliseconds=ms)


def to_ms(value):
    """Milliseconds since the epoch for a datetime (naive = UTC) or a number of seconds."""
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        delta = value - EPOCH
        return (delta.days * 86400 + delta.seconds) * 1000 + delta.microseconds // 1000
    return int(float(value) * 1000)


def cstr(value, what='value'):
    """UTF-8 bytes for a text value (None stays None); TypeError for anything else."""
    if value is None:
        return None
    if isinstance(value, text_type):
        value = value.encode('utf-8')
    elif not isinstance(value, bytes):
        raise TypeError('%s must be a string, not %s' % (what, type(value).__name__))
    if b'\0' in value:
        raise ValueError('%s must not contain a NUL character' % what)
    return value


def data_bytes(data):
    """The bytes of a record's data: bytes-like objects as they are, text as UTF-8."""
    if isinstance(data, bytes):
        return data
    if isinstance(data, text_type):
        return data.encode('utf-8')
    if isinstance(data, (bytearray, memoryview)):
        return bytes(data)
    if PY2 and isinstance(data, buffer):  # noqa: F821
        return bytes(data)
    raise TypeError('record data must be bytes (or str, encoded as UTF-8), not %s'
                    % type(data).__name__)


def native(value):
    """A C string (bytes) as the native str type (UTF-8 decoded on Python 3)."""
    if value is None:
        return None
    if PY2:
        return value
    return value.decode('utf-8', 'replace')


def raise_for(code):
    """Raises the exception for a failed call's code (with the thread's last message)."""
    lib = _lib.load()
    message = lib.cinesis_last_error() or b''
    raise error_from_code(code, message.decode('utf-8', 'replace'))


def check(code):
    if code != 0:
        raise_for(code)


def take_string(ptr):
    """Copies a char * the library returned (free with cinesis_free) and frees it."""
    if not ptr.value:
        return None
    try:
        return ctypes.string_at(ptr.value)
    finally:
        _lib.load().cinesis_free(ptr)


def seconds_to_ms(value):
    if value is None:
        return None
    if value == float('inf'):
        return 'inf'
    return int(round(float(value) * 1000))


class Options(object):
    """A cinesis_options_t filled from a dict (None values are skipped)."""

    def __init__(self, values):
        lib = _lib.load()
        self._lib = lib
        self.handle = lib.cinesis_options_new()
        if not self.handle:
            raise MemoryError('cinesis_options_new')
        try:
            for key, value in values.items():
                if value is None:
                    continue
                if value is True or value is False:
                    value = 'true' if value else 'false'
                elif not isinstance(value, string_types):
                    value = str(value)
                check(lib.cinesis_options_set(self.handle, cstr(key, 'option name'),
                                              cstr(value, 'option %s' % key)))
        except Exception:
            self.close()
            raise

    def close(self):
        if self.handle:
            self._lib.cinesis_options_destroy(self.handle)
            self.handle = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def b64_request(obj):
    """Encodes every "Data" member holding bytes (or text) as Base64, as on the wire."""
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            if k == 'Data' and not isinstance(v, (dict, list)):
                out[k] = base64.b64encode(data_bytes(v)).decode('ascii')
            else:
                out[k] = b64_request(v)
        return out
    if isinstance(obj, (list, tuple)):
        return [b64_request(v) for v in obj]
    if isinstance(obj, datetime.datetime):
        return to_ms(obj) / 1000.0
    return obj


def decode_response(obj):
    """Decodes "Data" members (Base64 -> bytes) and *Timestamp numbers -> datetime (UTC)."""
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            if k == 'Data' and isinstance(v, string_types):
                out[k] = base64.b64decode(v)
            elif k.endswith('Timestamp') and isinstance(v, (int, float)) and v is not True:
                out[k] = from_ms(int(round(v * 1000)))
            else:
                out[k] = decode_response(v)
        return out
    if isinstance(obj, list):
        return [decode_response(v) for v in obj]
    return obj
