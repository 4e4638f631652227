#include "api/errors.h"

#include <ctime>

namespace cinesis::api {

int HttpStatusFor(Code code) { return code == Code::kInternalFailure ? 500 : 400; }

namespace errors {
namespace {

std::string Under(const AccountScope& a) { return " under account " + a.account_id; }
Status InvalidArg(std::string m) { return {Code::kInvalidArgument, std::move(m)}; }

}  // namespace

Status StreamNotFound(std::string_view stream, const AccountScope& a) {
  return {Code::kResourceNotFound, "Stream " + std::string(stream) + Under(a) + " not found."};
}
Status StreamAlreadyExists(std::string_view stream, const AccountScope& a) {
  return {Code::kResourceInUse, "Stream " + std::string(stream) + Under(a) + " already exists."};
}
Status StreamNotActive(std::string_view stream, const AccountScope& a, std::string_view state) {
  return {Code::kResourceInUse, "Stream " + std::string(stream) + Under(a) +
                                    " not ACTIVE, instead in state " + std::string(state)};
}
Status StreamIsNotActive(std::string_view stream, const AccountScope& a, std::string_view state) {
  return {Code::kResourceInUse, "Stream " + std::string(stream) + Under(a) +
                                    " is not ACTIVE, instead in state " + std::string(state)};
}
Status ShardDoesNotExist(std::string_view shard_id, std::string_view stream,
                         const AccountScope& a) {
  return {Code::kResourceNotFound, "Shard " + std::string(shard_id) + " in stream " +
                                       std::string(stream) + Under(a) + " does not exist"};
}
Status CouldNotFindShard(std::string_view shard_id, std::string_view stream,
                         const AccountScope& a) {
  return {Code::kResourceNotFound, "Could not find shard " + std::string(shard_id) + " in stream " +
                                       std::string(stream) + Under(a) + "."};
}
Status InvalidExplicitHashKey(std::string_view value) {
  return InvalidArg(
      "Invalid ExplicitHashKey. ExplicitHashKey must be in the range: [0, 2^128-1]. Specified "
      "value was " +
      std::string(value));
}
Status InvalidSequenceNumberForOrdering(std::string_view seq, std::string_view stream,
                                        const AccountScope& a) {
  return InvalidArg("ExclusiveMinimumSequenceNumber " + std::string(seq) +
                    " used in PutRecord on stream " + std::string(stream) + Under(a) +
                    " is invalid.");
}
Status IteratorTypeMismatch(std::string_view type, bool has_sequence_number) {
  return InvalidArg(
      "Must either specify (1) AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER and "
      "StartingSequenceNumber or "
      "(2) TRIM_HORIZON or LATEST and no StartingSequenceNumber. Request specified " +
      std::string(type) +
      (has_sequence_number ? " and also a StartingSequenceNumber."
                           : " and no StartingSequenceNumber."));
}
Status InvalidStartingSequenceNumber(std::string_view seq, std::string_view shard_id,
                                     std::string_view stream, const AccountScope& a) {
  return InvalidArg("StartingSequenceNumber " + std::string(seq) +
                    " used in GetShardIterator on shard " + std::string(shard_id) + " in stream " +
                    std::string(stream) + Under(a) + " is invalid.");
}
Status StartingSequenceNumberFromOtherStream(std::string_view seq, std::string_view shard_id,
                                             std::string_view stream, const AccountScope& a) {
  return InvalidArg("StartingSequenceNumber " + std::string(seq) +
                    " used in GetShardIterator on shard " + std::string(shard_id) + " in stream " +
                    std::string(stream) + Under(a) +
                    " is invalid because it did not come from this stream.");
}
Status StartingSequenceNumberFromOtherShard(std::string_view encoded_shard_id,
                                            std::string_view used_shard_id) {
  return InvalidArg("Invalid StartingSequenceNumber. It encodes " + std::string(encoded_shard_id) +
                    ", while it was used in a call to a shard with " + std::string(used_shard_id));
}
Status AtTimestampWithoutTimestamp() {
  return InvalidArg(
      "Must specify timestampInMillis parameter for iterator of type AT_TIMESTAMP. Current request "
      "has no "
      "timestamp parameter.");
}
Status TimestampInFuture(EpochMillis requested, EpochMillis now) {
  return InvalidArg(
      "The timestampInMillis parameter cannot be greater than the currentTimestampInMillis. "
      "timestampInMillis: " +
      std::to_string(requested) + ", currentTimestampInMillis: " + std::to_string(now));
}
Status InvalidShardIterator() { return InvalidArg("Invalid ShardIterator."); }
Status IteratorExpired(EpochMillis created, EpochMillis now, EpochMillis ttl_ms) {
  return {Code::kExpiredIterator,
          "Iterator expired. The iterator was created at time " + JavaDate(created) +
              " while right now it is " + JavaDate(now) +
              " which is further in the future than the tolerated delay of " +
              std::to_string(ttl_ms) + " milliseconds."};
}
Status ListShardsNeitherTokenNorStream() {
  return InvalidArg("Either NextToken or StreamName should be provided.");
}
Status ListShardsTokenAndStream() {
  return InvalidArg("NextToken and StreamName cannot be provided together.");
}
Status ListShardsTokenAndExclusiveStart() {
  return InvalidArg("NextToken and ExclusiveStartShardId cannot be provided together.");
}
Status ListShardsTokenAndCreationTimestamp() {
  // The model: "You cannot specify this parameter if you specify the NextToken parameter";
  // the text follows AWS's for the other members (not recorded).
  return InvalidArg("NextToken and StreamCreationTimestamp cannot be provided together.");
}
Status InvalidNextToken() { return InvalidArg("Invalid NextToken."); }
Status ExpiredNextToken() { return {Code::kExpiredNextToken, "The NextToken has expired."}; }
Status ReadThroughputExceeded(std::string_view shard_id, std::string_view stream,
                              const AccountScope& a) {
  return {Code::kProvisionedThroughputExceeded, "Rate exceeded for Shard - " + a.account_id + "/" +
                                                    std::string(stream) + "/" +
                                                    std::string(shard_id)};
}
Status OnDemandCannotReshard(std::string_view stream, const AccountScope& a) {
  return {Code::kValidation, "Request is invalid. Stream " + std::string(stream) +
                                 " under account " + a.account_id + " is in On-Demand mode."};
}
Status NoResourcePolicy(std::string_view arn) {
  return {Code::kResourceNotFound,
          "No resource policy found for resource ARN " + std::string(arn) + "."};
}
Status ConsumerNotActive(std::string_view consumer, std::int64_t created_s, std::string_view stream,
                         const AccountScope& a) {
  return {Code::kResourceInUse, "Consumer " + std::string(consumer) + " with creation timestamp " +
                                    std::to_string(created_s) + " under stream " +
                                    std::string(stream) + " and account " + a.account_id +
                                    " is not in ACTIVE status."};
}
Status RecordsSizeExceeded(std::int64_t limit_bytes) {
  return InvalidArg("Records size exceeds " + std::to_string(limit_bytes >> 20) + " MB limit");
}
Status RetentionTooShort(int hours) {
  return InvalidArg("Minimum allowed retention period is 24 hours. Requested retention period (" +
                    std::to_string(hours) + " hours) is too short.");
}
Status RetentionTooLong(int hours) {
  return InvalidArg("Maximum allowed retention period is 8760 hours. Requested retention period (" +
                    std::to_string(hours) + " hours) is too long.");
}
Status RetentionIncreaseBelowCurrent(int hours, std::string_view stream, int current) {
  return InvalidArg("Requested retention period (" + std::to_string(hours) + " hours) for stream " +
                    std::string(stream) + " can not be shorter than existing retention period (" +
                    std::to_string(current) + " hours). Use DecreaseRetentionPeriod API.");
}
Status RetentionDecreaseAboveCurrent(int hours, std::string_view stream, int current) {
  return InvalidArg("Requested retention period (" + std::to_string(hours) + " hours) for stream " +
                    std::string(stream) + " can not be longer than existing retention period (" +
                    std::to_string(current) + " hours). Use IncreaseRetentionPeriod API.");
}
Status RecordTooLarge(std::size_t size, std::int64_t limit, std::string_view stream,
                      const AccountScope& a) {
  return InvalidArg("Record size (data blob plus partition key) of " + std::to_string(size) +
                    " bytes exceeds the maximum record size of " + std::to_string(limit) +
                    " bytes for stream " + std::string(stream) + Under(a) + ".");
}
Status StreamNameArnMismatch() {
  return InvalidArg("StreamARN and StreamName do not refer to the same stream.");
}
Status InternalFailure() { return {Code::kInternalFailure, "Internal service failure."}; }

Status StreamNameOrArnRequired() {
  return InvalidArg("Either StreamName or StreamARN should be provided.");
}
Status InvalidResourceArn(std::string_view arn) {
  return InvalidArg("Invalid ResourceARN " + std::string(arn));
}
Status InvalidConsumerArn(std::string_view arn) {
  return InvalidArg("Invalid ConsumerARN " + std::string(arn));
}
Status ConsumerRefRequired() {
  return InvalidArg("Either ConsumerARN or both StreamARN and ConsumerName must be provided.");
}
Status TagsInvalidCharacters() {
  return InvalidArg(
      "Some tags contain invalid characters. Valid characters: Unicode letters, digits, white "
      "space, _ . / = + - % @.");
}
Status TagsIllegalCharacters(bool adding, std::string_view stream, const AccountScope& a) {
  return InvalidArg(std::string("Failed to ") + (adding ? "add tags to" : "remove tags from") +
                    " stream " + std::string(stream) + " under account " + a.account_id +
                    " because some tags contained illegal characters. The allowed characters are "
                    "Unicode letters, white-spaces, '_',',','/','=','+','-','@'.");
}
Status TooManyTagsOnStream(std::string_view stream, const AccountScope& a) {
  // AWS still says 10 although it enforces 50 (recorded against AWS, issue 17).
  return InvalidArg("Failed to add tags to stream " + std::string(stream) + " under account " +
                    a.account_id +
                    " because a given stream cannot have more than 10 tags associated with it.");
}
Status TooManyTagsOnResource() { return InvalidArg("A resource cannot have more than 50 tags."); }
Status EncryptionTypeNone() {
  return InvalidArg("Invalid EncryptionType NONE. Only KMS is supported.");
}
Status InvalidPolicyDocument() {
  return InvalidArg("Invalid policy document: the policy must be a JSON object.");
}
Status SplitHashKeyOutOfRange(std::string_view key, std::string_view shard_id,
                              std::string_view stream, const AccountScope& a,
                              std::string_view start, std::string_view end) {
  return InvalidArg(
      "NewStartingHashKey " + std::string(key) + " used in SplitShard() on shard " +
      std::string(shard_id) + " in stream " + std::string(stream) + " under account " +
      a.account_id + " is not both greater than one plus the shard's StartingHashKey " +
      std::string(start) + " and less than the shard's EndingHashKey " + std::string(end) + ".");
}
Status ShardAlreadyReshaped(std::string_view shard_id, std::string_view stream,
                            const AccountScope& a) {
  return InvalidArg(
      "Shard " + std::string(shard_id) + " in stream " + std::string(stream) + " under account " +
      a.account_id +
      " has already been merged or split, and thus is not eligible for merging or splitting.");
}
Status ShardsNotAdjacent(std::string_view a_id, std::string_view b_id, std::string_view stream,
                         const AccountScope& a) {
  return InvalidArg("Shards " + std::string(a_id) + " and " + std::string(b_id) + " in stream " +
                    std::string(stream) + " under account " + a.account_id +
                    " are not an adjacent pair of shards eligible for merging");
}
namespace {
std::string ShardCounts(int open, int target) {
  return "Current open shard count: " + std::to_string(open) +
         ", Target shard count: " + std::to_string(target);
}
}  // namespace
Status TargetShardCountAboveMax(int max, int open, int target) {
  return {Code::kLimitExceeded,
          "Target shard count or number of open shards cannot be greater than " +
              std::to_string(max) + ". " + ShardCounts(open, target)};
}
Status ScaleUpOverDouble(int open, int target) {
  return {Code::kLimitExceeded,
          "UpdateShardCount cannot scale up over double your current open shard count. " +
              ShardCounts(open, target)};
}
Status ScaleDownBelowHalf(int open, int target) {
  return {Code::kLimitExceeded,
          "UpdateShardCount cannot scale down below half your current open shard count. " +
              ShardCounts(open, target)};
}
Status TooManyShardCountUpdates(int per_day, std::string_view stream, const AccountScope& a) {
  return {Code::kLimitExceeded,
          "Exceeded the limit of " + std::to_string(per_day) +
              " UpdateShardCount calls in a rolling 24-hour period for stream " +
              std::string(stream) + " under account " + a.account_id + "."};
}
Status WarmThroughputNeedsOnDemand() {
  return {Code::kValidation,
          "Warm throughput can only be configured for streams in ON_DEMAND capacity mode."};
}
Status ConsumerNotFound(std::string_view what, const AccountScope& a) {
  return {Code::kResourceNotFound,
          "Consumer " + std::string(what) + " under account " + a.account_id + " not found."};
}
Status ConsumerAlreadyExists(std::string_view arn, const AccountScope& a) {
  return {Code::kResourceInUse,
          "Consumer " + std::string(arn) + " under account " + a.account_id + " already exists."};
}
Status TooManyConsumers(std::string_view stream, const AccountScope& a, std::size_t max) {
  return {Code::kLimitExceeded, "Stream " + std::string(stream) + " under account " + a.account_id +
                                    " already has the maximum number of consumers (" +
                                    std::to_string(max) + ")."};
}
Status StreamHasConsumers(std::string_view stream, const AccountScope& a) {
  return {Code::kResourceInUse, "Stream " + std::string(stream) + " under account " + a.account_id +
                                    " has registered consumers. Deregister them or set "
                                    "EnforceConsumerDeletion to delete the stream."};
}
Status ShardFilterNeedsShardId() {
  return InvalidArg("ShardId must be specified for the AFTER_SHARD_ID ShardFilter type.");
}
Status ShardFilterNeedsTimestamp() {
  return InvalidArg(
      "Timestamp must be specified for the AT_TIMESTAMP and FROM_TIMESTAMP ShardFilter types.");
}
Status SubscriptionSuperseded() {
  return {Code::kResourceInUse, "Another active subscription exists for this consumer and shard."};
}
Status SubscriptionExists(std::string_view consumer_arn, std::string_view shard_id) {
  return {Code::kResourceInUse, "Another active subscription exists for consumer " +
                                    std::string(consumer_arn) + " and shard " +
                                    std::string(shard_id) + "."};
}

Status ValidationErrors(const std::vector<std::string>& entries) {
  std::string msg = std::to_string(entries.size()) + " validation error" +
                    (entries.size() > 1 ? "s" : "") + " detected: ";
  for (std::size_t i = 0; i < entries.size(); ++i) {
    if (i) msg += "; ";
    msg += entries[i];
  }
  return {Code::kValidation, std::move(msg)};
}
std::string OversizeDataEntry(std::size_t size, std::int64_t limit, const std::string& path) {
  auto n = std::to_string(size);
  return "Value 'java.nio.HeapByteBuffer[pos=0 lim=" + n + " cap=" + n + "]' at '" + path +
         "' failed to satisfy constraint: Member must have length less than or equal to " +
         std::to_string(limit);
}
Status InternalFailureWithoutMessage() { return {Code::kInternalFailure, ""}; }
Status ShardLimitExceeded(const AccountScope& a, int current, int limit, int additional) {
  return {Code::kLimitExceeded,
          "This request would exceed the shard limit for the account " + a.account_id + " in " +
              a.region + ". Current shard count for the account: " + std::to_string(current) +
              ". Limit: " + std::to_string(limit) +
              ". Number of additional shards that would have resulted from this request: " +
              std::to_string(additional) +
              ". Refer to the AWS Service Limits page "
              "(http://docs.aws.amazon.com/general/latest/gr/aws_service_limits.html) for current "
              "limits and how to request higher limits."};
}
Status InvalidShardCountForMode() {
  return InvalidArg(
      "ShardCount must be specified for a PROVISIONED stream and must not be specified "
      "for an ON_DEMAND stream.");
}
Status ThroughputExceeded(std::string_view shard_id, std::string_view stream,
                          const AccountScope& a) {
  return {Code::kProvisionedThroughputExceeded, "Rate exceeded for shard " + std::string(shard_id) +
                                                    " in stream " + std::string(stream) + Under(a) +
                                                    "."};
}

// Signature verification. Recorded from AWS (Kinesis and other JSON services; see
// docs/security.md "Signature verification" for which texts are unverified on Kinesis).
Status MissingAuthenticationToken() {
  return {Code::kMissingAuthenticationToken, "Missing Authentication Token"};
}
Status UnrecognizedClient() {
  return {Code::kAccessDenied, "The security token included in the request is invalid."};
}
Status SignatureMismatch(std::string_view canonical_request, std::string_view string_to_sign) {
  std::string m =
      "The request signature we calculated does not match the signature you provided. Check your "
      "AWS Secret Access Key and signing method. Consult the service documentation for "
      "details.\n\nThe Canonical String for this request should have been\n'";
  m.append(canonical_request);
  m.append("'\n\nThe String-to-Sign should have been\n'");
  m.append(string_to_sign);
  m.append("'\n");
  return {Code::kInvalidSignature, std::move(m)};
}
Status SignatureExpired(std::string_view amz_date, std::string_view bound, std::string_view now,
                        long skew_minutes) {
  return {Code::kInvalidSignature, "Signature expired: " + std::string(amz_date) +
                                       " is now earlier than " + std::string(bound) + " (" +
                                       std::string(now) + " - " + std::to_string(skew_minutes) +
                                       " min.)"};
}
Status SignatureNotYetCurrent(std::string_view amz_date, std::string_view bound,
                              std::string_view now, long skew_minutes) {
  return {Code::kInvalidSignature, "Signature not yet current: " + std::string(amz_date) +
                                       " is still later than " + std::string(bound) + " (" +
                                       std::string(now) + " + " + std::to_string(skew_minutes) +
                                       " min.)"};
}
Status UnsupportedAlgorithm(std::string_view algorithm) {
  return {Code::kIncompleteSignature,
          "Unsupported AWS 'algorithm': '" + std::string(algorithm) + "'"};
}
Status MalformedCredential(std::string_view credential) {
  return {Code::kIncompleteSignature,
          "Credential must have exactly 5 slash-delimited elements, e.g. "
          "keyid/date/region/service/term, got '" +
              std::string(credential) + "'"};
}
Status MalformedDate(std::string_view date) {
  return {Code::kIncompleteSignature, "Date must be in ISO-8601 'basic format'. Got '" +
                                          std::string(date) +
                                          "'. See http://en.wikipedia.org/wiki/ISO_8601"};
}
Status CredentialWrongRegion(std::string_view region) {
  return {Code::kInvalidSignature,
          "Credential should be scoped to a valid region, not '" + std::string(region) + "'. "};
}
Status CredentialWrongService(std::string_view expected) {
  return {Code::kInvalidSignature,
          "Credential should be scoped to correct service: '" + std::string(expected) + "'. "};
}
Status CredentialWrongTerminator(std::string_view terminator) {
  return {Code::kInvalidSignature,
          "Credential should be scoped with a valid terminator: 'aws4_request', not '" +
              std::string(terminator) + "'. "};
}
Status CredentialDateMismatch(std::string_view scope_date, std::string_view date,
                              std::string_view amz_date) {
  return {Code::kInvalidSignature,
          "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from "
          "HTTP: '" +
              std::string(scope_date) + "' != '" + std::string(date) + "', from '" +
              std::string(amz_date) + "'."};
}
Status HostNotSigned() {
  return {Code::kInvalidSignature,
          "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."};
}

std::string JavaDate(EpochMillis ms) {
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a %b %d %H:%M:%S UTC %Y", &tm);
  return buf;
}

}  // namespace errors
}  // namespace cinesis::api
