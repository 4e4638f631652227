from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True
    dependencies = []
    operations = [
        migrations.CreateModel(
            name='Checkpoint',
            fields=[
                ('id', models.AutoField(auto_created=True, primary_key=True, serialize=False,
                                        verbose_name='ID')),
                ('application', models.CharField(max_length=256)),
                ('stream', models.CharField(max_length=256)),
                ('shard_id', models.CharField(max_length=256)),
                ('sequence_number', models.CharField(max_length=128)),
                ('sub_sequence_number', models.BigIntegerField(default=0)),
                ('updated_at', models.DateTimeField(auto_now=True)),
            ],
            options={'unique_together': {('application', 'stream', 'shard_id')}},
        ),
        migrations.CreateModel(
            name='Lease',
            fields=[
                ('id', models.AutoField(auto_created=True, primary_key=True, serialize=False,
                                        verbose_name='ID')),
                ('application', models.CharField(max_length=256)),
                ('stream', models.CharField(max_length=256)),
                ('shard_id', models.CharField(max_length=256)),
                ('owner', models.CharField(blank=True, default='', max_length=256)),
                ('counter', models.BigIntegerField(default=0)),
                ('expires_at_ms', models.BigIntegerField(default=0)),
            ],
            options={'unique_together': {('application', 'stream', 'shard_id')}},
        ),
    ]
