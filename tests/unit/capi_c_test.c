/* A plain C99 program over cinesis.h (compiled with -std=c99 -Wall -Werror -pedantic):
 * LocalKinesis, a stream, a producer with delivery reports, a consumer with a SQLite store
 * and manual commits, and a few error paths with their messages. Exit 0 on success. */
#define _POSIX_C_SOURCE 200809L /* clock_gettime under -std=c99 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cinesis/cinesis.h"

#define N 2000

static long long NowMs(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int failures = 0;
#define CHECK(cond)                                                                           \
  do {                                                                                        \
    if (!(cond)) {                                                                            \
      fprintf(stderr, "%s:%d: CHECK(%s) failed; last error: %s\n", __FILE__, __LINE__, #cond, \
              cinesis_last_error());                                                          \
      ++failures;                                                                             \
    }                                                                                         \
  } while (0)
#define REQUIRE(cond)                                                                           \
  do {                                                                                          \
    if (!(cond)) {                                                                              \
      fprintf(stderr, "%s:%d: REQUIRE(%s) failed; last error: %s\n", __FILE__, __LINE__, #cond, \
              cinesis_last_error());                                                            \
      return 1;                                                                                 \
    }                                                                                           \
  } while (0)

int main(void) {
  cinesis_local_t* local = NULL;
  cinesis_client_t* client;
  cinesis_options_t *po, *co;
  cinesis_producer_t* producer = NULL;
  cinesis_consumer_t* consumer = NULL;
  cinesis_store_t* store = NULL;
  cinesis_record_t recs[100];
  char keys[100][16], data[100][16];
  cinesis_delivery_t reports[256];
  static unsigned char seen[N];
  size_t i, n, accepted, reported = 0, consumed = 0;
  int round;
  long long deadline;
  char path[64];

  REQUIRE(cinesis_local_new(NULL, &local) == CINESIS_OK);
  client = cinesis_local_client(local);
  REQUIRE(client != NULL);
  REQUIRE(cinesis_create_stream(client, "c-orders", 2) == CINESIS_OK);
  REQUIRE(cinesis_wait_for_active(client, "c-orders", 5000) == CINESIS_OK);

  po = cinesis_options_new();
  CHECK(cinesis_options_set(po, "stream", "c-orders") == CINESIS_OK);
  CHECK(cinesis_options_set(po, "linger_ms", "5") == CINESIS_OK);
  CHECK(cinesis_options_set(po, "lingerr", "5") == CINESIS_OK);
  CHECK(cinesis_producer_new(client, po, &producer) == CINESIS_ERR_INVALID_ARGUMENT);
  CHECK(strcmp(cinesis_last_error(),
               "InvalidArgumentException: unknown producer option 'lingerr'") == 0);
  cinesis_options_destroy(po);
  po = cinesis_options_new();
  CHECK(cinesis_options_set(po, "stream", "c-orders") == CINESIS_OK);
  CHECK(cinesis_options_set(po, "linger_ms", "5") == CINESIS_OK);
  REQUIRE(cinesis_producer_new(client, po, &producer) == CINESIS_OK);
  cinesis_options_destroy(po);

  for (round = 0; round < N / 100; ++round) {
    for (i = 0; i < 100; ++i) {
      size_t id = (size_t)round * 100 + i;
      sprintf(keys[i], "key-%u", (unsigned)(id % 13));
      sprintf(data[i], "%u", (unsigned)id);
      recs[i].partition_key = keys[i];
      recs[i].data = data[i];
      recs[i].data_len = strlen(data[i]);
      recs[i].explicit_hash_key = NULL;
      recs[i].opaque = id;
    }
    REQUIRE(cinesis_producer_put_batch(producer, recs, 100, &accepted) == CINESIS_OK);
    CHECK(accepted == 100);
  }
  /* Bounded by time, not by a count of polls: under load the reports come in more, smaller
   * groups (each poll returns at the first report). */
  deadline = NowMs() + 50000;
  while (reported < N && NowMs() < deadline) {
    REQUIRE(cinesis_producer_poll(producer, reports, 256, 100, &n) == CINESIS_OK);
    for (i = 0; i < n; ++i) {
      CHECK(reports[i].err == CINESIS_OK);
      CHECK(strncmp(reports[i].shard_id, "shardId-", 8) == 0);
    }
    reported += n;
  }
  if (reported != N) fprintf(stderr, "reports: %u of %u\n", (unsigned)reported, (unsigned)N);
  CHECK(reported == N);
  CHECK(cinesis_producer_close(producer, 5000) == CINESIS_OK);
  CHECK(cinesis_producer_put(producer, &recs[0]) == CINESIS_ERR_FAILED_PRECONDITION);
  CHECK(strcmp(cinesis_last_error(), "FailedPrecondition: producer is closed") == 0);
  cinesis_producer_destroy(producer);

  sprintf(path, "/tmp/cinesis_capi_c_test_%d.sqlite", (int)getpid());
  REQUIRE(cinesis_store_open_sqlite(path, &store) == CINESIS_OK);
  co = cinesis_options_new();
  CHECK(cinesis_options_set(co, "application", "c-app") == CINESIS_OK);
  CHECK(cinesis_options_set(co, "stream", "c-orders") == CINESIS_OK);
  CHECK(cinesis_options_set(co, "checkpoint", "manual") == CINESIS_OK);
  CHECK(cinesis_options_set(co, "idle_backoff_ms", "50") == CINESIS_OK);
  REQUIRE(cinesis_consumer_new(client, co, store, store, &consumer) == CINESIS_OK);
  cinesis_options_destroy(co);
  deadline = NowMs() + 50000;
  while (consumed < N && NowMs() < deadline) {
    cinesis_batch_t* batch = NULL;
    const cinesis_consumer_record_t* r;
    REQUIRE(cinesis_consumer_poll(consumer, 100, &batch) == CINESIS_OK);
    r = cinesis_batch_records(batch);
    for (i = 0; i < cinesis_batch_count(batch); ++i) {
      char buf[16];
      unsigned long id;
      memcpy(buf, r[i].data, r[i].data_len);
      buf[r[i].data_len] = '\0';
      id = strtoul(buf, NULL, 10);
      CHECK(id < N && !seen[id]);
      if (id < N && !seen[id]) {
        seen[id] = 1;
        ++consumed;
      }
    }
    cinesis_batch_destroy(batch);
    CHECK(cinesis_consumer_commit(consumer) == CINESIS_OK);
  }
  if (consumed != N) fprintf(stderr, "consumed: %u of %u\n", (unsigned)consumed, (unsigned)N);
  CHECK(consumed == N);
  CHECK(cinesis_consumer_stop(consumer) == CINESIS_OK);
  {
    cinesis_batch_t* batch = NULL;
    CHECK(cinesis_consumer_poll(consumer, 0, &batch) == CINESIS_ERR_FAILED_PRECONDITION);
  }
  cinesis_consumer_destroy(consumer);
  cinesis_store_destroy(store);
  remove(path);

  CHECK(cinesis_create_stream(NULL, "x", 1) == CINESIS_ERR_BAD_HANDLE);
  CHECK(strcmp(cinesis_last_error(), "cinesis_create_stream: client is NULL") == 0);
  CHECK(strcmp(cinesis_err_name(CINESIS_ERR_RESOURCE_NOT_FOUND), "ResourceNotFoundException") == 0);
  cinesis_local_destroy(local);
  if (failures == 0) printf("capi_c_test: OK (%u records produced and consumed)\n", (unsigned)N);
  return failures == 0 ? 0 : 1;
}
