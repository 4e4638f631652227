// What storage costs in file descriptors and memory: the cache of open segment files under a
// limit on open files (FaultEnv's stand-in for RLIMIT_NOFILE), shard-creating requests refused
// before descriptors run out, and the in-memory storage's block growth.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "fault_env.h"
#include "storage/file_cache.h"
#include "storage/log.h"
#include "storage/segment_format.h"

namespace cinesis::storage {
namespace {

namespace fs = std::filesystem;
using testing::FaultEnv;

class TempDir {
 public:
  TempDir() {
    path_ = fs::temp_directory_path() /
            ("cinesis-resources-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }
  std::string str() const { return path_.string(); }

 private:
  fs::path path_;
};

// `n` files "f<i>" holding "content <i>".
std::vector<std::string> MakeFiles(const TempDir& dir, int n) {
  std::vector<std::string> paths;
  for (int i = 0; i < n; ++i) {
    paths.push_back(dir / ("f" + std::to_string(i)));
    std::ofstream(paths.back()) << "content " << i;
  }
  return paths;
}

std::string ReadAll(const File& f) {
  std::string s(64, '\0');
  auto n = f.ReadAt(0, s.data(), s.size());
  EXPECT_TRUE(n.ok());
  s.resize(n.ok() ? *n : 0);
  return s;
}

TEST(FileCache, KeepsAtMostItsCapacityOpenAndReopensEvictedFiles) {
  TempDir dir;
  auto paths = MakeFiles(dir, 40);
  FaultEnv env;
  FileCache cache(env, 8);
  std::vector<std::uint64_t> keys;
  for (std::size_t i = 0; i < paths.size(); ++i) keys.push_back(FileCache::NewKey());
  for (int pass = 0; pass < 2; ++pass) {
    for (std::size_t i = 0; i < paths.size(); ++i) {
      auto f = cache.Get(keys[i], paths[i]);
      ASSERT_TRUE(f.ok()) << f.status().ToString();
      EXPECT_EQ(ReadAll(**f), "content " + std::to_string(i));
      EXPECT_LE(env.open_files(), 8U);
    }
  }
  EXPECT_EQ(cache.size(), 8U);
  EXPECT_EQ(env.open_files(), 8U);
  // Round robin over 40 files with room for 8: every Get of the second pass reopened.
  EXPECT_EQ(cache.stats().opens, 80U);
  EXPECT_EQ(cache.stats().evictions, 72U);
  // The most recently used are still open.
  ASSERT_TRUE(cache.Get(keys.back(), paths.back()).ok());
  EXPECT_EQ(cache.stats().hits, 1U);
  EXPECT_EQ(cache.stats().opens, 80U);
}

TEST(FileCache, AFileHeldByACallerStaysOpenAfterEvictionAndEraseClosesIt) {
  TempDir dir;
  auto paths = MakeFiles(dir, 10);
  FaultEnv env;
  FileCache cache(env, 2);
  std::vector<std::uint64_t> keys;
  for (std::size_t i = 0; i < paths.size(); ++i) keys.push_back(FileCache::NewKey());
  auto got = cache.Get(keys[0], paths[0]);
  ASSERT_TRUE(got.ok());
  std::shared_ptr<File> held = *got;
  got = Status(Code::kIoError, "unused");
  for (std::size_t i = 1; i < paths.size(); ++i) ASSERT_TRUE(cache.Get(keys[i], paths[i]).ok());
  EXPECT_EQ(ReadAll(*held), "content 0");  // evicted, still open for its holder
  EXPECT_EQ(env.open_files(), 3U);
  held.reset();
  EXPECT_EQ(env.open_files(), 2U);
  cache.Erase(keys[9]);
  cache.Erase(keys[8]);
  EXPECT_EQ(cache.size(), 0U);
  EXPECT_EQ(env.open_files(), 0U);
}

TEST(FileCache, GivesBackFilesAndRetriesWhenTheProcessIsOutOfDescriptors) {
  // A capacity above what the limit allows (as when sockets took the rest): an open that
  // fails closes cached files and tries again, instead of failing the caller.
  TempDir dir;
  auto paths = MakeFiles(dir, 30);
  FaultEnv env;
  env.LimitOpenFiles(6);
  FileCache cache(env, 16);
  std::vector<std::uint64_t> keys;
  for (std::size_t i = 0; i < paths.size(); ++i) keys.push_back(FileCache::NewKey());
  for (int pass = 0; pass < 3; ++pass) {
    for (std::size_t i = 0; i < paths.size(); ++i) {
      auto f = cache.Get(keys[i], paths[i]);
      ASSERT_TRUE(f.ok()) << "pass " << pass << " file " << i << ": " << f.status().ToString();
      EXPECT_EQ(ReadAll(**f), "content " + std::to_string(i));
    }
  }
  EXPECT_LE(env.peak_open_files(), 6U);
  // When nothing can be given back, the error reaches the caller.
  FileCache empty(env, 4);
  env.HoldFiles(6);
  auto f = empty.Get(FileCache::NewKey(), paths[0]);
  EXPECT_FALSE(f.ok());
}

class DiskStorageFdTest : public ::testing::Test {
 protected:
  DiskOptions Options() {
    DiskOptions o;
    o.dir = dir_.str();
    o.env = &env_;
    o.segment_bytes = 32;  // every flush after the first record rolls a new segment
    o.index_interval_bytes = 64;
    o.flush_threads = 2;
    o.max_open_files = 16;
    o.fsync = fsync_;
    o.open_lazily = lazy_;
    o.events = [this](Severity, const std::string& line) {
      std::lock_guard lock(events_mu_);
      events_.push_back(line);
    };
    return o;
  }
  void Open(std::vector<std::string>* report = nullptr) {
    storage_.reset();
    auto s = OpenDiskStorage(Options(), report);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    storage_ = std::move(s).value();
  }
  // Every record of `log`, in order.
  std::vector<std::string> ReadLog(const Log& log) {
    std::vector<std::string> out;
    auto r = log.Read(Offset{0}, 1000, [&](const RecordView& v) {
      out.emplace_back(v.data);
      return true;
    });
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return out;
  }
  // Appends record `round` to every log without waiting, then waits for all: one flush cycle
  // sees many dirty logs at once.
  void AppendToAll(const std::vector<std::shared_ptr<Log>>& logs, int round) {
    std::vector<AppendResult> appended;
    for (std::size_t i = 0; i < logs.size(); ++i) {
      const std::string data = "log " + std::to_string(i) + " record " + std::to_string(round);
      const AppendRecord rec{"k", "", data};
      auto r = logs[i]->Append({&rec, 1}, 1000 + round);
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      appended.push_back(*r);
    }
    for (std::size_t i = 0; i < logs.size(); ++i) {
      Status st = logs[i]->WaitDurable(appended[i]);
      ASSERT_TRUE(st.ok()) << "log " << i << ": " << st.ToString();
    }
  }

  TempDir dir_;
  FaultEnv env_;
  bool fsync_ = true;
  bool lazy_ = false;
  std::mutex events_mu_;
  std::vector<std::string> events_;
  std::unique_ptr<Storage> storage_;
};

bool AnyContains(const std::vector<std::string>& lines, const std::string& what) {
  for (const auto& l : lines) {
    if (l.find(what) != std::string::npos) return true;
  }
  return false;
}

// After a clean shutdown the logs are opened when first used: a start touches no log's files
// (a 10,000-shard restart took 0.4-0.6 s, most of it reading each log's directory and
// segment header). Retention does not open an idle log. After a crash (no CLEAN marker),
// every log is recovered at start, its findings in the report.
TEST_F(DiskStorageFdTest, AfterACleanShutdownLogsAreOpenedOnFirstUse) {
  constexpr int kLogs = 40;
  lazy_ = true;
  ASSERT_NO_FATAL_FAILURE(Open());
  std::vector<std::shared_ptr<Log>> logs;
  for (int i = 0; i < kLogs; ++i) logs.push_back(*storage_->CreateLog(LogId{i + 1ULL}, ""));
  AppendToAll(logs, 0);
  logs.clear();
  ASSERT_NO_FATAL_FAILURE(Open());           // clean shutdown, then a lazy start
  EXPECT_FALSE(fs::exists(dir_ / "CLEAN"));  // used once
  EXPECT_EQ(env_.open_files(), 0U);
  EXPECT_EQ(storage_->ListLogs().size(), static_cast<std::size_t>(kLogs));
  for (int i = 0; i < kLogs; ++i) storage_->FindLog(LogId{i + 1ULL})->TrimBefore(1);
  EXPECT_EQ(env_.open_files(), 0U);  // retention opened nothing
  // Only the log used is opened; it reads and appends as ever.
  auto log = storage_->FindLog(LogId{3});
  EXPECT_EQ(ReadLog(*log), std::vector<std::string>{"log 2 record 0"});
  EXPECT_GE(env_.open_files(), 1U);
  EXPECT_LE(env_.open_files(), 2U);
  AppendToAll({log}, 1);
  log.reset();
  ASSERT_NO_FATAL_FAILURE(Open());  // a log never opened keeps its checkpoint and records
  for (int i = 0; i < kLogs; ++i) {
    EXPECT_EQ(ReadLog(*storage_->FindLog(LogId{i + 1ULL})).size(), i == 2 ? 2U : 1U) << i;
  }
  storage_.reset();
  // Torn bytes after the last record of log 5's active segment.
  std::string active;
  for (const auto& e : fs::directory_iterator(dir_ / "logs/0000000000000005")) {
    if (e.path().extension() == ".log") active = std::max(active, e.path().string());
  }
  ASSERT_FALSE(active.empty());
  { std::ofstream(active, std::ios::app) << "torn"; }
  // Clean marker present: found when the log is first used, reported through the events.
  std::vector<std::string> report;
  ASSERT_NO_FATAL_FAILURE(Open(&report));
  EXPECT_FALSE(AnyContains(report, "torn"));
  EXPECT_EQ(ReadLog(*storage_->FindLog(LogId{5})).size(), 1U);
  {
    std::lock_guard lock(events_mu_);
    EXPECT_TRUE(AnyContains(events_, "torn write")) << ::testing::PrintToString(events_);
  }
  storage_.reset();
  // No marker (as after a crash): every log is recovered at start.
  { std::ofstream(active, std::ios::app) << "torn"; }
  fs::remove(dir_ / "CLEAN");
  report.clear();
  ASSERT_NO_FATAL_FAILURE(Open(&report));
  EXPECT_TRUE(AnyContains(report, "torn write")) << ::testing::PrintToString(report);
  EXPECT_GT(env_.open_files(), 0U);
}

// Creating N logs at once costs O(1) syncs, not four per log (each log's descriptor, segment
// header and directory, and logs/): a 10,000-shard stream took 148 s to create, all of it in
// syncs. The batch is durable when CreateLogs returns: a power loss then keeps every log.
TEST_F(DiskStorageFdTest, CreatingABatchOfLogsSyncsOnceForAllOfThem) {
  constexpr int kLogs = 200;
  ASSERT_NO_FATAL_FAILURE(Open());
  std::vector<NewLog> batch;
  for (int i = 0; i < kLogs; ++i)
    batch.push_back({LogId{i + 1ULL}, "descriptor " + std::to_string(i)});
  const std::uint64_t dirs = env_.dir_syncs(), files = env_.file_syncs(), fss = env_.fs_syncs();
  auto made = storage_->CreateLogs(batch);
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  ASSERT_EQ(made->size(), static_cast<std::size_t>(kLogs));
  EXPECT_EQ(env_.fs_syncs() - fss, 1U);
  EXPECT_EQ(env_.dir_syncs() - dirs, 0U);
  EXPECT_EQ(env_.file_syncs() - files, 0U);
  // An id taken, or repeated: refused before anything is made.
  EXPECT_EQ(storage_->CreateLogs(batch).status().code(), Code::kResourceInUse);
  std::vector<NewLog> twice{{LogId{1000}, ""}, {LogId{1000}, ""}};
  EXPECT_EQ(storage_->CreateLogs(twice).status().code(), Code::kResourceInUse);
  EXPECT_EQ(storage_->FindLog(LogId{1000}), nullptr);
  AppendToAll(*made, 0);
  made->clear();
  storage_.reset();
  env_.DropUnsyncedData();  // power loss after the batch returned
  ASSERT_NO_FATAL_FAILURE(Open());
  EXPECT_EQ(storage_->ListLogs().size(), static_cast<std::size_t>(kLogs));
  for (int i = 0; i < kLogs; ++i) {
    const LogId id{i + 1ULL};
    auto d = storage_->Descriptor(id);
    ASSERT_TRUE(d.ok()) << i << ": " << d.status().ToString();
    EXPECT_EQ(*d, "descriptor " + std::to_string(i));
    ASSERT_NE(storage_->FindLog(id), nullptr) << i;
    EXPECT_EQ(ReadLog(*storage_->FindLog(id)).size(), 1U) << i;
  }
}

// A batch of N logs whose descriptors are made on demand (NewLog::make_descriptor) asks for
// each one only as its log is written, so that it never holds N descriptors at once (a
// 10,000-shard CreateStream's descriptors took 7 MB, and the heap they fragmented stayed).
TEST_F(DiskStorageFdTest, ABatchMakesEachDescriptorAsItsLogIsWritten) {
  constexpr int kLogs = 20;
  ASSERT_NO_FATAL_FAILURE(Open());
  auto descriptor_path = [&](int i) {
    return fs::path(dir_.str()) / "logs" / format::LogDirName(LogId{i + 1ULL}) / "DESCRIPTOR";
  };
  int made = 0;
  std::vector<NewLog> batch;
  for (int i = 0; i < kLogs; ++i) {
    batch.emplace_back(LogId{i + 1ULL}, [&, i] {
      EXPECT_EQ(made, i) << "descriptors asked for out of order";
      if (i > 0) {
        EXPECT_TRUE(fs::exists(descriptor_path(i - 1))) << "log " << i - 1 << " not written yet";
      }
      EXPECT_FALSE(fs::exists(descriptor_path(i).parent_path())) << "log " << i << " already made";
      ++made;
      return "descriptor " + std::to_string(i);
    });
  }
  auto logs = storage_->CreateLogs(batch);
  ASSERT_TRUE(logs.ok()) << logs.status().ToString();
  EXPECT_EQ(made, kLogs);
  for (int i = 0; i < kLogs; ++i) {
    auto d = storage_->Descriptor(LogId{i + 1ULL});
    ASSERT_TRUE(d.ok()) << i << ": " << d.status().ToString();
    EXPECT_EQ(*d, "descriptor " + std::to_string(i));
  }
}

// A batch whose sync failed (or that a crash interrupted before it) leaves at most empty logs,
// which a restart opens as such (the engine removes those no stream refers to).
TEST_F(DiskStorageFdTest, ABatchCutByAPowerLossBeforeItsSyncLeavesOnlyEmptyLogs) {
  ASSERT_NO_FATAL_FAILURE(Open());
  std::vector<NewLog> batch;
  for (int i = 0; i < 20; ++i) batch.push_back({LogId{i + 1ULL}, "descriptor"});
  env_.FailSyncs(true);
  EXPECT_FALSE(storage_->CreateLogs(batch).ok());
  env_.FailSyncs(false);
  storage_.reset();
  env_.DropUnsyncedData();
  ASSERT_NO_FATAL_FAILURE(Open());
  for (auto id : storage_->ListLogs()) {
    auto log = storage_->FindLog(id);
    ASSERT_NE(log, nullptr);
    EXPECT_EQ(log->EndOffset().value, 0U) << id.value;
  }
  // The ids can be created again.
  auto again = storage_->CreateLogs(batch);
  EXPECT_TRUE(again.ok() || again.status().code() == Code::kResourceInUse);
}

// Without fsync (--fsync never) creating and dropping logs syncs nothing, as appending does
// not: such a storage survives process crashes only.
TEST_F(DiskStorageFdTest, WithoutFsyncCreatingAndDroppingLogsSyncsNothing) {
  fsync_ = false;
  ASSERT_NO_FATAL_FAILURE(Open());
  const std::uint64_t dirs = env_.dir_syncs(), files = env_.file_syncs(), fss = env_.fs_syncs();
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(storage_->CreateLog(LogId{i + 1ULL}, "d").ok());
  std::vector<NewLog> batch;
  for (int i = 10; i < 30; ++i) batch.push_back({LogId{i + 1ULL}, "d"});
  ASSERT_TRUE(storage_->CreateLogs(batch).ok());
  ASSERT_TRUE(storage_->DropLog(LogId{1}).ok());
  EXPECT_EQ(env_.dir_syncs() - dirs, 0U);
  EXPECT_EQ(env_.file_syncs() - files, 0U);
  EXPECT_EQ(env_.fs_syncs() - fss, 0U);
  ASSERT_NO_FATAL_FAILURE(Open());  // a restart (no power loss) finds them all
  EXPECT_EQ(storage_->ListLogs().size(), 29U);
}

// A lazily opened log whose recovery fails says so once, reads as empty and refuses every
// append (not only the first).
TEST_F(DiskStorageFdTest, ALazyLogThatCannotBeOpenedRefusesAppends) {
  lazy_ = true;
  ASSERT_NO_FATAL_FAILURE(Open());
  ASSERT_TRUE(storage_->CreateLog(LogId{7}, "").ok());
  ASSERT_NO_FATAL_FAILURE(Open());
  fs::remove_all(dir_ / "logs/0000000000000007");
  auto log = storage_->FindLog(LogId{7});
  ASSERT_NE(log, nullptr);
  const AppendRecord rec{"k", "", "x"};
  EXPECT_FALSE(log->Append({&rec, 1}, 1).ok());
  EXPECT_FALSE(log->Append({&rec, 1}, 1).ok());
  EXPECT_FALSE(log->Read(Offset{0}, 10, [](const RecordView&) { return true; }).ok());
  EXPECT_EQ(log->EndOffset().value, 0U);
  std::lock_guard lock(events_mu_);
  EXPECT_TRUE(AnyContains(events_, "cannot be opened")) << ::testing::PrintToString(events_);
}

// CreateStream makes its shards' logs in one batch: one sync for 100 shards.
TEST_F(DiskStorageFdTest, CreateStreamSyncsOnceForAllItsShards) {
  env_.LimitOpenFiles(1'000'000);
  ASSERT_NO_FATAL_FAILURE(Open());
  engine::EngineOptions eo;
  eo.create_stream_ms = 0;
  eo.shard_limit = 1000;
  engine::Engine e(eo, std::move(storage_));
  ASSERT_TRUE(e.Load(nullptr).ok());
  const std::uint64_t dirs = env_.dir_syncs(), files = env_.file_syncs(), fss = env_.fs_syncs();
  ASSERT_TRUE(e.CreateStream({"big", 100, std::nullopt, {}, std::nullopt, std::nullopt}).ok());
  EXPECT_EQ(env_.fs_syncs() - fss, 1U);
  EXPECT_LE(env_.dir_syncs() - dirs + env_.file_syncs() - files, 2U);
}

TEST_F(DiskStorageFdTest, ManyLogsAreWrittenRestartedAndReadUnderALowOpenFileLimit) {
  // 300 logs, three segments each by the end, under a limit of 40 open files: far fewer
  // descriptors than logs (the server's case: 10,000 streams under nofile 1024).
  constexpr int kLogs = 300;
  constexpr std::uint64_t kLimit = 40;
  env_.LimitOpenFiles(kLimit);
  ASSERT_NO_FATAL_FAILURE(Open());
  std::vector<std::shared_ptr<Log>> logs;
  for (int i = 0; i < kLogs; ++i) {
    auto log = storage_->CreateLog(LogId{static_cast<std::uint64_t>(i + 1)}, "");
    ASSERT_TRUE(log.ok()) << i << ": " << log.status().ToString();
    logs.push_back(std::move(log).value());
  }
  AppendToAll(logs, 0);
  AppendToAll(logs, 1);
  logs.clear();
  ASSERT_NO_FATAL_FAILURE(Open());  // restart: recovery visits every log
  for (int i = 0; i < kLogs; ++i) logs.push_back(storage_->FindLog(LogId{i + 1ULL}));
  for (int i = 0; i < kLogs; ++i) {
    ASSERT_NE(logs[i], nullptr) << i;
    EXPECT_EQ(ReadLog(*logs[i]),
              (std::vector<std::string>{"log " + std::to_string(i) + " record 0",
                                        "log " + std::to_string(i) + " record 1"}));
  }
  AppendToAll(logs, 2);
  for (int i = 0; i < kLogs; ++i) {
    EXPECT_EQ(ReadLog(*logs[i]).size(), 3U) << i;
    EXPECT_EQ(logs[i]->OffsetAtTime(1001).value, 1U) << i;
  }
  // Trimming removes sealed segments and closes their files.
  for (auto& log : logs) log->TrimBefore(1002);
  for (int i = 0; i < kLogs; ++i) EXPECT_EQ(logs[i]->StartOffset().value, 2U) << i;
  // Never more open than the cache (16), the flushers' groups (2 x 2) and the one file a
  // reader, recovery or a new segment holds beyond them; the limit was never what stopped it.
  EXPECT_LE(env_.peak_open_files(), 16U + 2 * 2 + 2);
  EXPECT_LE(env_.open_files(), 16U);
}

TEST_F(DiskStorageFdTest, TrimmingAndDroppingCloseTheFilesTheyRemove) {
  // No descriptor may keep a removed file's space allocated.
  ASSERT_NO_FATAL_FAILURE(Open());
  auto log = storage_->CreateLog(LogId{7}, "");
  ASSERT_TRUE(log.ok());
  AppendToAll({*log}, 0);
  AppendToAll({*log}, 1);
  AppendToAll({*log}, 2);
  EXPECT_EQ(ReadLog(**log).size(), 3U);
  EXPECT_EQ(env_.open_files(), 3U);  // three segments, all cached
  (*log)->TrimBefore(1001);          // the first segment goes
  EXPECT_EQ((*log)->StartOffset().value, 1U);
  EXPECT_EQ(env_.open_files(), 2U);
  ASSERT_TRUE(storage_->DropLog(LogId{7}).ok());
  EXPECT_EQ(env_.open_files(), 0U);
}

// Far from the limit, creating streams does not count the open descriptors each time (the
// count lists /proc/self/fd: with 10,000 logs open, 30 ms per CreateStream, so creating 10,000
// streams took 156 s).
TEST_F(DiskStorageFdTest, CreatingManyStreamsFarFromTheLimitCountsDescriptorsRarely) {
  env_.LimitOpenFiles(1'000'000);
  ASSERT_NO_FATAL_FAILURE(Open());
  engine::EngineOptions eo;
  eo.create_stream_ms = 0;
  engine::Engine e(eo, std::move(storage_));
  ASSERT_TRUE(e.Load(nullptr).ok());
  const std::uint64_t before = env_.open_files_calls();
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(
        e.CreateStream({"s" + std::to_string(i), 1, std::nullopt, {}, std::nullopt, std::nullopt})
            .ok());
  }
  // Once per second at most (a slow machine may take a few seconds for 50 streams).
  EXPECT_LE(env_.open_files_calls() - before, 10U);
}

TEST_F(DiskStorageFdTest, ShardCreatingRequestsAreRefusedBeforeDescriptorsRunOut) {
  constexpr std::uint64_t kLimit = 200;
  env_.LimitOpenFiles(kLimit);
  ASSERT_NO_FATAL_FAILURE(Open());
  engine::EngineOptions eo;
  eo.create_stream_ms = 0;
  eo.update_stream_ms = 0;
  engine::Engine e(eo, std::move(storage_));
  ASSERT_TRUE(e.Load(nullptr).ok());
  ASSERT_TRUE(e.CreateStream({"a", 2, std::nullopt, {}, std::nullopt, std::nullopt}).ok());
  // What the storage may still need: its cache filling up (16) and the flushers' groups
  // (2 x 16/8); plus a reserve of 64. Sockets (held files) take the rest but one.
  const std::uint64_t need = (16 - env_.open_files()) + 2 * 2 + 64;
  env_.HoldFiles(kLimit - need - env_.open_files() + 1);
  const std::string refused =
      "This request would exceed the shard limit for the account 000000000000 in us-east-1. "
      "Current shard count for the account: 2. Limit: 2. Number of additional shards that "
      "would have resulted from this request: ";
  auto create = e.CreateStream({"b", 3, std::nullopt, {}, std::nullopt, std::nullopt});
  EXPECT_EQ(create.code(), Code::kLimitExceeded);
  EXPECT_EQ(create.message().rfind(refused + "3.", 0), 0U) << create.message();
  auto split = e.SplitShard({{"a", std::nullopt}, "shardId-000000000000", "12345"});
  EXPECT_EQ(split.code(), Code::kLimitExceeded);
  EXPECT_EQ(split.message().rfind(refused + "2.", 0), 0U) << split.message();
  auto merge = e.MergeShards({{"a", std::nullopt}, "shardId-000000000000", "shardId-000000000001"});
  EXPECT_EQ(merge.code(), Code::kLimitExceeded);
  auto scale = e.UpdateShardCount({{"a", std::nullopt}, 3, "UNIFORM_SCALING"});
  EXPECT_EQ(scale.status().code(), Code::kLimitExceeded);
  // Nothing was half done: no stream, and the writes of the existing one still work.
  EXPECT_EQ(e.ListStreams({})->stream_names.size(), 1U);
  const auto logs = fs::directory_iterator(dir_ / "logs");
  EXPECT_EQ(std::distance(fs::begin(logs), fs::end(logs)), 2);
  EXPECT_TRUE(e.PutRecord({{"a", std::nullopt}, "x", "pk", std::nullopt, std::nullopt}).ok());
  // One descriptor more and it fits again.
  env_.HoldFiles(kLimit - need - env_.open_files());
  EXPECT_TRUE(e.CreateStream({"b", 3, std::nullopt, {}, std::nullopt, std::nullopt}).ok());
  EXPECT_TRUE(e.SplitShard({{"a", std::nullopt}, "shardId-000000000000", "12345"}).ok());
}

TEST(MemoryStorage, BlocksGrowGeometricallySoIdleAndLightLogsCostLittle) {
  auto storage = NewMemoryStorage();
  std::vector<std::shared_ptr<Log>> logs;
  for (std::uint64_t i = 0; i < 1000; ++i) logs.push_back(*storage->CreateLog(LogId{i}, ""));
  const std::string data(100, 'd');
  const AppendRecord rec{"key", "", data};
  std::size_t total = 0;
  for (auto& log : logs) {
    EXPECT_EQ(log->ReservedBytes(), 0U);  // idle: nothing
    ASSERT_TRUE(log->Append({&rec, 1}, 1).ok());
    total += log->ReservedBytes();
  }
  // Written once: one first block each (4 KiB), not 4 MiB.
  EXPECT_EQ(logs[0]->ReservedBytes(), 4096U);
  EXPECT_EQ(total, 1000U * 4096U);
  // A busy log grows by doubling: reserved memory stays within about twice what it holds,
  // and blocks stop growing at 4 MiB.
  auto& busy = logs[1];
  std::size_t stored = 103;
  for (int i = 0; i < 200'000; ++i) {
    ASSERT_TRUE(busy->Append({&rec, 1}, 1).ok());
    stored += 103;
    const std::size_t reserved = busy->ReservedBytes();
    ASSERT_GE(reserved, stored) << i;
    // Doubling: the newest block is at most about as large as all before it together.
    ASSERT_LE(reserved, 3 * stored + 4096) << i;
    // Blocks stop growing at 4 MiB: at most one block's worth is spare (and the tails the
    // records did not fit into).
    if (stored > (8U << 20)) {
      ASSERT_LE(reserved, stored + (4U << 20) + (64U << 10)) << i;
    }
  }
  EXPECT_GT(stored, 16U << 20);
  // Large records get a block of their own; the data reads back intact.
  const std::string big(5 << 20, 'b');
  const AppendRecord large{"k", "", big};
  auto r = logs[2]->Append({&large, 1}, 1);
  ASSERT_TRUE(r.ok());
  std::string back;
  ASSERT_TRUE(logs[2]
                  ->Read(r->first, 1,
                         [&](const RecordView& v) {
                           back = std::string(v.data);
                           return true;
                         })
                  .ok());
  EXPECT_EQ(back, big);
}

// --in-memory --max-memory-bytes: records of three logs written in an interleaved order, each
// with its own arrival time. After every append, what the logs keep must fit the cap, be
// exactly the newest records (everything trimmed arrived before everything kept, whichever
// log it was in) and not much less than the cap.
TEST(MemoryStorage, CapTrimsTheOldestRecordsOfAllLogsFirstAndKeepsTheNewest) {
  constexpr std::uint64_t kCap = 20'000;
  constexpr std::uint64_t kPerRecord = 32;  // the index entry MemoryOptions documents
  auto storage = NewMemoryStorage(MemoryOptions{kCap});
  std::vector<std::shared_ptr<Log>> logs;
  for (std::uint64_t i = 0; i < 3; ++i) logs.push_back(*storage->CreateLog(LogId{i}, ""));
  struct Written {
    EpochMillis arrival;
    std::uint64_t cost;
  };
  std::vector<std::vector<Written>> written(3);
  std::uint64_t appended = 0;
  for (int i = 0; i < 600; ++i) {
    // Bursts on one log, then the others: runs of 1 to 9 appends per log; log 2 goes quiet
    // after the first 100 so that its records are old ones the other logs' appends must trim.
    std::size_t which = static_cast<std::size_t>((i / (1 + i % 9)) % 3);
    if (i >= 100 && which == 2) which = static_cast<std::size_t>(i % 2);
    const std::string data(40 + static_cast<std::size_t>(i % 7) * 30,
                           static_cast<char>('a' + i % 26));
    const std::string key = "key" + std::to_string(i);
    const AppendRecord rec{key, "", data};
    const EpochMillis arrival = 1000 + i;  // every record has its own arrival time
    auto r = logs[which]->Append({&rec, 1}, arrival);
    ASSERT_TRUE(r.ok());
    written[which].push_back({arrival, key.size() + data.size() + kPerRecord});
    appended += key.size() + data.size() + kPerRecord;

    // The newest record is kept and reads back intact.
    std::string back;
    ASSERT_TRUE(logs[which]
                    ->Read(r->first, 1,
                           [&](const RecordView& v) {
                             back = std::string(v.data);
                             return true;
                           })
                    .ok());
    ASSERT_EQ(back, data) << "the newest record was trimmed, at append " << i;

    std::uint64_t kept = 0;
    EpochMillis newest_trimmed = 0, oldest_kept = INT64_MAX;
    for (std::size_t l = 0; l < 3; ++l) {
      const std::uint64_t start = logs[l]->StartOffset().value;
      ASSERT_EQ(logs[l]->EndOffset().value, written[l].size());
      for (std::uint64_t o = 0; o < written[l].size(); ++o) {
        if (o < start) {
          newest_trimmed = std::max(newest_trimmed, written[l][o].arrival);
        } else {
          oldest_kept = std::min(oldest_kept, written[l][o].arrival);
          kept += written[l][o].cost;
        }
      }
    }
    ASSERT_LE(kept, kCap) << "the cap is not enforced, at append " << i;
    ASSERT_LT(newest_trimmed, oldest_kept) << "a newer record was trimmed before an older one, "
                                           << "at append " << i;
    // Trimmed only as much as needed: close to the cap (the queue's entries count too).
    if (appended > kCap) {
      ASSERT_GT(kept, kCap * 3 / 4) << i;
    }
  }
  // The quiet log's records were all older than the cap allows: all trimmed, none left.
  EXPECT_EQ(logs[2]->StartOffset(), logs[2]->EndOffset());
  EXPECT_GT(logs[0]->StartOffset().value, 0U);
}

TEST(MemoryStorage, WithoutACapNothingIsTrimmed) {
  auto storage = NewMemoryStorage();
  auto log = *storage->CreateLog(LogId{1}, "");
  const std::string data(1000, 'd');
  const AppendRecord rec{"k", "", data};
  for (int i = 0; i < 5000; ++i) ASSERT_TRUE(log->Append({&rec, 1}, i).ok());
  EXPECT_EQ(log->StartOffset().value, 0U);
  EXPECT_EQ(log->EndOffset().value, 5000U);
}

// The engine over a capped storage: readers see what retention would leave them (TRIM_HORIZON
// moves to the oldest kept record; an iterator at a trimmed sequence number or one taken
// before the trim starts there), across the shards of a stream.
TEST(MemoryStorageCap, TrimmedRecordsAreAsExpiredToReadersOfEveryShard) {
  ManualClock clock;
  engine::EngineOptions o;
  o.clock = &clock;
  o.create_stream_ms = 0;
  // 100-byte records with a 1-byte key and an explicit hash key ("0" for shard 0, 39 digits
  // for shard 1): 134 and 172 bytes counted, with a 32-byte index entry each.
  engine::Engine e(o, NewMemoryStorage(MemoryOptions{4000}));
  ASSERT_TRUE(e.CreateStream({"s", 2, std::nullopt, {}, std::nullopt, std::nullopt}).ok());
  const std::string shard0 = "shardId-000000000000", shard1 = "shardId-000000000001";
  auto put = [&](int i, const std::string& hash_key) {
    clock.Advance(1);
    auto r = e.PutRecord({{"s", std::nullopt},
                          std::string(99, 'x') + static_cast<char>('0' + i % 10),
                          "k",
                          hash_key,
                          std::nullopt});
    EXPECT_TRUE(r.ok());
    return r.ok() ? r->sequence_number : std::string();
  };
  auto iterator = [&](const std::string& shard, api::ShardIteratorType t,
                      std::optional<std::string> seq = std::nullopt) {
    auto r = e.GetShardIterator({{"s", std::nullopt}, shard, t, std::move(seq), std::nullopt});
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? r->shard_iterator : std::string();
  };
  auto first_seq = [&](const std::string& it) {
    auto got = e.GetRecords({it, std::nullopt, std::nullopt});
    EXPECT_TRUE(got.ok());
    return got.ok() && !got->records.empty() ? got->records[0].sequence_number : std::string();
  };
  // Shard 0 first (the older records), then shard 1 until the cap is passed.
  std::vector<std::string> seq0, seq1;
  for (int i = 0; i < 20; ++i) seq0.push_back(put(i, "0"));
  const std::string before = iterator(shard0, api::ShardIteratorType::kTrimHorizon);
  for (int i = 0; i < 20; ++i) seq1.push_back(put(i, "340282366920938463463374607431768211455"));
  // 40 records do not fit: shard 0's oldest went, shard 1 kept all of its newer records.
  EXPECT_EQ(first_seq(iterator(shard1, api::ShardIteratorType::kTrimHorizon)), seq1[0]);
  const std::string horizon0 = first_seq(iterator(shard0, api::ShardIteratorType::kTrimHorizon));
  ASSERT_NE(horizon0, seq0[0]);
  const auto kept = std::find(seq0.begin(), seq0.end(), horizon0);
  ASSERT_NE(kept, seq0.end());
  // 17 of shard 0's: 2 queue entries (48) + 3 * 134 + 20 * 172 = 3890 fit, one more does not.
  EXPECT_EQ(kept - seq0.begin(), 17);
  // An iterator taken before the trim, and one at a trimmed sequence number, start there.
  EXPECT_EQ(first_seq(before), horizon0);
  EXPECT_EQ(first_seq(iterator(shard0, api::ShardIteratorType::kAtSequenceNumber, seq0[0])),
            horizon0);
  EXPECT_EQ(first_seq(iterator(shard0, api::ShardIteratorType::kAfterSequenceNumber, seq0[0])),
            horizon0);
  // Writing on: shard 0's records all go before any of shard 1's; then 24 + 23 * 172 fit.
  for (int i = 0; i < 15; ++i) put(i, "340282366920938463463374607431768211455");
  EXPECT_EQ(first_seq(iterator(shard0, api::ShardIteratorType::kTrimHorizon)), "");
  EXPECT_EQ(first_seq(iterator(shard1, api::ShardIteratorType::kTrimHorizon)), seq1[12]);
}

}  // namespace
}  // namespace cinesis::storage
