"""Settings of the worker processes started by test_workers.py (`manage.py consume` in
separate processes sharing one SQLite database and one `cinesis serve`)."""

import os

SECRET_KEY = 'cinesis-workers'
USE_TZ = True
INSTALLED_APPS = ['django.contrib.contenttypes', 'cinesis.contrib.django']
DATABASES = {'default': {'ENGINE': 'django.db.backends.sqlite3',
                         'NAME': os.environ['CINESIS_TEST_DB'],
                         'OPTIONS': {'timeout': 30}}}
DEFAULT_AUTO_FIELD = 'django.db.models.AutoField'
CINESIS = {
    'CLIENT': {'endpoint': os.environ.get('CINESIS_TEST_ENDPOINT', ''), 'region': 'us-east-1'},
    'STREAMS': {
        'work': {'STREAM_NAME': os.environ.get('CINESIS_TEST_STREAM', 'work'),
                 'APPLICATION': 'workers', 'CHECKPOINTS': 'django', 'LEASES': True,
                 'OPTIONS': {'lease_ttl': 2, 'shard_sync_interval': 0.5,
                             'idle_backoff': 0.05}},
    },
}
