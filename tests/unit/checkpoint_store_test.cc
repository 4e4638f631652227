// Checkpoint and lease stores: one conformance suite run against every backend (memory,
// SQLite, Redis, PostgreSQL), then what is particular to each. Redis and PostgreSQL run as
// throwaway servers on free loopback ports (service_fixtures.h); a missing server binary
// fails those tests, it does not skip them. Times are injected (`now`), never read.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <atomic>
#include <cstdint>
#include <latch>
#include <limits>
#include <mutex>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include "cinesis/stores.h"
#include "common/status.h"
#include "service_fixtures.h"

namespace cinesis::consumer {

// Readable values in assertion messages.
void PrintTo(const Checkpoint& cp, std::ostream* os) {
  *os << "{\"" << cp.sequence_number << "\", " << cp.sub_sequence_number << "}";
}
void PrintTo(const Lease& l, std::ostream* os) {
  *os << "{" << l.shard_id << ", owner \"" << l.owner << "\", counter " << l.counter
      << ", expires_at " << l.expires_at << "}";
}

namespace {

using cinesis::testing::PostgresServer;
using cinesis::testing::RedisServer;
using cinesis::testing::SharedServer;
using cinesis::testing::TempDir;

inline std::string Describe(const Status& s) { return s.ToString(); }
template <typename T>
std::string Describe(const Result<T>& r) {
  return r.status().ToString();
}

#define ASSERT_OK(expr)                                               \
  do {                                                                \
    const auto& assert_ok_value_ = (expr);                            \
    ASSERT_TRUE(assert_ok_value_.ok()) << Describe(assert_ok_value_); \
  } while (0)
#define ASSERT_OK_AND_ASSIGN(lhs, expr) \
  ASSERT_OK_AND_ASSIGN_IMPL(CINESIS_CONCAT(assert_result_, __LINE__), lhs, expr)
#define ASSERT_OK_AND_ASSIGN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                              \
  ASSERT_TRUE(tmp.ok()) << Describe(tmp);         \
  lhs = std::move(tmp).value()

constexpr EpochMillis kT0 = 1'700'000'000'000;
constexpr EpochMillis kTtl = 10'000;
const std::string kSeq = "49590338271490256608559692538361571095921575989136588898";

enum class Backend { kMemory, kSqlite, kRedis, kPostgres };

std::string BackendName(Backend b) {
  switch (b) {
    case Backend::kMemory:
      return "Memory";
    case Backend::kSqlite:
      return "Sqlite";
    case Backend::kRedis:
      return "Redis";
    case Backend::kPostgres:
      return "Postgres";
  }
  return "?";
}

void PrintTo(Backend b, std::ostream* os) { *os << BackendName(b); }

// Names unique within the test program, so that --gtest_repeat against the same servers
// starts from clean scopes.
std::optional<Checkpoint> Cp(std::string sequence_number, std::uint64_t sub) {
  return Checkpoint{std::move(sequence_number), sub};
}

std::string Unique(const std::string& prefix) {
  static std::atomic<int> n{0};
  return prefix + "-" + std::to_string(++n);
}

// The shared servers start lazily; a failure to start is reported by every test using it.
Result<std::shared_ptr<Store>> OpenShared(Backend b, const std::string& sqlite_path) {
  std::string error;
  switch (b) {
    case Backend::kMemory:
      return NewMemoryStore();
    case Backend::kSqlite:
      return OpenSqliteStore(sqlite_path);
    case Backend::kRedis: {
      auto* redis = SharedServer<RedisServer>(&error);
      if (redis == nullptr) return Status(Code::kIoError, "test Redis server: " + error);
      return OpenRedisStore("127.0.0.1", redis->port());
    }
    case Backend::kPostgres: {
      auto* pg = SharedServer<PostgresServer>(&error);
      if (pg == nullptr) return Status(Code::kIoError, "test PostgreSQL server: " + error);
      return OpenPostgresStore(pg->conninfo());
    }
  }
  return Status(Code::kInvalidArgument, "unknown backend");
}

class StoreTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    ASSERT_TRUE(dir_.ok());
    ASSERT_OK_AND_ASSIGN(store_, Open());
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    scope_ =
        Scope{Unique(std::string("app-") + info->test_suite_name() + "." + info->name()), "orders"};
  }

  // Another object on the same data: a new connection for the shared backends, the same
  // object for memory.
  Result<std::shared_ptr<Store>> Open() {
    if (GetParam() == Backend::kMemory && store_) return store_;
    return OpenShared(GetParam(), dir_.path() + "/cinesis.db");
  }

  Result<std::optional<Lease>> Acquire(const std::string& shard, const std::string& owner,
                                       EpochMillis now) {
    return store_->TryAcquire(scope_, shard, owner, kTtl, now);
  }

  // Acquires and asserts success.
  Lease Take(const std::string& shard, const std::string& owner, EpochMillis now) {
    auto r = Acquire(shard, owner, now);
    EXPECT_TRUE(r.ok()) << Describe(r);
    if (!r.ok() || !r->has_value()) {
      ADD_FAILURE() << owner << " could not take " << shard;
      return Lease{};
    }
    return **r;
  }

  // The listed lease of `shard` (a default Lease and a failure if it is not listed).
  Lease Listed(const Scope& scope, const std::string& shard) {
    auto found = Find(scope, shard);
    if (!found) ADD_FAILURE() << shard << " is not listed";
    return found.value_or(Lease{});
  }

  std::optional<Lease> Find(const Scope& scope, const std::string& shard) {
    auto all = store_->List(scope);
    EXPECT_TRUE(all.ok()) << Describe(all);
    if (!all.ok()) return std::nullopt;
    for (const auto& l : *all) {
      if (l.shard_id == shard) return l;
    }
    return std::nullopt;
  }

  TempDir dir_{"cinesis-ckpt"};
  std::shared_ptr<Store> store_;  // destroyed before dir_
  Scope scope_;
};

// --- checkpoints ---

TEST_P(StoreTest, LoadOfAShardNeverSavedIsEmpty) {
  ASSERT_OK_AND_ASSIGN(auto cp, store_->Load(scope_, "shardId-000000000000"));
  EXPECT_FALSE(cp.has_value());
  ASSERT_OK_AND_ASSIGN(auto all, store_->LoadAll(scope_));
  EXPECT_TRUE(all.empty());
  ASSERT_OK_AND_ASSIGN(auto leases, store_->List(scope_));
  EXPECT_TRUE(leases.empty());
}

TEST_P(StoreTest, SaveOverwritesAndLoadAllReturnsEveryShard) {
  ASSERT_OK(store_->Save(scope_, "shardId-000000000000", Checkpoint{"100", 0}));
  ASSERT_OK(store_->Save(scope_, "shardId-000000000001", Checkpoint{"200", 3}));
  ASSERT_OK(store_->Save(scope_, "shardId-000000000000", Checkpoint{"150", 7}));
  ASSERT_OK_AND_ASSIGN(auto cp, store_->Load(scope_, "shardId-000000000000"));
  ASSERT_TRUE(cp.has_value());
  EXPECT_EQ(cp, Cp("150", 7));
  ASSERT_OK_AND_ASSIGN(auto all, store_->LoadAll(scope_));
  EXPECT_EQ(all, (std::map<std::string, Checkpoint>{{"shardId-000000000000", {"150", 7}},
                                                    {"shardId-000000000001", {"200", 3}}}));
}

TEST_P(StoreTest, SequenceNumbersSubSequenceNumbersAndSentinelsRoundTrip) {
  const std::vector<Checkpoint> values = {
      {kSeq, 0},
      {kSeq, 1},
      {kSeq, 4'294'967'296},
      {kSeq, std::numeric_limits<std::int64_t>::max()},
      {kSeq, std::numeric_limits<std::uint64_t>::max()},
      {kShardEnd, 0},
      {"TRIM_HORIZON", 0},
      {"LATEST", 0},
      {"odd:sequence:9", 12},  // separators inside the value must survive
      {"1", 18},
  };
  int i = 0;
  for (const auto& v : values) {
    std::string shard = "shardId-" + std::to_string(i++);
    ASSERT_OK(store_->Save(scope_, shard, v));
    ASSERT_OK_AND_ASSIGN(auto got, store_->Load(scope_, shard));
    ASSERT_TRUE(got.has_value());
    EXPECT_EQ(*got, v) << v.sequence_number << "/" << v.sub_sequence_number;
    // The same through the fenced path.
    Lease lease = Take(shard, "worker-a", kT0);
    Checkpoint next{v.sequence_number, v.sub_sequence_number == 0 ? 5 : v.sub_sequence_number - 1};
    ASSERT_OK_AND_ASSIGN(bool saved, store_->SaveIfOwner(scope_, lease, next, kT0 + 1));
    EXPECT_TRUE(saved);
    ASSERT_OK_AND_ASSIGN(got, store_->Load(scope_, shard));
    ASSERT_TRUE(got.has_value());
    EXPECT_EQ(*got, next);
  }
  ASSERT_OK_AND_ASSIGN(auto all, store_->LoadAll(scope_));
  EXPECT_EQ(all.size(), values.size());
  EXPECT_EQ(all.at("shardId-5").sequence_number, "SHARD_END");
}

TEST_P(StoreTest, ScopesAreIsolated) {
  // Pairs that a naive "app:stream" key would confuse are included.
  const std::vector<Scope> scopes = {
      {scope_.application, "orders"},    {scope_.application + "-2", "orders"},
      {scope_.application, "orders-2"},  {scope_.application + ":x", "y"},
      {scope_.application, "x:y"},       {scope_.application + "}", "{z"},
      {scope_.application + "%3A", "q"}, {scope_.application + ":", "q"},
  };
  const std::string shard = "shardId-000000000000";
  for (std::size_t i = 0; i < scopes.size(); ++i) {
    ASSERT_OK(store_->Save(scopes[i], shard, Checkpoint{std::to_string(i), i}));
    ASSERT_OK_AND_ASSIGN(
        auto lease, store_->TryAcquire(scopes[i], shard, "worker-" + std::to_string(i), kTtl, kT0));
    ASSERT_TRUE(lease.has_value()) << i;  // no other scope's lease is in the way
    EXPECT_EQ(lease->counter, 1U);
  }
  for (std::size_t i = 0; i < scopes.size(); ++i) {
    SCOPED_TRACE(scopes[i].application + " / " + scopes[i].stream);
    ASSERT_OK_AND_ASSIGN(auto all, store_->LoadAll(scopes[i]));
    EXPECT_EQ(all, (std::map<std::string, Checkpoint>{{shard, {std::to_string(i), i}}}));
    ASSERT_OK_AND_ASSIGN(auto leases, store_->List(scopes[i]));
    ASSERT_EQ(leases.size(), 1U);
    EXPECT_EQ(leases[0].owner, "worker-" + std::to_string(i));
  }
  // A lease of one scope fences nothing in another.
  Lease lease0{shard, "worker-0", 1, kT0 + kTtl};
  ASSERT_OK_AND_ASSIGN(bool saved, store_->SaveIfOwner(scopes[1], lease0, Checkpoint{"x", 0}, kT0));
  EXPECT_FALSE(saved);
  ASSERT_OK_AND_ASSIGN(bool renewed, store_->Renew(scopes[1], lease0, kTtl, kT0));
  EXPECT_FALSE(renewed);
  ASSERT_OK(store_->Release(scopes[1], lease0));
  EXPECT_EQ(Listed(scopes[1], shard).owner, "worker-1");
  ASSERT_OK_AND_ASSIGN(auto cp, store_->Load(scopes[1], shard));
  EXPECT_EQ(cp, Cp("1", 1));
}

// --- leases ---

TEST_P(StoreTest, AcquiringAFreeShardStartsTheCounterAtOne) {
  ASSERT_OK_AND_ASSIGN(auto lease, Acquire("shard-1", "worker-a", kT0));
  ASSERT_TRUE(lease.has_value());
  EXPECT_EQ(lease->shard_id, "shard-1");
  EXPECT_EQ(lease->owner, "worker-a");
  EXPECT_EQ(lease->counter, 1U);
  EXPECT_EQ(lease->expires_at, kT0 + kTtl);
  Lease listed = Listed(scope_, "shard-1");
  EXPECT_EQ(listed.owner, "worker-a");
  EXPECT_EQ(listed.counter, 1U);
  EXPECT_EQ(listed.expires_at, kT0 + kTtl);
}

TEST_P(StoreTest, ALeaseHeldByAnotherOwnerCannotBeTakenBeforeItExpires) {
  Lease a = Take("shard-1", "worker-a", kT0);
  for (EpochMillis now : {kT0, kT0 + 1, kT0 + kTtl - 1}) {
    ASSERT_OK_AND_ASSIGN(auto lease, Acquire("shard-1", "worker-b", now));
    EXPECT_FALSE(lease.has_value()) << now - kT0;
  }
  Lease listed = Listed(scope_, "shard-1");
  EXPECT_EQ(listed.owner, "worker-a");
  EXPECT_EQ(listed.counter, a.counter);
  EXPECT_EQ(listed.expires_at, a.expires_at);
}

TEST_P(StoreTest, AcquiringOnesOwnLeaseExtendsItWithoutChangingTheCounter) {
  Lease a = Take("shard-1", "worker-a", kT0);
  ASSERT_OK_AND_ASSIGN(auto again, Acquire("shard-1", "worker-a", kT0 + 5000));
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->counter, a.counter);
  EXPECT_EQ(again->expires_at, kT0 + 5000 + kTtl);
  EXPECT_EQ(Listed(scope_, "shard-1").expires_at, kT0 + 5000 + kTtl);
  // Even after it expired, as long as nobody else took it.
  ASSERT_OK_AND_ASSIGN(auto late, Acquire("shard-1", "worker-a", kT0 + 100'000));
  ASSERT_TRUE(late.has_value());
  EXPECT_EQ(late->counter, a.counter);
}

TEST_P(StoreTest, AnExpiredLeaseIsTakenOverAndItsCounterIncreases) {
  Lease a = Take("shard-1", "worker-a", kT0);
  // Expired exactly at expires_at.
  ASSERT_OK_AND_ASSIGN(auto b, Acquire("shard-1", "worker-b", a.expires_at));
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(b->owner, "worker-b");
  EXPECT_EQ(b->counter, a.counter + 1);
  EXPECT_EQ(b->expires_at, a.expires_at + kTtl);
  // The old owner cannot take it back while b holds it.
  ASSERT_OK_AND_ASSIGN(auto back, Acquire("shard-1", "worker-a", a.expires_at + 1));
  EXPECT_FALSE(back.has_value());
  ASSERT_OK_AND_ASSIGN(auto c, Acquire("shard-1", "worker-a", b->expires_at));
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->counter, a.counter + 2);
}

TEST_P(StoreTest, RenewExtendsAHeldLease) {
  Lease a = Take("shard-1", "worker-a", kT0);
  ASSERT_OK_AND_ASSIGN(bool renewed, store_->Renew(scope_, a, kTtl, kT0 + 9000));
  EXPECT_TRUE(renewed);
  Lease listed = Listed(scope_, "shard-1");
  EXPECT_EQ(listed.expires_at, kT0 + 9000 + kTtl);
  EXPECT_EQ(listed.counter, a.counter);
  // Past the old expiry the lease is still a's, so b cannot take it.
  ASSERT_OK_AND_ASSIGN(auto b, Acquire("shard-1", "worker-b", kT0 + kTtl + 1));
  EXPECT_FALSE(b.has_value());
}

TEST_P(StoreTest, RenewFailsOnceTheLeaseWasTakenOver) {
  Lease a = Take("shard-1", "worker-a", kT0);
  Lease b = Take("shard-1", "worker-b", a.expires_at);
  ASSERT_OK_AND_ASSIGN(bool renewed, store_->Renew(scope_, a, kTtl, a.expires_at + 1));
  EXPECT_FALSE(renewed);
  Lease listed = Listed(scope_, "shard-1");
  EXPECT_EQ(listed.owner, "worker-b");
  EXPECT_EQ(listed.counter, b.counter);
  EXPECT_EQ(listed.expires_at, b.expires_at);
  // Even if a takes it back later: the old counter is not the current one.
  Lease a2 = Take("shard-1", "worker-a", b.expires_at);
  ASSERT_OK_AND_ASSIGN(renewed, store_->Renew(scope_, a, kTtl, b.expires_at + 1));
  EXPECT_FALSE(renewed);
  ASSERT_OK_AND_ASSIGN(renewed, store_->Renew(scope_, a2, kTtl, b.expires_at + 1));
  EXPECT_TRUE(renewed);
}

TEST_P(StoreTest, RenewChecksOwnerAndCounter) {
  Lease a = Take("shard-1", "worker-a", kT0);
  Lease wrong_counter = a;
  wrong_counter.counter += 1;
  Lease wrong_owner = a;
  wrong_owner.owner = "worker-b";
  Lease never{"shard-9", "worker-a", 1, kT0 + kTtl};
  for (const Lease& l : {wrong_counter, wrong_owner, never}) {
    ASSERT_OK_AND_ASSIGN(bool renewed, store_->Renew(scope_, l, kTtl, kT0 + 1));
    EXPECT_FALSE(renewed) << l.shard_id << " " << l.owner << " " << l.counter;
  }
  // Expired but not taken by anyone: still a's, so it can be renewed.
  ASSERT_OK_AND_ASSIGN(bool renewed, store_->Renew(scope_, a, kTtl, kT0 + 3 * kTtl));
  EXPECT_TRUE(renewed);
  EXPECT_EQ(Listed(scope_, "shard-1").expires_at, kT0 + 4 * kTtl);
}

TEST_P(StoreTest, ReleaseFreesTheLeaseAndKeepsTheCounter) {
  Lease a = Take("shard-1", "worker-a", kT0);
  ASSERT_OK(store_->Release(scope_, a));
  Lease listed = Listed(scope_, "shard-1");  // free leases are listed too
  EXPECT_EQ(listed.owner, "");
  EXPECT_EQ(listed.counter, a.counter);
  ASSERT_OK(store_->Release(scope_, a));  // twice is harmless
  // Free: anyone takes it at once, and the counter moves on.
  Lease b = Take("shard-1", "worker-b", kT0 + 1);
  EXPECT_EQ(b.counter, a.counter + 1);
  // A stale release does nothing.
  ASSERT_OK(store_->Release(scope_, a));
  EXPECT_EQ(Listed(scope_, "shard-1").owner, "worker-b");
  // Neither can the released lease renew or write.
  ASSERT_OK_AND_ASSIGN(bool renewed, store_->Renew(scope_, a, kTtl, kT0 + 2));
  EXPECT_FALSE(renewed);
  ASSERT_OK_AND_ASSIGN(bool saved, store_->SaveIfOwner(scope_, a, Checkpoint{"1", 0}, kT0 + 2));
  EXPECT_FALSE(saved);
}

TEST_P(StoreTest, ReacquiringAReleasedLeaseCountsAsAChangeOfHands) {
  Lease a = Take("shard-1", "worker-a", kT0);
  ASSERT_OK(store_->Release(scope_, a));
  Lease a2 = Take("shard-1", "worker-a", kT0 + 1);
  EXPECT_EQ(a2.counter, a.counter + 1);
  ASSERT_OK_AND_ASSIGN(bool saved, store_->SaveIfOwner(scope_, a, Checkpoint{"1", 0}, kT0 + 2));
  EXPECT_FALSE(saved);
}

TEST_P(StoreTest, ListReturnsEveryLeaseOfTheScopeInShardOrder) {
  Take("shard-3", "worker-a", kT0);
  Lease b = Take("shard-1", "worker-b", kT0);
  Take("shard-2", "worker-a", kT0);
  ASSERT_OK(store_->Release(scope_, b));
  ASSERT_OK(
      store_->TryAcquire(Scope{scope_.application, "other"}, "shard-0", "worker-c", kTtl, kT0));
  ASSERT_OK_AND_ASSIGN(auto leases, store_->List(scope_));
  ASSERT_EQ(leases.size(), 3U);
  EXPECT_EQ(leases[0].shard_id, "shard-1");
  EXPECT_EQ(leases[0].owner, "");
  EXPECT_EQ(leases[1].shard_id, "shard-2");
  EXPECT_EQ(leases[1].owner, "worker-a");
  EXPECT_EQ(leases[2].shard_id, "shard-3");
  EXPECT_EQ(leases[2].expires_at, kT0 + kTtl);
}

// --- stale rows (the consumer's worker heartbeats) ---

TEST_P(StoreTest, DeleteExpiredRemovesFreeAndExpiredRowsUnderThePrefixOnly) {
  const std::string w = "__worker__/";
  Take(w + "a", "a", kT0);                                      // expires at kT0 + kTtl
  Take(w + "b", "b", kT0 + kTtl / 2);                           // still valid at kT0 + kTtl
  ASSERT_OK(store_->Release(scope_, Take(w + "c", "c", kT0)));  // free
  Take("shard-1", "a", kT0);                                    // expired too, but not a worker row
  Take("w_1", "d", kT0);                                        // prefix "w_": '_' is no wildcard
  Take("wx1", "d", kT0);
  const Scope other{scope_.application, "other"};
  ASSERT_OK(store_->TryAcquire(other, w + "a", "a", kTtl, kT0));

  ASSERT_OK_AND_ASSIGN(std::size_t n, store_->DeleteExpired(scope_, w, kT0 + kTtl));
  EXPECT_EQ(n, 2U);  // a (expires_at <= now) and c (released)
  EXPECT_FALSE(Find(scope_, w + "a"));
  EXPECT_FALSE(Find(scope_, w + "c"));
  EXPECT_TRUE(Find(scope_, w + "b"));
  EXPECT_TRUE(Find(scope_, "shard-1"));
  EXPECT_TRUE(Find(other, w + "a"));  // other scopes untouched

  ASSERT_OK_AND_ASSIGN(n, store_->DeleteExpired(scope_, "w_", kT0 + kTtl));
  EXPECT_EQ(n, 1U);
  EXPECT_FALSE(Find(scope_, "w_1"));
  EXPECT_TRUE(Find(scope_, "wx1"));

  // A renewed row stays; once it expires it goes; a deleted row starts over.
  Lease b = Listed(scope_, w + "b");
  ASSERT_OK_AND_ASSIGN(bool renewed, store_->Renew(scope_, b, kTtl, kT0 + kTtl));
  ASSERT_TRUE(renewed);
  ASSERT_OK_AND_ASSIGN(n, store_->DeleteExpired(scope_, w, kT0 + kTtl + kTtl / 2));
  EXPECT_EQ(n, 0U);
  ASSERT_OK_AND_ASSIGN(n, store_->DeleteExpired(scope_, w, kT0 + 2 * kTtl));
  EXPECT_EQ(n, 1U);
  EXPECT_EQ(Take(w + "a", "a", kT0 + 2 * kTtl).counter, 1U);

  EXPECT_EQ(store_->DeleteExpired(scope_, "", kT0).status().code(), Code::kInvalidArgument);
}

// --- fencing ---

TEST_P(StoreTest, SaveIfOwnerWritesWhileTheLeaseIsCurrent) {
  Lease a = Take("shard-1", "worker-a", kT0);
  ASSERT_OK_AND_ASSIGN(bool saved, store_->SaveIfOwner(scope_, a, Checkpoint{"100", 2}, kT0 + 1));
  EXPECT_TRUE(saved);
  ASSERT_OK_AND_ASSIGN(saved,
                       store_->SaveIfOwner(scope_, a, Checkpoint{kShardEnd, 0}, a.expires_at - 1));
  EXPECT_TRUE(saved);
  ASSERT_OK_AND_ASSIGN(auto cp, store_->Load(scope_, "shard-1"));
  EXPECT_EQ(cp, Cp("SHARD_END", 0));
}

TEST_P(StoreTest, AStaleLeaseCannotOverwriteTheNewOwnersCheckpoint) {
  Lease a = Take("shard-1", "worker-a", kT0);
  ASSERT_OK_AND_ASSIGN(bool saved, store_->SaveIfOwner(scope_, a, Checkpoint{"100", 0}, kT0 + 1));
  ASSERT_TRUE(saved);
  Lease b = Take("shard-1", "worker-b", a.expires_at);
  ASSERT_OK_AND_ASSIGN(saved,
                       store_->SaveIfOwner(scope_, b, Checkpoint{"200", 1}, a.expires_at + 1));
  ASSERT_TRUE(saved);
  // a still believes (by its own, lagging clock) that its lease is valid.
  ASSERT_OK_AND_ASSIGN(saved, store_->SaveIfOwner(scope_, a, Checkpoint{"150", 0}, kT0 + 2));
  EXPECT_FALSE(saved);
  ASSERT_OK_AND_ASSIGN(auto cp, store_->Load(scope_, "shard-1"));
  EXPECT_EQ(cp, Cp("200", 1));
  // Same owner name, old counter: still stale.
  Lease a2 = Take("shard-1", "worker-a", b.expires_at);
  Lease a_old = a;
  ASSERT_OK_AND_ASSIGN(saved,
                       store_->SaveIfOwner(scope_, a_old, Checkpoint{"150", 0}, b.expires_at + 1));
  EXPECT_FALSE(saved);
  ASSERT_OK_AND_ASSIGN(saved,
                       store_->SaveIfOwner(scope_, a2, Checkpoint{"300", 0}, b.expires_at + 1));
  EXPECT_TRUE(saved);
}

TEST_P(StoreTest, SaveIfOwnerFailsForExpiredUnknownOrForeignLeases) {
  ASSERT_OK(store_->Save(scope_, "shard-1", Checkpoint{"1", 0}));
  Lease a = Take("shard-1", "worker-a", kT0);
  Lease other_owner = a;
  other_owner.owner = "worker-b";
  Lease other_counter = a;
  other_counter.counter = a.counter + 1;
  Lease other_shard = a;
  other_shard.shard_id = "shard-2";
  Lease empty_owner = a;
  empty_owner.owner = "";
  struct Case {
    Lease lease;
    EpochMillis now;
    const char* why;
  };
  for (const Case& c :
       {Case{a, a.expires_at, "expired (at expires_at)"},
        Case{a, a.expires_at + 1, "expired, not taken"}, Case{other_owner, kT0 + 1, "other owner"},
        Case{other_counter, kT0 + 1, "other counter"}, Case{other_shard, kT0 + 1, "no lease row"},
        Case{empty_owner, kT0 + 1, "empty owner"}}) {
    ASSERT_OK_AND_ASSIGN(bool saved,
                         store_->SaveIfOwner(scope_, c.lease, Checkpoint{"2", 0}, c.now));
    EXPECT_FALSE(saved) << c.why;
  }
  ASSERT_OK_AND_ASSIGN(auto all, store_->LoadAll(scope_));
  EXPECT_EQ(all, (std::map<std::string, Checkpoint>{{"shard-1", {"1", 0}}}));
}

TEST_P(StoreTest, InvalidArgumentsAreRejected) {
  const Lease lease{"shard-1", "worker-a", 1, kT0 + kTtl};
  std::vector<std::pair<std::string, Status>> cases;
  cases.emplace_back("empty application",
                     store_->Save(Scope{"", "s"}, "shard-1", Checkpoint{"1", 0}));
  cases.emplace_back("empty stream", store_->Save(Scope{"a", ""}, "shard-1", Checkpoint{"1", 0}));
  cases.emplace_back("empty shard", store_->Save(scope_, "", Checkpoint{"1", 0}));
  cases.emplace_back("empty sequence", store_->Save(scope_, "shard-1", Checkpoint{"", 0}));
  cases.emplace_back("NUL in shard",
                     store_->Save(scope_, std::string("a\0b", 3), Checkpoint{"1", 0}));
  cases.emplace_back("empty owner", store_->TryAcquire(scope_, "shard-1", "", kTtl, kT0).status());
  cases.emplace_back("zero ttl", store_->TryAcquire(scope_, "shard-1", "w", 0, kT0).status());
  cases.emplace_back("negative ttl", store_->Renew(scope_, lease, -1, kT0).status());
  cases.emplace_back(
      "ttl overflow",
      store_->TryAcquire(scope_, "shard-1", "w", std::numeric_limits<EpochMillis>::max(), kT0)
          .status());
  cases.emplace_back(
      "empty lease shard",
      store_->SaveIfOwner(scope_, Lease{"", "w", 1, 0}, Checkpoint{"1", 0}, kT0).status());
  cases.emplace_back("List empty app", store_->List(Scope{"", "s"}).status());
  cases.emplace_back("LoadAll empty stream", store_->LoadAll(Scope{"a", ""}).status());
  for (const auto& [what, s] : cases) {
    EXPECT_EQ(s.code(), Code::kInvalidArgument) << what << ": " << s.ToString();
  }
  ASSERT_OK_AND_ASSIGN(auto leases, store_->List(scope_));
  EXPECT_TRUE(leases.empty());
}

// --- concurrency ---

constexpr int kRacers = 8;

// Every racer calls TryAcquire for `shard` at the same `now` with its own owner name,
// racer i through stores[i % stores.size()]; returns the leases won.
std::vector<Lease> RaceAcquire(const std::vector<std::shared_ptr<Store>>& stores,
                               const Scope& scope, const std::string& shard,
                               const std::string& owner_prefix, EpochMillis now) {
  std::latch start(kRacers);
  std::mutex mu;
  std::vector<Lease> won;
  std::vector<std::thread> threads;
  for (int i = 0; i < kRacers; ++i) {
    threads.emplace_back([&, i] {
      Store& store = *stores[static_cast<std::size_t>(i) % stores.size()];
      start.arrive_and_wait();
      auto r = store.TryAcquire(scope, shard, owner_prefix + std::to_string(i), kTtl, now);
      EXPECT_TRUE(r.ok()) << Describe(r);
      if (r.ok() && r->has_value()) {
        std::lock_guard lock(mu);
        won.push_back(**r);
      }
    });
  }
  for (auto& t : threads) t.join();
  return won;
}

void CheckAcquireRaces(const std::vector<std::shared_ptr<Store>>& stores, const Scope& scope) {
  for (int round = 0; round < 6; ++round) {
    std::string shard = "shard-" + std::to_string(round);
    auto first = RaceAcquire(stores, scope, shard, "worker-", kT0);
    ASSERT_EQ(first.size(), 1U) << "round " << round << ": a free shard has exactly one taker";
    EXPECT_EQ(first[0].counter, 1U);
    // Once it expired, newcomers race to take it over.
    auto second = RaceAcquire(stores, scope, shard, "late-", first[0].expires_at);
    ASSERT_EQ(second.size(), 1U) << "round " << round << ": an expired lease has exactly one taker";
    EXPECT_EQ(second[0].counter, 2U);
    auto listed = stores[0]->List(scope);
    ASSERT_TRUE(listed.ok()) << Describe(listed);
    bool found = false;
    for (const auto& l : *listed) {
      if (l.shard_id != shard) continue;
      found = true;
      EXPECT_EQ(l.owner, second[0].owner);
      EXPECT_EQ(l.counter, 2U);
    }
    EXPECT_TRUE(found);
  }
}

// The current owner `a` keeps writing checkpoints (its clock says its lease is valid),
// one writer thread per store in `a_stores`, while `b`, through `b_store`, takes the lease
// over. Whatever the interleaving, once the takeover is done no write of a's may land.
void CheckFencingRaces(const std::vector<std::shared_ptr<Store>>& a_stores, Store& b_store,
                       const Scope& scope) {
  Store& a_store = *a_stores[0];
  for (int round = 0; round < 12; ++round) {
    std::string shard = "fenced-" + std::to_string(round);
    auto a = a_store.TryAcquire(scope, shard, "worker-a", kTtl, kT0);
    ASSERT_TRUE(a.ok() && a->has_value()) << Describe(a);
    Lease lease_a = **a;
    std::atomic<int> a_writes{0};
    std::atomic<bool> b_gave_up{false};
    std::vector<std::thread> writers;
    for (std::size_t w = 0; w < a_stores.size(); ++w) {
      writers.emplace_back([&, w] {
        for (std::uint64_t i = 1; !b_gave_up.load(); ++i) {
          auto r = a_stores[w]->SaveIfOwner(scope, lease_a, Checkpoint{"a" + std::to_string(w), i},
                                            kT0 + 1);
          EXPECT_TRUE(r.ok()) << Describe(r);
          if (!r.ok() || !*r) break;
          ++a_writes;
        }
      });
    }
    while (a_writes.load() < 1 + round % 4 && !b_gave_up.load()) std::this_thread::yield();
    auto b = b_store.TryAcquire(scope, shard, "worker-b", kTtl, lease_a.expires_at);
    bool b_ok = b.ok() && b->has_value();
    EXPECT_TRUE(b_ok) << Describe(b);
    // What b sees right after the takeover must be final as far as a is concerned: every
    // write of a's that succeeded came before the takeover.
    auto at_takeover = b_store.Load(scope, shard);
    if (!b_ok) b_gave_up = true;
    for (auto& t : writers) t.join();  // they stop at their first refused write
    ASSERT_TRUE(b_ok);
    ASSERT_TRUE(at_takeover.ok()) << Describe(at_takeover);
    auto after = b_store.Load(scope, shard);
    ASSERT_TRUE(after.ok()) << Describe(after);
    EXPECT_EQ(*after, *at_takeover)
        << "round " << round << ": a stale write landed after the takeover";
    EXPECT_EQ((*b)->counter, lease_a.counter + 1);
    auto saved = b_store.SaveIfOwner(scope, **b, Checkpoint{"b", 0}, lease_a.expires_at + 1);
    ASSERT_TRUE(saved.ok() && *saved) << Describe(saved);
    auto cp = a_store.Load(scope, shard);
    ASSERT_TRUE(cp.ok()) << Describe(cp);
    ASSERT_TRUE(cp->has_value());
    EXPECT_EQ(**cp, (Checkpoint{"b", 0}));
    // And a stale write now is refused.
    auto late = a_store.SaveIfOwner(scope, lease_a, Checkpoint{"late", 0}, kT0 + 2);
    ASSERT_TRUE(late.ok()) << Describe(late);
    EXPECT_FALSE(*late);
  }
}

TEST_P(StoreTest, RacingAcquiresThroughOneObjectHaveExactlyOneWinner) {
  CheckAcquireRaces({store_}, scope_);
}

TEST_P(StoreTest, StaleWritesRacingATakeoverThroughOneObjectAreFenced) {
  CheckFencingRaces({store_, store_, store_}, *store_, scope_);
}

TEST_P(StoreTest, RenewRacingATakeoverNeverLeavesTwoOwners) {
  // a renews (with a lagging clock) while b takes over the expired lease: either a's
  // renewal lands first (then b fails) or b's takeover does (then a's renewal fails).
  for (int round = 0; round < 10; ++round) {
    std::string shard = "renew-" + std::to_string(round);
    Lease a = Take(shard, "worker-a", kT0);
    std::latch start(2);
    Result<bool> renewed = false;
    Result<std::optional<Lease>> taken = std::optional<Lease>();
    std::thread ta([&] {
      start.arrive_and_wait();
      renewed = store_->Renew(scope_, a, kTtl, kT0 + kTtl - 1);
    });
    std::thread tb([&] {
      start.arrive_and_wait();
      taken = store_->TryAcquire(scope_, shard, "worker-b", kTtl, kT0 + kTtl);
    });
    ta.join();
    tb.join();
    ASSERT_OK(renewed);
    ASSERT_OK(taken);
    auto listed = Find(scope_, shard);
    ASSERT_TRUE(listed.has_value());
    if (taken->has_value()) {
      // b won; a's renewal may only have happened before (then b could not have won at
      // kT0 + kTtl, since a's lease would have run to kT0 + 2 * kTtl - 1).
      EXPECT_FALSE(*renewed);
      EXPECT_EQ(listed->owner, "worker-b");
    } else {
      EXPECT_TRUE(*renewed);
      EXPECT_EQ(listed->owner, "worker-a");
      EXPECT_EQ(listed->expires_at, kT0 + 2 * kTtl - 1);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(AllStores, StoreTest,
                         ::testing::Values(Backend::kMemory, Backend::kSqlite, Backend::kRedis,
                                           Backend::kPostgres),
                         [](const auto& param_info) { return BackendName(param_info.param); });

// --- several objects (connections) on the same data: the shared backends only ---

class SharedStoreTest : public StoreTest {
 protected:
  std::vector<std::shared_ptr<Store>> OpenMany(int n) {
    std::vector<std::shared_ptr<Store>> stores;
    for (int i = 0; i < n; ++i) {
      auto s = Open();
      EXPECT_TRUE(s.ok()) << Describe(s);
      if (!s.ok()) return {};
      stores.push_back(*s);
    }
    return stores;
  }
};

TEST_P(SharedStoreTest, RacingAcquiresThroughSeparateConnectionsHaveExactlyOneWinner) {
  auto stores = OpenMany(kRacers);
  ASSERT_EQ(stores.size(), static_cast<std::size_t>(kRacers));
  CheckAcquireRaces(stores, scope_);
}

TEST_P(SharedStoreTest, StaleWritesRacingATakeoverThroughAnotherConnectionAreFenced) {
  auto writers = OpenMany(3);
  ASSERT_EQ(writers.size(), 3U);
  CheckFencingRaces(writers, *store_, scope_);
}

TEST_P(SharedStoreTest, AnotherConnectionSeesTheStateAndItSurvivesReopening) {
  Lease a = Take("shard-1", "worker-a", kT0);
  ASSERT_OK_AND_ASSIGN(bool saved, store_->SaveIfOwner(scope_, a, Checkpoint{"42", 4}, kT0 + 1));
  ASSERT_TRUE(saved);
  store_.reset();  // closes the first connection (for SQLite: the file)
  ASSERT_OK_AND_ASSIGN(auto other, Open());
  ASSERT_OK_AND_ASSIGN(auto cp, other->Load(scope_, "shard-1"));
  ASSERT_TRUE(cp.has_value());
  EXPECT_EQ(cp, Cp("42", 4));
  ASSERT_OK_AND_ASSIGN(auto b, other->TryAcquire(scope_, "shard-1", "worker-b", kTtl, kT0 + 1));
  EXPECT_FALSE(b.has_value());
  ASSERT_OK_AND_ASSIGN(bool renewed, other->Renew(scope_, a, kTtl, kT0 + 2));
  EXPECT_TRUE(renewed);
}

INSTANTIATE_TEST_SUITE_P(SharedStores, SharedStoreTest,
                         ::testing::Values(Backend::kSqlite, Backend::kRedis, Backend::kPostgres),
                         [](const auto& param_info) { return BackendName(param_info.param); });

// --- backend specifics ---

TEST(MemoryStore, SeparateFactoriesWork) {
  Scope scope{"app", "stream"};
  auto checkpoints = NewMemoryCheckpointStore();
  ASSERT_OK(checkpoints->Save(scope, "shard-1", Checkpoint{"7", 1}));
  ASSERT_OK_AND_ASSIGN(auto cp, checkpoints->Load(scope, "shard-1"));
  EXPECT_EQ(cp, Cp("7", 1));
  auto leases = NewMemoryLeaseStore();
  ASSERT_OK_AND_ASSIGN(auto lease, leases->TryAcquire(scope, "shard-1", "w", kTtl, kT0));
  ASSERT_TRUE(lease.has_value());
  // Two separately made stores share nothing: the checkpoint store knows no lease.
  ASSERT_OK_AND_ASSIGN(bool saved,
                       checkpoints->SaveIfOwner(scope, *lease, Checkpoint{"8", 0}, kT0));
  EXPECT_FALSE(saved);
}

std::string QuerySqlite(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  std::string out;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) == SQLITE_OK) {
      while (sqlite3_step(st) == SQLITE_ROW) {
        if (!out.empty()) out += "\n";
        const unsigned char* t = sqlite3_column_text(st, 0);
        out += t != nullptr ? reinterpret_cast<const char*>(t) : "NULL";
      }
    }
    sqlite3_finalize(st);
  }
  sqlite3_close(db);
  return out;
}

TEST(SqliteStore, CreatesItsTablesInAWalFile) {
  TempDir dir;
  std::string path = dir.path() + "/leases.db";
  ASSERT_OK_AND_ASSIGN(auto store, OpenSqliteStore(path));
  ASSERT_OK(store->Save(Scope{"app", "s"}, "shard-1", Checkpoint{"1", 0}));
  EXPECT_EQ(QuerySqlite(path, "PRAGMA journal_mode"), "wal");
  EXPECT_EQ(QuerySqlite(path, "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"),
            "cinesis_checkpoints\ncinesis_leases");
  EXPECT_EQ(QuerySqlite(path,
                        "SELECT application || '|' || stream || '|' || shard_id || '|' || "
                        "sequence_number || '|' || sub_sequence_number FROM cinesis_checkpoints"),
            "app|s|shard-1|1|0");
  // Opening an existing file again is fine.
  ASSERT_OK_AND_ASSIGN(auto again, OpenSqliteStore(path));
  ASSERT_OK_AND_ASSIGN(auto cp, again->Load(Scope{"app", "s"}, "shard-1"));
  EXPECT_TRUE(cp.has_value());
}

// Regression: workers started together open the same new file at once; switching it to WAL
// was answered "database is locked" to some of them (3 of 60 example consumers started in
// threes; CI's test_consumer_processes lost a worker that way).
TEST(SqliteStore, ConnectionsOpeningOneNewFileAtOnceAllSucceed) {
  TempDir dir;
  constexpr int kRounds = 40;
  constexpr int kOpeners = 4;
  int failures = 0;
  std::string first_error;
  for (int round = 0; round < kRounds; ++round) {
    const std::string path = dir.path() + "/leases-" + std::to_string(round) + ".db";
    std::latch start(kOpeners);
    std::vector<Status> results(kOpeners);
    std::vector<std::thread> openers;
    for (int i = 0; i < kOpeners; ++i) {
      openers.emplace_back([&, i] {
        start.arrive_and_wait();
        auto store = OpenSqliteStore(path);
        results[i] = store.ok() ? Status::Ok() : store.status();
      });
    }
    for (auto& t : openers) t.join();
    for (const auto& r : results) {
      if (!r.ok()) {
        ++failures;
        if (first_error.empty()) first_error = r.ToString();
      }
    }
  }
  EXPECT_EQ(failures, 0) << first_error;
}

TEST(SqliteStore, AnUnopenablePathIsAnError) {
  auto store = OpenSqliteStore("/nonexistent-dir/for/cinesis/leases.db");
  EXPECT_FALSE(store.ok());
  EXPECT_EQ(OpenSqliteStore("").status().code(), Code::kInvalidArgument);
}

TEST(SqliteStore, SeparateProcessesRacingForShardsHaveExactlyOneWinnerEach) {
  TempDir dir;
  std::string path = dir.path() + "/leases.db";
  { ASSERT_OK(OpenSqliteStore(path)); }  // create the tables first
  constexpr int kProcesses = 4;
  constexpr int kShards = 20;
  Scope scope{"app", "s"};
  std::vector<pid_t> children;
  for (int p = 0; p < kProcesses; ++p) {
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      // Child: exit code = number of shards won (or 255 on error); no gtest here.
      int won = 0;
      auto store = OpenSqliteStore(path);
      if (!store.ok()) _exit(255);
      for (int s = 0; s < kShards; ++s) {
        auto r = (*store)->TryAcquire(scope, "shard-" + std::to_string(s),
                                      "proc-" + std::to_string(p), kTtl, kT0);
        if (!r.ok()) _exit(255);
        if (r->has_value()) ++won;
      }
      _exit(won);
    }
    children.push_back(pid);
  }
  int total = 0;
  for (pid_t pid : children) {
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status));
    ASSERT_NE(WEXITSTATUS(status), 255) << "a child process failed";
    total += WEXITSTATUS(status);
  }
  EXPECT_EQ(total, kShards);
  ASSERT_OK_AND_ASSIGN(auto store, OpenSqliteStore(path));
  ASSERT_OK_AND_ASSIGN(auto leases, store->List(scope));
  EXPECT_EQ(leases.size(), static_cast<std::size_t>(kShards));
  for (const auto& l : leases) EXPECT_EQ(l.counter, 1U);
}

TEST(RedisStore, ReconnectsAfterTheServerDropsTheConnection) {
  std::string error;
  auto* redis = SharedServer<RedisServer>(&error);
  ASSERT_NE(redis, nullptr) << error;
  ASSERT_OK_AND_ASSIGN(auto store, OpenRedisStore("127.0.0.1", redis->port()));
  Scope scope{Unique("reconnect"), "s"};
  ASSERT_OK(store->Save(scope, "shard-1", Checkpoint{"1", 0}));
  std::string killed = cinesis::testing::RedisInline(redis->port(), "CLIENT KILL TYPE normal");
  ASSERT_EQ(killed.substr(0, 1), ":") << killed;
  EXPECT_NE(killed, ":0");
  ASSERT_OK_AND_ASSIGN(auto cp, store->Load(scope, "shard-1"));
  EXPECT_EQ(cp, Cp("1", 0));
  ASSERT_OK_AND_ASSIGN(auto lease, store->TryAcquire(scope, "shard-1", "w", kTtl, kT0));
  EXPECT_TRUE(lease.has_value());
}

TEST(RedisStore, UsesTheDocumentedKeysAndAcceptsAUrl) {
  std::string error;
  auto* redis = SharedServer<RedisServer>(&error);
  ASSERT_NE(redis, nullptr) << error;
  std::string url = "redis://127.0.0.1:" + std::to_string(redis->port()) + "/3";
  ASSERT_OK_AND_ASSIGN(auto db3, OpenRedisStore(url, 0));
  ASSERT_OK_AND_ASSIGN(auto db0, OpenRedisStore("127.0.0.1", redis->port()));
  std::string name = Unique("keys");
  Scope scope{name + ":v2", "stream"};
  std::string prefix = "cinesis:{" + name + "%3Av2:stream}";  // ':' in a name is escaped
  ASSERT_OK(db3->Save(scope, "shard-1", Checkpoint{"5", 2}));
  ASSERT_OK(db3->TryAcquire(scope, "shard-1", "w", kTtl, kT0));
  ASSERT_OK_AND_ASSIGN(auto in_db0, db0->Load(scope, "shard-1"));
  EXPECT_FALSE(in_db0.has_value()) << "databases are separate";
  // The layout of docs/client.md (inline commands run in db 0).
  int port = redis->port();
  ASSERT_OK(db0->Save(scope, "shard-1", Checkpoint{"6", 0}));
  EXPECT_EQ(cinesis::testing::RedisInline(port, "HSTRLEN " + prefix + ":checkpoints shard-1"),
            ":3");  // "6:0"
  EXPECT_EQ(cinesis::testing::RedisInline(port, "HEXISTS " + prefix + ":leases shard-1"), ":0");
  ASSERT_OK(db0->TryAcquire(scope, "shard-1", "w", kTtl, kT0));
  EXPECT_EQ(cinesis::testing::RedisInline(port, "HSTRLEN " + prefix + ":leases shard-1"),
            ":" + std::to_string(std::string("1:" + std::to_string(kT0 + kTtl) + ":w").size()));
  EXPECT_EQ(OpenRedisStore("redis://127.0.0.1:1/0", 0).status().code(), Code::kIoError);
  EXPECT_EQ(OpenRedisStore("redis://127.0.0.1:x", 0).status().code(), Code::kInvalidArgument);
}

TEST(RedisStore, DamagedValuesAreReportedAsCorruption) {
  std::string error;
  auto* redis = SharedServer<RedisServer>(&error);
  ASSERT_NE(redis, nullptr) << error;
  ASSERT_OK_AND_ASSIGN(auto store, OpenRedisStore("127.0.0.1", redis->port()));
  Scope scope{Unique("damaged"), "s"};
  std::string prefix = "cinesis:{" + scope.application + ":s}";
  ASSERT_EQ(
      cinesis::testing::RedisInline(redis->port(), "HSET " + prefix + ":leases shard-1 garbage"),
      ":1");
  ASSERT_EQ(cinesis::testing::RedisInline(redis->port(),
                                          "HSET " + prefix + ":checkpoints shard-1 nocolon"),
            ":1");
  EXPECT_EQ(store->TryAcquire(scope, "shard-1", "w", kTtl, kT0).status().code(), Code::kCorruption);
  EXPECT_EQ(store->SaveIfOwner(scope, Lease{"shard-1", "w", 1, 0}, Checkpoint{"1", 0}, kT0)
                .status()
                .code(),
            Code::kCorruption);
  EXPECT_EQ(store->List(scope).status().code(), Code::kCorruption);
  EXPECT_EQ(store->Load(scope, "shard-1").status().code(), Code::kCorruption);
  EXPECT_EQ(store->LoadAll(scope).status().code(), Code::kCorruption);
}

TEST(PostgresStore, ReconnectsAfterTheBackendIsTerminated) {
  std::string error;
  auto* pg = SharedServer<PostgresServer>(&error);
  ASSERT_NE(pg, nullptr) << error;
  ASSERT_OK_AND_ASSIGN(auto store, OpenPostgresStore(pg->conninfo()));
  Scope scope{Unique("reconnect"), "s"};
  ASSERT_OK(store->Save(scope, "shard-1", Checkpoint{"1", 0}));
  std::string psql = pg->Psql(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
      "WHERE application_name = 'cinesis' AND pid <> pg_backend_pid()");
  ASSERT_EQ(psql, "");
  ASSERT_OK_AND_ASSIGN(auto cp, store->Load(scope, "shard-1"));
  EXPECT_EQ(cp, Cp("1", 0));
}

TEST(PostgresStore, AFencedWriteWaitsForATakeoverInProgressAndThenFails) {
  std::string error;
  auto* pg = SharedServer<PostgresServer>(&error);
  ASSERT_NE(pg, nullptr) << error;
  ASSERT_OK_AND_ASSIGN(auto store, OpenPostgresStore(pg->conninfo()));
  Scope scope{Unique("fence_in_progress"), "s"};
  ASSERT_OK_AND_ASSIGN(auto a, store->TryAcquire(scope, "shard-1", "worker-a", kTtl, kT0));
  ASSERT_TRUE(a.has_value());
  ASSERT_OK(store->Save(scope, "shard-1", Checkpoint{"1", 0}));
  // Another process is in the middle of taking the lease over: its transaction has
  // updated the lease row and not committed yet.
  std::string takeover_error;
  std::thread takeover([&] {
    takeover_error = pg->Psql(
        "BEGIN; UPDATE cinesis_leases SET owner = 'worker-b', counter = counter + 1 "
        "WHERE application = '" +
        scope.application +
        "' AND shard_id = 'shard-1'; "
        "SELECT pg_sleep(1) AS takeover_in_progress; COMMIT;");
  });
  // Wait until that transaction sleeps (holding the row lock).
  bool in_progress = false;
  for (int i = 0; i < 200 && !in_progress; ++i) {
    in_progress = pg->Psql(
                      "SELECT 1 / count(*) FROM pg_stat_activity "
                      "WHERE query LIKE '%takeover_in_progress%' AND state = 'active' "
                      "AND pid <> pg_backend_pid()") == "";
    if (!in_progress) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(in_progress);
  // a's write must wait for the takeover to commit, then see it and refuse.
  auto saved = store->SaveIfOwner(scope, *a, Checkpoint{"2", 0}, kT0 + 1);
  takeover.join();
  ASSERT_EQ(takeover_error, "");
  ASSERT_OK(saved);
  EXPECT_FALSE(*saved);
  ASSERT_OK_AND_ASSIGN(auto cp, store->Load(scope, "shard-1"));
  EXPECT_EQ(cp, Cp("1", 0));
}

TEST(PostgresStore, ConcurrentOpensCreateTheSchemaOnce) {
  std::string error;
  auto* pg = SharedServer<PostgresServer>(&error);
  ASSERT_NE(pg, nullptr) << error;
  std::string db = Unique("fresh_schema");
  db.replace(db.find('-'), 1, "_");
  ASSERT_EQ(pg->Psql("CREATE DATABASE " + db), "");
  std::latch start(6);
  std::vector<std::thread> threads;
  std::vector<Status> results(6);
  for (std::size_t i = 0; i < results.size(); ++i) {
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      auto s = OpenPostgresStore(pg->conninfo(db));
      results[i] = s.ok() ? Status::Ok() : s.status();
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& s : results) EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(pg->Psql("SELECT 1/count(*) FROM cinesis_leases", db).find("division by zero") !=
                std::string::npos,
            true);
}

TEST(PostgresStore, AnUnreachableServerIsAnIoError) {
  int port = cinesis::testing::FreeLoopbackPort();
  auto store = OpenPostgresStore("host=127.0.0.1 connect_timeout=2 port=" + std::to_string(port));
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), Code::kIoError) << store.status().ToString();
}

}  // namespace
}  // namespace cinesis::consumer
