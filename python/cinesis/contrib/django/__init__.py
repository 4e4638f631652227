"""cinesis.contrib.django: add "cinesis.contrib.django" to INSTALLED_APPS.

Settings (see docs/python.md, "Django"):

    CINESIS = {
        "CLIENT": {"endpoint": "http://127.0.0.1:4567", "region": "us-east-1"},
        "LOCAL": False,        # True (tests): every stream on one in-process LocalKinesis
        "STREAMS": {
            "orders": {"STREAM_NAME": "orders", "APPLICATION": "billing",
                       "CHECKPOINTS": "django",   # django | memory | sqlite:PATH |
                                                  # redis://host:port/db | postgresql://...
                       "LEASES": True,            # share shards through the same store
                       "OPTIONS": {...}},         # cinesis.Consumer keyword arguments
        },
    }

PYNESIS_CONFIG (pynesis's form) is read as well: pynesis.djangoutils.get_stream.
"""



def get_stream(name):
    """The cinesis.Stream configured as CINESIS["STREAMS"][name] (or, when absent there,
    the pynesis stream of PYNESIS_CONFIG[name]); cached per thread and per name."""
    from .conf import get_stream as _get
    return _get(name)
