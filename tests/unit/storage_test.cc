// The durable log: format, recovery from torn and corrupt tails, lost unsynced data,
// segment rolling, time seeks, retention; named after the behaviour they pin down.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <thread>

#include "common/crc32c.h"
#include "fault_env.h"
#include "storage/disk_storage_impl.h"
#include "storage/log.h"
#include "storage/segment_format.h"

namespace cinesis::storage {
namespace {

namespace fs = std::filesystem;

TEST(Crc32c, KnownVectors) {
  EXPECT_EQ(Crc32c(""), 0U);
  EXPECT_EQ(Crc32c("123456789"), 0xE3069283U);
  std::string zeros(32, '\0');
  EXPECT_EQ(Crc32c(zeros), 0x8A9136AAU);
  // Incremental equals one shot.
  EXPECT_EQ(Crc32c(Crc32c(0, "12345", 5), "6789", 4), 0xE3069283U);
}

TEST(SegmentFormat, FileNamesAreBuiltAndParsedByOnePair) {
  for (std::uint64_t base : {0ULL, 1ULL, 1234567ULL, 18446744073709551615ULL}) {
    for (auto kind : {format::FileKind::kSegment, format::FileKind::kIndex}) {
      auto name = format::FileName(Offset{base}, kind);
      EXPECT_EQ(name.size(), 24U);
      auto parsed = format::ParseFileName(name);
      ASSERT_TRUE(parsed.has_value()) << name;
      EXPECT_EQ(parsed->base.value, base);
      EXPECT_EQ(parsed->kind, kind);
    }
  }
  EXPECT_EQ(format::FileName(Offset{42}, format::FileKind::kSegment), "00000000000000000042.log");
  for (std::string_view bad : {"", "0.log", "0000000000000000004x.log", "00000000000000000042.tmp",
                               "00000000000000000042.log.tmp", "../0000000000000000042.log"}) {
    EXPECT_FALSE(format::ParseFileName(bad).has_value()) << bad;
  }
  EXPECT_EQ(format::ParseLogDirName(format::LogDirName(LogId{0x100000003}))->value, 0x100000003U);
  EXPECT_FALSE(format::ParseLogDirName("..").has_value());
  EXPECT_FALSE(format::ParseLogDirName("000000010000000G").has_value());
}

TEST(SegmentFormat, FramesRoundTripAndDetectDamage) {
  std::string buf;
  const std::string data("da\0ta", 5);  // AppendRecord holds views: keep the bytes alive
  AppendRecord r{"key", "123", data};
  format::AppendFrame(buf, 7, 1'700'000'000'123, r);
  ASSERT_EQ(buf.size(), format::FrameSize(r));
  format::DecodedFrame f;
  ASSERT_EQ(format::DecodeFrame(buf, f), format::FrameStatus::kOk);
  EXPECT_EQ(f.record.offset.value, 7U);
  EXPECT_EQ(f.record.arrival_ms, 1'700'000'000'123);
  EXPECT_EQ(f.record.key, "key");
  EXPECT_EQ(f.record.explicit_key, "123");
  EXPECT_EQ(f.record.data, std::string("da\0ta", 5));
  for (std::size_t cut = 0; cut < buf.size(); ++cut) {
    EXPECT_EQ(format::DecodeFrame(std::string_view(buf).substr(0, cut), f),
              format::FrameStatus::kIncomplete)
        << cut;
  }
  for (std::size_t i = 8; i < buf.size(); ++i) {
    std::string bad = buf;
    bad[i] = static_cast<char>(bad[i] ^ 0x10);
    EXPECT_EQ(format::DecodeFrame(bad, f), format::FrameStatus::kCorrupt) << i;
  }
}

TEST(SegmentFormat, WorkedExampleOfTheDocsIsExact) {
  // docs/storage-format.md, "Worked example".
  std::string seg = format::SegmentHeader(Offset{0});
  format::AppendFrame(seg, 0, 1'700'000'000'000, AppendRecord{"k", "", "hi"});
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned char c : seg) {
    hex += kHex[c >> 4];
    hex += kHex[c & 15];
  }
  EXPECT_EQ(hex,
            "434e5353454730310000000000000000"
            "1b0000005bdc03ee"
            "0000000000000000"
            "0068e5cf8b010000"
            "0100000002000000"
            "6b6869");
}

TEST(SegmentFormat, IndexFilesVerifyTheirChecksum) {
  format::SealedIndex idx{{{0, 16, 5}, {100, 70000, 9}}, 200, 140000, 5, 12};
  auto bytes = format::EncodeIndex(idx);
  auto back = format::DecodeIndex(bytes);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->entries.size(), 2U);
  EXPECT_EQ(back->entries[1].position, 70000U);
  EXPECT_EQ(back->end_offset, 200U);
  bytes[10] ^= 1;
  EXPECT_FALSE(format::DecodeIndex(bytes).has_value());
}

class DiskLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("cinesis-storage-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
  }
  void TearDown() override {
    // A test that failed while it held the disk must not hang the storage's close.
    env_.HoldSyncs(false);
    env_.HoldWrites(false);
    storage_.reset();
    fs::remove_all(dir_);
  }
  DiskOptions Options() {
    DiskOptions o;
    o.dir = dir_.string();
    o.env = &env_;
    o.segment_bytes = segment_bytes_;
    o.index_interval_bytes = index_interval_bytes_;
    o.preallocate_bytes = preallocate_bytes_;
    o.cached_tail_bytes = cached_tail_bytes_;
    o.flush_threads = 2;
    o.fsync = fsync_;
    o.events = [this](Severity severity, const std::string& text) {
      std::lock_guard lock(events_mu_);
      events_.emplace_back(severity, text);
    };
    return o;
  }
  // Error-level events that mention every string of `words`.
  int Errors(std::initializer_list<std::string> words) {
    std::lock_guard lock(events_mu_);
    int n = 0;
    for (const auto& [severity, text] : events_) {
      if (severity != Severity::kError) continue;
      bool all = true;
      for (const auto& w : words) all &= text.find(w) != std::string::npos;
      n += all;
    }
    return n;
  }
  std::vector<fs::path> Quarantined() {
    std::vector<fs::path> out;
    if (!fs::exists(dir_ / "quarantine")) return out;
    for (const auto& e : fs::directory_iterator(dir_ / "quarantine")) out.push_back(e.path());
    return out;
  }
  // Appends one record and returns its durability verdict.
  Status PutOne(Log& log, const std::string& data, AppendResult* result = nullptr) {
    AppendRecord r{"k", "", data};
    auto a = log.Append({&r, 1}, 1000);
    if (!a.ok()) return a.status();
    if (result) *result = *a;
    return log.WaitDurable(*a);
  }
  void Open() {
    storage_.reset();
    report_.clear();
    auto s = OpenDiskStorage(Options(), &report_);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    storage_ = std::move(s).value();
  }
  // Appends `n` records "r<i>" one call each and waits for durability.
  void Put(Log& log, int from, int n, EpochMillis arrival = 1000) {
    for (int i = from; i < from + n; ++i) {
      std::string data =
          "record-" + std::to_string(i) + std::string(static_cast<std::size_t>(i % 50), 'x');
      std::string key = "k" + std::to_string(i % 7);
      AppendRecord r{key, "", data};
      auto a = log.Append({&r, 1}, arrival);
      ASSERT_TRUE(a.ok());
      ASSERT_EQ(a->first.value, static_cast<std::uint64_t>(i));
      ASSERT_TRUE(log.WaitDurable(*a).ok());
    }
  }
  std::vector<std::string> ReadAll(const Log& log, std::uint64_t from = 0) {
    std::vector<std::string> out;
    auto r = log.Read(Offset{from}, 1'000'000, [&](const RecordView& v) {
      EXPECT_EQ(v.offset.value, from + out.size());
      out.emplace_back(v.data);
      return true;
    });
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return out;
  }
  std::string CheckpointPath(std::uint64_t base = 0) {
    return (dir_ / "logs" / format::LogDirName(LogId{1}) /
            format::FileName(Offset{base}, format::FileKind::kCheckpoint))
        .string();
  }
  std::string SegmentPath(std::uint64_t base = 0) {
    return (dir_ / "logs" / format::LogDirName(LogId{1}) /
            format::FileName(Offset{base}, format::FileKind::kSegment))
        .string();
  }
  // Replaces the first segment's bytes (the storage stopped), as a crash or damage left them,
  // and has the next start recover it as after a crash (no checkpoint, no CLEAN).
  static void RewriteSegment(const std::string& path, std::string_view bytes) {
    auto f = Env::Posix().Open(path, false);
    ASSERT_TRUE(f.ok());
    ASSERT_TRUE((*f)->Truncate(0).ok());
    ASSERT_TRUE((*f)->Append(bytes).ok());
  }
  void AsAfterACrash() {
    fs::remove(CheckpointPath());
    fs::remove(dir_ / "CLEAN");
  }
  // 300 records put with preallocation in 4 KiB chunks; the first segment's bytes as they are
  // while the server runs (records, then zeros written ahead of them). The storage is stopped.
  std::string RunningSegmentWithZeros() {
    preallocate_bytes_ = 4096;
    Open();
    {
      auto log = std::move(storage_->CreateLog(LogId{1}, "")).value();
      Put(*log, 0, 300);
    }
    std::string bytes = *Env::Posix().ReadFile(SegmentPath());
    storage_.reset();
    return bytes;
  }

  fs::path dir_;
  testing::FaultEnv env_;
  std::uint64_t segment_bytes_ = 1 << 20;
  bool fsync_ = true;
  std::uint64_t index_interval_bytes_ = 256;
  std::uint64_t preallocate_bytes_ = DiskOptions{}.preallocate_bytes;
  std::uint64_t cached_tail_bytes_ = DiskOptions{}.cached_tail_bytes;
  std::unique_ptr<Storage> storage_;
  std::vector<std::string> report_;
  std::mutex events_mu_;
  std::vector<std::pair<Severity, std::string>> events_;
};

TEST_F(DiskLogTest, RecordsSurviveReopen) {
  Open();
  auto log = storage_->CreateLog(LogId{1}, "");
  ASSERT_TRUE(log.ok());
  Put(**log, 0, 100);
  EXPECT_EQ(ReadAll(**log).size(), 100U);
  log->reset();
  Open();
  auto again = storage_->FindLog(LogId{1});
  ASSERT_TRUE(again);
  auto all = ReadAll(*again);
  ASSERT_EQ(all.size(), 100U);
  EXPECT_EQ(all[42], "record-42" + std::string(42, 'x'));
  EXPECT_EQ(again->EndOffset().value, 100U);
  EXPECT_TRUE(report_.empty());
  // Offsets continue after a restart.
  Put(*again, 100, 5);
  EXPECT_EQ(ReadAll(*again, 98).size(), 7U);
}

// Back-pressure: an appender waits while 64 MiB are queued behind a stalled sync, and goes on
// once the flusher takes the queue (the wait's condition variable is made by the first
// appender that has to wait; an idle log has none).
TEST_F(DiskLogTest, AnAppenderHeldBy64MiBQueuedGoesOnOnceTheDiskDoes) {
  segment_bytes_ = 1ULL << 30;
  Open();
  auto log = storage_->CreateLog(LogId{1}, "");
  ASSERT_TRUE(log.ok());
  env_.HoldSyncs(true);
  const std::string data(1 << 20, 'd');
  // More than the 64 MiB queue plus the batch held in its sync: the writer must wait.
  constexpr int kRecords = 160;
  std::atomic<int> appended{0};
  std::vector<AppendResult> results(kRecords);
  std::thread writer([&] {
    for (int i = 0; i < kRecords; ++i) {
      AppendRecord r{"k", "", data};
      auto a = (*log)->Append({&r, 1}, 1000);
      ASSERT_TRUE(a.ok()) << a.status().ToString();
      results[static_cast<std::size_t>(i)] = *a;
      appended.fetch_add(1);
    }
  });
  while (appended.load() < 64) std::this_thread::yield();
  EXPECT_LT(appended.load(), kRecords);  // cannot all be queued while the sync is held
  env_.HoldSyncs(false);
  writer.join();
  ASSERT_EQ(appended.load(), kRecords);
  EXPECT_TRUE((*log)->WaitDurable(results.back()).ok());
  EXPECT_EQ((*log)->EndOffset().value, static_cast<std::uint64_t>(kRecords));
}

// Regression: Shutdown (DropLog, QuarantineLog, the storage closing) did not wake an appender
// held by the back-pressure, so a stream deleted while its disk was slow left that writer
// (an I/O thread) waiting for ever.
TEST_F(DiskLogTest, AnAppenderHeldBy64MiBQueuedFailsWhenTheLogIsDropped) {
  segment_bytes_ = 1ULL << 30;
  Open();
  auto log = storage_->CreateLog(LogId{1}, "");
  ASSERT_TRUE(log.ok());
  env_.HoldSyncs(true);
  const std::string data(1 << 20, 'd');
  std::atomic<int> appended{0};
  Status failed;
  std::thread writer([&, l = *log] {
    for (int i = 0; i < 1000; ++i) {
      AppendRecord r{"k", "", data};
      auto a = l->Append({&r, 1}, 1000);
      if (!a.ok()) {
        failed = a.status();
        return;
      }
      appended.fetch_add(1);
    }
  });
  // Held: 64 MiB queued behind the batch in the held sync, and no progress for a while.
  for (int seen = -1; seen != appended.load() || seen < 64;) {
    seen = appended.load();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_TRUE(storage_->DropLog(LogId{1}).ok());
  writer.join();  // hangs without the wake-up
  EXPECT_EQ(failed.code(), Code::kIoError) << failed.ToString();
  EXPECT_LT(appended.load(), 1000);
  env_.HoldSyncs(false);
}

TEST_F(DiskLogTest, SegmentsRollAndReadsSeekThroughTheSparseIndex) {
  segment_bytes_ = 4096;
  Open();
  auto log = std::move(storage_->CreateLog(LogId{1}, "")).value();
  Put(*log, 0, 600);
  std::size_t segments = 0;
  for (const auto& e : fs::directory_iterator(dir_ / "logs" / format::LogDirName(LogId{1}))) {
    segments += e.path().extension() == ".log";
  }
  EXPECT_GT(segments, 5U);
  for (std::uint64_t from : {0U, 1U, 77U, 299U, 599U}) {
    auto rest = ReadAll(*log, from);
    ASSERT_EQ(rest.size(), 600 - from);
    EXPECT_EQ(rest.front(), "record-" + std::to_string(from) + std::string(from % 50, 'x'));
  }
  log.reset();
  Open();  // sealed segments load their index files
  EXPECT_EQ(ReadAll(*storage_->FindLog(LogId{1}), 123).size(), 477U);
  EXPECT_TRUE(report_.empty());
}

TEST_F(DiskLogTest, TruncatedTailAtEveryOffsetKeepsExactlyTheCompleteRecords) {
  Open();
  {
    auto log = std::move(storage_->CreateLog(LogId{1}, "")).value();
    Put(*log, 0, 20);
  }
  storage_.reset();
  const std::string path = SegmentPath();
  const std::string original = *Env::Posix().ReadFile(path);
  // Where each record's frame ends.
  std::vector<std::uint64_t> ends;
  {
    std::uint64_t pos = format::kSegmentHeaderSize;
    format::DecodedFrame f;
    while (format::DecodeFrame(std::string_view(original).substr(pos), f) ==
           format::FrameStatus::kOk) {
      pos += f.size;
      ends.push_back(pos);
    }
    ASSERT_EQ(ends.size(), 20U);
  }
  const std::uint64_t tail_start = ends[ends.size() - 4];
  for (std::uint64_t cut = tail_start; cut <= original.size(); ++cut) {
    storage_.reset();  // its clean stop cuts the active segment back to what it holds
    {
      auto f = Env::Posix().Open(path, false);
      ASSERT_TRUE((*f)->Truncate(0).ok());
      ASSERT_TRUE((*f)->Append(std::string_view(original).substr(0, cut)).ok());
    }
    Open();
    auto log = storage_->FindLog(LogId{1});
    const auto expected =
        static_cast<std::size_t>(std::upper_bound(ends.begin(), ends.end(), cut) - ends.begin());
    EXPECT_EQ(ReadAll(*log).size(), expected) << "cut at " << cut;
    EXPECT_EQ(log->EndOffset().value, expected);
    EXPECT_EQ(report_.empty(), std::binary_search(ends.begin(), ends.end(), cut))
        << "cut at " << cut;
  }
}

TEST_F(DiskLogTest, FlippedBitCutsTheLogBeforeTheDamagedRecordAndNeverServesIt) {
  Open();
  {
    auto log = std::move(storage_->CreateLog(LogId{1}, "")).value();
    Put(*log, 0, 30);
  }
  storage_.reset();
  const std::string path = SegmentPath();
  const std::string original = *Env::Posix().ReadFile(path);
  std::mt19937 rng(7);
  for (int trial = 0; trial < 40; ++trial) {
    std::string damaged = original;
    std::size_t at =
        format::kSegmentHeaderSize + rng() % (original.size() - format::kSegmentHeaderSize);
    damaged[at] = static_cast<char>(damaged[at] ^ (1 << (rng() % 8)));
    {
      auto f = Env::Posix().Open(path, false);
      ASSERT_TRUE((*f)->Truncate(0).ok());
      ASSERT_TRUE((*f)->Append(damaged).ok());
    }
    // As after a crash: no clean-shutdown checkpoint, the whole active segment is scanned.
    storage_.reset();
    fs::remove(CheckpointPath());
    Open();
    auto all = ReadAll(*storage_->FindLog(LogId{1}));
    ASSERT_LT(all.size(), 30U) << "damage at byte " << at << " went unnoticed";
    for (std::size_t i = 0; i < all.size(); ++i) {
      EXPECT_EQ(all[i], "record-" + std::to_string(i) + std::string(i % 50, 'x'));
    }
    EXPECT_FALSE(report_.empty());
  }
}

TEST_F(DiskLogTest, CleanShutdownCheckpointSkipsTheScanAndStillNeverServesDamage) {
  Open();
  {
    auto log = std::move(storage_->CreateLog(LogId{1}, "")).value();
    Put(*log, 0, 300);
  }
  storage_.reset();  // clean shutdown: the active segment's index is checkpointed
  ASSERT_TRUE(fs::exists(CheckpointPath()));
  Open();
  EXPECT_FALSE(fs::exists(CheckpointPath())) << "a checkpoint is used once";
  EXPECT_TRUE(report_.empty());
  {
    auto log = storage_->FindLog(LogId{1});
    ASSERT_EQ(ReadAll(*log).size(), 300U);
    Put(*log, 300, 10);  // offsets continue
    ASSERT_EQ(ReadAll(*log).size(), 310U);
  }
  storage_.reset();
  // Damage inside the checkpointed part, well before the tail: the start does not scan
  // there, but reads stop at the damaged record with Corruption and never serve it.
  const std::string path = SegmentPath();
  std::string bytes = *Env::Posix().ReadFile(path);
  const std::size_t at = format::kSegmentHeaderSize + bytes.size() / 3;
  bytes[at] = static_cast<char>(bytes[at] ^ 0x10);
  {
    auto f = Env::Posix().Open(path, false);
    ASSERT_TRUE((*f)->Truncate(0).ok());
    ASSERT_TRUE((*f)->Append(bytes).ok());
  }
  Open();
  auto log = storage_->FindLog(LogId{1});
  ASSERT_TRUE(log);
  EXPECT_EQ(log->EndOffset().value, 310U);
  std::vector<std::string> served;
  auto r = log->Read(Offset{0}, 1'000'000, [&](const RecordView& v) {
    served.emplace_back(v.data);
    return true;
  });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kCorruption);
  ASSERT_LT(served.size(), 310U);
  for (std::size_t i = 0; i < served.size(); ++i) {
    EXPECT_EQ(served[i], "record-" + std::to_string(i) + std::string(i % 50, 'x'));
  }
  // Damage in the tail the start verifies: cut off and reported, as after a crash.
  storage_.reset();
  bytes = *Env::Posix().ReadFile(path);
  bytes[at] = static_cast<char>(bytes[at] ^ 0x10);  // repaired
  const std::size_t tail_at = bytes.size() - 3;
  bytes[tail_at] = static_cast<char>(bytes[tail_at] ^ 0x01);
  {
    auto f = Env::Posix().Open(path, false);
    ASSERT_TRUE((*f)->Truncate(0).ok());
    ASSERT_TRUE((*f)->Append(bytes).ok());
  }
  Open();
  EXPECT_FALSE(report_.empty());
  EXPECT_EQ(ReadAll(*storage_->FindLog(LogId{1})).size(), 309U);
}

TEST_F(DiskLogTest, LostUnsyncedDataLeavesEveryAcknowledgedRecord) {
  Open();
  auto log = std::move(storage_->CreateLog(LogId{1}, "")).value();
  Put(*log, 0, 50);  // acknowledged: synced
  // Then writes that reach the file but are never synced (no fsync storage would do).
  storage_.reset();
  log.reset();
  {
    auto f = env_.Open(SegmentPath(), false);
    std::string junk;
    format::AppendFrame(junk, 50, 1000, AppendRecord{"k", "", "never-acknowledged"});
    ASSERT_TRUE((*f)->Append(junk).ok());
  }
  env_.DropUnsyncedData();  // power loss
  Open();
  auto all = ReadAll(*storage_->FindLog(LogId{1}));
  EXPECT_EQ(all.size(), 50U);
}

// Preallocated space (docs/storage-format.md): with fsync, the active segment is extended
// with zeros ahead of its records. The end of the records in a segment file, and whether
// only zeros follow it.
struct FrameEnd {
  std::uint64_t end = 0;  // after the last frame that decodes
  std::size_t frames = 0;
  bool zeros_after = false;  // bytes follow, all zero
};
FrameEnd FramesIn(const std::string& bytes) {
  FrameEnd out;
  std::uint64_t pos = format::kSegmentHeaderSize;
  format::DecodedFrame f;
  while (format::DecodeFrame(std::string_view(bytes).substr(pos), f) == format::FrameStatus::kOk) {
    pos += f.size;
    ++out.frames;
  }
  out.end = pos;
  out.zeros_after = pos < bytes.size() && bytes.find_first_not_of('\0', pos) == std::string::npos;
  return out;
}

// A crash leaves the zeros after the last record: the next start cuts them off without a
// finding, keeps every record and goes on with the next offset.
TEST_F(DiskLogTest, PreallocatedZerosLeftByACrashAreCutOffWithoutAFinding) {
  // As the crash finds the file: records, then zeros written ahead of them.
  const std::string crashed = RunningSegmentWithZeros();
  const FrameEnd at_crash = FramesIn(crashed);
  ASSERT_EQ(at_crash.frames, 300U);
  ASSERT_TRUE(at_crash.zeros_after) << "no preallocated space: " << crashed.size() << " bytes";
  ASSERT_NO_FATAL_FAILURE(RewriteSegment(SegmentPath(), crashed));
  AsAfterACrash();
  Open();
  EXPECT_TRUE(report_.empty()) << report_.front();
  EXPECT_TRUE(Quarantined().empty());
  auto again = storage_->FindLog(LogId{1});
  ASSERT_TRUE(again);
  auto all = ReadAll(*again);
  ASSERT_EQ(all.size(), 300U);
  EXPECT_EQ(all[299], "record-299" + std::string(299 % 50, 'x'));
  EXPECT_EQ(fs::file_size(SegmentPath()), at_crash.end);
  Put(*again, 300, 3);
  EXPECT_EQ(ReadAll(*again, 298).size(), 5U);
}

// A power cut undoes the writes over preallocated space that no sync made durable: they read
// as zeros again, and every acknowledged record is there.
TEST_F(DiskLogTest, APowerCutAfterWritesOverPreallocatedSpaceLeavesEveryAcknowledgedRecord) {
  // (The stop cut the zeros off: put back, synced, as the crash finds them.)
  const std::string running = RunningSegmentWithZeros();
  const FrameEnd synced = FramesIn(running);
  ASSERT_TRUE(synced.zeros_after);
  {
    auto f = env_.Open(SegmentPath(), false);
    ASSERT_TRUE((*f)->Truncate(0).ok());
    ASSERT_TRUE((*f)->Append(running).ok());
    ASSERT_TRUE((*f)->Sync().ok());
    // The crash comes while the flusher has written the next records over the zeros but
    // not synced them.
    std::string junk;
    format::AppendFrame(junk, 300, 1000, AppendRecord{"k", "", "never-acknowledged"});
    ASSERT_TRUE((*f)->WriteAt(synced.end, junk).ok());
    ASSERT_EQ((*f)->Size(), running.size());
  }
  AsAfterACrash();
  env_.DropUnsyncedData();  // power loss
  ASSERT_EQ(*Env::Posix().ReadFile(SegmentPath()), running);
  Open();
  EXPECT_TRUE(report_.empty()) << report_.front();
  auto all = ReadAll(*storage_->FindLog(LogId{1}));
  EXPECT_EQ(all.size(), 300U);
}

// A record whose write the crash kept only the first blocks of: its frame runs into the zeros
// from a 512-byte boundary on (a kill cuts a write at a page boundary, a power cut at a page or
// sector one). That is a torn write (a warning; the offset is handed out again), not damage:
// whichever boundary it is, however little of the frame follows it.
TEST_F(DiskLogTest, AWriteTornIntoPreallocatedSpaceIsCutAsTornAndItsOffsetReused) {
  const std::string synced = RunningSegmentWithZeros();
  const FrameEnd ends = FramesIn(synced);
  ASSERT_TRUE(ends.zeros_after);
  // The next record, 3,000 bytes, of which what precedes a 512-byte boundary reached the disk.
  std::string frame;
  format::AppendFrame(frame, 300, 1000, AppendRecord{"k", "", std::string(3000, 'n')});
  int cases = 0;
  for (std::uint64_t b = (ends.end / 512 + 1) * 512; b < ends.end + frame.size(); b += 512) {
    const std::uint64_t kept = b - ends.end;
    std::string file = synced;
    if (file.size() < ends.end + frame.size()) file.resize(ends.end + frame.size(), '\0');
    file.replace(ends.end, kept, frame.substr(0, kept));
    storage_.reset();  // its clean stop cuts the active segment back to what it holds
    ASSERT_NO_FATAL_FAILURE(RewriteSegment(SegmentPath(), file));
    AsAfterACrash();
    {
      std::lock_guard lock(events_mu_);
      events_.clear();
    }
    Open();
    ++cases;
    EXPECT_EQ(Errors({}), 0) << "kept " << kept;
    ASSERT_EQ(report_.size(), 1U) << "kept " << kept;
    EXPECT_NE(report_[0].find("torn write of "), std::string::npos) << report_[0];
    auto again = storage_->FindLog(LogId{1});
    EXPECT_EQ(ReadAll(*again).size(), 300U);
    EXPECT_EQ(again->EndOffset().value, 300U);
    EXPECT_EQ(fs::file_size(SegmentPath()), ends.end);
  }
  EXPECT_GE(cases, 5);
}

// Damage in the last record before the zeros is damage: reported as an error, and new records
// start above its offset (it may have been acknowledged), whatever zeros follow.
TEST_F(DiskLogTest, DamageBeforePreallocatedSpaceIsReportedAndItsOffsetNeverReused) {
  std::string file = RunningSegmentWithZeros();
  const FrameEnd ends = FramesIn(file);
  ASSERT_TRUE(ends.zeros_after);
  file[ends.end - 3] = static_cast<char>(file[ends.end - 3] ^ 0x10);  // in record 299's data
  ASSERT_NO_FATAL_FAILURE(RewriteSegment(SegmentPath(), file));
  AsAfterACrash();
  Open();
  EXPECT_EQ(Errors({"corruption", SegmentPath()}), 1);
  auto again = storage_->FindLog(LogId{1});
  EXPECT_EQ(ReadAll(*again).size(), 299U);
  AppendResult next;
  ASSERT_TRUE(PutOne(*again, "after", &next).ok());
  EXPECT_GE(next.first.value, 300U);
  // The gap is bounded by the bytes written, not by the zeros after them.
  EXPECT_LE(next.first.value, 310U);
}

// Sealed segments and the active one at a clean shutdown end with their last record: the
// index and the checkpoint say so, and the next start trusts them without a scan.
TEST_F(DiskLogTest, SealedSegmentsAndACleanShutdownLeaveNoPreallocatedZeros) {
  preallocate_bytes_ = 4096;
  segment_bytes_ = 32 << 10;
  Open();
  {
    auto log = std::move(storage_->CreateLog(LogId{1}, "")).value();
    Put(*log, 0, 1500);
  }
  storage_.reset();
  int segments = 0;
  for (const auto& e : fs::directory_iterator(dir_ / "logs" / format::LogDirName(LogId{1}))) {
    if (e.path().extension() != ".log") continue;
    ++segments;
    const std::string bytes = *Env::Posix().ReadFile(e.path().string());
    EXPECT_EQ(FramesIn(bytes).end, bytes.size()) << e.path();
  }
  EXPECT_GE(segments, 3);
  Open();
  EXPECT_TRUE(report_.empty());
  EXPECT_EQ(ReadAll(*storage_->FindLog(LogId{1})).size(), 1500U);
}

// Page cache behind the tail (DiskOptions::cached_tail_bytes): the synced bytes of a log
// more than cached_tail_bytes behind its end, and sealed segments, leave the OS page cache;
// the newest bytes stay. Residency is read with mincore(2), which does not fault pages in.
// Pages of `path` in the page cache, of those in [from, to).
std::size_t ResidentPages(const std::string& path, std::uint64_t from, std::uint64_t to) {
  const auto page = static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
  const int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) return 0;
  const auto size = static_cast<std::uint64_t>(::lseek(fd, 0, SEEK_END));
  to = std::min(to, size);
  std::size_t resident = 0;
  if (size > 0 && from < to) {
    void* map = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
    if (map != MAP_FAILED) {
      std::vector<unsigned char> in((size + page - 1) / page);
      if (::mincore(map, size, in.data()) == 0) {
        for (std::uint64_t p = from / page; p < (to + page - 1) / page; ++p) resident += in[p] & 1;
      }
      ::munmap(map, size);
    }
  }
  ::close(fd);
  return resident;
}

// Whether the file system of `dir` lets synced pages leave the page cache when asked (tmpfs
// and ramfs keep their files there): 1 MiB written, synced, dropped, and none left.
bool DropsCache(const fs::path& dir) {
  const std::string probe = (dir / "drop-probe").string();
  bool dropped = false;
  {
    auto f = Env::Posix().Open(probe, true);
    if (f.ok() && (*f)->Append(std::string(1 << 20, 'p')).ok() && (*f)->Sync().ok()) {
      (*f)->DropCache(0, File::kToEnd);
      dropped = ResidentPages(probe, 0, 1 << 20) == 0;
    }
  }
  fs::remove(probe);
  return dropped;
}

// Puts `mib` MiB in appends of 64 records of 1,000 bytes, each waited for.
void PutMiB(Log& log, int mib) {
  const std::string data(1000, 'd');
  std::vector<AppendRecord> batch(64, AppendRecord{"key", "", data});
  for (int i = 0; i < mib * 16; ++i) {
    auto a = log.Append(batch, 1000);
    ASSERT_TRUE(a.ok());
    ASSERT_TRUE(log.WaitDurable(*a).ok());
  }
}

TEST_F(DiskLogTest, SyncedBytesBehindTheCachedTailLeaveThePageCacheAndTheTailStays) {
  fs::create_directories(dir_);
  if (!DropsCache(dir_)) GTEST_SKIP() << dir_ << ": its file system keeps pages in the cache";
  segment_bytes_ = 64 << 20;
  for (std::uint64_t tail : {std::uint64_t{1} << 20, std::uint64_t{0}}) {
    SCOPED_TRACE("cached_tail_bytes " + std::to_string(tail));
    cached_tail_bytes_ = tail;
    storage_.reset();
    fs::remove_all(dir_);
    Open();
    auto log = std::move(storage_->CreateLog(LogId{1}, "")).value();
    PutMiB(*log, 12);
    const std::string path = SegmentPath();
    const std::uint64_t size = fs::file_size(path);  // with preallocated zeros
    ASSERT_GT(size, 12U << 20);
    // Written within the last second and never dropped: in the cache.
    const std::size_t newest =
        ResidentPages(path, size - (1 << 20) - (256 << 10), size - (1 << 20));
    EXPECT_GE(newest, 48U);
    // More than the tail and a 2 MiB step behind the records' end (the zeros ahead of it: at
    // most 1 MiB, page-rounded).
    const std::uint64_t cold_end = size - (2 << 20) - (tail + (2 << 20));
    const std::size_t cold = ResidentPages(path, 0, cold_end);
    if (tail > 0) {
      EXPECT_EQ(cold, 0U) << "of " << cold_end / 4096 << " pages";
    } else {
      EXPECT_GT(cold, cold_end / 4096 / 2) << "of " << cold_end / 4096 << " pages";
    }
    EXPECT_EQ(env_.unsynced_cache_drops(), 0U);
    EXPECT_EQ(ReadAll(*log).size(), 12U * 16 * 64);  // read back from the disk
  }
  EXPECT_GT(env_.cache_drops(), 0U);
}

TEST_F(DiskLogTest, ASealedSegmentLeavesThePageCacheWholeWithOrWithoutFsync) {
  fs::create_directories(dir_);
  if (!DropsCache(dir_)) GTEST_SKIP() << dir_ << ": its file system keeps pages in the cache";
  segment_bytes_ = 1 << 20;
  for (bool fsync : {true, false}) {
    SCOPED_TRACE(fsync ? "fsync" : "no fsync");
    fsync_ = fsync;
    storage_.reset();
    fs::remove_all(dir_);
    Open();
    auto log = std::move(storage_->CreateLog(LogId{1}, "")).value();
    PutMiB(*log, 4);
    std::vector<std::string> segments;
    for (const auto& e : fs::directory_iterator(dir_ / "logs" / format::LogDirName(LogId{1}))) {
      if (e.path().extension() == ".log") segments.push_back(e.path().string());
    }
    std::sort(segments.begin(), segments.end());
    ASSERT_GE(segments.size(), 3U);
    for (std::size_t i = 0; i + 1 < segments.size(); ++i) {  // sealed (names sort by base)
      EXPECT_EQ(ResidentPages(segments[i], 0, UINT64_MAX), 0U) << segments[i];
    }
    EXPECT_GT(ResidentPages(segments.back(), 0, UINT64_MAX), 0U) << segments.back();
    EXPECT_EQ(ReadAll(*log).size(), 4U * 16 * 64);
  }
  EXPECT_EQ(env_.unsynced_cache_drops(), 0U);
}

TEST_F(DiskLogTest, WriteFailureFailsTheWaitersInsteadOfAcknowledging) {
  Open();
  auto log = std::move(storage_->CreateLog(LogId{1}, "")).value();
  Put(*log, 0, 3);
  env_.FailWrites(true);
  AppendRecord r{"k", "", "lost"};
  auto a = log->Append({&r, 1}, 1000);
  ASSERT_TRUE(a.ok());
  EXPECT_FALSE(log->WaitDurable(*a).ok());
  EXPECT_EQ(ReadAll(*log).size(), 3U);  // never visible
  env_.FailWrites(false);
}

TEST_F(DiskLogTest, OnDurableCallsBackOnceTheRecordsAreSyncedAndFailsOnWriteErrors) {
  Open();
  auto log = std::move(storage_->CreateLog(LogId{1}, "")).value();
  // Many appends, each waited for asynchronously, registered in an order unrelated to
  // their offsets: every callback fires once, only after its records are readable.
  constexpr int kAppends = 200;
  std::mutex mu;
  std::condition_variable cv;
  int done = 0, failed = 0, early = 0;
  std::vector<AppendResult> ends;
  for (int i = 0; i < kAppends; ++i) {
    std::string data = std::to_string(i);
    AppendRecord r{"k", "", data};
    auto a = log->Append({&r, 1}, 1000);
    ASSERT_TRUE(a.ok());
    ends.push_back(*a);
  }
  std::reverse(ends.begin(), ends.end());
  for (const AppendResult& end : ends) {
    log->OnDurable(end, [&, end](Status st) {
      std::lock_guard lock(mu);
      if (!st.ok()) ++failed;
      if (log->EndOffset().value < end.end.value) ++early;
      ++done;
      cv.notify_all();
    });
  }
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(30), [&] { return done == kAppends; }));
  }
  EXPECT_EQ(failed, 0);
  EXPECT_EQ(early, 0);
  // Already durable: called at once, on this thread.
  bool now = false;
  log->OnDurable(ends.front(), [&](Status st) { now = st.ok(); });
  EXPECT_TRUE(now);
  // A write error fails the waiter instead of acknowledging.
  env_.FailWrites(true);
  AppendRecord r{"k", "", "lost"};
  auto a = log->Append({&r, 1}, 1000);
  ASSERT_TRUE(a.ok());
  std::promise<Status> result;
  log->OnDurable(*a, [&](Status st) { result.set_value(st); });
  auto fut = result.get_future();
  ASSERT_EQ(fut.wait_for(std::chrono::seconds(30)), std::future_status::ready);
  EXPECT_FALSE(fut.get().ok());
  EXPECT_EQ(ReadAll(*log).size(), static_cast<std::size_t>(kAppends));
  env_.FailWrites(false);
}

// Without fsync (--fsync never), an append to an idle log is written by the appending thread
// itself: it is readable once Append returns and its OnDurable answers at once, with no
// hand-off to a flusher and back. Segment rolls (which sync the sealed segment) stay on the
// flusher; every record survives a restart.
TEST_F(DiskLogTest, WithoutFsyncAnIdleLogIsWrittenByTheAppenderItself) {
  fsync_ = false;
  segment_bytes_ = 4096;
  Open();
  auto log = std::move(storage_->CreateLog(LogId{1}, "")).value();
  for (int i = 0; i < 200; ++i) {
    const std::string data = "r" + std::to_string(i) + std::string(100, 'x');
    AppendRecord r{"k", "", data};
    auto a = log->Append({&r, 1}, 1000);
    ASSERT_TRUE(a.ok());
    ASSERT_TRUE(log->WaitDurable(*a).ok());
  }
  // Every append but one that rolls a segment (at most one in these 50: a 4 KiB segment holds
  // over 100 of these records) is written here and readable when Append returns.
  int here = 0;
  for (int i = 0; i < 50; ++i) {
    AppendRecord r{"k", "", "y"};
    auto a = log->Append({&r, 1}, 1000);
    ASSERT_TRUE(a.ok());
    here +=
        log->EndOffset().value == a->end.value && env_.last_writer() == std::this_thread::get_id();
    ASSERT_TRUE(log->WaitDurable(*a).ok());
  }
  EXPECT_GE(here, 40);  // (a waiter woken before the flusher gave the log back may miss one)
  auto all = ReadAll(*log);
  ASSERT_EQ(all.size(), 250U);
  log.reset();
  Open();
  all = ReadAll(*storage_->FindLog(LogId{1}));
  ASSERT_EQ(all.size(), 250U);
  EXPECT_EQ(all[137], "r137" + std::string(100, 'x'));
  EXPECT_EQ(all[249], "y");
}

// Without fsync, an append that finds the log being written (by another appender, or the
// flusher) leaves its records to the flusher, which writes them once that write is done:
// nothing is lost or reordered.
TEST_F(DiskLogTest, WithoutFsyncAnAppendDuringAnotherWriteIsLeftToTheFlusher) {
  fsync_ = false;
  Open();
  auto log = std::move(storage_->CreateLog(LogId{1}, "")).value();
  env_.HoldWrites(true);
  std::thread first([&] { EXPECT_TRUE(PutOne(*log, "first").ok()); });
  while (env_.held_writes() == 0) std::this_thread::yield();  // writing "first" inline
  AppendRecord r{"k", "", "second"};
  auto a = log->Append({&r, 1}, 1000);  // cannot write now: queued for the flusher
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->first.value, 1U);
  auto second = std::make_shared<std::promise<Status>>();  // may outlive a failed test
  log->OnDurable(*a, [second](Status st) { second->set_value(st); });
  env_.HoldWrites(false);
  first.join();
  auto fut = second->get_future();
  ASSERT_EQ(fut.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_TRUE(fut.get().ok());
  auto all = ReadAll(*log);
  ASSERT_EQ(all.size(), 2U);
  EXPECT_EQ(all[0], "first");
  EXPECT_EQ(all[1], "second");
}

// Without fsync, a write that fails on the appending thread fails its batch at once, cuts the
// log back, and the next append succeeds with the failed offset.
TEST_F(DiskLogTest, WithoutFsyncAFailedInlineWriteFailsItsBatchAndLaterWritesSucceed) {
  fsync_ = false;
  Open();
  auto log = std::move(storage_->CreateLog(LogId{1}, "")).value();
  ASSERT_TRUE(PutOne(*log, "before").ok());
  env_.FailWrites(true);
  AppendRecord r{"k", "", "lost"};
  auto a = log->Append({&r, 1}, 1000);
  ASSERT_TRUE(a.ok());
  std::optional<Status> verdict;
  log->OnDurable(*a, [&](Status st) { verdict = st; });
  ASSERT_TRUE(verdict.has_value());  // answered at once
  EXPECT_FALSE(verdict->ok());
  EXPECT_EQ(Errors({"write to", SegmentPath(), "failed"}), 1);
  env_.FailWrites(false);
  AppendResult ok;
  ASSERT_TRUE(PutOne(*log, "after", &ok).ok());
  EXPECT_EQ(ok.first.value, 1U);
  auto all = ReadAll(*log);
  ASSERT_EQ(all.size(), 2U);
  EXPECT_EQ(all[1], "after");
  log.reset();
  Open();
  all = ReadAll(*storage_->FindLog(LogId{1}));
  ASSERT_EQ(all.size(), 2U);
  EXPECT_EQ(all[1], "after");
}

// The durability verdicts of appends, each of which must come exactly once. Shared with the
// callbacks (which may outlive a failed test).
struct Verdicts {
  explicit Verdicts(std::size_t n) : calls(n), promises(n) {
    for (auto& p : promises) futures.push_back(p.get_future());
  }
  void Expect(Log& log, const AppendResult& a, std::size_t i, std::shared_ptr<Verdicts> self) {
    log.OnDurable(a, [self, i](Status st) {
      if (self->calls[i].fetch_add(1) == 0) self->promises[i].set_value(std::move(st));
    });
  }
  // The verdict of append `i`, or nullopt when none came within `within` (none waited for
  // once one timed out, so that a broken log fails the test without a wait per append).
  std::optional<Status> Get(std::size_t i, std::chrono::milliseconds within) {
    if (futures[i].wait_for(gave_up ? std::chrono::milliseconds(0) : within) !=
        std::future_status::ready) {
      gave_up = true;
      return std::nullopt;
    }
    return futures[i].get();
  }
  // Expects appends 0..n-1 each answered, as failed, within 5 s.
  void ExpectEachFailed(std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
      auto v = Get(i, std::chrono::seconds(5));
      EXPECT_TRUE(v.has_value()) << "queued append " << i << " never answered";
      if (v) {
        EXPECT_FALSE(v->ok()) << i;
      }
    }
  }
  bool gave_up = false;
  std::vector<std::atomic<int>> calls;
  std::vector<std::promise<Status>> promises;
  std::vector<std::future<Status>> futures;
};

// Without fsync, an inline write that fails while other appends wait behind it (they found the
// log being written and left their frames to its writer): every one of them gets a verdict,
// exactly once, as failed (their offsets follow the failed one and are handed out again); a
// blocked WaitDurable wakes; nothing is left queued. The log then takes writes again, and they
// survive a restart.
TEST_F(DiskLogTest, WithoutFsyncAFailedInlineWriteAnswersEveryAppendQueuedBehindIt) {
  fsync_ = false;
  Open();
  auto log = std::move(storage_->CreateLog(LogId{1}, "")).value();
  ASSERT_TRUE(PutOne(*log, "before").ok());
  env_.FailWrites(true);
  env_.HoldWrites(true);
  Status first_verdict;
  std::thread first([&] { first_verdict = PutOne(*log, "first"); });
  while (env_.held_writes() == 0) std::this_thread::yield();  // "first" is written inline
  constexpr std::size_t kQueued = 5;
  auto verdicts = std::make_shared<Verdicts>(kQueued);
  std::vector<AppendResult> queued;
  for (std::size_t i = 0; i < kQueued; ++i) {
    const std::string data = "queued-" + std::to_string(i);
    AppendRecord r{"k", "", data};
    auto a = log->Append({&r, 1}, 1000);  // returns at once: left to the writer
    EXPECT_TRUE(a.ok());
    if (!a.ok()) break;
    EXPECT_EQ(a->first.value, 2 + i);
    queued.push_back(*a);
    verdicts->Expect(*log, *a, i, verdicts);
  }
  EXPECT_EQ(env_.held_writes(), 1);  // only the owner writes
  auto blocked = std::make_shared<std::promise<Status>>();
  std::thread waiter(
      [&log, blocked, last = queued.back()] { blocked->set_value(log->WaitDurable(last)); });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // (blocked by now, usually)
  env_.HoldWrites(false);
  first.join();
  EXPECT_FALSE(first_verdict.ok());
  verdicts->ExpectEachFailed(queued.size());
  auto blocked_verdict = blocked->get_future();
  const bool woke = blocked_verdict.wait_for(std::chrono::seconds(5)) == std::future_status::ready;
  EXPECT_TRUE(woke) << "WaitDurable of a queued append still blocked after the failed write";
  if (!woke) storage_.reset();  // wakes it, so the thread can be joined
  waiter.join();
  if (!woke) return;
  EXPECT_FALSE(blocked_verdict.get().ok());
  EXPECT_EQ(Errors({"write to", SegmentPath(), "failed", "6 records from offset 1"}), 1);
  // The cause is gone: the failed offsets are handed out again and written.
  env_.FailWrites(false);
  for (int i = 0; i < 3; ++i) {
    AppendResult ok;
    ASSERT_TRUE(PutOne(*log, "after-" + std::to_string(i), &ok).ok());
    EXPECT_EQ(ok.first.value, 1U + i);
  }
  const std::vector<std::string> want = {"before", "after-0", "after-1", "after-2"};
  EXPECT_EQ(ReadAll(*log), want);
  log.reset();
  Open();
  EXPECT_EQ(ReadAll(*storage_->FindLog(LogId{1})), want);
  storage_.reset();
  for (std::size_t i = 0; i < queued.size(); ++i) EXPECT_EQ(verdicts->calls[i].load(), 1) << i;
}

// Without fsync, a failed write whose cut fails too leaves bytes past the durable end (here a
// complete frame of a failed record and a torn one) and a cut marker. The cut is then due, and
// it is done by the flusher before its next write, not on an appender's thread: the next
// append is written by the flusher. Until then nothing past the durable end is read; records
// acknowledged before the failure stay; the failed ones never appear, before or after a
// restart (scanned whole, as after a crash); once cut, appends are written inline again.
TEST_F(DiskLogTest, WithoutFsyncTheCutAfterAFailedWriteIsLeftToTheFlusher) {
  fsync_ = false;
  Open();
  auto log = std::move(storage_->CreateLog(LogId{1}, "")).value();
  // Records of one size (one frame size): "ok-0".."ok-4", then "no-0".."no-2".
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(PutOne(*log, "ok-" + std::to_string(i)).ok());
  const std::uint64_t durable = fs::file_size(SegmentPath());
  ASSERT_TRUE(PutOne(*log, "ok-5").ok());
  const std::uint64_t frame = fs::file_size(SegmentPath()) - durable;
  const std::uint64_t durable6 = durable + frame;
  // One frame and a half fit: the write of three records fails after a complete frame.
  env_.SetSpaceBudget(static_cast<std::int64_t>(frame + frame / 2));
  env_.FailTruncates(true);
  std::vector<AppendRecord> batch;
  std::vector<std::string> data = {"no-0", "no-1", "no-2"};
  for (const auto& d : data) batch.push_back({"k", "", d});
  auto a = log->Append(batch, 1000);
  ASSERT_TRUE(a.ok());
  std::optional<Status> verdict;
  log->OnDurable(*a, [&](Status st) { verdict = st; });
  ASSERT_TRUE(verdict.has_value());  // answered at once, on this thread
  EXPECT_FALSE(verdict->ok());
  EXPECT_EQ(Errors({"the cut failed too"}), 1);
  EXPECT_TRUE(fs::exists(SegmentPath() + ".cut"));
  EXPECT_EQ(fs::file_size(SegmentPath()), durable6 + frame + frame / 2);  // not cut yet
  const std::vector<std::string> before = {"ok-0", "ok-1", "ok-2", "ok-3", "ok-4", "ok-5"};
  EXPECT_EQ(ReadAll(*log), before);
  env_.SetSpaceBudget(-1);
  env_.FailTruncates(false);
  // The next write is the flusher's: it cuts first, then writes.
  AppendResult next;
  ASSERT_TRUE(PutOne(*log, "ok-6", &next).ok());
  EXPECT_EQ(next.first.value, 6U);
  EXPECT_NE(env_.last_writer(), std::this_thread::get_id()) << "cut and written inline";
  EXPECT_FALSE(fs::exists(SegmentPath() + ".cut"));
  EXPECT_EQ(fs::file_size(SegmentPath()), durable6 + frame);
  // Cut: appends are written on the appending thread again (once the flusher has given the
  // write back: its waiter may be answered just before).
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_TRUE(PutOne(*log, "ok-7").ok());
  EXPECT_EQ(env_.last_writer(), std::this_thread::get_id());
  auto want = before;
  want.push_back("ok-6");
  want.push_back("ok-7");
  EXPECT_EQ(ReadAll(*log), want);
  log.reset();
  storage_.reset();
  fs::remove(CheckpointPath());  // as after a crash: the start scans the segment
  Open();
  EXPECT_EQ(ReadAll(*storage_->FindLog(LogId{1})), want);
  EXPECT_TRUE(report_.empty());
}

// Without fsync, the log is dropped while an appender's inline write of it is held (a stalled
// disk) and other appends wait behind it: the drop does not wait for the write, every waiting
// append is answered at once (exactly once), later appends are refused, and the held write
// finishes harmlessly once released. (Closing the storage waits for the write instead:
// WithoutFsyncClosingTheStorageWaitsForAHeldInlineWriteAndAnswersEveryAppend.)
TEST_F(DiskLogTest, WithoutFsyncDropDuringAHeldInlineWriteAnswersEveryAppend) {
  fsync_ = false;
  const LogId id{1};
  Open();
  auto log = std::move(storage_->CreateLog(id, "")).value();
  ASSERT_TRUE(PutOne(*log, "before").ok());
  env_.HoldWrites(true);
  Status held_verdict;
  std::thread held([&] { held_verdict = PutOne(*log, "held"); });
  while (env_.held_writes() == 0) std::this_thread::yield();
  constexpr std::size_t kQueued = 4;
  auto verdicts = std::make_shared<Verdicts>(kQueued);
  std::vector<AppendResult> queued;
  for (std::size_t i = 0; i < kQueued; ++i) {
    AppendRecord r{"k", "", "queued"};
    auto a = log->Append({&r, 1}, 1000);
    EXPECT_TRUE(a.ok());
    if (!a.ok()) break;
    queued.push_back(*a);
    verdicts->Expect(*log, *a, i, verdicts);
  }
  auto blocked = std::make_shared<std::promise<Status>>();
  std::thread waiter(
      [&log, blocked, last = queued.back()] { blocked->set_value(log->WaitDurable(last)); });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_TRUE(storage_->DropLog(id).ok());
  // Answered while the write is still held: nothing waits for it.
  EXPECT_EQ(env_.held_writes(), 1);
  verdicts->ExpectEachFailed(queued.size());
  auto blocked_verdict = blocked->get_future();
  EXPECT_EQ(blocked_verdict.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  AppendRecord late{"k", "", "late"};
  EXPECT_FALSE(log->Append({&late, 1}, 1000).ok());
  env_.HoldWrites(false);
  held.join();
  waiter.join();
  EXPECT_FALSE(blocked_verdict.get().ok());
  for (std::size_t i = 0; i < queued.size(); ++i) EXPECT_EQ(verdicts->calls[i].load(), 1) << i;
  log.reset();
  Open();
  EXPECT_FALSE(storage_->FindLog(id));
}

// Regression: without fsync, the storage closed while an appender's inline write is held (a
// stalled disk) with other appends queued behind it. The close joined the flushers and
// checkpointed without waiting for that write, so the writer, giving it back meanwhile,
// queued its log on a destroyed Flusher (a use after free) and raced the checkpoint. Now the
// close refuses new appends, waits for the write to be given back (the appends queued behind
// it handed to the flusher), then joins the flushers, which write them, then checkpoints.
// Here the checkpoint of another log is held in its sync, where the flushers are already
// gone (a writer giving its write back there is too late). Every append is answered exactly
// once, as written, and a restart finds exactly the acknowledged records.
TEST_F(DiskLogTest, WithoutFsyncClosingTheStorageWaitsForAHeldInlineWriteAndAnswersEveryAppend) {
  fsync_ = false;
  Open();
  // Log 1 (checkpointed first) has over two index entries: its checkpoint syncs its segment.
  auto other = std::move(storage_->CreateLog(LogId{1}, "")).value();
  std::vector<std::string> other_want;
  for (int i = 0; i < 8; ++i) {
    other_want.push_back("other-" + std::to_string(i) + std::string(100, 'x'));
    ASSERT_TRUE(PutOne(*other, other_want.back()).ok());
  }
  other.reset();
  auto log = std::move(storage_->CreateLog(LogId{2}, "")).value();
  std::vector<std::string> want = {"before"};
  ASSERT_TRUE(PutOne(*log, "before").ok());
  env_.HoldWrites(true);
  env_.HoldSyncs(true);
  Status held_verdict;
  std::promise<void> held_done;
  std::thread held([&] {
    held_verdict = PutOne(*log, "held");
    held_done.set_value();
  });
  while (env_.held_writes() == 0) std::this_thread::yield();  // "held" is written inline
  constexpr std::size_t kQueued = 4;
  auto verdicts = std::make_shared<Verdicts>(kQueued);
  for (std::size_t i = 0; i < kQueued; ++i) {
    const std::string data = "queued-" + std::to_string(i);
    AppendRecord r{"k", "", data};
    auto a = log->Append({&r, 1}, 1000);  // left to the writer
    ASSERT_TRUE(a.ok());
    verdicts->Expect(*log, *a, i, verdicts);
  }
  std::atomic<bool> closed{false};
  std::thread closer([&] {
    storage_.reset();
    closed = true;
  });
  // Until the close refuses appends (an empty batch appends nothing, and while the log is
  // being written it queues nothing either), or, before the fix, holds in the sync of log 1's
  // checkpoint with the flushers joined.
  auto accepts = [&] { return log->Append({}, 1000).ok(); };
  while (env_.held_syncs() == 0 && accepts()) std::this_thread::yield();
  EXPECT_EQ(env_.held_syncs(), 0) << "flushers joined and checkpointing, an inline write held";
  EXPECT_FALSE(closed.load());
  env_.HoldWrites(false);  // the writer gives the write back
  if (held_done.get_future().wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
    // Before the fix: stuck (or worse) in MarkDirty on the freed Flusher. Fail, not hang.
    ADD_FAILURE() << "the inline writer never returned from giving its write back";
    std::fflush(stdout);
    std::abort();
  }
  held.join();
  env_.HoldSyncs(false);
  closer.join();
  EXPECT_TRUE(held_verdict.ok()) << held_verdict.ToString();
  if (held_verdict.ok()) want.push_back("held");
  for (std::size_t i = 0; i < kQueued; ++i) {
    auto v = verdicts->Get(i, std::chrono::seconds(5));
    EXPECT_TRUE(v.has_value()) << "queued append " << i << " never answered";
    if (!v) continue;
    EXPECT_TRUE(v->ok()) << i << ": " << v->ToString();  // written by the flusher at the close
    if (v->ok()) want.push_back("queued-" + std::to_string(i));
  }
  AppendRecord late{"k", "", "late"};
  EXPECT_FALSE(log->Append({&late, 1}, 1000).ok());
  for (std::size_t i = 0; i < kQueued; ++i) EXPECT_EQ(verdicts->calls[i].load(), 1) << i;
  log.reset();
  Open();
  auto again = storage_->FindLog(LogId{2});
  ASSERT_TRUE(again);
  EXPECT_EQ(ReadAll(*again), want);
  auto other_again = storage_->FindLog(LogId{1});
  ASSERT_TRUE(other_again);
  EXPECT_EQ(ReadAll(*other_again), other_want);
  EXPECT_TRUE(report_.empty());
}

// Each of 8 threads appends 200 records one at a time and waits for each: all arrive, each
// thread's in its order. `wait`: WaitDurable, else OnDurable (a callback, as the server).
void AppendConcurrently(Log& log, bool wait, std::vector<std::string>* all) {
  constexpr int kThreads = 8, kEach = 200;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        std::string data = std::to_string(t) + ":" + std::to_string(i);
        AppendRecord r{"k", "", data};
        auto a = log.Append({&r, 1}, 1000);
        ASSERT_TRUE(a.ok());
        if (wait) {
          ASSERT_TRUE(log.WaitDurable(*a).ok());
        } else {
          auto done = std::make_shared<std::promise<Status>>();  // may outlive a failure
          log.OnDurable(*a, [done](Status st) { done->set_value(std::move(st)); });
          auto fut = done->get_future();
          ASSERT_EQ(fut.wait_for(std::chrono::seconds(30)), std::future_status::ready);
          ASSERT_TRUE(fut.get().ok());
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_EQ(all->size(), 0U);
  auto r = log.Read(Offset{0}, 1'000'000, [&](const RecordView& v) {
    all->emplace_back(v.data);
    return true;
  });
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(all->size(), static_cast<std::size_t>(kThreads * kEach));
  std::map<int, int> next;
  for (const auto& d : *all) {
    int t = std::stoi(d.substr(0, d.find(':')));
    int i = std::stoi(d.substr(d.find(':') + 1));
    EXPECT_EQ(next[t]++, i);  // each writer's records in its order
  }
}

TEST_F(DiskLogTest, ConcurrentAppendersShareSyncsAndLoseNothing) {
  Open();
  auto log = std::move(storage_->CreateLog(LogId{1}, "")).value();
  std::vector<std::string> all;
  AppendConcurrently(*log, true, &all);
}

// Without fsync, appenders take turns writing the log themselves, and hand on what others
// queued meanwhile: nothing is lost or reordered, whether they block or are called back,
// across segment rolls (left to the flusher), and after a restart.
TEST_F(DiskLogTest, WithoutFsyncConcurrentAppendersWriteInTurnAndLoseNothing) {
  fsync_ = false;
  segment_bytes_ = 16 << 10;
  Open();
  for (bool wait : {true, false}) {
    SCOPED_TRACE(wait ? "WaitDurable" : "OnDurable");
    const LogId id{wait ? 1U : 2U};
    auto log = std::move(storage_->CreateLog(id, "")).value();
    std::vector<std::string> all;
    AppendConcurrently(*log, wait, &all);
  }
  Open();
  for (std::uint64_t id : {1, 2}) {
    auto log = storage_->FindLog(LogId{id});
    ASSERT_TRUE(log);
    EXPECT_EQ(ReadAll(*log).size(), 1600U);
  }
}

// Without fsync, a full segment's roll (which syncs it) is the flusher's, and appends leave
// their frames to the flusher from the write that filled the segment until the roll is done:
// none takes the write only to hand it on (which, with appenders arriving meanwhile, had the
// flusher lose the log to the next one and try again). With 4 KiB segments: one roll per ~35
// records, alone and with 8 concurrent appenders; nothing lost, also after a restart.
TEST_F(DiskLogTest, WithoutFsyncAppendsLeaveADueRollToTheFlusher) {
  fsync_ = false;
  segment_bytes_ = 4096;
  Open();
  auto log = std::move(storage_->CreateLog(LogId{1}, "")).value();
  auto* disk = dynamic_cast<disk::DiskLog*>(log.get());
  ASSERT_TRUE(disk);
  auto rolls = [&] {
    int n = -1;
    for (const auto& e : fs::directory_iterator(dir_ / "logs" / format::LogDirName(LogId{1})))
      n += e.path().extension() == ".log";
    return n;
  };
  std::vector<std::string> all;
  AppendConcurrently(*log, /*wait=*/false, &all);
  const int concurrent = rolls();
  EXPECT_GE(concurrent, 8);
  EXPECT_EQ(disk->handed_on(), 0U) << "over " << concurrent << " rolls, 8 appenders";
  for (int i = 0; i < 400; ++i)
    ASSERT_TRUE(PutOne(*log, "alone-" + std::to_string(i) + std::string(80, 'x')).ok());
  EXPECT_GE(rolls(), concurrent + 8);
  EXPECT_EQ(disk->handed_on(), 0U) << "over " << rolls() << " rolls, appending alone";
  EXPECT_EQ(ReadAll(*log).size(), 2000U);
  log.reset();
  Open();
  EXPECT_EQ(ReadAll(*storage_->FindLog(LogId{1})).size(), 2000U);
}

TEST_F(DiskLogTest, AFlusherWithSeveralLogsSyncsThemAllPerCycle) {
  // 6 logs on the fixture's 2 flushers: each cycle writes several logs, then syncs each.
  Open();
  constexpr int kLogs = 6, kEach = 150;
  std::vector<std::shared_ptr<Log>> logs;
  for (int l = 0; l < kLogs; ++l) {
    logs.push_back(
        std::move(storage_->CreateLog(LogId{static_cast<std::uint64_t>(l + 1)}, "")).value());
  }
  std::vector<std::thread> threads;
  for (int l = 0; l < kLogs; ++l) {
    threads.emplace_back([&, l] {
      for (int i = 0; i < kEach; ++i) {
        std::string data = std::to_string(l) + ":" + std::to_string(i);
        AppendRecord r{"k", "", data};
        auto a = logs[static_cast<std::size_t>(l)]->Append({&r, 1}, 1000);
        ASSERT_TRUE(a.ok());
        ASSERT_TRUE(logs[static_cast<std::size_t>(l)]->WaitDurable(*a).ok());
      }
    });
  }
  for (auto& t : threads) t.join();
  env_.DropUnsyncedData();  // everything acknowledged was synced
  logs.clear();
  Open();
  for (int l = 0; l < kLogs; ++l) {
    auto log = storage_->FindLog(LogId{static_cast<std::uint64_t>(l + 1)});
    ASSERT_TRUE(log);
    auto all = ReadAll(*log);
    ASSERT_EQ(all.size(), static_cast<std::size_t>(kEach)) << "log " << l;
    for (int i = 0; i < kEach; ++i) {
      EXPECT_EQ(all[static_cast<std::size_t>(i)], std::to_string(l) + ":" + std::to_string(i));
    }
  }
}

TEST_F(DiskLogTest, TimeSeekAndRetentionTrimWholeSegments) {
  segment_bytes_ = 2048;
  Open();
  auto log = std::move(storage_->CreateLog(LogId{1}, "")).value();
  for (int minute = 0; minute < 10; ++minute) Put(*log, minute * 30, 30, minute * 60'000);
  EXPECT_EQ(log->OffsetAtTime(0).value, 0U);
  EXPECT_EQ(log->OffsetAtTime(5 * 60'000).value, 150U);
  EXPECT_EQ(log->OffsetAtTime(5 * 60'000 - 1).value, 150U);
  EXPECT_EQ(log->OffsetAtTime(5 * 60'000 + 1).value, 180U);
  EXPECT_EQ(log->OffsetAtTime(99 * 60'000).value, 300U);
  // Records older than the floor are skipped even before their segment is deleted.
  std::size_t n = 0;
  ASSERT_TRUE(log->Read(
                     Offset{0}, 1000, [&](const RecordView&) { return ++n, true; }, 4 * 60'000)
                  .ok());
  EXPECT_EQ(n, 180U);
  log->TrimBefore(4 * 60'000);
  EXPECT_GT(log->StartOffset().value, 0U);
  EXPECT_LE(log->StartOffset().value, 120U);
  EXPECT_EQ(ReadAll(*log, log->StartOffset().value).size(), 300 - log->StartOffset().value);
  const auto start = log->StartOffset();
  log.reset();
  Open();
  EXPECT_EQ(storage_->FindLog(LogId{1})->StartOffset(), start);
}

// Regression: frames over the 256 KiB read chunk were unreadable and recovery cut them
// (and everything after) as a torn tail. Found by tests/integration/test_crash.py.
TEST_F(DiskLogTest, RecordsLargerThanTheReadChunkAreReadAndRecovered) {
  Open();
  auto log = std::move(storage_->CreateLog(LogId{1}, "")).value();
  std::vector<std::string> sent;
  auto put = [&](std::string data) {
    AppendRecord r{"k", "", data};
    auto a = log->Append({&r, 1}, 1000);
    ASSERT_TRUE(a.ok());
    ASSERT_TRUE(log->WaitDurable(*a).ok());
    sent.push_back(std::move(data));
  };
  put(std::string(300'000, 'a'));  // first frame of the segment
  for (int i = 0; i < 50; ++i) put(std::string(5'000, static_cast<char>('b' + i % 20)));
  put(std::string((256 << 10) - 8 - 100, 'x'));  // pushes a header across a chunk boundary
  put(std::string(1 << 20, 'y'));                // 1 MiB record
  for (int i = 0; i < 10; ++i) put("small" + std::to_string(i));
  EXPECT_EQ(ReadAll(*log), sent);
  log.reset();
  Open();
  EXPECT_TRUE(report_.empty()) << report_.front();
  EXPECT_EQ(ReadAll(*storage_->FindLog(LogId{1})), sent);
}

TEST_F(DiskLogTest, MetadataIsDurable) {
  Open();
  ASSERT_TRUE(storage_->meta().Put("a", std::string("\0x", 2)).ok());
  ASSERT_TRUE(storage_->meta().Put("b", "2").ok());
  ASSERT_TRUE(storage_->meta().Erase("b").ok());
  Open();
  auto all = storage_->meta().LoadAll();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 1U);
  EXPECT_EQ((*all)[0].second, std::string("\0x", 2));
}

// A start visits the metadata one entry at a time (MetaStore::ForEach) instead of loading
// every document at once; it sees each entry once, in key order, with its bytes intact, and
// can stop early.
TEST_F(DiskLogTest, MetadataForEachVisitsEveryEntryInKeyOrder) {
  Open();
  ASSERT_TRUE(storage_->meta().Put("stream/2", "two").ok());
  ASSERT_TRUE(storage_->meta().Put("engine/k", std::string("\0k", 2)).ok());
  ASSERT_TRUE(storage_->meta().Put("stream/1", "one").ok());
  ASSERT_TRUE(storage_->meta().Put("stream/3", "gone").ok());
  ASSERT_TRUE(storage_->meta().Erase("stream/3").ok());
  Open();
  std::vector<std::pair<std::string, std::string>> seen;
  ASSERT_TRUE(storage_->meta()
                  .ForEach([&](std::string_view key, std::string_view value) {
                    seen.emplace_back(key, value);
                    return true;
                  })
                  .ok());
  const std::vector<std::pair<std::string, std::string>> want{
      {"engine/k", std::string("\0k", 2)}, {"stream/1", "one"}, {"stream/2", "two"}};
  EXPECT_EQ(seen, want);
  seen.clear();
  ASSERT_TRUE(storage_->meta()
                  .ForEach([&](std::string_view key, std::string_view value) {
                    seen.emplace_back(key, value);
                    return seen.size() < 2;
                  })
                  .ok());
  EXPECT_EQ(seen.size(), 2U);
}

// Regression (TSan lock-order inversion at restart): ForEach visits without the store's lock,
// in chunks. A visitor that writes to the store itself must neither deadlock nor lose
// entries, across more entries than one chunk holds.
TEST_F(DiskLogTest, MetadataForEachVisitsWithoutHoldingTheStoresLock) {
  Open();
  constexpr int kEntries = 200;  // more than one chunk of 64
  for (int i = 0; i < kEntries; ++i) {
    char key[32];
    std::snprintf(key, sizeof key, "stream/%04d", i);
    ASSERT_TRUE(storage_->meta().Put(key, std::to_string(i)).ok());
  }
  std::vector<std::string> seen;
  std::promise<Status> done;
  auto result = done.get_future();
  std::thread visitor([&] {
    done.set_value(storage_->meta().ForEach([&](std::string_view key, std::string_view value) {
      seen.emplace_back(key);
      // What the engine's start does: write back while visiting (here: a copy of the entry).
      return storage_->meta().Put("copy/" + std::string(key), value).ok();
    }));
  });
  if (result.wait_for(std::chrono::seconds(30)) != std::future_status::ready) {
    visitor.detach();  // deadlocked: fail rather than hang the suite
    FAIL() << "ForEach deadlocked: the visitor's Put waited for the lock ForEach held";
  }
  visitor.join();
  ASSERT_TRUE(result.get().ok());
  // Every stream entry once, in key order (the copies sort before them and were written
  // after their chunk was read, so none of them is visited).
  ASSERT_EQ(seen.size(), static_cast<std::size_t>(kEntries));
  for (int i = 0; i < kEntries; ++i) {
    char key[32];
    std::snprintf(key, sizeof key, "stream/%04d", i);
    EXPECT_EQ(seen[i], key);
  }
  auto all = storage_->meta().LoadAll();
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 2U * kEntries);
}

TEST_F(DiskLogTest, DroppedLogIsGoneAfterReopen) {
  Open();
  ASSERT_TRUE(storage_->CreateLog(LogId{1}, "").ok());
  ASSERT_TRUE(storage_->CreateLog(LogId{2}, "").ok());
  ASSERT_TRUE(storage_->DropLog(LogId{1}).ok());
  Open();
  EXPECT_EQ(storage_->ListLogs().size(), 1U);
  EXPECT_EQ(storage_->ListLogs()[0].value, 2U);
}

TEST_F(DiskLogTest, ASecondOpenOfTheDirectoryIsRefusedAndNamesTheHolder) {
  Open();
  DiskOptions o = Options();
  auto second = OpenDiskStorage(o, nullptr);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), Code::kFailedPrecondition);
  EXPECT_NE(second.status().message().find("pid " + std::to_string(::getpid())), std::string::npos)
      << second.status().message();
  // Deleting LOCK (it looks stale to some) does not let a second opener in.
  fs::remove(dir_ / "LOCK");
  auto after_rm = OpenDiskStorage(o, nullptr);
  ASSERT_FALSE(after_rm.ok());
  EXPECT_EQ(after_rm.status().code(), Code::kFailedPrecondition);
  // Released with the storage: the next open succeeds (a killed process releases it too:
  // tests/integration/test_data_dir.py).
  storage_.reset();
  auto third = OpenDiskStorage(o, nullptr);
  EXPECT_TRUE(third.ok()) << third.status().ToString();
}

TEST_F(DiskLogTest, DirectoriesAre0700AndFiles0600) {
  Open();
  auto log = std::move(storage_->CreateLog(LogId{1}, "descriptor")).value();
  Put(*log, 0, 3);
  ASSERT_TRUE(storage_->meta().Put("k", "v").ok());
  int checked = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir_)) {
    const auto perms = fs::status(e.path()).permissions() & fs::perms::all;
    if (e.is_directory()) {
      EXPECT_EQ(perms, fs::perms::owner_all) << e.path();
    } else {
      EXPECT_EQ(perms, fs::perms::owner_read | fs::perms::owner_write) << e.path();
    }
    ++checked;
  }
  EXPECT_GE(checked, 6);  // logs/, the log dir, segment, descriptor, LOCK, meta.sqlite...
  EXPECT_EQ(fs::status(dir_).permissions() & fs::perms::all, fs::perms::owner_all);
}

TEST_F(DiskLogTest, AFailedWriteCutsTheLogBackAndLaterWritesSucceed) {
  Open();
  auto log = std::move(storage_->CreateLog(LogId{1}, "")).value();
  Put(*log, 0, 5);
  env_.FailWrites(true);
  AppendResult failed;
  EXPECT_FALSE(PutOne(*log, "failed", &failed).ok());
  EXPECT_EQ(Errors({"write to", SegmentPath(), "failed"}), 1);
  env_.FailWrites(false);
  // The cause is gone: the log takes writes again, reusing the failed offset.
  AppendResult ok;
  ASSERT_TRUE(PutOne(*log, "after", &ok).ok());
  EXPECT_EQ(ok.first.value, 5U);
  EXPECT_EQ(failed.first.value, 5U);
  // A late wait on the failed batch is still told it failed, though its offset is durable now.
  EXPECT_FALSE(log->WaitDurable(failed).ok());
  std::promise<Status> late;
  log->OnDurable(failed, [&](Status st) { late.set_value(st); });
  EXPECT_FALSE(late.get_future().get().ok());
  auto all = ReadAll(*log);
  ASSERT_EQ(all.size(), 6U);
  EXPECT_EQ(all[5], "after");
  log.reset();
  Open();
  all = ReadAll(*storage_->FindLog(LogId{1}));
  ASSERT_EQ(all.size(), 6U);
  EXPECT_EQ(all[5], "after");
}

TEST_F(DiskLogTest, AFailedSyncNeverLetsTheRecordReappearAfterARestart) {
  // fdatasync fails although write() succeeded: the bytes are in the file. They must be cut,
  // or a restart would find complete frames of records that were answered as failed.
  Open();
  auto log = std::move(storage_->CreateLog(LogId{1}, "")).value();
  Put(*log, 0, 5);
  env_.FailSyncs(true);
  EXPECT_FALSE(PutOne(*log, "answered-as-failed").ok());
  env_.FailSyncs(false);
  EXPECT_EQ(Errors({"write to", SegmentPath(), "fdatasync"}), 1);
  // A crash now: the segment as the failure left it (a clean stop would cut it back itself).
  const std::string crashed = *Env::Posix().ReadFile(SegmentPath());
  log.reset();
  storage_.reset();
  {
    auto f = Env::Posix().Open(SegmentPath(), false);
    ASSERT_TRUE((*f)->Truncate(0).ok());
    ASSERT_TRUE((*f)->Append(crashed).ok());
  }
  fs::remove(CheckpointPath());  // as after a crash: the start scans the segment
  fs::remove(dir_ / "CLEAN");
  Open();
  auto all = ReadAll(*storage_->FindLog(LogId{1}));
  ASSERT_EQ(all.size(), 5U);
  for (const auto& r : all) EXPECT_NE(r, "answered-as-failed");
}

TEST_F(DiskLogTest, AFailedSyncWhoseCutFailsTooNeverReappearsAfterACleanStop) {
  // Both the fsync and the cut fail, also at the clean stop. The next start must not take
  // the failed record's complete frame as a record: a marker says where to cut.
  Open();
  auto log = std::move(storage_->CreateLog(LogId{1}, "")).value();
  Put(*log, 0, 5);
  env_.FailSyncs(true);
  env_.FailTruncates(true);
  EXPECT_FALSE(PutOne(*log, "answered-as-failed").ok());
  env_.FailSyncs(false);
  EXPECT_EQ(Errors({"the cut failed too"}), 1);
  log.reset();
  storage_.reset();
  env_.FailTruncates(false);
  ASSERT_TRUE(fs::exists(SegmentPath() + ".cut")) << "the next start must learn where to cut";
  Open();
  auto all = ReadAll(*storage_->FindLog(LogId{1}));
  ASSERT_EQ(all.size(), 5U);
  for (const auto& r : all) EXPECT_NE(r, "answered-as-failed");
  Put(*storage_->FindLog(LogId{1}), 5, 2);  // offsets continue where the durable ones end
}

TEST_F(DiskLogTest, ACutMarkerThatCannotBeWrittenIsReportedAndTheCutIsRetried) {
  // The fsync, the cut and the marker's write all fail (issue 21: the marker's Status was
  // dropped). The failure is reported with the marker's path; the batch still fails and the
  // next write cuts the failed bytes first, so they never reappear.
  Open();
  auto log = std::move(storage_->CreateLog(LogId{1}, "")).value();
  Put(*log, 0, 5);
  env_.FailSyncs(true);
  env_.FailTruncates(true);
  env_.FailAtomicWrites(true);
  EXPECT_FALSE(PutOne(*log, "answered-as-failed").ok());
  env_.FailSyncs(false);
  env_.FailTruncates(false);
  env_.FailAtomicWrites(false);
  EXPECT_EQ(Errors({"the cut failed too"}), 1);
  EXPECT_EQ(Errors({"cut marker", SegmentPath() + ".cut", "not written",
                    "injected atomic write failure"}),
            1);
  EXPECT_FALSE(fs::exists(SegmentPath() + ".cut"));
  Put(*log, 5, 2);  // the cut is retried before this write; offsets reuse the failed one
  log.reset();
  storage_.reset();
  fs::remove(CheckpointPath());  // as after a crash: the start scans the segment
  Open();
  auto all = ReadAll(*storage_->FindLog(LogId{1}));
  ASSERT_EQ(all.size(), 7U);
  for (const auto& r : all) EXPECT_NE(r, "answered-as-failed");
}

TEST_F(DiskLogTest, ACutMarkerThatCannotBeRemovedFailsTheWritesBehindIt) {
  // Regression: after a delayed cut the ".cut" marker's removal was not checked, so a stale
  // marker could outlive acknowledged writes and cut them off at the next start. Now the
  // writes fail until the marker is gone; nothing acknowledged is cut at restart.
  Open();
  auto log = std::move(storage_->CreateLog(LogId{1}, "")).value();
  Put(*log, 0, 5);
  env_.FailSyncs(true);
  env_.FailTruncates(true);
  EXPECT_FALSE(PutOne(*log, "answered-as-failed").ok());
  env_.FailSyncs(false);
  env_.FailTruncates(false);
  ASSERT_TRUE(fs::exists(SegmentPath() + ".cut"));
  env_.FailRemoves(true);
  EXPECT_FALSE(PutOne(*log, "while-the-marker-stays").ok());
  EXPECT_TRUE(fs::exists(SegmentPath() + ".cut"));
  env_.FailRemoves(false);
  Put(*log, 5, 3);  // the cut and the removal are retried first
  EXPECT_FALSE(fs::exists(SegmentPath() + ".cut"));
  log.reset();
  storage_.reset();
  fs::remove(CheckpointPath());  // as after a crash: the start scans the segment
  Open();
  auto all = ReadAll(*storage_->FindLog(LogId{1}));
  ASSERT_EQ(all.size(), 8U);
  for (const auto& r : all) {
    EXPECT_NE(r, "answered-as-failed");
    EXPECT_NE(r, "while-the-marker-stays");
  }
}

TEST_F(DiskLogTest, FailuresQueuedBehindAFailedWriteFailAndLaterOnesSucceed) {
  // Many writers: batches queued behind the failed one fail too (their offsets follow it);
  // nothing acknowledged is lost and nothing failed appears.
  Open();
  auto log = std::move(storage_->CreateLog(LogId{1}, "")).value();
  Put(*log, 0, 3);
  std::mutex mu;
  std::vector<std::string> acked, failed;
  std::atomic<bool> fail_now{false};
  std::vector<std::thread> writers;
  for (int t = 0; t < 4; ++t) {
    writers.emplace_back([&, t] {
      for (int i = 0; i < 150; ++i) {
        if (t == 0 && i == 50) env_.FailWrites(true), fail_now = true;
        if (t == 0 && i == 60) env_.FailWrites(false);
        const std::string data = "w" + std::to_string(t) + "-" + std::to_string(i);
        const bool ok = PutOne(*log, data).ok();
        std::lock_guard lock(mu);
        (ok ? acked : failed).push_back(data);
      }
    });
  }
  for (auto& w : writers) w.join();
  EXPECT_TRUE(fail_now);
  EXPECT_FALSE(failed.empty());
  auto check = [&](std::vector<std::string> all) {
    all.erase(all.begin(), all.begin() + 3);
    std::sort(all.begin(), all.end());
    auto want = acked;
    std::sort(want.begin(), want.end());
    EXPECT_EQ(all, want);
  };
  check(ReadAll(*log));
  log.reset();
  storage_.reset();
  fs::remove(CheckpointPath());
  Open();
  check(ReadAll(*storage_->FindLog(LogId{1})));
}

TEST_F(DiskLogTest, ASegmentWithABadHeaderIsSetAsideAndTheOthersStayInService) {
  segment_bytes_ = 2048;
  Open();
  {
    auto log = std::move(storage_->CreateLog(LogId{1}, "")).value();
    Put(*log, 0, 60);
  }
  storage_.reset();
  const auto first_size = fs::file_size(SegmentPath());
  {
    auto f = Env::Posix().Open(SegmentPath(), false);  // the first segment's header
    std::string bytes = *Env::Posix().ReadFile(SegmentPath());
    bytes[3] = 'X';
    ASSERT_TRUE((*f)->Truncate(0).ok());
    ASSERT_TRUE((*f)->Append(bytes).ok());
  }
  Open();
  auto log = storage_->FindLog(LogId{1});
  const std::uint64_t start = log->StartOffset().value;
  EXPECT_GT(start, 0U);
  std::vector<std::uint64_t> served;
  ASSERT_TRUE(log->Read(Offset{0}, 1000,
                        [&](const RecordView& v) {
                          served.push_back(v.offset.value);
                          return true;
                        })
                  .ok());
  ASSERT_FALSE(served.empty());
  EXPECT_EQ(served.front(), start);
  EXPECT_EQ(served.back(), 59U) << "the later segments stay in service";
  AppendResult a;
  ASSERT_TRUE(PutOne(*log, "new", &a).ok());
  EXPECT_EQ(a.first.value, 60U);
  ASSERT_EQ(Quarantined().size(), 1U);
  EXPECT_EQ(fs::file_size(Quarantined()[0]), first_size);
}

TEST_F(DiskLogTest, WhenNoSegmentCanBeKeptOffsetsRestartAboveEveryOneSetAside) {
  Open();
  {
    auto log = std::move(storage_->CreateLog(LogId{1}, "")).value();
    Put(*log, 0, 30);
  }
  storage_.reset();
  {
    std::string bytes = *Env::Posix().ReadFile(SegmentPath());
    bytes[0] = 'X';
    auto f = Env::Posix().Open(SegmentPath(), false);
    ASSERT_TRUE((*f)->Truncate(0).ok());
    ASSERT_TRUE((*f)->Append(bytes).ok());
  }
  Open();
  auto log = storage_->FindLog(LogId{1});
  EXPECT_GE(log->StartOffset().value, 30U) << "offsets (so sequence numbers) would be reused";
  AppendResult a;
  ASSERT_TRUE(PutOne(*log, "new", &a).ok());
  EXPECT_GE(a.first.value, 30U);
  EXPECT_EQ(Quarantined().size(), 1U);
}

TEST_F(DiskLogTest, DiskFullFailsWritesUntilSpaceIsFreedThenResumes) {
  Open();
  auto log = std::move(storage_->CreateLog(LogId{1}, "")).value();
  Put(*log, 0, 10);
  env_.SetSpaceBudget(300);  // a few frames fit, then ENOSPC mid-frame
  std::vector<std::string> acked, failed;
  for (int i = 0; i < 40; ++i) {
    const std::string data = "full-" + std::to_string(i) + std::string(40, 'y');
    (PutOne(*log, data).ok() ? acked : failed).push_back(data);
  }
  EXPECT_FALSE(acked.empty());
  ASSERT_FALSE(failed.empty());
  EXPECT_GE(Errors({"write to", SegmentPath(), "No space left on device"}), 1);
  env_.SetSpaceBudget(-1);  // space freed
  for (int i = 0; i < 5; ++i) {
    const std::string data = "later-" + std::to_string(i);
    ASSERT_TRUE(PutOne(*log, data).ok());
    acked.push_back(data);
  }
  auto check = [&](const std::vector<std::string>& all) {
    ASSERT_EQ(all.size(), 10U + acked.size());
    EXPECT_EQ(std::vector<std::string>(all.begin() + 10, all.end()), acked);
  };
  check(ReadAll(*log));
  log.reset();
  storage_.reset();
  fs::remove(CheckpointPath());
  Open();
  check(ReadAll(*storage_->FindLog(LogId{1})));
}

TEST_F(DiskLogTest, AFailedIndexWriteAtARollFailsTheBatchAndTheRollIsRetried) {
  segment_bytes_ = 2048;
  Open();
  auto log = std::move(storage_->CreateLog(LogId{1}, "")).value();
  Put(*log, 0, 30);  // past one segment
  env_.FailAtomicWrites(true);
  int failures = 0;
  for (int i = 0; i < 40; ++i) failures += !PutOne(*log, "r" + std::to_string(i)).ok();
  env_.FailAtomicWrites(false);
  EXPECT_GT(failures, 0);
  EXPECT_GE(Errors({"injected atomic write failure"}), 1);
  Put(*log, static_cast<int>(log->EndOffset().value), 40);
  const auto n = ReadAll(*log).size();
  log.reset();
  storage_.reset();
  Open();
  EXPECT_EQ(ReadAll(*storage_->FindLog(LogId{1})).size(), n);
}

TEST_F(DiskLogTest, FilesWhoseDirectoryWasNotSyncedAreLostInAPowerCutButNoAcknowledgedRecord) {
  // The fault env forgets files created since their directory's last sync, as a power cut
  // can. Segments are rolled (new files) while records are acknowledged; every acknowledged
  // record must survive because each new file's entry was synced before acknowledging.
  segment_bytes_ = 2048;
  Open();
  auto log = std::move(storage_->CreateLog(LogId{1}, "")).value();
  Put(*log, 0, 120);
  log.reset();
  env_.DropUnsyncedData();
  storage_.reset();
  for (const auto& e : fs::directory_iterator(dir_ / "logs" / format::LogDirName(LogId{1}))) {
    if (e.path().extension() == ".cpt") fs::remove(e.path());
  }
  Open();
  auto all = ReadAll(*storage_->FindLog(LogId{1}));
  ASSERT_EQ(all.size(), 120U);
  EXPECT_EQ(all[119], "record-119" + std::string(119 % 50, 'x'));
}

TEST_F(DiskLogTest, DamageMidSegmentSetsTheIntactRecordsAfterItAsideAndReportsThem) {
  Open();
  {
    auto log = std::move(storage_->CreateLog(LogId{1}, "")).value();
    Put(*log, 0, 20);
  }
  storage_.reset();
  fs::remove(CheckpointPath());
  // Flip one byte inside record 2.
  const std::string path = SegmentPath();
  std::string bytes = *Env::Posix().ReadFile(path);
  std::size_t pos = format::kSegmentHeaderSize;
  for (int i = 0; i < 2; ++i) {
    format::DecodedFrame f;
    ASSERT_EQ(format::DecodeFrame(std::string_view(bytes).substr(pos), f),
              format::FrameStatus::kOk);
    pos += f.size;
  }
  bytes[pos + 20] = static_cast<char>(bytes[pos + 20] ^ 0x40);
  {
    auto f = Env::Posix().Open(path, false);
    ASSERT_TRUE((*f)->Truncate(0).ok());
    ASSERT_TRUE((*f)->Append(bytes).ok());
  }
  Open();
  EXPECT_EQ(ReadAll(*storage_->FindLog(LogId{1})).size(), 2U);
  EXPECT_EQ(Errors({"corruption at byte " + std::to_string(pos), path,
                    "17 intact records after the damaged one (offsets 3..19)"}),
            1);
  // The cut bytes were copied, not thrown away: every intact record is still there.
  auto kept = Quarantined();
  ASSERT_EQ(kept.size(), 1U);
  const std::string tail = *Env::Posix().ReadFile(kept[0].string());
  EXPECT_EQ(tail, bytes.substr(pos));
  EXPECT_EQ(format::FindIntactFrames(tail, 2).count, 17U);
  // Offsets 2..19 were acknowledged once: new records must not get their sequence numbers.
  AppendResult a;
  ASSERT_TRUE(PutOne(*storage_->FindLog(LogId{1}), "new", &a).ok());
  EXPECT_GE(a.first.value, 20U);
  std::vector<std::string> after;
  ASSERT_TRUE(storage_->FindLog(LogId{1})
                  ->Read(Offset{2}, 100,
                         [&](const RecordView& v) {
                           EXPECT_EQ(v.offset.value, a.first.value);
                           after.emplace_back(v.data);
                           return true;
                         })
                  .ok());
  EXPECT_EQ(after, std::vector<std::string>{"new"}) << "a read jumps the gap";
}

TEST_F(DiskLogTest, CorruptionMetByAReadIsReportedWithPathAndOffset) {
  segment_bytes_ = 2048;
  Open();
  {
    auto log = std::move(storage_->CreateLog(LogId{1}, "")).value();
    Put(*log, 0, 60);  // several sealed segments, trusted at start through their index
  }
  storage_.reset();
  const std::string path = SegmentPath();
  std::string bytes = *Env::Posix().ReadFile(path);
  bytes[bytes.size() / 2] = static_cast<char>(bytes[bytes.size() / 2] ^ 0x08);
  {
    auto f = Env::Posix().Open(path, false);
    ASSERT_TRUE((*f)->Truncate(0).ok());
    ASSERT_TRUE((*f)->Append(bytes).ok());
  }
  Open();
  auto log = storage_->FindLog(LogId{1});
  for (int i = 0; i < 3; ++i) {
    auto r = log->Read(Offset{0}, 1000, [](const RecordView&) { return true; });
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), Code::kCorruption);
  }
  EXPECT_EQ(Errors({"corrupt record at offset", path}), 1);  // once, not per read
}

TEST_F(DiskLogTest, DamageInASealedSegmentLeavesTheSegmentsAfterItInService) {
  segment_bytes_ = 2048;
  Open();
  {
    auto log = std::move(storage_->CreateLog(LogId{1}, "")).value();
    Put(*log, 0, 60);
  }
  storage_.reset();
  // Damage the first segment's last frame (and lose its index, so the start scans it).
  const std::string first = SegmentPath();
  fs::remove(fs::path(first).replace_extension(".idx"));
  std::string bytes = *Env::Posix().ReadFile(first);
  bytes[bytes.size() - 2] = static_cast<char>(bytes[bytes.size() - 2] ^ 0x01);
  {
    auto f = Env::Posix().Open(first, false);
    ASSERT_TRUE((*f)->Truncate(0).ok());
    ASSERT_TRUE((*f)->Append(bytes).ok());
  }
  Open();
  auto log = storage_->FindLog(LogId{1});
  std::vector<std::uint64_t> served;
  ASSERT_TRUE(log->Read(Offset{0}, 1000,
                        [&](const RecordView& v) {
                          served.push_back(v.offset.value);
                          return true;
                        })
                  .ok());
  // One record lost to the damage (kept in quarantine/), every other one served.
  ASSERT_EQ(served.size(), 59U);
  EXPECT_EQ(served.back(), 59U);
  EXPECT_GE(Errors({"corruption at byte", first}), 1);
  ASSERT_EQ(Quarantined().size(), 1U);
  // After another restart (the cut segment's index rewritten) it is the same.
  log.reset();
  Open();
  served.clear();
  ASSERT_TRUE(storage_->FindLog(LogId{1})
                  ->Read(Offset{0}, 1000,
                         [&](const RecordView& v) {
                           served.push_back(v.offset.value);
                           return true;
                         })
                  .ok());
  EXPECT_EQ(served.size(), 59U);
}

TEST_F(DiskLogTest, ALeftoverOfAFailedCreateIsRemovedButOneWithRecordsIsSetAside) {
  Open();
  {
    auto log = std::move(storage_->CreateLog(LogId{1}, "")).value();
    Put(*log, 0, 3);
  }
  ASSERT_TRUE(storage_->CreateLog(LogId{2}, "").ok());
  storage_.reset();
  // Take both directories out of the storage's sight, then put them back as leftovers.
  const fs::path logs = dir_ / "logs";
  fs::rename(logs / format::LogDirName(LogId{1}), dir_ / "with-records");
  fs::rename(logs / format::LogDirName(LogId{2}), dir_ / "header-only");
  Open();
  ASSERT_TRUE(storage_->ListLogs().empty());
  fs::rename(dir_ / "with-records", logs / format::LogDirName(LogId{1}));
  fs::rename(dir_ / "header-only", logs / format::LogDirName(LogId{2}));
  for (int attempt = 0; attempt < 3; ++attempt) {
    ASSERT_TRUE(storage_->CreateLog(LogId{2}, "").ok());  // a retried create, say
    ASSERT_TRUE(storage_->DropLog(LogId{2}).ok());
    fs::create_directories(logs / format::LogDirName(LogId{2}));
  }
  EXPECT_TRUE(Quarantined().empty()) << "nothing worth keeping in a header-only leftover";
  ASSERT_TRUE(storage_->CreateLog(LogId{1}, "").ok());
  ASSERT_EQ(Quarantined().size(), 1U) << "a leftover holding records is kept";
}

// A crash right after a roll leaves the new segment empty (no header): recovery removes it.
// The segment before it was trusted through its index, not scanned, so new records must not
// go behind it: a damaged record there would stop every read of them (found by the
// segment_recovery fuzzer; its input is in fuzz/corpus/segment_recovery/).
TEST_F(DiskLogTest, AfterAnEmptyNewSegmentIsRemovedNewRecordsReadBackPastDamageBeforeIt) {
  segment_bytes_ = 2048;
  index_interval_bytes_ = 64 << 10;  // the default: one index entry per segment here
  Open();
  {
    auto log = std::move(storage_->CreateLog(LogId{1}, "")).value();
    Put(*log, 0, 80);
  }
  storage_.reset();
  const fs::path log_dir = fs::path(SegmentPath()).parent_path();
  std::vector<std::uint64_t> bases;
  for (const auto& e : fs::directory_iterator(log_dir)) {
    if (e.path().extension() == ".log") bases.push_back(std::stoull(e.path().stem().string()));
  }
  std::sort(bases.begin(), bases.end());
  ASSERT_GE(bases.size(), 2U);
  const std::uint64_t next = bases[1];
  // Keep segments 0 and 1's base only, as an empty file: the crash at the roll.
  for (std::size_t k = 1; k < bases.size(); ++k) {
    fs::remove(SegmentPath(bases[k]));
    fs::remove(fs::path(SegmentPath(bases[k])).replace_extension(".idx"));
  }
  std::ofstream(SegmentPath(next), std::ios::binary).flush();
  // Damage the last record of segment 0 (same size, so its index still matches it).
  const std::string first = SegmentPath();
  std::string bytes = *Env::Posix().ReadFile(first);
  bytes[bytes.size() - 2] = static_cast<char>(bytes[bytes.size() - 2] ^ 0x01);
  {
    auto f = Env::Posix().Open(first, false);
    ASSERT_TRUE((*f)->Truncate(0).ok());
    ASSERT_TRUE((*f)->Append(bytes).ok());
  }
  segment_bytes_ = 1 << 20;  // segment 0 is not full: nothing would roll past it
  for (int restart = 0; restart < 2; ++restart) {
    Open();
    auto log = storage_->FindLog(LogId{1});
    ASSERT_NE(log, nullptr);
    AppendResult appended;
    ASSERT_TRUE(PutOne(*log, "after-" + std::to_string(restart), &appended).ok());
    EXPECT_EQ(appended.first.value, next + static_cast<std::uint64_t>(restart));
    for (int k = 0; k <= restart; ++k) {
      std::vector<std::string> got;
      auto r = log->Read(Offset{next + static_cast<std::uint64_t>(k)}, 1, [&](const RecordView& v) {
        got.emplace_back(v.data);
        return true;
      });
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      ASSERT_EQ(got, std::vector<std::string>{"after-" + std::to_string(k)});
    }
    storage_.reset();
  }
}

TEST_F(DiskLogTest, ADamagedMetadataStoreIsRefusedOrSetAsideOnRequest) {
  Open();
  ASSERT_TRUE(storage_->meta().Put("stream/1", "doc").ok());
  storage_.reset();
  {
    std::string junk(4096, 'x');
    auto f = Env::Posix().Open((dir_ / "meta.sqlite").string(), false);
    ASSERT_TRUE((*f)->Truncate(0).ok());
    ASSERT_TRUE((*f)->Append(junk).ok());
  }
  auto refused = OpenDiskStorage(Options(), nullptr);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Code::kCorruption);
  DiskOptions o = Options();
  o.set_aside_damaged_metadata = true;
  auto opened = OpenDiskStorage(o, nullptr);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_TRUE((*opened)->meta().LoadAll()->empty());
  bool kept = false;
  for (const auto& q : Quarantined()) kept |= q.filename().string().rfind("meta.sqlite-", 0) == 0;
  EXPECT_TRUE(kept);
}

TEST_F(DiskLogTest, DescriptorsSurviveAndQuarantinedLogsLeaveNothingBehind) {
  Open();
  auto log = std::move(storage_->CreateLog(LogId{7}, "{\"shard\":7}")).value();
  Put(*log, 0, 3);
  log.reset();
  Open();
  EXPECT_EQ(*storage_->Descriptor(LogId{7}), "{\"shard\":7}");
  ASSERT_TRUE(storage_->QuarantineLog(LogId{7}, "test").ok());
  EXPECT_FALSE(storage_->FindLog(LogId{7}));
  Open();
  EXPECT_TRUE(storage_->ListLogs().empty());
  ASSERT_EQ(Quarantined().size(), 1U);
  EXPECT_TRUE(fs::is_directory(Quarantined()[0]));
}

}  // namespace
}  // namespace cinesis::storage
