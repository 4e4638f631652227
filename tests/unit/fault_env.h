// A test Env over the real file system that remembers how much of each file was synced,
// can fail writes on demand, and can simulate a power loss by dropping unsynced bytes.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "storage/env.h"

namespace cinesis::storage::testing {

class FaultEnv final : public Env {
 public:
  // Truncates every file written through this Env to its last synced size.
  void DropUnsyncedData() {
    std::lock_guard lock(state_->mu);
    for (auto& [path, synced] : state_->synced) {
      auto f = Env::Posix().Open(path, false);
      if (f.ok() && (*f)->Size() > synced) (void)(*f)->Truncate(synced);
    }
  }
  // Appends fail from now on (until reset with false).
  void FailWrites(bool fail) { state_->fail_writes = fail; }

  Result<std::unique_ptr<File>> Open(const std::string& path, bool create) override {
    ASSIGN_OR_RETURN(auto inner, Env::Posix().Open(path, create));
    {
      std::lock_guard lock(state_->mu);
      // A file seen for the first time counts as synced up to its current size.
      state_->synced.try_emplace(path, inner->Size());
    }
    return std::unique_ptr<File>(new TrackedFile(std::move(inner), path, state_));
  }
  Status WriteFileAtomic(const std::string& path, std::string_view data) override {
    return Env::Posix().WriteFileAtomic(path, data);
  }
  Result<std::string> ReadFile(const std::string& path) override {
    return Env::Posix().ReadFile(path);
  }
  bool Exists(const std::string& path) override { return Env::Posix().Exists(path); }
  Status Remove(const std::string& path) override {
    std::lock_guard lock(state_->mu);
    state_->synced.erase(path);
    return Env::Posix().Remove(path);
  }
  Status RemoveAll(const std::string& dir) override { return Env::Posix().RemoveAll(dir); }
  Status MakeDirs(const std::string& dir) override { return Env::Posix().MakeDirs(dir); }
  Result<std::vector<std::string>> List(const std::string& dir) override {
    return Env::Posix().List(dir);
  }
  Status SyncDir(const std::string& dir) override { return Env::Posix().SyncDir(dir); }

 private:
  struct State {
    std::mutex mu;
    std::map<std::string, std::uint64_t> synced;
    std::atomic<bool> fail_writes{false};
  };
  class TrackedFile final : public File {
   public:
    TrackedFile(std::unique_ptr<File> inner, std::string path, std::shared_ptr<State> state)
        : inner_(std::move(inner)), path_(std::move(path)), state_(std::move(state)) {}
    Status Append(std::string_view data) override {
      if (state_->fail_writes) return {Code::kIoError, "injected write failure"};
      return inner_->Append(data);
    }
    Status Sync() override {
      RETURN_IF_ERROR(inner_->Sync());
      std::lock_guard lock(state_->mu);
      state_->synced[path_] = inner_->Size();
      return Status::Ok();
    }
    Result<std::size_t> ReadAt(std::uint64_t pos, char* buf, std::size_t n) const override {
      return inner_->ReadAt(pos, buf, n);
    }
    Status Truncate(std::uint64_t size) override {
      RETURN_IF_ERROR(inner_->Truncate(size));
      std::lock_guard lock(state_->mu);
      auto& s = state_->synced[path_];
      s = std::min(s, size);
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
