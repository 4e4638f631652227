/* Example: the C interface (cinesis.h) end to end. Creates a stream, writes COUNT records
 * with the producer (record i carries the decimal text of i), reads them all back with a
 * consumer whose checkpoints are in a SQLite file, and checks that every record arrived
 * exactly once.
 *
 *   cc produce_consume.c $(pkg-config --cflags --libs cinesis) -o produce_consume
 *   ./produce_consume http://127.0.0.1:4567 demo 100000 /tmp/demo-checkpoints.db [IDS_FILE]
 *
 * With IDS_FILE, the id of every record consumed is also written there, one per line.
 * Prints "produced N (F failed)" and "consumed N records: M missing, D duplicates"; exits
 * 0 when nothing is missing or duplicated, 1 when something is, 2 on an error.
 *
 * A consumer run again with the same application and SQLite file resumes from its
 * checkpoints: COUNT 0 consumes only what is new ("consumed 0 records" when nothing is). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cinesis/cinesis.h"

static int fail(const char* what, cinesis_err_t err) {
  fprintf(stderr, "%s: %s (%s)\n", what, cinesis_last_error(), cinesis_err_name(err));
  return 2;
}

/* Sets one option; reports a bad key or value. */
static int set(cinesis_options_t* o, const char* key, const char* value) {
  cinesis_err_t err = cinesis_options_set(o, key, value);
  if (err != CINESIS_OK) return fail(key, err);
  return 0;
}

static int produce(cinesis_client_t* client, const char* stream, size_t count) {
  enum { kBatch = 1000, kReports = 1000 };
  static cinesis_record_t records[kBatch];
  static char texts[kBatch][24];
  static cinesis_delivery_t reports[kReports];
  cinesis_options_t* o = cinesis_options_new();
  cinesis_producer_t* producer = NULL;
  cinesis_err_t err;
  size_t next = 0, reported = 0, failed = 0, i, n;
  int rc = 0;

  if (o == NULL) return 2;
  /* A local server has no shard limits: let the producer go as fast as it answers. */
  if (set(o, "stream", stream) || set(o, "shard_records_per_second", "inf") ||
      set(o, "shard_bytes_per_second", "inf")) {
    cinesis_options_destroy(o);
    return 2;
  }
  err = cinesis_producer_new(client, o, &producer);
  cinesis_options_destroy(o);
  if (err != CINESIS_OK) return fail("producer", err);

  while (reported < count) {
    /* Hand over the next batch (one call for up to kBatch records)... */
    if (next < count) {
      size_t accepted = 0;
      n = count - next < kBatch ? count - next : kBatch;
      for (i = 0; i < n; ++i) {
        snprintf(texts[i], sizeof texts[i], "%zu", next + i);
        records[i].partition_key = texts[i];
        records[i].data = texts[i];
        records[i].data_len = strlen(texts[i]);
        records[i].explicit_hash_key = NULL;
        records[i].opaque = next + i;
      }
      err = cinesis_producer_put_batch(producer, records, n, &accepted);
      next += accepted;
      if (err != CINESIS_OK && err != CINESIS_ERR_LIMIT_EXCEEDED) {
        rc = fail("put", err);
        break;
      }
    }
    /* ...and collect the delivery reports: exactly one per record. */
    err = cinesis_producer_poll(producer, reports, kReports, next < count ? 0 : 1000, &n);
    if (err != CINESIS_OK) {
      rc = fail("poll", err);
      break;
    }
    for (i = 0; i < n; ++i) {
      if (reports[i].err != CINESIS_OK) {
        if (failed++ < 5) {
          fprintf(stderr, "record %llu: %s\n", (unsigned long long)reports[i].opaque,
                  reports[i].error_message);
        }
      }
    }
    reported += n;
  }
  if (rc == 0) {
    err = cinesis_producer_close(producer, 60000);
    if (err != CINESIS_OK) rc = fail("close", err);
  }
  cinesis_producer_destroy(producer);
  printf("produced %zu (%zu failed)\n", reported - failed, failed);
  fflush(stdout);
  if (rc == 0 && failed > 0) rc = 1;
  return rc;
}

/* Reads until `count` records have arrived and then no more for 2 s (so that a duplicate
 * would be seen; 5 s when COUNT is 0), or nothing at all for 30 s. */
static int consume(cinesis_client_t* client, const char* stream, size_t count,
                   const char* sqlite_path, FILE* ids) {
  cinesis_options_t* o = cinesis_options_new();
  cinesis_store_t* store = NULL;
  cinesis_consumer_t* consumer = NULL;
  unsigned char* seen = calloc(count ? count : 1, 1);
  size_t total = 0, duplicates = 0, missing = 0, i;
  int idle_ms = 0, rc = 0;
  cinesis_err_t err;

  if (o == NULL || seen == NULL) {
    cinesis_options_destroy(o);
    free(seen);
    return 2;
  }
  err = cinesis_store_open_sqlite(sqlite_path, &store);
  if (err != CINESIS_OK) {
    cinesis_options_destroy(o);
    free(seen);
    return fail("sqlite store", err);
  }
  if (set(o, "application", "produce-consume-c") || set(o, "stream", stream) ||
      set(o, "checkpoint", "after_each_batch") || set(o, "idle_backoff_ms", "100") ||
      set(o, "shard_sync_interval_ms", "500")) {
    rc = 2;
  } else {
    err = cinesis_consumer_new(client, o, store, store, &consumer);
    if (err != CINESIS_OK) rc = fail("consumer", err);
  }
  cinesis_options_destroy(o);

  while (rc == 0 && idle_ms < (total < count ? 30000 : count > 0 ? 2000 : 5000)) {
    cinesis_batch_t* batch = NULL;
    const cinesis_consumer_record_t* r;
    size_t n;
    err = cinesis_consumer_poll(consumer, 200, &batch);
    if (err != CINESIS_OK) {
      rc = fail("poll", err);
      break;
    }
    n = cinesis_batch_count(batch);
    r = cinesis_batch_records(batch);
    idle_ms = n == 0 ? idle_ms + 200 : 0;
    for (i = 0; i < n; ++i) {
      char text[24];
      size_t len = r[i].data_len < sizeof text - 1 ? r[i].data_len : sizeof text - 1;
      unsigned long long id;
      char* end;
      memcpy(text, r[i].data, len);
      text[len] = '\0';
      id = strtoull(text, &end, 10);
      ++total;
      if (ids != NULL) fprintf(ids, "%s\n", text);
      if (*end != '\0' || id >= count || seen[id]) {
        ++duplicates;
      } else {
        seen[id] = 1;
      }
    }
    cinesis_batch_destroy(batch);
  }
  if (consumer != NULL) {
    err = cinesis_consumer_stop(consumer); /* final checkpoints */
    if (err != CINESIS_OK && rc == 0) rc = fail("stop", err);
    cinesis_consumer_destroy(consumer);
  }
  cinesis_store_destroy(store);
  for (i = 0; i < count; ++i) missing += !seen[i];
  free(seen);
  printf("consumed %zu records: %zu missing, %zu duplicates\n", total, missing, duplicates);
  if (rc == 0 && (missing > 0 || duplicates > 0)) rc = 1;
  return rc;
}

int main(int argc, char** argv) {
  cinesis_options_t* o;
  cinesis_client_t* client = NULL;
  cinesis_err_t err;
  FILE* ids = NULL;
  size_t count;
  int rc;

  if (argc < 5 || argc > 6) {
    fprintf(stderr, "usage: %s ENDPOINT STREAM COUNT SQLITE_PATH [IDS_FILE]\n", argv[0]);
    return 2;
  }
  count = (size_t)strtoull(argv[3], NULL, 10);
  printf("libcinesis %s\n", cinesis_version());

  o = cinesis_options_new();
  if (o == NULL) return 2;
  if (set(o, "endpoint", argv[1]) || set(o, "region", "us-east-1")) {
    cinesis_options_destroy(o);
    return 2;
  }
  err = cinesis_client_new(o, &client);
  cinesis_options_destroy(o);
  if (err != CINESIS_OK) return fail("client", err);

  if (count > 0) {
    err = cinesis_create_stream(client, argv[2], 4);
    if (err != CINESIS_OK && err != CINESIS_ERR_RESOURCE_IN_USE) {
      rc = fail("create stream", err);
      goto done;
    }
    err = cinesis_wait_for_active(client, argv[2], 60000);
    if (err != CINESIS_OK) {
      rc = fail("wait for active", err);
      goto done;
    }
    rc = produce(client, argv[2], count);
    if (rc != 0) goto done;
  }
  if (argc == 6) {
    ids = fopen(argv[5], "w");
    if (ids == NULL) {
      perror(argv[5]);
      rc = 2;
      goto done;
    }
  }
  rc = consume(client, argv[2], count, argv[4], ids);
  if (ids != NULL && fclose(ids) != 0) rc = 2;
done:
  cinesis_client_destroy(client);
  return rc;
}
