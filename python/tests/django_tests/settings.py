"""Django settings of the Django suite (SQLite file; PostgreSQL when CINESIS_TEST_PG is a
libpq URI, e.g. set by the harness that started one)."""

import os
import tempfile

SECRET_KEY = 'cinesis-tests'
USE_TZ = True
INSTALLED_APPS = ['django.contrib.contenttypes', 'cinesis.contrib.django', 'pynesis']
_db_dir = os.environ.get('CINESIS_TEST_DB_DIR') or tempfile.mkdtemp(prefix='cinesis-dj-')
if os.environ.get('CINESIS_TEST_PG'):
    import re
    m = re.match(r'postgresql://(?P<user>[^@:/]*)@(?P<host>[^:/]+):(?P<port>\d+)/(?P<name>\w+)',
                 os.environ['CINESIS_TEST_PG'])
    DATABASES = {'default': {'ENGINE': 'django.db.backends.postgresql', 'NAME': m.group('name'),
                             'USER': m.group('user'), 'HOST': m.group('host'),
                             'PORT': m.group('port')}}
else:
    DATABASES = {'default': {'ENGINE': 'django.db.backends.sqlite3',
                             'NAME': os.path.join(_db_dir, 'db.sqlite3'),
                             'TEST': {'NAME': os.path.join(_db_dir, 'test.sqlite3')},
                             'OPTIONS': {'timeout': 30}}}
DEFAULT_AUTO_FIELD = 'django.db.models.AutoField'
CINESIS = {
    'LOCAL': True,
    'STREAMS': {
        'orders': {'STREAM_NAME': 'orders', 'APPLICATION': 'billing', 'CHECKPOINTS': 'django',
                   'LEASES': True, 'SHARDS': 2},
        'audit': {'STREAM_NAME': 'audit', 'CHECKPOINTS': 'memory'},
    },
}
PYNESIS_CONFIG = {
    'events': {
        'BACKEND': 'pynesis.streams.KinesisStream',
        'BACKEND_OPTIONS': {'stream_name': 'events', 'region_name': 'us-east-1'},
        'CHECKPOINTER': 'pynesis.djangoutils.DjangoCheckpointer',
        'CHECKPOINTER_OPTIONS': {'key': 'events'},
    },
    'clicks': {
        'BACKEND': 'pynesis.streams.KinesisStream',
        'BACKEND_OPTIONS': {'stream_name': 'clicks', 'region_name': 'us-east-1'},
    },
}
