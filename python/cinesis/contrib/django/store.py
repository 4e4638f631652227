"""DjangoStore: checkpoints and leases in Django's database (models Checkpoint and Lease),
a cinesis.PythonStore. Every callback runs on one Python thread of the store's own (Django's
connections are per thread) inside a transaction; lease rows are locked with
select_for_update, so save_if_owner is atomic with try_acquire (fencing), also across
processes on PostgreSQL (SQLite serializes writers)."""

from django.db import DatabaseError, IntegrityError, close_old_connections, transaction

from cinesis.stores import Lease as LeaseValue, PythonStore

_U64 = 1 << 64
_I64 = 1 << 63


def _to_db(sub):
    return sub - _U64 if sub >= _I64 else sub


def _from_db(sub):
    return sub + _U64 if sub < 0 else sub


class _Immediate(object):
    """transaction.atomic that, on SQLite, takes the write lock first (a no-op UPDATE), so
    that a transaction which reads then writes waits for the lock (busy timeout) instead of
    failing at once with "database is locked" when another process writes meanwhile (SQLite
    cannot upgrade a read lock held by a deferred transaction)."""

    def __init__(self, using):
        self.using = using
        self.atomic = transaction.atomic(using=using)

    def __enter__(self):
        self.atomic.__enter__()
        from django.db import connections
        conn = connections[self.using]
        if conn.vendor == 'sqlite':
            from .models import Lease
            with conn.cursor() as c:
                c.execute('UPDATE %s SET counter = counter WHERE 0' % Lease._meta.db_table)
        return self

    def __exit__(self, *exc):
        return self.atomic.__exit__(*exc)


class DjangoStore(PythonStore):
    transient_exceptions = (EnvironmentError, DatabaseError)

    def __init__(self, using='default'):
        self.using = using
        PythonStore.__init__(self, serialize=True)

    def _models(self):
        from .models import Checkpoint, Lease
        return Checkpoint, Lease

    def _atomic(self):
        close_old_connections()
        return _Immediate(self.using)

    def save(self, scope, shard_id, sequence_number, sub_sequence_number):
        Checkpoint, _ = self._models()
        with self._atomic():
            self._upsert(Checkpoint, scope, shard_id, sequence_number, sub_sequence_number)

    def _upsert(self, Checkpoint, scope, shard_id, seq, sub):
        n = Checkpoint.objects.using(self.using).filter(
            application=scope[0], stream=scope[1], shard_id=shard_id).update(
            sequence_number=seq, sub_sequence_number=_to_db(sub))
        if n == 0:
            try:
                with transaction.atomic(using=self.using):
                    Checkpoint.objects.using(self.using).create(
                        application=scope[0], stream=scope[1], shard_id=shard_id,
                        sequence_number=seq, sub_sequence_number=_to_db(sub))
            except IntegrityError:  # created concurrently
                Checkpoint.objects.using(self.using).filter(
                    application=scope[0], stream=scope[1], shard_id=shard_id).update(
                    sequence_number=seq, sub_sequence_number=_to_db(sub))

    def save_if_owner(self, scope, lease, sequence_number, sub_sequence_number, now_ms):
        Checkpoint, Lease = self._models()
        if not lease.owner:
            return False
        with self._atomic():
            row = Lease.objects.using(self.using).select_for_update().filter(
                application=scope[0], stream=scope[1], shard_id=lease.shard_id).first()
            if (row is None or row.owner != lease.owner or row.counter != lease.counter
                    or row.expires_at_ms <= now_ms):
                return False
            self._upsert(Checkpoint, scope, lease.shard_id, sequence_number,
                         sub_sequence_number)
            return True

    def load(self, scope, shard_id):
        Checkpoint, _ = self._models()
        close_old_connections()
        row = Checkpoint.objects.using(self.using).filter(
            application=scope[0], stream=scope[1], shard_id=shard_id).first()
        return None if row is None else (row.sequence_number, _from_db(row.sub_sequence_number))

    def load_all(self, scope):
        Checkpoint, _ = self._models()
        close_old_connections()
        return dict((r.shard_id, (r.sequence_number, _from_db(r.sub_sequence_number)))
                    for r in Checkpoint.objects.using(self.using).filter(
                        application=scope[0], stream=scope[1]))

    def try_acquire(self, scope, shard_id, owner, ttl_ms, now_ms):
        _, Lease = self._models()
        with self._atomic():
            qs = Lease.objects.using(self.using).select_for_update().filter(
                application=scope[0], stream=scope[1], shard_id=shard_id)
            row = qs.first()
            if row is None:
                try:
                    with transaction.atomic(using=self.using):
                        Lease.objects.using(self.using).create(
                            application=scope[0], stream=scope[1], shard_id=shard_id,
                            owner=owner, counter=1, expires_at_ms=now_ms + ttl_ms)
                    return LeaseValue(shard_id, owner, 1, now_ms + ttl_ms)
                except IntegrityError:
                    row = qs.first()
            if row.owner == owner:
                counter = row.counter
            elif not row.owner or row.expires_at_ms <= now_ms:
                counter = row.counter + 1
            else:
                return None
            row.owner, row.counter, row.expires_at_ms = owner, counter, now_ms + ttl_ms
            row.save(update_fields=['owner', 'counter', 'expires_at_ms'])
            return LeaseValue(shard_id, owner, counter, now_ms + ttl_ms)

    def renew(self, scope, lease, ttl_ms, now_ms):
        _, Lease = self._models()
        if not lease.owner:
            return False
        with self._atomic():
            n = Lease.objects.using(self.using).filter(
                application=scope[0], stream=scope[1], shard_id=lease.shard_id,
                owner=lease.owner, counter=lease.counter).update(expires_at_ms=now_ms + ttl_ms)
            return n == 1

    def release(self, scope, lease):
        _, Lease = self._models()
        if not lease.owner:
            return
        with self._atomic():
            Lease.objects.using(self.using).filter(
                application=scope[0], stream=scope[1], shard_id=lease.shard_id,
                owner=lease.owner, counter=lease.counter).update(owner='', expires_at_ms=0)

    def list_leases(self, scope):
        _, Lease = self._models()
        close_old_connections()
        rows = Lease.objects.using(self.using).filter(application=scope[0], stream=scope[1])
        out = [LeaseValue(r.shard_id, r.owner, r.counter, r.expires_at_ms) for r in rows]
        return sorted(out, key=lambda l: l.shard_id.encode('utf-8'))

    def delete_expired(self, scope, prefix, now_ms):
        _, Lease = self._models()
        if not prefix:
            from cinesis.errors import InvalidArgumentException
            raise InvalidArgumentException('prefix must not be empty')
        from django.db.models import Q
        with self._atomic():
            qs = Lease.objects.using(self.using).select_for_update().filter(
                application=scope[0], stream=scope[1], shard_id__startswith=prefix).filter(
                Q(owner='') | Q(expires_at_ms__lte=now_ms))
            ids = [r.pk for r in qs if r.shard_id.startswith(prefix)]
            Lease.objects.using(self.using).filter(pk__in=ids).delete()
            return len(ids)

    def on_destroy(self):
        from django.db import connections
        try:
            connections[self.using].close()
        except Exception:
            pass
