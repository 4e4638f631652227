"""System check: CINESIS and PYNESIS_CONFIG are well formed (run by manage.py check)."""

from django.conf import settings
from django.core import checks
from django.utils.module_loading import import_string

STORE_PREFIXES = ('django', 'memory', 'sqlite:', 'redis://', 'postgresql://', 'postgres://')


@checks.register()
def check_settings(app_configs=None, **kwargs):
    errors = []
    native = getattr(settings, 'CINESIS', None)
    if native is not None:
        if not isinstance(native, dict):
            errors.append(checks.Error('CINESIS must be a dict', id='cinesis.E001'))
            native = {}
        unknown = set(native) - {'CLIENT', 'LOCAL', 'STREAMS'}
        if unknown:
            errors.append(checks.Error('CINESIS has unknown keys: %s' % ', '.join(sorted(unknown)),
                                       hint='allowed: CLIENT, LOCAL, STREAMS',
                                       id='cinesis.E002'))
        for name, conf in (native.get('STREAMS') or {}).items():
            if not isinstance(conf, dict):
                errors.append(checks.Error('CINESIS["STREAMS"][%r] must be a dict' % name,
                                           id='cinesis.E003'))
                continue
            bad = set(conf) - {'STREAM_NAME', 'APPLICATION', 'CHECKPOINTS', 'LEASES',
                               'OPTIONS', 'SHARDS'}
            if bad:
                errors.append(checks.Error(
                    'CINESIS["STREAMS"][%r] has unknown keys: %s' % (name, ', '.join(sorted(bad))),
                    hint='allowed: STREAM_NAME, APPLICATION, CHECKPOINTS, LEASES, OPTIONS, SHARDS',
                    id='cinesis.E004'))
            spec = conf.get('CHECKPOINTS', 'django')
            if isinstance(spec, str) and not spec.startswith(STORE_PREFIXES):
                try:
                    import_string(spec)
                except ImportError as e:
                    errors.append(checks.Error(
                        'CINESIS["STREAMS"][%r]["CHECKPOINTS"] = %r: not a store (%s)'
                        % (name, spec, e),
                        hint='use django, memory, sqlite:PATH, redis://HOST:PORT/DB, '
                             'postgresql://... or a dotted path', id='cinesis.E005'))
            if spec == 'django' or conf.get('LEASES') == 'django':
                if 'cinesis.contrib.django' not in settings.INSTALLED_APPS:
                    errors.append(checks.Error('CHECKPOINTS "django" needs '
                                               '"cinesis.contrib.django" in INSTALLED_APPS',
                                               id='cinesis.E006'))
    pyn = getattr(settings, 'PYNESIS_CONFIG', None)
    if pyn is not None:
        for name, conf in (pyn.items() if isinstance(pyn, dict) else []):
            for key in ('BACKEND', 'CHECKPOINTER'):
                if key in conf:
                    try:
                        import_string(conf[key])
                    except ImportError as e:
                        errors.append(checks.Error('PYNESIS_CONFIG[%r][%r] = %r cannot be '
                                                   'imported: %s' % (name, key, conf[key], e),
                                                   id='cinesis.E010'))
            backend = conf.get('BACKEND', '')
            if backend.endswith('KinesisStream') and 'stream_name' not in (
                    conf.get('BACKEND_OPTIONS') or {}):
                errors.append(checks.Error('PYNESIS_CONFIG[%r]["BACKEND_OPTIONS"] needs '
                                           '"stream_name"' % name, id='cinesis.E011'))
            if conf.get('CHECKPOINTER', '').endswith('DjangoCheckpointer') and \
                    'pynesis' not in settings.INSTALLED_APPS:
                errors.append(checks.Error('DjangoCheckpointer needs "pynesis" in '
                                           'INSTALLED_APPS', id='cinesis.E012'))
    return errors
