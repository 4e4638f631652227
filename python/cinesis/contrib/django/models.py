"""Checkpoints (one row per application, stream and shard) and leases in Django's database,
so several worker processes share a stream with nothing but the project's DB."""

from django.db import models


class Checkpoint(models.Model):
    application = models.CharField(max_length=256)
    stream = models.CharField(max_length=256)
    shard_id = models.CharField(max_length=256)
    sequence_number = models.CharField(max_length=128)
    sub_sequence_number = models.BigIntegerField(default=0)  # stored as signed 64-bit
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        app_label = 'cinesis'
        unique_together = [('application', 'stream', 'shard_id')]

    def __str__(self):
        return '%s/%s/%s @ %s' % (self.application, self.stream, self.shard_id,
                                  self.sequence_number)


class Lease(models.Model):
    application = models.CharField(max_length=256)
    stream = models.CharField(max_length=256)
    shard_id = models.CharField(max_length=256)
    owner = models.CharField(max_length=256, blank=True, default='')
    counter = models.BigIntegerField(default=0)
    expires_at_ms = models.BigIntegerField(default=0)

    class Meta:
        app_label = 'cinesis'
        unique_together = [('application', 'stream', 'shard_id')]

    def __str__(self):
        return '%s/%s/%s owner=%s counter=%d' % (self.application, self.stream, self.shard_id,
                                                 self.owner or '-', self.counter)
