/* cinesis.h: the C interface of libcinesis (plain C99; usable from C++ and from any
 * language with a C foreign-function interface, e.g. Python's ctypes).
 *
 * Conventions
 * - Every object is an opaque handle created by a *_new / *_open function and freed by
 *   the matching *_destroy, which accepts NULL. A handle of the wrong type (or NULL where a
 *   handle is required) is answered with CINESIS_ERR_BAD_HANDLE, never a crash; a handle
 *   used after its *_destroy is undefined behaviour, as with free().
 * - Functions that can fail return a cinesis_err_t (CINESIS_OK is 0). The message of the
 *   last failing call is kept per thread: cinesis_last_error() returns it (e.g.
 *   "ResourceNotFoundException: Stream orders under account 000000000000 not found.").
 *   A successful call does not clear it.
 * - Strings are NUL-terminated UTF-8 unless a length is given. Record data is binary:
 *   (pointer, length). Input pointers are only read during the call; nothing passed in is
 *   kept after the call returns (the library copies what it needs).
 * - Output ownership is stated per function: "free with cinesis_free" (char * results), "owned
 *   by the handle, valid until <event>" (pointers into a handle's memory), or a handle of
 *   its own with its own *_destroy.
 * - No C++ exception ever leaves a function of this header; an unexpected one becomes
 *   CINESIS_ERR_UNKNOWN with its text.
 * - Thread safety: a client, producer, store or LocalKinesis may be used from any number of
 *   threads at once. A consumer's functions may be called from any thread, but poll and
 *   commit are meant for one thread (the one consuming). Options objects are not
 *   thread-safe (fill one, then hand it over).
 * - Times are milliseconds: durations as int64_t/int, timestamps since the Unix epoch.
 */
#ifndef CINESIS_CINESIS_H_
#define CINESIS_CINESIS_H_

#include <stddef.h>
#include <stdint.h>

#include "cinesis/export.h"
#include "cinesis/version.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Struct tags: a struct whose name a function also has ends in _s (C++ forbids the clash);
 * use the _t typedefs. */

/* ---- errors ----------------------------------------------------------------------- */

/* Kinesis service errors keep the service's names (cinesis_err_name gives the wire name,
 * e.g. "ResourceNotFoundException"); local conditions have codes of their own. The values
 * are stable: new codes are only appended. */
typedef enum cinesis_err {
  CINESIS_OK = 0,
  /* Kinesis service and protocol errors */
  CINESIS_ERR_ACCESS_DENIED = 1,
  CINESIS_ERR_EXPIRED_ITERATOR = 2,
  CINESIS_ERR_EXPIRED_NEXT_TOKEN = 3,
  CINESIS_ERR_INTERNAL_FAILURE = 4,
  CINESIS_ERR_INVALID_ARGUMENT = 5, /* also: a bad option name or value */
  CINESIS_ERR_KMS_ACCESS_DENIED = 6,
  CINESIS_ERR_KMS_DISABLED = 7,
  CINESIS_ERR_KMS_INVALID_STATE = 8,
  CINESIS_ERR_KMS_NOT_FOUND = 9,
  CINESIS_ERR_KMS_OPT_IN_REQUIRED = 10,
  CINESIS_ERR_KMS_THROTTLING = 11,
  CINESIS_ERR_LIMIT_EXCEEDED = 12,
  CINESIS_ERR_PROVISIONED_THROUGHPUT_EXCEEDED = 13,
  CINESIS_ERR_RESOURCE_IN_USE = 14,
  CINESIS_ERR_RESOURCE_NOT_FOUND = 15,
  CINESIS_ERR_VALIDATION = 16,
  CINESIS_ERR_SERIALIZATION = 17,
  CINESIS_ERR_UNKNOWN_OPERATION = 18,
  CINESIS_ERR_MISSING_AUTHENTICATION_TOKEN = 19,
  CINESIS_ERR_INCOMPLETE_SIGNATURE = 20,
  CINESIS_ERR_INVALID_SIGNATURE = 21,
  /* local conditions */
  CINESIS_ERR_IO = 40,                  /* network or file I/O error, timeouts of a call */
  CINESIS_ERR_CORRUPTION = 41,          /* stored data failed its checks */
  CINESIS_ERR_FAILED_PRECONDITION = 42, /* e.g. the producer is closed, the consumer stopped */
  CINESIS_ERR_DEADLINE_EXCEEDED = 43,   /* a local wait (flush, wait-for-active) timed out */
  CINESIS_ERR_UNKNOWN = 44,             /* an error type this version does not know; the
                                           message starts with the wire type name */
  CINESIS_ERR_BAD_HANDLE = 60           /* NULL or wrong-type handle, NULL required pointer */
} cinesis_err_t;

/* The name of a code: the wire name for Kinesis errors ("ResourceNotFoundException"),
 * "OK", or the local name ("DeadlineExceeded", "FailedPrecondition", "BadHandle", ...).
 * Static storage; never NULL. */
CINESIS_EXPORT const char* cinesis_err_name(cinesis_err_t err);
/* 1 when retrying the same call later can succeed (throttling, internal failures, I/O). */
CINESIS_EXPORT int cinesis_err_retriable(cinesis_err_t err);
/* The message of the last failing call on this thread ("" if none). Owned by the library,
 * valid until the next failing call on this thread. */
CINESIS_EXPORT const char* cinesis_last_error(void);
/* The code of the last failing call on this thread (CINESIS_OK if none). */
CINESIS_EXPORT cinesis_err_t cinesis_last_error_code(void);

/* Frees a char * (or other buffer) this library returned with "free with cinesis_free".
 * NULL is fine. */
CINESIS_EXPORT void cinesis_free(void* p);

/* "0.1.0" (static storage) and CINESIS_VERSION_NUMBER of the library actually loaded. */
CINESIS_EXPORT const char* cinesis_version(void);
CINESIS_EXPORT int cinesis_version_number(void);

/* ---- logging -------------------------------------------------------------------------- */

typedef enum cinesis_log_level {
  CINESIS_LOG_DEBUG = 0,
  CINESIS_LOG_INFO = 1,
  CINESIS_LOG_WARN = 2,
  CINESIS_LOG_ERROR = 3
} cinesis_log_level_t;

/* Called from the library's threads (possibly several at once) for every log line at or
 * above `min_level`; `component` is e.g. "consumer", "producer", "client". The strings are
 * valid during the call only. NULL restores the default (lines at warn and above to
 * stderr). */
typedef void (*cinesis_log_fn)(void* user, cinesis_log_level_t level, const char* component,
                               const char* message);
CINESIS_EXPORT void cinesis_set_log_callback(cinesis_log_fn fn, void* user,
                                             cinesis_log_level_t min_level);

/* ---- options -------------------------------------------------------------------------- */

/* A bag of string options, read by the *_new functions below; unknown keys and bad values
 * make the *_new function fail with CINESIS_ERR_INVALID_ARGUMENT naming the key. The keys
 * are listed in docs/client.md ("The C interface"); durations end in _ms, booleans are
 * "true"/"false". Examples:
 *   client:   "endpoint", "region", "access_key_id", "secret_access_key", "session_token",
 *             "profile", "connect_timeout_ms", "request_timeout_ms", "verify_tls", "ca_bundle",
 *             "retry.max_attempts", "retry.base_delay_ms", "retry.max_delay_ms"
 *   producer: "stream" (required), "linger_ms", "max_batch_records", "max_batch_bytes",
 *             "buffer_bytes", "overflow" ("block"/"fail"), "record_ttl_ms",
 *             "shard_records_per_second", "shard_bytes_per_second" ("inf" disables),
 *             "aggregate", "strict_key_order", "max_in_flight", "delivery_reports"
 *   consumer: "application", "stream" (both required), "worker_id", "initial_position"
 *             ("TRIM_HORIZON"/"LATEST"/"AT_TIMESTAMP"), "initial_timestamp_ms",
 *             "checkpoint" ("manual", "after_each_batch", "every_records:N",
 *             "every_ms:N"), "lease_ttl_ms", "shard_sync_interval_ms",
 *             "max_get_records_per_second", "max_records_per_call", "idle_backoff_ms",
 *             "deaggregate", "enhanced_fan_out_consumer", "retry_budget_ms"
 *   local:    "create_stream_ms", "delete_stream_ms", "update_stream_ms" */
typedef struct cinesis_options cinesis_options_t;

CINESIS_EXPORT cinesis_options_t* cinesis_options_new(void); /* NULL only when out of memory */
/* Sets (or replaces) one option; key and value are copied. */
CINESIS_EXPORT cinesis_err_t cinesis_options_set(cinesis_options_t* options, const char* key,
                                                 const char* value);
CINESIS_EXPORT void cinesis_options_destroy(cinesis_options_t* options);

/* ---- client and stream administration ------------------------------------------------- */

typedef struct cinesis_client cinesis_client_t;

/* A client to the endpoint the options (or the environment, as the AWS SDKs) name, with
 * the default credentials chain; a loopback endpoint needs no credentials. `options` may be
 * NULL. *out is a new handle (free with cinesis_client_destroy, after every producer and
 * consumer made from it). */
CINESIS_EXPORT cinesis_err_t cinesis_client_new(const cinesis_options_t* options,
                                                cinesis_client_t** out);
CINESIS_EXPORT void cinesis_client_destroy(cinesis_client_t* client);

/* Any Kinesis operation by name ("DescribeStreamSummary", "ListShards", ...) with the
 * request and response as the service's JSON documents (Data fields Base64 encoded, as on
 * the wire). *response_json: free with cinesis_free; set only on success. SubscribeToShard
 * is not available here. */
CINESIS_EXPORT cinesis_err_t cinesis_client_call(cinesis_client_t* client, const char* operation,
                                                 const char* request_json, char** response_json);

CINESIS_EXPORT cinesis_err_t cinesis_create_stream(cinesis_client_t* client, const char* stream,
                                                   int shard_count);
/* CreateStream in ON_DEMAND capacity mode. */
CINESIS_EXPORT cinesis_err_t cinesis_create_stream_on_demand(cinesis_client_t* client,
                                                             const char* stream);
CINESIS_EXPORT cinesis_err_t cinesis_delete_stream(cinesis_client_t* client, const char* stream,
                                                   int enforce_consumer_deletion);
/* Waits until the stream is ACTIVE: CINESIS_ERR_DEADLINE_EXCEEDED after timeout_ms. */
CINESIS_EXPORT cinesis_err_t cinesis_wait_for_active(cinesis_client_t* client, const char* stream,
                                                     int64_t timeout_ms);
/* UpdateShardCount with UNIFORM_SCALING. */
CINESIS_EXPORT cinesis_err_t cinesis_update_shard_count(cinesis_client_t* client,
                                                        const char* stream, int target);
/* DescribeStreamSummary / ListStreams (every page) / ListShards (every page) as JSON:
 * {"StreamDescriptionSummary": {...}}, {"StreamNames": [...]}, {"Shards": [...]}.
 * *json: free with cinesis_free. */
CINESIS_EXPORT cinesis_err_t cinesis_describe_stream(cinesis_client_t* client, const char* stream,
                                                     char** json);
CINESIS_EXPORT cinesis_err_t cinesis_list_streams(cinesis_client_t* client, char** json);
CINESIS_EXPORT cinesis_err_t cinesis_list_shards(cinesis_client_t* client, const char* stream,
                                                 char** json);

/* One PutRecord, synchronous. explicit_hash_key may be NULL. On success the shard id and
 * sequence number are copied into the caller's buffers (shard_id: 32 bytes are enough,
 * sequence_number: 64), truncated to fit; either buffer may be NULL. */
CINESIS_EXPORT cinesis_err_t cinesis_put_record(cinesis_client_t* client, const char* stream,
                                                const char* partition_key, const void* data,
                                                size_t data_len, const char* explicit_hash_key,
                                                char* shard_id, size_t shard_id_size,
                                                char* sequence_number, size_t sequence_number_size);

/* ---- producer ----------------------------------------------------------------------------
 * Batches, rate-limits per shard, retries and (optionally) aggregates records, and reports
 * each record's final result exactly once through cinesis_producer_poll (like librdkafka's
 * delivery reports), unless "delivery_reports" is "false". */

typedef struct cinesis_producer cinesis_producer_t;

/* One record to put. Pointers are read during the call only. */
typedef struct cinesis_record {
  const char* partition_key; /* required, 1..256 characters */
  const void* data;          /* may be NULL when data_len is 0 */
  size_t data_len;
  const char* explicit_hash_key; /* NULL, or a decimal 128-bit hash key */
  uint64_t opaque;               /* yours: returned in the delivery report */
} cinesis_record_t;

/* The final result of one record. Strings are owned by the producer and valid until the
 * next cinesis_producer_poll on it (or its destroy). */
typedef struct cinesis_delivery {
  uint64_t opaque;
  cinesis_err_t err;         /* CINESIS_OK: stored */
  const char* error_message; /* "" when stored */
  const char* shard_id;
  const char* sequence_number;
  uint64_t sub_sequence_number; /* position in a KPL aggregate (0 otherwise) */
  int attempts;
} cinesis_delivery_t;

/* `client` must outlive the producer. `options` needs "stream". */
CINESIS_EXPORT cinesis_err_t cinesis_producer_new(cinesis_client_t* client,
                                                  const cinesis_options_t* options,
                                                  cinesis_producer_t** out);
/* Accepts one record. Fails at once (and then no delivery report is made for it) when the
 * producer is closed (CINESIS_ERR_FAILED_PRECONDITION), the record is invalid
 * (CINESIS_ERR_VALIDATION for a partition key or data out of bounds, as the service says it;
 * CINESIS_ERR_INVALID_ARGUMENT for a bad explicit hash key), or the buffer is full under
 * "overflow"="fail" (CINESIS_ERR_LIMIT_EXCEEDED). Under "overflow"="block" it waits for buffer
 * space. */
CINESIS_EXPORT cinesis_err_t cinesis_producer_put(cinesis_producer_t* producer,
                                                  const cinesis_record_t* record);
/* Accepts records[0..count) in order; stops at the first record not accepted and returns
 * its error. *accepted (may be NULL) is the number accepted before it. */
CINESIS_EXPORT cinesis_err_t cinesis_producer_put_batch(cinesis_producer_t* producer,
                                                        const cinesis_record_t* records,
                                                        size_t count, size_t* accepted);
/* Moves up to `max` finished records' reports into out[], waiting up to timeout_ms (0: do
 * not wait; <0: wait until at least one report) for the first. *count = reports written. */
CINESIS_EXPORT cinesis_err_t cinesis_producer_poll(cinesis_producer_t* producer,
                                                   cinesis_delivery_t* out, size_t max,
                                                   int64_t timeout_ms, size_t* count);
/* Sends everything buffered and waits until every record accepted before the call has
 * completed: CINESIS_ERR_DEADLINE_EXCEEDED after timeout_ms. */
CINESIS_EXPORT cinesis_err_t cinesis_producer_flush(cinesis_producer_t* producer,
                                                    int64_t timeout_ms);
/* Flushes with the deadline, then stops: records still pending complete with an error (and
 * are reported). Later puts fail with CINESIS_ERR_FAILED_PRECONDITION. Idempotent. */
CINESIS_EXPORT cinesis_err_t cinesis_producer_close(cinesis_producer_t* producer,
                                                    int64_t timeout_ms);

/* Packed puts: the fast path for bindings (one call and no per-record report for a batch
 * of records that all succeed). The records are given as columns: record i's data is the
 * data_lens[i] bytes following record i-1's in `data` (back to back), its partition key
 * the key_lens[i] bytes following key i-1's in `keys` (UTF-8, not NUL-terminated). With
 * key_lens NULL, `keys` is one NUL-terminated key used for every record. No explicit hash
 * keys (use cinesis_producer_put_batch). Record i gets the opaque first_opaque + i.
 * Accepts in order and stops at the first record not accepted, returning its error as
 * cinesis_producer_put does; *accepted (may be NULL) is the number accepted before it.
 * Delivery reports (unless "delivery_reports" is "false"): a FAILED record is reported
 * through cinesis_producer_poll as usual (opaque first_opaque + i); a record that
 * succeeds is not reported on its own. Once every accepted record of the call has its
 * result, one summary (below) is queued for cinesis_producer_poll_summaries, after the
 * call's failure reports (so a caller that drains summaries first, then reports, has
 * every failure of each summary it got). No summary when nothing was accepted. */
typedef struct cinesis_put_summary {
  uint64_t first_opaque; /* as passed to cinesis_producer_put_packed */
  size_t records;        /* records the call accepted */
  size_t failed;         /* of those, the ones reported as failures */
} cinesis_put_summary_t;
CINESIS_EXPORT cinesis_err_t cinesis_producer_put_packed(
    cinesis_producer_t* producer, const void* data, const uint32_t* data_lens, const char* keys,
    const uint32_t* key_lens, size_t count, uint64_t first_opaque, size_t* accepted);
/* Moves up to `max` summaries of finished packed puts into out[], waiting up to timeout_ms
 * (0: do not wait; <0: until at least one) for the first. *count = summaries written. */
CINESIS_EXPORT cinesis_err_t cinesis_producer_poll_summaries(cinesis_producer_t* producer,
                                                             cinesis_put_summary_t* out, size_t max,
                                                             int64_t timeout_ms, size_t* count);

/* The tag differs from the function's name: the same name would hide the struct's
 * constructor in C++ (-Wshadow). Use the typedef. */
typedef struct cinesis_producer_metrics_s {
  uint64_t records_put;
  uint64_t records_failed;
  uint64_t retries;
  uint64_t put_records_calls;
  uint64_t buffered_records;
  uint64_t buffered_bytes;
  uint64_t pending_reports; /* delivery reports not yet polled */
} cinesis_producer_metrics_t;
CINESIS_EXPORT cinesis_err_t cinesis_producer_metrics(cinesis_producer_t* producer,
                                                      cinesis_producer_metrics_t* out);
/* Closes (deadline: the remaining record TTLs) if still open, then frees. */
CINESIS_EXPORT void cinesis_producer_destroy(cinesis_producer_t* producer);

/* ---- checkpoint and lease stores ---------------------------------------------------------
 * One store handle serves as checkpoint store and lease store (same backend). A store may
 * be shared by several consumers; it is freed when its handle is destroyed and no consumer
 * uses it any more. */

typedef struct cinesis_store cinesis_store_t;

CINESIS_EXPORT cinesis_err_t cinesis_store_open_memory(cinesis_store_t** out);
/* Creates the file and its tables if missing. */
CINESIS_EXPORT cinesis_err_t cinesis_store_open_sqlite(const char* path, cinesis_store_t** out);
CINESIS_EXPORT cinesis_err_t cinesis_store_open_redis(const char* host, int port, int db,
                                                      cinesis_store_t** out);
/* A libpq connection string; creates the schema if missing. */
CINESIS_EXPORT cinesis_err_t cinesis_store_open_postgres(const char* conninfo,
                                                         cinesis_store_t** out);
CINESIS_EXPORT void cinesis_store_destroy(cinesis_store_t* store);

/* Where a store keeps state: checkpoints and leases are scoped by application and stream. */
typedef struct cinesis_scope {
  const char* application;
  const char* stream;
} cinesis_scope_t;

typedef struct cinesis_lease {
  const char* shard_id;
  const char* owner; /* worker id; "" when free */
  uint64_t counter;  /* fencing token: +1 every time the lease changes hands */
  int64_t expires_at_ms;
} cinesis_lease_t;

/* Reading and writing a store directly (tools, tests, migrations). *sequence_number: free
 * with cinesis_free; NULL when the shard has no checkpoint. */
CINESIS_EXPORT cinesis_err_t cinesis_store_save(cinesis_store_t* store,
                                                const cinesis_scope_t* scope, const char* shard_id,
                                                const char* sequence_number,
                                                uint64_t sub_sequence_number);
CINESIS_EXPORT cinesis_err_t cinesis_store_load(cinesis_store_t* store,
                                                const cinesis_scope_t* scope, const char* shard_id,
                                                char** sequence_number,
                                                uint64_t* sub_sequence_number);

/* A store written in the caller's language. Output goes through the emit functions, which
 * copy at once. Every callback returns CINESIS_OK, or an error code after writing a message
 * (NUL-terminated, at most err_size bytes) into `err`; CINESIS_ERR_IO and
 * CINESIS_ERR_INTERNAL_FAILURE are taken as transient (retried), other codes as fatal.
 * Callbacks are called from the consumer's threads, possibly several at once, and must be
 * thread-safe. Fencing (see cinesis/checkpoint.h) is the callbacks' job: save_if_owner and
 * try_acquire must be atomic with respect to each other. */
typedef void (*cinesis_checkpoint_emit_fn)(void* ctx, const char* shard_id,
                                           const char* sequence_number,
                                           uint64_t sub_sequence_number);
typedef void (*cinesis_lease_emit_fn)(void* ctx, const cinesis_lease_t* lease);

typedef struct cinesis_store_callbacks {
  int (*save)(void* user, const cinesis_scope_t* scope, const char* shard_id,
              const char* sequence_number, uint64_t sub_sequence_number, char* err,
              size_t err_size);
  /* *saved = 1 when written, 0 when `lease` is no longer current at now_ms. */
  int (*save_if_owner)(void* user, const cinesis_scope_t* scope, const cinesis_lease_t* lease,
                       const char* sequence_number, uint64_t sub_sequence_number, int64_t now_ms,
                       int* saved, char* err, size_t err_size);
  /* Emits the shard's checkpoint once, or not at all when it has none. */
  int (*load)(void* user, const cinesis_scope_t* scope, const char* shard_id,
              cinesis_checkpoint_emit_fn emit, void* ctx, char* err, size_t err_size);
  /* Emits every checkpoint of the scope. */
  int (*load_all)(void* user, const cinesis_scope_t* scope, cinesis_checkpoint_emit_fn emit,
                  void* ctx, char* err, size_t err_size);
  /* Emits the lease when taken (free, expired at now_ms, or already owner's; counter +1
   * when it changes hands); emits nothing when someone else holds it. */
  int (*try_acquire)(void* user, const cinesis_scope_t* scope, const char* shard_id,
                     const char* owner, int64_t ttl_ms, int64_t now_ms, cinesis_lease_emit_fn emit,
                     void* ctx, char* err, size_t err_size);
  /* *renewed = 0 when the lease was lost. */
  int (*renew)(void* user, const cinesis_scope_t* scope, const cinesis_lease_t* lease,
               int64_t ttl_ms, int64_t now_ms, int* renewed, char* err, size_t err_size);
  int (*release)(void* user, const cinesis_scope_t* scope, const cinesis_lease_t* lease, char* err,
                 size_t err_size);
  /* Emits every lease of the scope. */
  int (*list)(void* user, const cinesis_scope_t* scope, cinesis_lease_emit_fn emit, void* ctx,
              char* err, size_t err_size);
  /* Optional (NULL: deletes nothing): deletes free or expired leases whose shard id starts
   * with `prefix`; *deleted = how many. */
  int (*delete_expired)(void* user, const cinesis_scope_t* scope, const char* prefix,
                        int64_t now_ms, size_t* deleted, char* err, size_t err_size);
  /* Optional: called once when the store is freed (no callback runs after it). */
  void (*destroy)(void* user);
} cinesis_store_callbacks_t;

/* Every callback but delete_expired and destroy is required. The table is copied. */
CINESIS_EXPORT cinesis_err_t cinesis_store_new_custom(const cinesis_store_callbacks_t* callbacks,
                                                      void* user, cinesis_store_t** out);

/* ---- consumer (pull style) ---------------------------------------------------------------
 * Reads every shard of a stream, follows shard changes (parents before children), resumes
 * from checkpoints and, with a lease store, shares the shards with the other processes of
 * the same application. */

typedef struct cinesis_consumer cinesis_consumer_t;

/* `client` must outlive the consumer. checkpoints: NULL = in memory; leases: NULL = this
 * process reads every shard. The consumer holds its own references to the stores. */
CINESIS_EXPORT cinesis_err_t cinesis_consumer_new(cinesis_client_t* client,
                                                  const cinesis_options_t* options,
                                                  cinesis_store_t* checkpoints,
                                                  cinesis_store_t* leases,
                                                  cinesis_consumer_t** out);

typedef struct cinesis_consumer_record {
  const char* shard_id;
  const char* sequence_number;
  uint64_t sub_sequence_number; /* index inside a KPL aggregate (0 for plain records) */
  int aggregated;
  const char* partition_key;
  const char* explicit_hash_key; /* NULL when none */
  const void* data;
  size_t data_len;
  int64_t arrival_ms; /* ApproximateArrivalTimestamp */
} cinesis_consumer_record_t;

/* A batch of records returned by one poll; owns their memory. */
typedef struct cinesis_batch cinesis_batch_t;
CINESIS_EXPORT size_t cinesis_batch_count(const cinesis_batch_t* batch);
/* The records, in order per shard; valid until cinesis_batch_destroy. NULL when empty. */
CINESIS_EXPORT const cinesis_consumer_record_t* cinesis_batch_records(const cinesis_batch_t* batch);
CINESIS_EXPORT void cinesis_batch_destroy(cinesis_batch_t* batch);

/* The batch as columns: the fast path for bindings (a few copies per batch instead of
 * several calls per record). Offsets arrays have count + 1 entries: record i's data is
 * data[data_offsets[i] .. data_offsets[i+1]), likewise its partition key, sequence number
 * and explicit hash key (empty when it has none: see flags). shard_ids holds the distinct
 * shard ids of the batch back to back (shard_offsets: shard_count + 1 entries); record i
 * is in shard shard_index[i]. flags[i]: CINESIS_RECORD_AGGREGATED,
 * CINESIS_RECORD_HAS_EXPLICIT_HASH_KEY. Built on the first call; every pointer is owned by
 * the batch and valid until cinesis_batch_destroy. An empty batch has count 0 and the
 * offsets arrays still have their one entry (0). */
#define CINESIS_RECORD_AGGREGATED 1u
#define CINESIS_RECORD_HAS_EXPLICIT_HASH_KEY 2u
typedef struct cinesis_batch_columns_s { /* tag: see cinesis_producer_metrics_s */
  size_t count;
  const char* data;
  const uint64_t* data_offsets;
  const char* partition_keys;
  const uint64_t* key_offsets;
  const char* sequence_numbers;
  const uint64_t* sequence_offsets;
  const char* explicit_hash_keys;
  const uint64_t* explicit_hash_key_offsets;
  const uint64_t* sub_sequence_numbers;
  const int64_t* arrival_ms;
  const uint8_t* flags;
  const uint32_t* shard_index;
  size_t shard_count;
  const char* shard_ids;
  const uint64_t* shard_offsets;
} cinesis_batch_columns_t;
CINESIS_EXPORT cinesis_err_t cinesis_batch_columns(cinesis_batch_t* batch,
                                                   cinesis_batch_columns_t* out);

/* The next records (any shards), waiting up to timeout_ms; *batch is a new handle (possibly
 * empty), set only on success. After a fatal error: the records still queued, then that
 * error. With "checkpoint"="manual" call cinesis_consumer_commit to checkpoint what poll
 * returned; other policies apply once the next poll starts. */
CINESIS_EXPORT cinesis_err_t cinesis_consumer_poll(cinesis_consumer_t* consumer, int64_t timeout_ms,
                                                   cinesis_batch_t** batch);
CINESIS_EXPORT cinesis_err_t cinesis_consumer_commit(cinesis_consumer_t* consumer);
/* Checkpoints one shard at a record the last poll returned (that record's sequence and
 * sub-sequence number): it and the shard's earlier records count as processed. For stopping
 * in the middle of a batch; a later cinesis_consumer_commit still checkpoints the whole poll.
 * CINESIS_ERR_FAILED_PRECONDITION if the last poll returned no record of the shard or was
 * committed since, CINESIS_ERR_INVALID_ARGUMENT if the position is past the shard's last
 * record in that poll. */
CINESIS_EXPORT cinesis_err_t cinesis_consumer_commit_record(cinesis_consumer_t* consumer,
                                                            const char* shard_id,
                                                            const char* sequence_number,
                                                            uint64_t sub_sequence_number);

typedef enum cinesis_event_type {
  CINESIS_EVENT_SHARD_STARTED = 1, /* this worker started reading a shard */
  CINESIS_EVENT_SHARD_ENDED = 2,   /* read to SHARD_END and checkpointed there */
  CINESIS_EVENT_LEASE_TAKEN = 3,
  CINESIS_EVENT_LEASE_LOST = 4, /* another worker took it; no more checkpoints */
  CINESIS_EVENT_ERROR = 5       /* transient (retried) or fatal (poll returns it) */
} cinesis_event_type_t;

/* Strings are owned by the consumer, valid until its next cinesis_consumer_events call. */
typedef struct cinesis_event {
  cinesis_event_type_t type;
  const char* shard_id; /* "" when not about one shard */
  int64_t time_ms;
  cinesis_err_t err;   /* for CINESIS_EVENT_ERROR */
  const char* message; /* for CINESIS_EVENT_ERROR: "<operation>: <Code>: <text>" */
  int fatal;
} cinesis_event_t;

/* Moves up to `max` queued events into out[] (*count written), never waits. The queue keeps
 * the newest 1,024 events; older ones are dropped (and counted in events_dropped). */
CINESIS_EXPORT cinesis_err_t cinesis_consumer_events(cinesis_consumer_t* consumer,
                                                     cinesis_event_t* out, size_t max,
                                                     size_t* count);

/* Tag: see cinesis_producer_metrics_s. */
typedef struct cinesis_consumer_metrics_s {
  uint64_t records;
  uint64_t get_records_calls;
  uint64_t checkpoints;
  uint64_t throttled;
  uint64_t shards_finished;
  uint64_t leases_taken;
  uint64_t leases_lost;
  uint64_t owned_shards;
  uint64_t errors;
  uint64_t events_dropped;
  int64_t max_millis_behind_latest; /* over the shards this worker reads; 0 caught up */
} cinesis_consumer_metrics_t;
CINESIS_EXPORT cinesis_err_t cinesis_consumer_metrics(cinesis_consumer_t* consumer,
                                                      cinesis_consumer_metrics_t* out);
/* The worker id (owned by the consumer, valid until destroy). */
CINESIS_EXPORT const char* cinesis_consumer_worker_id(const cinesis_consumer_t* consumer);
/* Stops reading, writes final checkpoints (per the policy) and releases leases. Later polls
 * answer CINESIS_ERR_FAILED_PRECONDITION. May be called from any thread. Idempotent. */
CINESIS_EXPORT cinesis_err_t cinesis_consumer_stop(cinesis_consumer_t* consumer);
/* Stops if running, then frees. */
CINESIS_EXPORT void cinesis_consumer_destroy(cinesis_consumer_t* consumer);

/* ---- LocalKinesis: the engine in process (tests) ------------------------------------------ */

typedef struct cinesis_local cinesis_local_t;

/* In memory, no socket, no threads; streams become ACTIVE at once unless "create_stream_ms"
 * etc. say otherwise. `options` may be NULL. */
CINESIS_EXPORT cinesis_err_t cinesis_local_new(const cinesis_options_t* options,
                                               cinesis_local_t** out);
/* A client over the local engine, owned by `local` (do not destroy it; valid until
 * cinesis_local_destroy). Producers and consumers can be made from it. */
CINESIS_EXPORT cinesis_client_t* cinesis_local_client(cinesis_local_t* local);
/* Runs the engine's housekeeping now (deletions, retention, state changes that are due). */
CINESIS_EXPORT cinesis_err_t cinesis_local_tick(cinesis_local_t* local);
CINESIS_EXPORT void cinesis_local_destroy(cinesis_local_t* local);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* CINESIS_CINESIS_H_ */
