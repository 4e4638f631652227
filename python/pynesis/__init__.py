"""pynesis compatibility: code written for pynesis runs unchanged on cinesis.

Modules: pynesis.streams, pynesis.backends, pynesis.checkpointers, pynesis.djangoutils,
pynesis.models (Django app "pynesis"). See docs/python.md, "Migrating from pynesis", for
what changes and which pynesis bugs are fixed.
"""

__version__ = '1.0.0+cinesis'
