"""pynesis.models: the Checkpoint model of pynesis (same table, so existing checkpoints are
kept when switching). New projects should use cinesis.contrib.django's models (one row per
application, stream and shard)."""

from django.db import models


class Checkpoint(models.Model):
    key = models.CharField(max_length=256, primary_key=True)
    checkpoints = models.TextField()

    class Meta:
        app_label = 'pynesis'
