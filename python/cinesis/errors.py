"""The exception hierarchy: one class per Kinesis error (named as on the wire) and per local
condition of libcinesis, all under KinesisError (alias CinesisError).

Every exception carries ``code`` (the cinesis_err_t value), ``name`` (the wire name, e.g.
"ResourceNotFoundException", or the local name, e.g. "FailedPrecondition") and ``message``
(the text, e.g. "Stream orders under account 000000000000 not found."). ``str(e)`` is
"<name>: <message>". ``retriable`` says whether the same call may succeed later.
"""

from ._lib import LibraryNotFoundError  # noqa: F401  (re-exported)


class KinesisError(Exception):
    """Base of every error raised by cinesis."""
    code = None
    name = 'Unknown'
    retriable = False

    def __init__(self, message='', code=None, name=None):
        if code is not None:
            self.code = code
        if name is not None:
            self.name = name
        prefix = self.name + ': '
        if message.startswith(prefix):
            message = message[len(prefix):]
        self.message = message
        Exception.__init__(self, '%s: %s' % (self.name, message) if message else self.name)


CinesisError = KinesisError

# (code, wire or local name, class name, retriable, Python-style alias or None)
_TABLE = [
    (1, 'AccessDeniedException', 'AccessDeniedException', False, 'AccessDeniedError'),
    (2, 'ExpiredIteratorException', 'ExpiredIteratorException', False, 'ExpiredIteratorError'),
    (3, 'ExpiredNextTokenException', 'ExpiredNextTokenException', False, 'ExpiredNextTokenError'),
    (4, 'InternalFailure', 'InternalFailure', True, 'InternalFailureError'),
    (5, 'InvalidArgumentException', 'InvalidArgumentException', False, 'InvalidArgumentError'),
    (6, 'KMSAccessDeniedException', 'KMSAccessDeniedException', False, None),
    (7, 'KMSDisabledException', 'KMSDisabledException', False, None),
    (8, 'KMSInvalidStateException', 'KMSInvalidStateException', False, None),
    (9, 'KMSNotFoundException', 'KMSNotFoundException', False, None),
    (10, 'KMSOptInRequired', 'KMSOptInRequired', False, None),
    (11, 'KMSThrottlingException', 'KMSThrottlingException', True, None),
    (12, 'LimitExceededException', 'LimitExceededException', True, 'LimitExceededError'),
    (13, 'ProvisionedThroughputExceededException', 'ProvisionedThroughputExceededException',
     True, 'ProvisionedThroughputExceededError'),
    (14, 'ResourceInUseException', 'ResourceInUseException', False, 'ResourceInUseError'),
    (15, 'ResourceNotFoundException', 'ResourceNotFoundException', False,
     'ResourceNotFoundError'),
    (16, 'ValidationException', 'ValidationException', False, 'ValidationError'),
    (17, 'SerializationException', 'SerializationException', False, 'SerializationError'),
    (18, 'UnknownOperationException', 'UnknownOperationException', False, None),
    (19, 'MissingAuthenticationToken', 'MissingAuthenticationToken', False, None),
    (20, 'IncompleteSignature', 'IncompleteSignature', False, None),
    (21, 'InvalidSignatureException', 'InvalidSignatureException', False, None),
    (40, 'IOError', 'CinesisIOError', True, None),
    (41, 'Corruption', 'CorruptionError', False, None),
    (42, 'FailedPrecondition', 'FailedPreconditionError', False, None),
    (43, 'DeadlineExceeded', 'DeadlineExceededError', True, None),
    (44, 'Unknown', 'UnknownError', False, None),
    (60, 'BadHandle', 'BadHandleError', False, None),
]

BY_CODE = {}
__all__ = ['KinesisError', 'CinesisError', 'LibraryNotFoundError', 'ClosedError',
           'error_from_code', 'as_client_error']


def _make(code, wire, clsname, retriable):
    cls = type(clsname, (KinesisError,), {'code': code, 'name': wire, 'retriable': retriable,
                                          '__doc__': 'Kinesis/libcinesis error %s.' % wire,
                                          '__module__': __name__})
    return cls


for _code, _wire, _cls, _retr, _alias in _TABLE:
    _c = _make(_code, _wire, _cls, _retr)
    globals()[_cls] = _c
    __all__.append(_cls)
    if _alias:
        globals()[_alias] = _c
        __all__.append(_alias)
    BY_CODE[_code] = _c


class ClosedError(globals()['FailedPreconditionError']):
    """The producer or consumer was closed/stopped (a FailedPrecondition)."""


def error_from_code(code, message):
    """The exception instance for a cinesis_err_t and its message."""
    cls = BY_CODE.get(code)
    if cls is None:
        return KinesisError(message, code=code, name='Error%d' % code)
    if cls.name == 'Unknown' and message:
        # CINESIS_ERR_UNKNOWN: the message starts with the wire type name.
        head = message.split(':', 1)[0].strip()
        if head and ' ' not in head:
            return cls(message[len(head) + 1:].strip(), name=head)
    return cls(message)


_client_error_classes = {}


def as_client_error(error, operation_name, boto_client=None):
    """A Kinesis error (from the service) as an exception that is also botocore's
    ClientError, for code written for boto3 (``except ClientError as e:
    e.response['Error']['Code']``): an instance of a class deriving from the cinesis class
    and from ``boto_client.exceptions.<name>`` (ClientError when there is no such class or
    no client). Local conditions (I/O, closed, ...), anything that is not a KinesisError,
    or no botocore installed: ``error`` unchanged."""
    try:
        from botocore.exceptions import ClientError
    except ImportError:
        return error
    if not isinstance(error, KinesisError) or isinstance(error, ClientError):
        return error
    wire = error.code is not None and (error.code < 40 or (error.code == 44 and
                                                            error.name != 'Unknown'))
    if not wire:
        return error
    base = ClientError
    if boto_client is not None:
        try:
            base = boto_client.exceptions.from_code(error.name)
        except Exception:
            base = ClientError
    key = (type(error), base)
    cls = _client_error_classes.get(key)
    if cls is None:
        cls = type(type(error).__name__, (type(error), base),
                   {'__module__': __name__, '__doc__': type(error).__doc__})
        _client_error_classes[key] = cls
    status = 500 if error.name == 'InternalFailure' else 400
    response = {'Error': {'Code': error.name, 'Message': error.message},
                'ResponseMetadata': {'HTTPStatusCode': status}}
    out = cls.__new__(cls)
    ClientError.__init__(out, response, operation_name)
    out.__dict__.update(error.__dict__)
    out.response = response
    out.operation_name = operation_name
    return out
