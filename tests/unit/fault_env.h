// A test Env over the real file system, after leveldb's fault-injection test: it remembers
// how much of each file was synced and which files were created since their directory was
// last synced, and can
//  - fail appends, syncs, atomic writes or metadata writes on demand,
//  - run out of space (appends fail with "No space left on device" past a byte budget,
//    after writing what still fits, as a full disk does),
//  - simulate a power loss: drop unsynced data and the files created since the last sync of
//    their directory,
//  - impose a limit on open files (as RLIMIT_NOFILE does).
#pragma once

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/status.h"
#include "storage/env.h"
#include "storage/log.h"

namespace cinesis::storage::testing {

class FaultEnv final : public Env {
 public:
  // Power loss: undoes every write since the last sync of its file (truncating files back to
  // their synced size, restoring bytes written over) and deletes the files whose directory
  // entry was never synced.
  void DropUnsyncedData() {
    std::lock_guard lock(state_->mu);
    for (const auto& path : state_->unsynced_entries) {
      std::error_code ec;
      std::filesystem::remove(path, ec);
      state_->synced.erase(path);
    }
    state_->unsynced_entries.clear();
    for (auto& [path, synced] : state_->synced) {
      auto f = Env::Posix().Open(path, false);
      if (!f.ok()) continue;
      // Unsynced writes over synced bytes (the storage's preallocated space) are undone,
      // newest first, so those bytes read as they were at the last sync.
      if (auto undo = state_->undo.find(path); undo != state_->undo.end()) {
        for (auto it = undo->second.rbegin(); it != undo->second.rend(); ++it)
          (void)(*f)->WriteAt(it->first, it->second);
      }
      if ((*f)->Size() > synced) (void)(*f)->Truncate(synced);
    }
    state_->undo.clear();
  }
  // Appends fail from now on (until reset with false).
  void FailWrites(bool fail) { state_->fail_writes = fail; }
  // File syncs (fdatasync) fail from now on; the data stays written but not durable.
  void FailSyncs(bool fail) { state_->fail_syncs = fail; }
  // WriteFileAtomic fails (before renaming) from now on.
  void FailAtomicWrites(bool fail) { state_->fail_atomic = fail; }
  // Metadata Put/Erase fail from now on.
  void FailMetaWrites(bool fail) { state_->fail_meta = fail; }
  // File truncation fails from now on.
  void FailTruncates(bool fail) { state_->fail_truncate = fail; }
  // Remove and RemoveAll fail from now on.
  void FailRemoves(bool fail) { state_->fail_remove = fail; }
  // File syncs (fdatasync) wait while held, as on a stalled disk, until released.
  void HoldSyncs(bool hold) {
    {
      std::lock_guard lock(state_->mu);
      state_->hold_syncs = hold;
    }
    state_->hold_cv.notify_all();
  }
  // File appends wait while held (before writing), until released.
  void HoldWrites(bool hold) {
    {
      std::lock_guard lock(state_->mu);
      state_->hold_writes = hold;
    }
    state_->hold_cv.notify_all();
  }
  // Appends waiting in HoldWrites now.
  int held_writes() const { return state_->held_writes.load(); }
  // Syncs waiting in HoldSyncs now.
  int held_syncs() const { return state_->held_syncs.load(); }
  // The thread of the last file append.
  std::thread::id last_writer() const {
    std::lock_guard lock(state_->mu);
    return state_->last_writer;
  }
  // Appends may write `bytes` more bytes in all; past that they write what fits and fail
  // with ENOSPC. A negative budget: unlimited (the default).
  void SetSpaceBudget(std::int64_t bytes) { state_->space = bytes; }
  // How many times an injected failure was returned.
  int injected() const { return state_->injected.load(); }

  // Open-file limit: Open fails ("Too many open files") while `limit` files opened through
  // this Env plus `held` others (standing in for sockets) are open; 0: no limit.
  void LimitOpenFiles(std::uint64_t limit) { state_->limit = limit; }
  void HoldFiles(std::uint64_t held) { state_->held = held; }
  // Files opened through this Env and open now, and the most that ever were at once.
  std::uint64_t open_files() const { return state_->open; }
  std::uint64_t peak_open_files() const { return state_->peak; }
  std::uint64_t MaxOpenFiles() override { return state_->limit; }
  std::uint64_t OpenFiles() override {
    ++state_->open_files_calls;
    return state_->open + state_->held;
  }
  // How many times OpenFiles was asked (the real one lists /proc/self/fd: O(descriptors)).
  std::uint64_t open_files_calls() const { return state_->open_files_calls; }

  Result<std::unique_ptr<File>> Open(const std::string& path, bool create) override {
    const bool existed = Env::Posix().Exists(path);
    // Counted before the open, so concurrent opens never pass the limit together.
    const std::uint64_t now = ++state_->open;
    if (state_->limit > 0 && now + state_->held > state_->limit) {
      --state_->open;
      return Status(Code::kIoError, "open " + path + ": Too many open files (FaultEnv limit)");
    }
    auto opened = Env::Posix().Open(path, create);
    if (!opened.ok()) {
      --state_->open;
      return opened.status();
    }
    auto inner = std::move(opened).value();
    for (std::uint64_t peak = state_->peak;
         now > peak && !state_->peak.compare_exchange_weak(peak, now);) {
    }
    {
      std::lock_guard lock(state_->mu);
      // A file seen for the first time counts as synced up to its current size.
      state_->synced.try_emplace(path, existed ? inner->Size() : 0);
      if (!existed) state_->unsynced_entries.insert(path);
    }
    return std::unique_ptr<File>(new TrackedFile(std::move(inner), path, state_));
  }
  Status WriteFileAtomic(const std::string& path, std::string_view data) override {
    if (state_->fail_atomic) return Injected("injected atomic write failure: " + path);
    RETURN_IF_ERROR(Env::Posix().WriteFileAtomic(path, data));  // syncs file and directory
    std::lock_guard lock(state_->mu);
    state_->unsynced_entries.erase(path);
    state_->synced.erase(path);
    state_->undo.erase(path);
    return Status::Ok();
  }
  Result<std::string> ReadFile(const std::string& path) override {
    return Env::Posix().ReadFile(path);
  }
  bool Exists(const std::string& path) override { return Env::Posix().Exists(path); }
  Status Remove(const std::string& path) override {
    if (state_->fail_remove) return Injected("injected remove failure: " + path);
    std::lock_guard lock(state_->mu);
    state_->synced.erase(path);
    state_->unsynced_entries.erase(path);
    state_->undo.erase(path);
    return Env::Posix().Remove(path);
  }
  Status RemoveAll(const std::string& dir) override {
    if (state_->fail_remove) return Injected("injected remove failure: " + dir);
    return Env::Posix().RemoveAll(dir);
  }
  Status MakeDirs(const std::string& dir) override { return Env::Posix().MakeDirs(dir); }
  Status Rename(const std::string& from, const std::string& to) override {
    RETURN_IF_ERROR(Env::Posix().Rename(from, to));
    std::lock_guard lock(state_->mu);
    // Files under a renamed directory move with it.
    std::map<std::string, std::uint64_t> moved;
    for (auto it = state_->synced.begin(); it != state_->synced.end();) {
      if (it->first == from || it->first.rfind(from + "/", 0) == 0) {
        moved[to + it->first.substr(from.size())] = it->second;
        it = state_->synced.erase(it);
      } else {
        ++it;
      }
    }
    state_->synced.insert(moved.begin(), moved.end());
    std::map<std::string, std::vector<std::pair<std::uint64_t, std::string>>> moved_undo;
    for (auto it = state_->undo.begin(); it != state_->undo.end();) {
      if (it->first == from || it->first.rfind(from + "/", 0) == 0) {
        moved_undo[to + it->first.substr(from.size())] = std::move(it->second);
        it = state_->undo.erase(it);
      } else {
        ++it;
      }
    }
    for (auto& [path, undo] : moved_undo) state_->undo[path] = std::move(undo);
    return Status::Ok();
  }
  Result<std::vector<std::string>> List(const std::string& dir) override {
    return Env::Posix().List(dir);
  }
  Status SyncDir(const std::string& dir) override {
    RETURN_IF_ERROR(Env::Posix().SyncDir(dir));
    ++state_->dir_syncs;
    std::lock_guard lock(state_->mu);
    for (auto it = state_->unsynced_entries.begin(); it != state_->unsynced_entries.end();) {
      if (std::filesystem::path(*it).parent_path() == std::filesystem::path(dir)) {
        it = state_->unsynced_entries.erase(it);
      } else {
        ++it;
      }
    }
    return Status::Ok();
  }
  // Everything written through this Env becomes durable (files created before this call
  // survive DropUnsyncedData with what they held).
  Status SyncFileSystem(const std::string& dir) override {
    if (state_->fail_syncs) return Injected("syncfs " + dir + ": Input/output error (injected)");
    RETURN_IF_ERROR(Env::Posix().SyncFileSystem(dir));
    ++state_->fs_syncs;
    std::lock_guard lock(state_->mu);
    state_->unsynced_entries.clear();
    for (auto& [path, synced] : state_->synced) {
      auto f = Env::Posix().Open(path, false);
      if (f.ok()) synced = (*f)->Size();
    }
    state_->undo.clear();
    return Status::Ok();
  }
  // Syncs asked for so far: SyncDir, File::Sync (fdatasync), SyncFileSystem.
  std::uint64_t dir_syncs() const { return state_->dir_syncs; }
  std::uint64_t file_syncs() const { return state_->file_syncs; }
  std::uint64_t fs_syncs() const { return state_->fs_syncs; }
  // File::DropCache calls passed on, and those that reached bytes not synced (past the
  // synced size, beyond the page it ends in, or written since the last sync): the storage
  // drops only what is durable.
  std::uint64_t cache_drops() const { return state_->cache_drops; }
  std::uint64_t unsynced_cache_drops() const { return state_->unsynced_cache_drops; }
  Result<std::unique_ptr<FileLock>> LockFile(const std::string& path,
                                             std::string_view holder) override {
    return Env::Posix().LockFile(path, holder);
  }
  Result<std::unique_ptr<MetaStore>> OpenMetaStore(const std::string& path) override {
    ASSIGN_OR_RETURN(auto inner, Env::Posix().OpenMetaStore(path));
    return std::unique_ptr<MetaStore>(new FaultyMeta(std::move(inner), state_));
  }

 private:
  struct State {
    std::mutex mu;
    std::map<std::string, std::uint64_t> synced;
    // Per file, the bytes that unsynced writes wrote over, in write order: (position, old).
    std::map<std::string, std::vector<std::pair<std::uint64_t, std::string>>> undo;
    std::set<std::string> unsynced_entries;  // created since their directory's last sync
    std::atomic<bool> fail_writes{false};
    std::atomic<bool> fail_syncs{false};
    bool hold_syncs = false;   // guarded by mu
    bool hold_writes = false;  // guarded by mu
    std::atomic<int> held_writes{0};
    std::atomic<int> held_syncs{0};
    std::thread::id last_writer;  // guarded by mu
    std::condition_variable hold_cv;
    std::atomic<bool> fail_atomic{false};
    std::atomic<bool> fail_meta{false};
    std::atomic<bool> fail_truncate{false};
    std::atomic<bool> fail_remove{false};
    std::atomic<std::int64_t> space{-1};
    std::atomic<int> injected{0};
    std::atomic<std::uint64_t> limit{0};
    std::atomic<std::uint64_t> held{0};
    std::atomic<std::uint64_t> open{0};
    std::atomic<std::uint64_t> peak{0};
    std::atomic<std::uint64_t> open_files_calls{0};
    std::atomic<std::uint64_t> dir_syncs{0};
    std::atomic<std::uint64_t> file_syncs{0};
    std::atomic<std::uint64_t> fs_syncs{0};
    std::atomic<std::uint64_t> cache_drops{0};
    std::atomic<std::uint64_t> unsynced_cache_drops{0};
  };
  Status Injected(std::string what) {
    ++state_->injected;
    return {Code::kIoError, std::move(what)};
  }
  class FaultyMeta final : public MetaStore {
   public:
    FaultyMeta(std::unique_ptr<MetaStore> inner, std::shared_ptr<State> state)
        : inner_(std::move(inner)), state_(std::move(state)) {}
    Status Put(std::string_view key, std::string_view value) override {
      if (state_->fail_meta) return Fail();
      return inner_->Put(key, value);
    }
    Status Erase(std::string_view key) override {
      if (state_->fail_meta) return Fail();
      return inner_->Erase(key);
    }
    Result<std::vector<std::pair<std::string, std::string>>> LoadAll() override {
      return inner_->LoadAll();
    }
    // Forwarded, so that tests through this Env run the real store's ForEach (not the
    // LoadAll-based default).
    Status ForEach(const EntryVisitor& visit) override { return inner_->ForEach(visit); }

   private:
    Status Fail() {
      ++state_->injected;
      return {Code::kIoError, "injected metadata write failure"};
    }
    std::unique_ptr<MetaStore> inner_;
    std::shared_ptr<State> state_;
  };
  class TrackedFile final : public File {
   public:
    TrackedFile(std::unique_ptr<File> inner, std::string path, std::shared_ptr<State> state)
        : inner_(std::move(inner)), path_(std::move(path)), state_(std::move(state)) {}
    ~TrackedFile() override { --state_->open; }
    Status Append(std::string_view data) override { return WriteAt(inner_->Size(), data); }
    Status WriteAt(std::uint64_t pos, std::string_view data) override {
      {
        std::unique_lock lock(state_->mu);
        ++state_->held_writes;
        state_->hold_cv.wait(lock, [&] { return !state_->hold_writes; });
        --state_->held_writes;
        state_->last_writer = std::this_thread::get_id();
      }
      if (state_->fail_writes) {
        ++state_->injected;
        return {Code::kIoError, "injected write failure: " + path_};
      }
      {
        // What this write goes over, as of the last sync: restored by DropUnsyncedData.
        std::lock_guard lock(state_->mu);
        const std::uint64_t synced = state_->synced[path_];
        if (pos < synced) {
          std::string old(
              static_cast<std::size_t>(std::min<std::uint64_t>(synced - pos, data.size())), '\0');
          auto n = inner_->ReadAt(pos, old.data(), old.size());
          if (n.ok()) {
            old.resize(*n);
            state_->undo[path_].emplace_back(pos, std::move(old));
          }
        }
      }
      // Only bytes past the end of the file take new space.
      const std::uint64_t size = inner_->Size();
      const std::uint64_t over = pos < size ? std::min<std::uint64_t>(size - pos, data.size()) : 0;
      std::int64_t space = state_->space.load();
      if (space >= 0) {
        const auto fits = over + static_cast<std::size_t>(std::min<std::int64_t>(
                                     space, static_cast<std::int64_t>(data.size() - over)));
        state_->space -= static_cast<std::int64_t>(fits - over);
        if (fits < data.size()) {
          RETURN_IF_ERROR(inner_->WriteAt(pos, data.substr(0, fits)));
          ++state_->injected;
          return {Code::kIoError, "write " + path_ + ": No space left on device"};
        }
      }
      return inner_->WriteAt(pos, data);
    }
    Status Sync() override {
      {
        std::unique_lock lock(state_->mu);
        ++state_->held_syncs;
        state_->hold_cv.wait(lock, [&] { return !state_->hold_syncs; });
        --state_->held_syncs;
      }
      if (state_->fail_syncs) {
        ++state_->injected;
        return {Code::kIoError, "fdatasync " + path_ + ": Input/output error (injected)"};
      }
      RETURN_IF_ERROR(inner_->Sync());
      ++state_->file_syncs;
      std::lock_guard lock(state_->mu);
      state_->synced[path_] = inner_->Size();
      state_->undo.erase(path_);
      return Status::Ok();
    }
    Result<std::size_t> ReadAt(std::uint64_t pos, char* buf, std::size_t n) const override {
      return inner_->ReadAt(pos, buf, n);
    }
    void DropCache(std::uint64_t from, std::uint64_t to) override {
      {
        std::lock_guard lock(state_->mu);
        constexpr std::uint64_t kPage = 4096;
        const std::uint64_t synced = state_->synced[path_];
        const std::uint64_t end = to == kToEnd ? inner_->Size() : to;
        bool unsynced = from >= to || end > (synced + kPage - 1) / kPage * kPage;
        // Written since the last sync over synced bytes (preallocated zeros, say).
        if (auto undo = state_->undo.find(path_); undo != state_->undo.end()) {
          for (const auto& [pos, old] : undo->second)
            unsynced |= pos < end && pos + old.size() > from;
        }
        if (unsynced) ++state_->unsynced_cache_drops;
      }
      ++state_->cache_drops;
      inner_->DropCache(from, to);
    }
    Status Truncate(std::uint64_t size) override {
      if (state_->fail_truncate) {
        ++state_->injected;
        return {Code::kIoError, "ftruncate " + path_ + ": Input/output error (injected)"};
      }
      const std::uint64_t before = inner_->Size();
      RETURN_IF_ERROR(inner_->Truncate(size));
      if (state_->space.load() >= 0 && before > size)
        state_->space += static_cast<std::int64_t>(before - size);  // space freed
      std::lock_guard lock(state_->mu);
      auto& s = state_->synced[path_];
      s = std::min(s, size);
      // Bytes past the new end are gone: nothing there to restore.
      if (auto undo = state_->undo.find(path_); undo != state_->undo.end()) {
        auto& list = undo->second;
        std::erase_if(list, [&](const auto& u) { return u.first >= size; });
        for (auto& u : list) {
          if (u.first + u.second.size() > size) u.second.resize(size - u.first);
        }
      }
      return Status::Ok();
    }
    std::uint64_t Size() const override { return inner_->Size(); }

   private:
    std::unique_ptr<File> inner_;
    std::string path_;
    std::shared_ptr<State> state_;
  };
  std::shared_ptr<State> state_ = std::make_shared<State>();
};

}  // namespace cinesis::storage::testing
