// Pieces of `cinesis streams | put | tail` that need no network: exit codes per class of
// failure, `tail --from` and timestamp parsing, the `tail -f` output template, the endpoint
// rule. Pure functions, unit-tested in tests/unit/cli_util_test.cc.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/types.h"
#include "common/clock.h"
#include "common/status.h"

namespace cinesis::app {

// Exit status of the client commands, one per class of failure (documented in
// `cinesis --help` and docs/client.md).
enum ExitCode : int {
  kExitOk = 0,
  kExitInternal = 1,      // internal failure, or any error of no class below
  kExitUsage = 2,         // bad arguments or input (InvalidArgument, Validation, ...)
  kExitNotFound = 3,      // stream, shard or consumer not found
  kExitAccess = 4,        // credentials missing or refused, access denied
  kExitThrottled = 5,     // throttled or a limit reached, after the retries
  kExitUnreachable = 6,   // endpoint unreachable (connection refused, timeout, DNS)
  kExitInterrupted = 130  // Ctrl-C (put: after flushing what was read)
};

// The `--help` footer: every exit code with its meaning.
std::string_view ExitCodesHelp();

// The exit code for an error a client call returned.
ExitCode ExitCodeFor(const Status& st);

// `--endpoint` when given (empty: AWS itself), else AWS_ENDPOINT_URL_KINESIS, else
// AWS_ENDPOINT_URL, else http://127.0.0.1:4567. `getenv` is injectable for tests.
std::string ResolveEndpoint(const std::optional<std::string>& flag,
                            const char* (*getenv)(const char*));

// ISO 8601 ("2026-12-02T03:30:00Z", "...T03:30:00.250+01:00", no zone = UTC, a space for
// the T) or epoch ("1764646200", "1764646200.25" seconds; 13 digits: milliseconds).
std::optional<EpochMillis> ParseTimestamp(std::string_view text);
// "2026-12-02T03:30:00.250Z".
std::string FormatIso8601(EpochMillis ms);

// Where `tail --from` starts.
struct StartFrom {
  api::ShardIteratorType type = api::ShardIteratorType::kLatest;
  std::string sequence_number;  // kAtSequenceNumber
  EpochMillis timestamp = 0;    // kAtTimestamp
};
// "latest", "trim-horizon", a sequence number (20 or more digits) or a timestamp.
Result<StartFrom> ParseStartFrom(std::string_view text);

// `tail -f`: text with %k (partition key), %s (shard id), %S (sequence number), %T (arrival,
// epoch ms), %t (arrival, ISO 8601), %d (data), %% and the escapes \n \t \r \\ \0.
class OutputTemplate {
 public:
  static Result<OutputTemplate> Parse(std::string_view text);
  void Render(const std::string& shard_id, const api::Record& record, std::string& out) const;

 private:
  struct Part {
    char field = 0;  // 0: literal text
    std::string text;
  };
  std::vector<Part> parts_;
};

// "shardId-000000000003" stays; "3" becomes "shardId-000000000003".
std::string NormalizeShardId(std::string_view text);

}  // namespace cinesis::app
