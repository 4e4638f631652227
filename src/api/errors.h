// The error catalogue: HTTP status per code and every operation-level message text,
// worded exactly as Kinesis words them (clients and tests match on them).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/status.h"

namespace cinesis::api {

// HTTP status of an error response: 500 for InternalFailure, 400 for the rest.
int HttpStatusFor(Code code);

// Where a stream lives, for messages that name the account (and region).
struct AccountScope {
  std::string account_id = "000000000000";
  std::string region = "us-east-1";
};

namespace errors {

Status StreamNotFound(std::string_view stream, const AccountScope& a);
Status StreamAlreadyExists(std::string_view stream, const AccountScope& a);
Status StreamNotActive(std::string_view stream, const AccountScope& a, std::string_view state);
// ListShards's wording of the same condition ("... is not ACTIVE, instead in state ...").
Status StreamIsNotActive(std::string_view stream, const AccountScope& a, std::string_view state);
// GetShardIterator / GetRecords on a missing shard or stream (no final period).
Status ShardDoesNotExist(std::string_view shard_id, std::string_view stream, const AccountScope& a);
// A shard id that names no shard, in resharding calls and unparsable ids.
Status CouldNotFindShard(std::string_view shard_id, std::string_view stream, const AccountScope& a);
Status InvalidExplicitHashKey(std::string_view value);
Status InvalidSequenceNumberForOrdering(std::string_view seq, std::string_view stream,
                                        const AccountScope& a);
Status IteratorTypeMismatch(std::string_view type, bool has_sequence_number);
Status InvalidStartingSequenceNumber(std::string_view seq, std::string_view shard_id,
                                     std::string_view stream, const AccountScope& a);
Status StartingSequenceNumberFromOtherStream(std::string_view seq, std::string_view shard_id,
                                             std::string_view stream, const AccountScope& a);
Status StartingSequenceNumberFromOtherShard(std::string_view encoded_shard_id,
                                            std::string_view used_shard_id);
Status AtTimestampWithoutTimestamp();
Status TimestampInFuture(EpochMillis requested, EpochMillis now);
Status InvalidShardIterator();
Status IteratorExpired(EpochMillis created, EpochMillis now, EpochMillis ttl_ms);
Status ListShardsNeitherTokenNorStream();
Status ListShardsTokenAndStream();
Status ListShardsTokenAndExclusiveStart();
Status ListShardsTokenAndCreationTimestamp();
Status InvalidNextToken();
Status ExpiredNextToken();
// GetRecords over a shard's read limits (the newest of the texts AWS has used).
Status ReadThroughputExceeded(std::string_view shard_id, std::string_view stream,
                              const AccountScope& a);
// Split/Merge/UpdateShardCount on an on-demand stream (moto's text, in AWS's form).
Status OnDemandCannotReshard(std::string_view stream, const AccountScope& a);
// DeleteResourcePolicy of a resource without a policy (moto's text; unverified on AWS).
Status NoResourcePolicy(std::string_view arn);
// A stream consumer that is CREATING or DELETING, as AWS words it (seen on
// PutResourcePolicy; `created_s` is the consumer's creation time in epoch seconds).
Status ConsumerNotActive(std::string_view consumer, std::int64_t created_s, std::string_view stream,
                         const AccountScope& a);
// "Records size exceeds 5 MB limit" as AWS words it, for a limit of `limit_bytes`.
Status RecordsSizeExceeded(std::int64_t limit_bytes);
Status RetentionTooShort(int hours);
Status RetentionTooLong(int hours);
Status RetentionIncreaseBelowCurrent(int hours, std::string_view stream, int current);
Status RetentionDecreaseAboveCurrent(int hours, std::string_view stream, int current);
// Data plus partition key over the stream's maximum record size (data alone over it is a
// ValidationException on the Data member).
Status RecordTooLarge(std::size_t size, std::int64_t limit, std::string_view stream,
                      const AccountScope& a);
Status StreamNameArnMismatch();
Status StreamNameOrArnRequired();
// 500 InternalFailure with the service's text; the cause is logged, never sent to clients
// (storage errors carry file paths).
Status InternalFailure();
Status ShardLimitExceeded(const AccountScope& a, int current, int limit, int additional);
Status InvalidShardCountForMode();
Status ThroughputExceeded(std::string_view shard_id, std::string_view stream,
                          const AccountScope& a);

// "N validation error(s) detected: e1; e2": the ValidationException text for `entries`, each
// "Value ... at '<path>' failed to satisfy constraint: ...".
Status ValidationErrors(const std::vector<std::string>& entries);
// The entry for record data over the stream's maximum record size `limit` at `path`.
std::string OversizeDataEntry(std::size_t size, std::int64_t limit, const std::string& path);

// -- control plane (control.cc, lifecycle.cc, subscription.cc) --------------------------------
Status InvalidResourceArn(std::string_view arn);
Status InvalidConsumerArn(std::string_view arn);
Status ConsumerRefRequired();
Status TagsInvalidCharacters();
// Tag keys or values with '%': "Failed to add tags to" / "remove tags from" (adding).
Status TagsIllegalCharacters(bool adding, std::string_view stream, const AccountScope& a);
Status TooManyTagsOnStream(std::string_view stream, const AccountScope& a);
Status TooManyTagsOnResource();
Status EncryptionTypeNone();
Status InvalidPolicyDocument();
Status SplitHashKeyOutOfRange(std::string_view key, std::string_view shard_id,
                              std::string_view stream, const AccountScope& a,
                              std::string_view start, std::string_view end);
Status ShardAlreadyReshaped(std::string_view shard_id, std::string_view stream,
                            const AccountScope& a);
Status ShardsNotAdjacent(std::string_view a_id, std::string_view b_id, std::string_view stream,
                         const AccountScope& a);
Status TargetShardCountAboveMax(int max, int open, int target);
Status ScaleUpOverDouble(int open, int target);
Status ScaleDownBelowHalf(int open, int target);
Status TooManyShardCountUpdates(int per_day, std::string_view stream, const AccountScope& a);
Status WarmThroughputNeedsOnDemand();
// `what`: the consumer's ARN when given, else its name.
Status ConsumerNotFound(std::string_view what, const AccountScope& a);
Status ConsumerAlreadyExists(std::string_view arn, const AccountScope& a);
Status TooManyConsumers(std::string_view stream, const AccountScope& a, std::size_t max);
Status StreamHasConsumers(std::string_view stream, const AccountScope& a);
Status ShardFilterNeedsShardId();
Status ShardFilterNeedsTimestamp();
// SubscribeToShard: the in-stream error of a subscription taken over by a newer one, and the
// answer to a second subscription within the takeover window.
Status SubscriptionSuperseded();
Status SubscriptionExists(std::string_view consumer_arn, std::string_view shard_id);
// GetShardIterator with a version-0 sequence number of the right shard: AWS answers HTTP 500
// with no message.
Status InternalFailureWithoutMessage();

// -- signature verification (--auth sigv4, api/sigv4_verify.cc) ------------------------------
// The wire type of UnrecognizedClient(): the Status carries Code::kAccessDenied (the code
// clients map UnrecognizedClientException to) and the pipeline sends this type name.
inline constexpr std::string_view kUnrecognizedClientType = "UnrecognizedClientException";
Status MissingAuthenticationToken();
// Unknown access key id, or a session token that does not belong to the key.
Status UnrecognizedClient();
// The signature does not match: AWS's text, then the canonical request and the string to
// sign the server computed (between single quotes), so a client can diff its own.
Status SignatureMismatch(std::string_view canonical_request, std::string_view string_to_sign);
// X-Amz-Date outside the clock-skew window (`amz_date`, `now` and the bound as
// YYYYMMDD'T'HHMMSS'Z'; `skew_minutes` the window).
Status SignatureExpired(std::string_view amz_date, std::string_view bound, std::string_view now,
                        long skew_minutes);
Status SignatureNotYetCurrent(std::string_view amz_date, std::string_view bound,
                              std::string_view now, long skew_minutes);
Status UnsupportedAlgorithm(std::string_view algorithm);
Status MalformedCredential(std::string_view credential);
Status MalformedDate(std::string_view date);
Status CredentialWrongRegion(std::string_view region);
Status CredentialWrongService(std::string_view expected);
Status CredentialWrongTerminator(std::string_view terminator);
Status CredentialDateMismatch(std::string_view scope_date, std::string_view date,
                              std::string_view amz_date);
Status HostNotSigned();

// "Thu Jan 22 01:22:02 UTC 2015", as Java's Date.toString() prints in UTC.
std::string JavaDate(EpochMillis ms);

}  // namespace errors
}  // namespace cinesis::api
