from django.apps import AppConfig


class CinesisConfig(AppConfig):
    name = 'cinesis.contrib.django'
    label = 'cinesis'
    verbose_name = 'cinesis (Kinesis)'
    default_auto_field = 'django.db.models.AutoField'

    def ready(self):
        from . import checks  # noqa: F401  (registers the system check)
