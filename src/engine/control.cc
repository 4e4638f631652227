// Control-plane operations: resharding, tags, encryption, monitoring, limits, stream mode,
// account settings, resource policies, record size, warm throughput, stream consumers.
#include <algorithm>
#include <mutex>

#include "api/errors.h"
#include "common/status.h"
#include "engine/engine.h"
#include "engine/state.h"

namespace cinesis::engine {

using api::StreamStatus;
namespace errors = api::errors;

namespace {

constexpr std::size_t kMaxTagsPerStream = 50;
constexpr std::size_t kMaxConsumersPerStream = 20;
constexpr int kMaxShardsPerStream = 10'000;
constexpr int kScalingsPer24h = 10;
constexpr EpochMillis kDay = 24 * 3'600'000LL;
constexpr std::uint8_t kListConsumersTag = 'C';

const std::vector<std::string>& AllMetrics() {
  static const std::vector<std::string> kAll = {"IncomingBytes",
                                                "IncomingRecords",
                                                "OutgoingBytes",
                                                "OutgoingRecords",
                                                "WriteProvisionedThroughputExceeded",
                                                "ReadProvisionedThroughputExceeded",
                                                "IteratorAgeMilliseconds"};
  return kAll;
}

// Tag text check, as AWS answers: ASCII letters, digits, the space and _ . : / = + - @, and
// the letters of U+00C0..U+1FFF and U+2C00..U+D7FF; a tab, a newline or any other character
// is invalid. '%' has its own message.
Status CheckTagTexts(const std::vector<std::string_view>& texts, bool adding,
                     const std::string& stream, const api::AccountScope& a) {
  const auto invalid = [] { return errors::TagsInvalidCharacters(); };
  bool percent = false;
  for (std::string_view text : texts) {
    for (std::size_t i = 0; i < text.size();) {
      const auto c = static_cast<unsigned char>(text[i]);
      if (c < 0x80) {
        ++i;
        if (std::isalnum(c) ||
            std::string_view(" _.:/=+-@").find(static_cast<char>(c)) != std::string_view::npos) {
          continue;
        }
        if (c == '%') {
          percent = true;
          continue;
        }
        return invalid();
      }
      // One UTF-8 sequence (the request parser already checked the encoding).
      const int len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
      std::uint32_t cp = c & (len == 2 ? 0x1FU : len == 3 ? 0x0FU : 0x07U);
      for (int k = 1; k < len && i + static_cast<std::size_t>(k) < text.size(); ++k) {
        cp =
            (cp << 6) | (static_cast<unsigned char>(text[i + static_cast<std::size_t>(k)]) & 0x3FU);
      }
      i += static_cast<std::size_t>(len);
      if ((cp >= 0xC0 && cp <= 0x1FFF) || (cp >= 0x2C00 && cp <= 0xD7FF)) continue;
      return invalid();
    }
  }
  if (percent) {
    return errors::TagsIllegalCharacters(adding, stream, a);
  }
  return Status::Ok();
}

}  // namespace

Status Engine::CheckNewTags(const std::map<std::string, std::string>& tags,
                            const std::string& stream, bool of_stream) const {
  std::vector<std::string_view> texts;
  for (const auto& [k, v] : tags) texts.push_back(k);
  for (const auto& [k, v] : tags) texts.push_back(v);
  RETURN_IF_ERROR(CheckTagTexts(texts, true, stream, options_.scope));
  if (tags.size() > kMaxTagsPerStream) {
    return of_stream ? errors::TooManyTagsOnStream(stream, options_.scope)
                     : errors::TooManyTagsOnResource();
  }
  return Status::Ok();
}

namespace {

std::vector<api::Tag> SortedTags(const std::map<std::string, std::string>& tags) {
  std::vector<api::Tag> out;
  for (const auto& [k, v] : tags) out.push_back({k, v});
  return out;
}

}  // namespace

// ---- shared lookups ---------------------------------------------------------------------

Result<std::shared_ptr<StreamState>> Engine::ResolveActive(const api::StreamRef& ref) const {
  ASSIGN_OR_RETURN(auto s, Resolve(ref));
  ReaderLock lock(&s->mu);
  RETURN_IF_ERROR(CheckActive(*s, Now()));
  return s;
}

Status Engine::CheckActive(const StreamState& s, EpochMillis now) const {
  const auto status = StatusOf(s, now);
  if (status != StreamStatus::kActive)
    return errors::StreamNotActive(s.name, options_.scope, api::ToString(status));
  return Status::Ok();
}

int Engine::OpenShardsInAccount() const { return open_shards_.load(std::memory_order_relaxed); }

Result<std::shared_ptr<StreamState>> Engine::StreamOfArn(std::string_view arn) const {
  // A stream ARN, or anything below it (a consumer ARN).
  auto pos = arn.find(":stream/");
  if (pos == std::string_view::npos) return errors::InvalidResourceArn(arn);
  std::string_view rest = arn.substr(pos + 8);
  std::string name(rest.substr(0, rest.find('/')));
  return Resolve({std::nullopt, ArnFor(name)});
}

// ---- resharding -------------------------------------------------------------------------

void Engine::Settle(StreamState& s, EpochMillis now) const {
  if (!s.has_pending.load(std::memory_order_acquire)) return;
  WriterLock lock(&s.mu);
  // A stream Tick has removed (a request held it meanwhile) is no longer counted: its
  // reshard must not change the account's open shard count nor make logs and a document.
  if (s.removed || !s.extras().pending || now < s.updating_until_ms) return;
  const std::size_t shards_before = s.shards.size();
  const std::size_t open_before = s.open.size();
  std::vector<std::pair<ShardState*, std::optional<EpochMillis>>> closed_before;
  for (const auto& sh : s.shards) closed_before.emplace_back(sh.get(), sh->closed_ms);
  const EpochMillis applies_at = s.updating_until_ms;
  // A failure is retried a second later, not on every request in between.
  const EpochMillis retry_at = std::max(now, applies_at) + 1000;
  if (Status st = ApplyReshard(s, applies_at); !st.ok()) {
    Report(storage::Severity::kError,
           "resharding " + s.name + ": " + st.ToString() + " (stays UPDATING; retried)");
    s.updating_until_ms = retry_at;
    return;
  }
  const PendingReshard pending = *s.extras().pending;
  s.mutable_extras().pending.reset();
  if (Status st = Persist(s); !st.ok()) {
    // Not saved: undo in memory, so what clients see never runs ahead of what a restart
    // finds. The children's logs are kept (empty: nobody could write while we hold s.mu):
    // the retry reuses them, and if the document did reach the disk they are there.
    s.mutable_extras().pending = pending;
    s.shards.resize(shards_before);
    for (auto& [sh, closed] : closed_before) sh->closed_ms = closed;
    RebuildOpenShards(s);
    s.updating_until_ms = retry_at;
    return;
  }
  s.has_pending.store(false, std::memory_order_release);
  open_shards_.fetch_add(static_cast<int>(s.open.size()) - static_cast<int>(open_before),
                         std::memory_order_relaxed);
  // Subscriptions waiting on a closed shard learn at once that it ended.
  for (auto& [sh, closed] : closed_before) {
    if (!closed && sh->closed_ms) sh->NotifyAppended();
  }
  ReleaseFreedMemory(s.shards.size() - shards_before, options_.release_memory);
}

Status Engine::SavePendingReshard(StreamState& s, const PendingReshard& p, EpochMillis now) const {
  const EpochMillis was_updating_until = s.updating_until_ms;
  s.mutable_extras().pending = p;
  s.updating_until_ms = now + options_.update_stream_ms;
  s.has_pending = true;
  if (Status st = Persist(s); !st.ok()) {
    s.mutable_extras().pending.reset();
    s.updating_until_ms = was_updating_until;
    s.has_pending = false;
    return st;
  }
  return Status::Ok();
}

Status Engine::ApplyReshard(StreamState& s, EpochMillis at) const {
  const PendingReshard& p = *s.extras().pending;
  auto next_index = static_cast<std::uint32_t>(s.shards.size());
  struct Child {
    HashKey start, end;
    std::optional<std::uint32_t> parent, adjacent;
  };
  std::vector<Child> children;
  std::vector<ShardState*> closing;
  switch (p.kind) {
    case PendingReshard::Kind::kSplit: {
      ShardState& parent = *s.shards[p.shard];
      children.push_back(
          {parent.start, HashKey{p.new_start.value - 1}, parent.index, std::nullopt});
      children.push_back({p.new_start, parent.end, parent.index, std::nullopt});
      closing.push_back(&parent);
      break;
    }
    case PendingReshard::Kind::kMerge: {
      ShardState& a = *s.shards[p.shard];
      ShardState& b = *s.shards[p.adjacent];
      children.push_back({std::min(a.start, b.start), std::max(a.end, b.end), a.index, b.index});
      closing.push_back(&a);
      closing.push_back(&b);
      break;
    }
    case PendingReshard::Kind::kUniform: {
      closing = s.open;  // sorted by start hash key
      for (const auto& [start, end] : EvenRanges(p.target)) {
        Child c{start, end, std::nullopt, std::nullopt};
        // Parents: the closing shards whose ranges overlap the child's (at most two listed).
        for (ShardState* o : closing) {
          if (o->start <= end && o->end >= start) {
            if (!c.parent) {
              c.parent = o->index;
            } else if (!c.adjacent) {
              c.adjacent = o->index;
            }
          }
        }
        children.push_back(c);
      }
      break;
    }
  }
  std::vector<std::shared_ptr<ShardState>> created;
  std::vector<storage::NewLog> logs;
  for (const auto& c : children) {
    created.push_back(
        NewShard(*storage_, s, next_index++, c.start, c.end, at, logs, c.parent, c.adjacent));
  }
  // On failure the old topology stays intact; the children's logs made so far stay, empty,
  // for the retry.
  RETURN_IF_ERROR(CreateShardLogs(*storage_, logs, created));
  for (ShardState* c : closing) c->closed_ms = at;
  for (auto& c : created) s.shards.push_back(std::move(c));
  RebuildOpenShards(s);
  return Status::Ok();
}

Status Engine::SplitShard(const api::SplitShardInput& in) {
  // AWS's order: the shard id's form, the stream, its status, the shard, the limit, the key.
  ASSIGN_OR_RETURN(std::string name, NameOf(in.stream));
  auto index = ParseShardId(in.shard_to_split);
  if (!index) return errors::CouldNotFindShard(in.shard_to_split, name, options_.scope);
  ASSIGN_OR_RETURN(auto s, Resolve(in.stream));
  const int open_total = OpenShardsInAccount();
  const EpochMillis now = Now();
  WriterLock lock(&s->mu);
  const auto status = StatusOf(*s, now);
  if (status != StreamStatus::kActive)
    return errors::StreamNotActive(s->name, options_.scope, api::ToString(status));
  if (*index >= s->shards.size())
    return errors::CouldNotFindShard(ShardIdFor(*index), s->name, options_.scope);
  if (s->mode == api::StreamMode::kOnDemand) {
    return errors::OnDemandCannotReshard(s->name, options_.scope);
  }
  if (open_total + 1 > options_.shard_limit) {
    return errors::ShardLimitExceeded(options_.scope, open_total, options_.shard_limit, 1);
  }
  RETURN_IF_ERROR(CheckLogRoom(*storage_, options_.scope, open_total, 2));
  const ShardState& shard = *s->shards[*index];
  auto key = ParseDecimal128(in.new_starting_hash_key);
  if (!key || *key <= shard.start.value + 1 || *key >= shard.end.value) {
    return errors::SplitHashKeyOutOfRange(in.new_starting_hash_key, shard.id(), s->name,
                                          options_.scope, ToString(shard.start),
                                          ToString(shard.end));
  }
  if (shard.closed_ms) {
    return errors::ShardAlreadyReshaped(shard.id(), s->name, options_.scope);
  }
  PendingReshard p;
  p.kind = PendingReshard::Kind::kSplit;
  p.shard = *index;
  p.new_start = HashKey{*key};
  RETURN_IF_ERROR(SavePendingReshard(*s, p, now));
  lock.Unlock();
  Settle(*s, now);  // immediate when the update delay is 0
  return Status::Ok();
}

Status Engine::MergeShards(const api::MergeShardsInput& in) {
  // AWS's order: the shard ids' form, the stream, its status, the shards, their adjacency.
  ASSIGN_OR_RETURN(std::string name, NameOf(in.stream));
  auto a = ParseShardId(in.shard_to_merge);
  if (!a) return errors::CouldNotFindShard(in.shard_to_merge, name, options_.scope);
  auto b = ParseShardId(in.adjacent_shard_to_merge);
  if (!b) return errors::CouldNotFindShard(in.adjacent_shard_to_merge, name, options_.scope);
  ASSIGN_OR_RETURN(auto s, Resolve(in.stream));
  // The merged shard needs a log of its own.
  if (storage_->CreatableLogs() < 1)
    RETURN_IF_ERROR(CheckLogRoom(*storage_, options_.scope, OpenShardsInAccount(), 1));
  const EpochMillis now = Now();
  WriterLock lock(&s->mu);
  const auto status = StatusOf(*s, now);
  if (status != StreamStatus::kActive)
    return errors::StreamNotActive(s->name, options_.scope, api::ToString(status));
  for (auto i : {*a, *b}) {
    if (i >= s->shards.size())
      return errors::CouldNotFindShard(ShardIdFor(i), s->name, options_.scope);
  }
  if (s->mode == api::StreamMode::kOnDemand) {
    return errors::OnDemandCannotReshard(s->name, options_.scope);
  }
  const ShardState& sa = *s->shards[*a];
  const ShardState& sb = *s->shards[*b];
  // Adjacent means AdjacentShardToMerge starts right after ShardToMerge ends: AWS rejects
  // the pair given the other way round (recorded by kinesalite's tests against AWS).
  const bool adjacent = sa.end.value != ~uint128{0} && sa.end.value + 1 == sb.start.value;
  if (!adjacent) {
    return errors::ShardsNotAdjacent(sa.id(), sb.id(), s->name, options_.scope);
  }
  for (const ShardState* x : {&sa, &sb}) {
    if (x->closed_ms) {
      return errors::ShardAlreadyReshaped(x->id(), s->name, options_.scope);
    }
  }
  PendingReshard p;
  p.kind = PendingReshard::Kind::kMerge;
  p.shard = *a;
  p.adjacent = *b;
  RETURN_IF_ERROR(SavePendingReshard(*s, p, now));
  lock.Unlock();
  Settle(*s, now);
  return Status::Ok();
}

Result<api::UpdateShardCountOutput> Engine::UpdateShardCount(const api::UpdateShardCountInput& in) {
  ASSIGN_OR_RETURN(auto s, Resolve(in.stream));
  const int open_total = OpenShardsInAccount();
  const EpochMillis now = Now();
  WriterLock lock(&s->mu);
  const auto status = StatusOf(*s, now);
  if (status != StreamStatus::kActive)
    return errors::StreamNotActive(s->name, options_.scope, api::ToString(status));
  if (s->mode == api::StreamMode::kOnDemand) {
    return errors::OnDemandCannotReshard(s->name, options_.scope);
  }
  const int open = static_cast<int>(s->open.size());
  const int target = in.target_shard_count;
  if (target > kMaxShardsPerStream) {
    return errors::TargetShardCountAboveMax(kMaxShardsPerStream, open, target);
  }
  if (target > open * 2) return errors::ScaleUpOverDouble(open, target);
  if (target * 2 < open) return errors::ScaleDownBelowHalf(open, target);
  if (open_total - open + target > options_.shard_limit) {
    return errors::ShardLimitExceeded(options_.scope, open_total, options_.shard_limit,
                                      target - open);
  }
  RETURN_IF_ERROR(CheckLogRoom(*storage_, options_.scope, open_total, target));
  auto& scalings = s->mutable_extras().scalings;
  std::erase_if(scalings, [&](EpochMillis t) { return now - t >= kDay; });
  if (static_cast<int>(scalings.size()) >= kScalingsPer24h) {
    return errors::TooManyShardCountUpdates(kScalingsPer24h, s->name, options_.scope);
  }
  scalings.push_back(now);
  PendingReshard p;
  p.kind = PendingReshard::Kind::kUniform;
  p.target = target;
  if (Status st = SavePendingReshard(*s, p, now); !st.ok()) {
    scalings.pop_back();
    return st;
  }
  lock.Unlock();
  Settle(*s, now);
  return api::UpdateShardCountOutput{s->name, ArnFor(s->name), open, target};
}

// ---- tags -------------------------------------------------------------------------------

Status Engine::AddTagsToStream(const api::AddTagsToStreamInput& in) {
  ASSIGN_OR_RETURN(auto s, Resolve(in.stream));
  std::vector<std::string_view> texts;
  for (const auto& [k, v] : in.tags) texts.push_back(k);
  for (const auto& [k, v] : in.tags) texts.push_back(v);
  RETURN_IF_ERROR(CheckTagTexts(texts, true, s->name, options_.scope));
  WriterLock lock(&s->mu);
  auto merged = s->extras().tags;
  for (const auto& [k, v] : in.tags) merged[k] = v;
  if (merged.size() > kMaxTagsPerStream) {
    return errors::TooManyTagsOnStream(s->name, options_.scope);
  }
  s->mutable_extras().tags = std::move(merged);
  return Persist(*s);
}

Status Engine::RemoveTagsFromStream(const api::RemoveTagsFromStreamInput& in) {
  ASSIGN_OR_RETURN(auto s, Resolve(in.stream));
  RETURN_IF_ERROR(
      CheckTagTexts({in.tag_keys.begin(), in.tag_keys.end()}, false, s->name, options_.scope));
  WriterLock lock(&s->mu);
  if (s->extras().tags.empty()) return Persist(*s);  // nothing to remove: nothing to make
  for (const auto& k : in.tag_keys) s->mutable_extras().tags.erase(k);
  return Persist(*s);
}

Result<api::ListTagsForStreamOutput> Engine::ListTagsForStream(
    const api::ListTagsForStreamInput& in) {
  ASSIGN_OR_RETURN(auto s, Resolve(in.stream));
  ReaderLock lock(&s->mu);
  api::ListTagsForStreamOutput out;
  const std::size_t limit =
      static_cast<std::size_t>(in.limit.value_or(static_cast<int>(kMaxTagsPerStream)));
  const auto& tags = s->extras().tags;
  auto it =
      in.exclusive_start_tag_key ? tags.upper_bound(*in.exclusive_start_tag_key) : tags.begin();
  for (; it != tags.end(); ++it) {
    if (out.tags.size() == limit) {
      out.has_more_tags = true;
      break;
    }
    out.tags.push_back({it->first, it->second});
  }
  return out;
}

Status Engine::TagResource(const api::TagResourceInput& in) {
  if (in.resource_arn.find("/consumer/") != std::string::npos) {
    ASSIGN_OR_RETURN(auto hit, FindConsumer({std::nullopt, std::nullopt, in.resource_arn}));
    WriterLock lock(&hit.stream->mu);
    ASSIGN_OR_RETURN(ConsumerState * found, ConsumerIn(hit));
    auto& c = *found;
    auto merged = c.tags;
    for (const auto& [k, v] : in.tags) merged[k] = v;
    RETURN_IF_ERROR(CheckNewTags(merged, hit.stream->name, false));
    c.tags = std::move(merged);
    return Persist(*hit.stream);
  }
  ASSIGN_OR_RETURN(auto s, StreamOfArn(in.resource_arn));
  return AddTagsToStream({{std::nullopt, ArnFor(s->name)}, in.tags});
}

Status Engine::UntagResource(const api::UntagResourceInput& in) {
  if (in.resource_arn.find("/consumer/") != std::string::npos) {
    ASSIGN_OR_RETURN(auto hit, FindConsumer({std::nullopt, std::nullopt, in.resource_arn}));
    WriterLock lock(&hit.stream->mu);
    ASSIGN_OR_RETURN(ConsumerState * c, ConsumerIn(hit));
    for (const auto& k : in.tag_keys) c->tags.erase(k);
    return Persist(*hit.stream);
  }
  ASSIGN_OR_RETURN(auto s, StreamOfArn(in.resource_arn));
  return RemoveTagsFromStream({{std::nullopt, ArnFor(s->name)}, in.tag_keys});
}

Result<api::ListTagsForResourceOutput> Engine::ListTagsForResource(
    const api::ListTagsForResourceInput& in) {
  if (in.resource_arn.find("/consumer/") != std::string::npos) {
    ASSIGN_OR_RETURN(auto hit, FindConsumer({std::nullopt, std::nullopt, in.resource_arn}));
    ReaderLock lock(&hit.stream->mu);
    ASSIGN_OR_RETURN(const ConsumerState* c, ConsumerIn(hit));
    return api::ListTagsForResourceOutput{SortedTags(c->tags)};
  }
  ASSIGN_OR_RETURN(auto s, StreamOfArn(in.resource_arn));
  ReaderLock lock(&s->mu);
  return api::ListTagsForResourceOutput{SortedTags(s->extras().tags)};
}

// ---- stream settings --------------------------------------------------------------------

Status Engine::UpdateEncryption(const api::StreamEncryptionInput& in, bool start) {
  ASSIGN_OR_RETURN(auto s, ResolveActive(in.stream));
  if (in.encryption_type != api::EncryptionType::kKms) {
    return errors::EncryptionTypeNone();
  }
  WriterLock lock(&s->mu);
  RETURN_IF_ERROR(CheckActive(*s, Now()));  // again: another update may have begun meanwhile
  s->encryption = start ? api::EncryptionType::kKms : api::EncryptionType::kNone;
  if (start) {
    s->mutable_extras().key_id = in.key_id;
  } else if (s->extras().key_id) {
    s->mutable_extras().key_id.reset();
  }
  s->updating_until_ms = Now() + options_.update_stream_ms;
  return Persist(*s);
}

Status Engine::StartStreamEncryption(const api::StreamEncryptionInput& in) {
  return UpdateEncryption(in, true);
}
Status Engine::StopStreamEncryption(const api::StreamEncryptionInput& in) {
  return UpdateEncryption(in, false);
}

Result<api::EnhancedMonitoringOutput> Engine::UpdateMonitoring(
    const api::EnhancedMonitoringInput& in, bool enable) {
  ASSIGN_OR_RETURN(auto s, ResolveActive(in.stream));
  WriterLock lock(&s->mu);
  RETURN_IF_ERROR(CheckActive(*s, Now()));
  api::EnhancedMonitoringOutput out{s->name, ArnFor(s->name), {}, {}};
  const auto& current = s->extras().shard_level_metrics;
  out.current_shard_level_metrics.assign(current.begin(), current.end());
  for (const auto& m : in.shard_level_metrics) {
    const std::vector<std::string> one{m};
    for (const auto& x : m == "ALL" ? AllMetrics() : one) {
      if (enable) {
        s->mutable_extras().shard_level_metrics.insert(x);
      } else if (!s->extras().shard_level_metrics.empty()) {
        s->mutable_extras().shard_level_metrics.erase(x);
      }
    }
  }
  const auto& desired = s->extras().shard_level_metrics;
  out.desired_shard_level_metrics.assign(desired.begin(), desired.end());
  RETURN_IF_ERROR(Persist(*s));
  return out;
}

Result<api::EnhancedMonitoringOutput> Engine::EnableEnhancedMonitoring(
    const api::EnhancedMonitoringInput& in) {
  return UpdateMonitoring(in, true);
}
Result<api::EnhancedMonitoringOutput> Engine::DisableEnhancedMonitoring(
    const api::EnhancedMonitoringInput& in) {
  return UpdateMonitoring(in, false);
}

Result<api::DescribeLimitsOutput> Engine::DescribeLimits() {
  api::DescribeLimitsOutput out;
  out.shard_limit = options_.shard_limit;
  out.open_shard_count = OpenShardsInAccount();
  out.on_demand_stream_count_limit = 50;
  ReaderLock lock(&mu_);
  for (const auto& s : streams_) {
    ReaderLock stream_lock(&s->mu);
    out.on_demand_stream_count += s->mode == api::StreamMode::kOnDemand;
  }
  return out;
}

Status Engine::UpdateStreamMode(const api::UpdateStreamModeInput& in) {
  ASSIGN_OR_RETURN(auto s, ResolveActive({std::nullopt, in.stream_arn}));
  WriterLock lock(&s->mu);
  RETURN_IF_ERROR(CheckActive(*s, Now()));
  s->mode = in.stream_mode;
  if (in.stream_mode == api::StreamMode::kOnDemand && in.warm_throughput_mibps) {
    s->mutable_extras().warm_throughput_mibps = *in.warm_throughput_mibps;
  }
  s->updating_until_ms = Now() + options_.update_stream_ms;
  return Persist(*s);
}

Result<api::AccountSettingsOutput> Engine::DescribeAccountSettings() {
  ReaderLock lock(&mu_);
  api::AccountSettingsOutput out;
  if (billing_.started_at || billing_.ended_at)
    out.minimum_throughput_billing_commitment = billing_;
  return out;
}

Result<api::AccountSettingsOutput> Engine::UpdateAccountSettings(
    const api::UpdateAccountSettingsInput& in) {
  const EpochMillis now = Now();
  WriterLock lock(&mu_);
  auto& b = billing_;
  if (in.minimum_throughput_billing_commitment_status == "ENABLED") {
    if (b.status != "ENABLED") {
      b = api::MinimumThroughputBillingCommitment{"ENABLED", now, std::nullopt, now + 365 * kDay};
    }
  } else if (b.status != "DISABLED") {
    if (b.earliest_allowed_end_at && now < *b.earliest_allowed_end_at) {
      b.status = "ENABLED_UNTIL_EARLIEST_ALLOWED_END";
      b.ended_at = b.earliest_allowed_end_at;
    } else {
      b.status = "DISABLED";
      b.ended_at = now;
    }
  }
  api::AccountSettingsOutput out;
  out.minimum_throughput_billing_commitment = b;
  return out;
}

Status Engine::PutResourcePolicy(const api::ResourcePolicyInput& in) {
  if (in.policy.empty() || in.policy.front() != '{') {
    return errors::InvalidPolicyDocument();
  }
  if (in.resource_arn.find("/consumer/") != std::string::npos) {
    ASSIGN_OR_RETURN(auto hit, FindConsumer({std::nullopt, std::nullopt, in.resource_arn}));
    WriterLock lock(&hit.stream->mu);
    ASSIGN_OR_RETURN(ConsumerState * found, ConsumerIn(hit));
    auto& c = *found;
    if (c.deleting_at_ms || Now() < c.active_at_ms) {
      return errors::ConsumerNotActive(c.name, c.created_ms / 1000, hit.stream->name,
                                       options_.scope);
    }
    c.policy = in.policy;
    return Persist(*hit.stream);
  }
  ASSIGN_OR_RETURN(auto s, StreamOfArn(in.resource_arn));
  WriterLock lock(&s->mu);
  s->mutable_extras().policy = in.policy;
  return Persist(*s);
}

Result<api::GetResourcePolicyOutput> Engine::GetResourcePolicy(const api::ResourcePolicyInput& in) {
  if (in.resource_arn.find("/consumer/") != std::string::npos) {
    ASSIGN_OR_RETURN(auto hit, FindConsumer({std::nullopt, std::nullopt, in.resource_arn}));
    ReaderLock lock(&hit.stream->mu);
    ASSIGN_OR_RETURN(const ConsumerState* c, ConsumerIn(hit));
    return api::GetResourcePolicyOutput{c->policy.value_or("{}")};
  }
  ASSIGN_OR_RETURN(auto s, StreamOfArn(in.resource_arn));
  ReaderLock lock(&s->mu);
  return api::GetResourcePolicyOutput{s->extras().policy.value_or("{}")};
}

Status Engine::DeleteResourcePolicy(const api::ResourcePolicyInput& in) {
  if (in.resource_arn.find("/consumer/") != std::string::npos) {
    ASSIGN_OR_RETURN(auto hit, FindConsumer({std::nullopt, std::nullopt, in.resource_arn}));
    WriterLock lock(&hit.stream->mu);
    ASSIGN_OR_RETURN(ConsumerState * c, ConsumerIn(hit));
    auto& policy = c->policy;
    if (!policy) return errors::NoResourcePolicy(in.resource_arn);
    policy.reset();
    return Persist(*hit.stream);
  }
  ASSIGN_OR_RETURN(auto s, StreamOfArn(in.resource_arn));
  WriterLock lock(&s->mu);
  if (!s->extras().policy) return errors::NoResourcePolicy(in.resource_arn);
  s->mutable_extras().policy.reset();
  return Persist(*s);
}

Status Engine::UpdateMaxRecordSize(const api::UpdateMaxRecordSizeInput& in) {
  ASSIGN_OR_RETURN(auto s, ResolveActive(in.stream));
  WriterLock lock(&s->mu);
  RETURN_IF_ERROR(CheckActive(*s, Now()));
  s->max_record_size_kib = in.max_record_size_kib;
  return Persist(*s);
}

Result<api::UpdateStreamWarmThroughputOutput> Engine::UpdateStreamWarmThroughput(
    const api::UpdateStreamWarmThroughputInput& in) {
  ASSIGN_OR_RETURN(auto s, ResolveActive(in.stream));
  WriterLock lock(&s->mu);
  RETURN_IF_ERROR(CheckActive(*s, Now()));
  if (s->mode != api::StreamMode::kOnDemand) {
    return errors::WarmThroughputNeedsOnDemand();
  }
  s->mutable_extras().warm_throughput_mibps = in.warm_throughput_mibps;
  RETURN_IF_ERROR(Persist(*s));
  return api::UpdateStreamWarmThroughputOutput{s->name, ArnFor(s->name), in.warm_throughput_mibps,
                                               in.warm_throughput_mibps};
}

// ---- consumers --------------------------------------------------------------------------

api::Consumer Engine::DescribeConsumer(const StreamState& s, const ConsumerState& c,
                                       EpochMillis now) const {
  api::Consumer out;
  out.consumer_name = c.name;
  out.consumer_arn = c.arn;
  out.consumer_status = c.deleting_at_ms       ? api::ConsumerStatus::kDeleting
                        : now < c.active_at_ms ? api::ConsumerStatus::kCreating
                                               : api::ConsumerStatus::kActive;
  out.consumer_creation_timestamp = c.created_ms;
  out.stream_arn = ArnFor(s.name);
  return out;
}

Result<Engine::ConsumerHit> Engine::FindConsumer(const api::ConsumerRef& ref) const {
  std::string stream_arn, name;
  if (ref.consumer_arn) {
    const std::string& arn = *ref.consumer_arn;
    auto pos = arn.find("/consumer/");
    if (pos == std::string::npos) return errors::InvalidConsumerArn(arn);
    stream_arn = arn.substr(0, pos);
    name = arn.substr(pos + 10,
                      arn.rfind(':') > pos + 10 ? arn.rfind(':') - pos - 10 : std::string::npos);
  } else if (ref.stream_arn && ref.consumer_name) {
    stream_arn = *ref.stream_arn;
    name = *ref.consumer_name;
  } else {
    return errors::ConsumerRefRequired();
  }
  auto s = Resolve({std::nullopt, stream_arn});
  const EpochMillis now = Now();
  if (s.ok()) {
    const std::shared_ptr<StreamState>& stream = *s;
    ReaderLock lock(&stream->mu);
    for (const auto& c : stream->extras().consumers) {
      if (c.name != name || (c.deleting_at_ms && now >= c.gone_at_ms)) continue;
      if (ref.consumer_arn && c.arn != *ref.consumer_arn) continue;
      return ConsumerHit{stream, c.arn};
    }
  }
  return errors::ConsumerNotFound(ref.consumer_arn ? *ref.consumer_arn : name, options_.scope);
}

Result<ConsumerState*> Engine::ConsumerIn(const ConsumerHit& hit) const {
  const EpochMillis now = Now();
  if (StreamExtras* extras = hit.stream->extras_if_any()) {
    for (auto& c : extras->consumers) {
      if (c.arn == hit.arn && !(c.deleting_at_ms && now >= c.gone_at_ms)) return &c;
    }
  }
  return errors::ConsumerNotFound(hit.arn, options_.scope);
}

Result<api::Consumer> Engine::RegisterStreamConsumer(const api::RegisterStreamConsumerInput& in) {
  ASSIGN_OR_RETURN(auto s, Resolve({std::nullopt, in.stream_arn}));
  // As TagResource would check them (the consumer's stream named in the texts).
  RETURN_IF_ERROR(CheckNewTags(in.tags, s->name, false));
  const EpochMillis now = Now();
  WriterLock lock(&s->mu);
  auto& consumers = s->mutable_extras().consumers;
  std::erase_if(consumers,
                [&](const ConsumerState& c) { return c.deleting_at_ms && now >= c.gone_at_ms; });
  for (const auto& c : consumers) {
    if (c.name == in.consumer_name) {
      return errors::ConsumerAlreadyExists(c.arn, options_.scope);
    }
  }
  if (consumers.size() >= kMaxConsumersPerStream) {
    return errors::TooManyConsumers(s->name, options_.scope, kMaxConsumersPerStream);
  }
  ConsumerState c;
  c.name = in.consumer_name;
  c.created_ms = now;
  c.arn = ArnFor(s->name) + "/consumer/" + c.name + ":" + std::to_string(now / 1000);
  c.active_at_ms = now + options_.create_stream_ms;
  c.tags = in.tags;
  consumers.push_back(c);
  RETURN_IF_ERROR(Persist(*s));
  return DescribeConsumer(*s, c, now);
}

Status Engine::DeregisterStreamConsumer(const api::ConsumerRef& in) {
  ASSIGN_OR_RETURN(auto hit, FindConsumer(in));
  const EpochMillis now = Now();
  WriterLock lock(&hit.stream->mu);
  ASSIGN_OR_RETURN(ConsumerState * found, ConsumerIn(hit));
  auto& c = *found;
  if (!c.deleting_at_ms) {
    c.deleting_at_ms = now;
    c.gone_at_ms = now + options_.delete_stream_ms;
  }
  return Persist(*hit.stream);
}

Result<api::Consumer> Engine::DescribeStreamConsumer(const api::ConsumerRef& in) {
  ASSIGN_OR_RETURN(auto hit, FindConsumer(in));
  ReaderLock lock(&hit.stream->mu);
  ASSIGN_OR_RETURN(const ConsumerState* c, ConsumerIn(hit));
  return DescribeConsumer(*hit.stream, *c, Now());
}

Result<api::ListStreamConsumersOutput> Engine::ListStreamConsumers(
    const api::ListStreamConsumersInput& in) {
  const EpochMillis now = Now();
  std::string after;
  std::string arn = in.stream_arn;
  if (in.next_token) {
    auto plain = sealer_.Open(*in.next_token);
    if (!plain) return errors::InvalidNextToken();
    TokenReader r(*plain);
    std::uint8_t tag = 0;
    EpochMillis issued = 0;
    std::string token_arn;
    if (!r.U8(tag) || tag != kListConsumersTag || !r.I64(issued) || !r.Str(token_arn) ||
        !r.Str(after)) {
      return errors::InvalidNextToken();
    }
    if (now - issued > options_.next_token_ttl_ms) return errors::ExpiredNextToken();
    if (token_arn != arn) return errors::InvalidNextToken();
  }
  ASSIGN_OR_RETURN(auto s, Resolve({std::nullopt, arn}));
  const std::size_t limit = static_cast<std::size_t>(std::min(in.max_results.value_or(100), 100));
  ReaderLock lock(&s->mu);
  std::vector<const ConsumerState*> live;
  for (const auto& c : s->extras().consumers) {
    if (!(c.deleting_at_ms && now >= c.gone_at_ms) && c.name > after) live.push_back(&c);
  }
  std::sort(live.begin(), live.end(),
            [](const ConsumerState* x, const ConsumerState* y) { return x->name < y->name; });
  api::ListStreamConsumersOutput out;
  for (const ConsumerState* c : live) {
    if (out.consumers.size() == limit) {
      TokenWriter w;
      w.U8(kListConsumersTag);
      w.I64(now);
      w.Str(arn);
      w.Str(out.consumers.back().consumer_name);
      out.next_token = sealer_.Seal(w.data());
      break;
    }
    out.consumers.push_back(DescribeConsumer(*s, *c, now));
  }
  return out;
}

}  // namespace cinesis::engine
