#include <stdio.h>
#include <string.h>

#include "cinesis/cinesis.h"

static int fail(const char* what) {
  fprintf(stderr, "%s: %s (%s)\n", what, cinesis_last_error(),
          cinesis_err_name(cinesis_last_error_code()));
  return 1;
}

int main(void) {
  cinesis_local_t* local = NULL; /* or cinesis_client_new(options, &client) for a server */
  cinesis_client_t* client;
  cinesis_options_t* opts;
  cinesis_producer_t* producer = NULL;
  cinesis_consumer_t* consumer = NULL;
  cinesis_record_t records[2] = {{"user-1", "hello", 5, NULL, 1}, {"user-2", "world", 5, NULL, 2}};
  cinesis_delivery_t reports[2];
  size_t n = 0, got = 0;
  int i;

  if (cinesis_local_new(NULL, &local) != CINESIS_OK) return fail("local");
  client = cinesis_local_client(local);
  if (cinesis_create_stream(client, "orders", 2) != CINESIS_OK) return fail("create");

  opts = cinesis_options_new();
  cinesis_options_set(opts, "stream", "orders");
  cinesis_options_set(opts, "linger_ms", "10");
  if (cinesis_producer_new(client, opts, &producer) != CINESIS_OK) return fail("producer");
  cinesis_options_destroy(opts);
  if (cinesis_producer_put_batch(producer, records, 2, NULL) != CINESIS_OK) return fail("put");
  if (cinesis_producer_flush(producer, 5000) != CINESIS_OK) return fail("flush");
  while (got < 2 && cinesis_producer_poll(producer, reports, 2, 1000, &n) == CINESIS_OK) {
    for (i = 0; i < (int)n; ++i) {
      printf("record %d: %s %s\n", (int)reports[i].opaque, cinesis_err_name(reports[i].err),
             reports[i].shard_id);
    }
    got += n;
  }
  cinesis_producer_destroy(producer);

  opts = cinesis_options_new();
  cinesis_options_set(opts, "application", "billing");
  cinesis_options_set(opts, "stream", "orders");
  if (cinesis_consumer_new(client, opts, NULL, NULL, &consumer) != CINESIS_OK) {
    return fail("consumer");
  }
  cinesis_options_destroy(opts);
  for (got = 0; got < 2;) {
    cinesis_batch_t* batch = NULL;
    const cinesis_consumer_record_t* r;
    if (cinesis_consumer_poll(consumer, 1000, &batch) != CINESIS_OK) return fail("poll");
    r = cinesis_batch_records(batch);
    for (i = 0; i < (int)cinesis_batch_count(batch); ++i, ++got) {
      printf("%s %s: %.*s\n", r[i].shard_id, r[i].partition_key, (int)r[i].data_len,
             (const char*)r[i].data);
    }
    cinesis_batch_destroy(batch);
  }
  cinesis_consumer_destroy(consumer);
  cinesis_local_destroy(local);
  return 0;
}
