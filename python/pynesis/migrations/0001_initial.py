from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True
    dependencies = []
    operations = [
        migrations.CreateModel(
            name='Checkpoint',
            fields=[
                ('key', models.CharField(max_length=256, primary_key=True, serialize=False)),
                ('checkpoints', models.TextField()),
            ],
        ),
    ]
