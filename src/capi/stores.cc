// Checkpoint and lease stores of cinesis.h: memory, SQLite, Redis, PostgreSQL, and a store
// written in the caller's language through cinesis_store_callbacks_t.
#include <array>

#include "capi/internal.h"

namespace cinesis::capi {
namespace {

using consumer::Checkpoint;
using consumer::Lease;
using consumer::Scope;

// A Store whose every call goes to the caller's callbacks.
class CallbackStore final : public consumer::Store {
 public:
  CallbackStore(const cinesis_store_callbacks_t& cb, void* user) : cb_(cb), user_(user) {}
  ~CallbackStore() override {
    if (cb_.destroy != nullptr) cb_.destroy(user_);
  }

  Status Save(const Scope& scope, const std::string& shard_id, const Checkpoint& cp) override {
    Err err;
    const auto s = CScope(scope);
    return Check("save",
                 cb_.save(user_, &s, shard_id.c_str(), cp.sequence_number.c_str(),
                          cp.sub_sequence_number, err.data(), err.size()),
                 err);
  }

  Result<bool> SaveIfOwner(const Scope& scope, const Lease& lease, const Checkpoint& cp,
                           EpochMillis now) override {
    Err err;
    const auto s = CScope(scope);
    const auto l = CLease(lease);
    int saved = 0;
    RETURN_IF_ERROR(
        Check("save_if_owner",
              cb_.save_if_owner(user_, &s, &l, cp.sequence_number.c_str(), cp.sub_sequence_number,
                                now, &saved, err.data(), err.size()),
              err));
    return saved != 0;
  }

  Result<std::optional<Checkpoint>> Load(const Scope& scope, const std::string& shard_id) override {
    Err err;
    const auto s = CScope(scope);
    std::map<std::string, Checkpoint> got;
    RETURN_IF_ERROR(Check(
        "load",
        cb_.load(user_, &s, shard_id.c_str(), &EmitCheckpoint, &got, err.data(), err.size()), err));
    if (got.empty()) return std::optional<Checkpoint>();
    return std::optional<Checkpoint>(got.begin()->second);
  }

  Result<std::map<std::string, Checkpoint>> LoadAll(const Scope& scope) override {
    Err err;
    const auto s = CScope(scope);
    std::map<std::string, Checkpoint> got;
    RETURN_IF_ERROR(Check(
        "load_all", cb_.load_all(user_, &s, &EmitCheckpoint, &got, err.data(), err.size()), err));
    return got;
  }

  Result<std::optional<Lease>> TryAcquire(const Scope& scope, const std::string& shard_id,
                                          const std::string& owner, EpochMillis ttl_ms,
                                          EpochMillis now) override {
    Err err;
    const auto s = CScope(scope);
    std::vector<Lease> got;
    RETURN_IF_ERROR(Check("try_acquire",
                          cb_.try_acquire(user_, &s, shard_id.c_str(), owner.c_str(), ttl_ms, now,
                                          &EmitLease, &got, err.data(), err.size()),
                          err));
    if (got.empty()) return std::optional<Lease>();
    return std::optional<Lease>(got.back());
  }

  Result<bool> Renew(const Scope& scope, const Lease& lease, EpochMillis ttl_ms,
                     EpochMillis now) override {
    Err err;
    const auto s = CScope(scope);
    const auto l = CLease(lease);
    int renewed = 0;
    RETURN_IF_ERROR(Check(
        "renew", cb_.renew(user_, &s, &l, ttl_ms, now, &renewed, err.data(), err.size()), err));
    return renewed != 0;
  }

  Status Release(const Scope& scope, const Lease& lease) override {
    Err err;
    const auto s = CScope(scope);
    const auto l = CLease(lease);
    return Check("release", cb_.release(user_, &s, &l, err.data(), err.size()), err);
  }

  Result<std::vector<Lease>> List(const Scope& scope) override {
    Err err;
    const auto s = CScope(scope);
    std::vector<Lease> got;
    RETURN_IF_ERROR(
        Check("list", cb_.list(user_, &s, &EmitLease, &got, err.data(), err.size()), err));
    return got;
  }

  Result<std::size_t> DeleteExpired(const Scope& scope, const std::string& prefix,
                                    EpochMillis now) override {
    if (cb_.delete_expired == nullptr) return std::size_t{0};
    Err err;
    const auto s = CScope(scope);
    std::size_t deleted = 0;
    RETURN_IF_ERROR(Check(
        "delete_expired",
        cb_.delete_expired(user_, &s, prefix.c_str(), now, &deleted, err.data(), err.size()), err));
    return deleted;
  }

 private:
  using Err = std::array<char, 1024>;

  static cinesis_scope_t CScope(const Scope& s) {
    return {s.application.c_str(), s.stream.c_str()};
  }
  static cinesis_lease_t CLease(const Lease& l) {
    return {l.shard_id.c_str(), l.owner.c_str(), l.counter, l.expires_at};
  }

  static void EmitCheckpoint(void* ctx, const char* shard_id, const char* sequence_number,
                             uint64_t sub_sequence_number) {
    try {
      if (shard_id == nullptr || sequence_number == nullptr) return;
      (*static_cast<std::map<std::string, Checkpoint>*>(ctx))[shard_id] =
          Checkpoint{sequence_number, sub_sequence_number};
    } catch (...) {  // out of memory: the row is lost; nothing crosses the C frame
    }
  }
  static void EmitLease(void* ctx, const cinesis_lease_t* lease) {
    try {
      if (lease == nullptr || lease->shard_id == nullptr) return;
      static_cast<std::vector<Lease>*>(ctx)->push_back(Lease{
          lease->shard_id, lease->owner ? lease->owner : "", lease->counter, lease->expires_at_ms});
    } catch (...) {  // out of memory: the row is lost; nothing crosses the C frame
    }
  }

  // The Status of a callback's return code. CINESIS_ERR_IO and CINESIS_ERR_INTERNAL_FAILURE
  // are transient (retriable codes); every other code is fatal, so a code that would
  // otherwise be retriable (e.g. LIMIT_EXCEEDED) becomes FailedPrecondition.
  static Status Check(const char* callback, int rc, Err& err) {
    if (rc == CINESIS_OK) return Status::Ok();
    err.back() = '\0';
    std::string text = std::string("custom store ") + callback + ": " + err.data();
    const auto e = static_cast<cinesis_err_t>(rc);
    if (e == CINESIS_ERR_IO) return Status(Code::kIoError, std::move(text));
    if (e == CINESIS_ERR_INTERNAL_FAILURE) return Status(Code::kInternalFailure, std::move(text));
    const Code code = CodeFromErr(e);
    if (ErrFromCode(code) != e || code == Code::kOk || IsRetriable(code)) {
      return Status(Code::kFailedPrecondition,
                    std::move(text) + " (code " + std::to_string(rc) + ")");
    }
    return Status(code, std::move(text));
  }

  const cinesis_store_callbacks_t cb_;
  void* const user_;
};

cinesis_err_t Wrap(std::shared_ptr<consumer::Store> store, cinesis_store_t** out) {
  auto h = std::make_unique<cinesis_store>();
  h->store = std::move(store);
  *out = h.release();
  return CINESIS_OK;
}

consumer::Scope ToScope(const cinesis_scope_t& s) {
  return {s.application ? s.application : "", s.stream ? s.stream : ""};
}

}  // namespace
}  // namespace cinesis::capi

using namespace cinesis;        // NOLINT(google-build-using-namespace)
using namespace cinesis::capi;  // NOLINT(google-build-using-namespace)

extern "C" {

cinesis_err_t cinesis_store_open_memory(cinesis_store_t** out) {
  return Guard(__func__, [&](const char* capi_fn) -> cinesis_err_t {
    CINESIS_CHECK_ARG(out);
    return Wrap(consumer::NewMemoryStore(), out);
  });
}

cinesis_err_t cinesis_store_open_sqlite(const char* path, cinesis_store_t** out) {
  return Guard(__func__, [&](const char* capi_fn) -> cinesis_err_t {
    CINESIS_CHECK_ARG(path);
    CINESIS_CHECK_ARG(out);
    auto r = consumer::OpenSqliteStore(path);
    if (!r.ok()) return SetError(r.status());
    return Wrap(std::move(r).value(), out);
  });
}

cinesis_err_t cinesis_store_open_redis(const char* host, int port, int db, cinesis_store_t** out) {
  return Guard(__func__, [&](const char* capi_fn) -> cinesis_err_t {
    CINESIS_CHECK_ARG(host);
    CINESIS_CHECK_ARG(out);
    auto r = consumer::OpenRedisStore(host, port, db);
    if (!r.ok()) return SetError(r.status());
    return Wrap(std::move(r).value(), out);
  });
}

cinesis_err_t cinesis_store_open_postgres(const char* conninfo, cinesis_store_t** out) {
  return Guard(__func__, [&](const char* capi_fn) -> cinesis_err_t {
    CINESIS_CHECK_ARG(conninfo);
    CINESIS_CHECK_ARG(out);
    auto r = consumer::OpenPostgresStore(conninfo);
    if (!r.ok()) return SetError(r.status());
    return Wrap(std::move(r).value(), out);
  });
}

cinesis_err_t cinesis_store_new_custom(const cinesis_store_callbacks_t* callbacks, void* user,
                                       cinesis_store_t** out) {
  return Guard(__func__, [&](const char* capi_fn) -> cinesis_err_t {
    CINESIS_CHECK_ARG(callbacks);
    CINESIS_CHECK_ARG(out);
    const cinesis_store_callbacks_t& c = *callbacks;
    const std::pair<const char*, bool> required[] = {{"save", c.save != nullptr},
                                                     {"save_if_owner", c.save_if_owner != nullptr},
                                                     {"load", c.load != nullptr},
                                                     {"load_all", c.load_all != nullptr},
                                                     {"try_acquire", c.try_acquire != nullptr},
                                                     {"renew", c.renew != nullptr},
                                                     {"release", c.release != nullptr},
                                                     {"list", c.list != nullptr}};
    for (const auto& [name, given] : required) {
      if (!given) {
        return SetError(CINESIS_ERR_INVALID_ARGUMENT,
                        std::string(capi_fn) + ": callbacks->" + name + " is NULL (required)");
      }
    }
    return Wrap(std::make_shared<CallbackStore>(c, user), out);
  });
}

void cinesis_store_destroy(cinesis_store_t* store) {
  if (!Valid(store, kStoreMagic)) return;
  store->magic = 0;
  delete store;  // the backend lives on while a consumer holds it
}

cinesis_err_t cinesis_store_save(cinesis_store_t* store, const cinesis_scope_t* scope,
                                 const char* shard_id, const char* sequence_number,
                                 uint64_t sub_sequence_number) {
  return Guard(__func__, [&](const char* capi_fn) -> cinesis_err_t {
    CINESIS_CHECK_HANDLE(store, kStoreMagic, "cinesis_store_t");
    CINESIS_CHECK_ARG(scope);
    CINESIS_CHECK_ARG(shard_id);
    CINESIS_CHECK_ARG(sequence_number);
    CAPI_RETURN_IF_ERROR(store->store->Save(
        ToScope(*scope), shard_id, consumer::Checkpoint{sequence_number, sub_sequence_number}));
    return CINESIS_OK;
  });
}

cinesis_err_t cinesis_store_load(cinesis_store_t* store, const cinesis_scope_t* scope,
                                 const char* shard_id, char** sequence_number,
                                 uint64_t* sub_sequence_number) {
  return Guard(__func__, [&](const char* capi_fn) -> cinesis_err_t {
    CINESIS_CHECK_HANDLE(store, kStoreMagic, "cinesis_store_t");
    CINESIS_CHECK_ARG(scope);
    CINESIS_CHECK_ARG(shard_id);
    CINESIS_CHECK_ARG(sequence_number);
    *sequence_number = nullptr;
    auto r = store->store->Load(ToScope(*scope), shard_id);
    if (!r.ok()) return SetError(r.status());
    if (sub_sequence_number != nullptr) *sub_sequence_number = 0;
    if (*r) {
      *sequence_number = CopyString((*r)->sequence_number);
      if (sub_sequence_number != nullptr) *sub_sequence_number = (*r)->sub_sequence_number;
    }
    return CINESIS_OK;
  });
}

}  // extern "C"
