// LocalKinesis (the engine in process) through cinesis.h.
#include "capi/internal.h"
#include "capi/options.h"
#include "cinesis/testing/local_kinesis.h"

struct cinesis_local {
  std::uint32_t magic = cinesis::capi::kLocalMagic;
  std::unique_ptr<cinesis::testing::LocalKinesis> local;
  cinesis_client client;  // over local->client(); owned == null, so client_destroy skips it
};

using namespace cinesis;        // NOLINT(google-build-using-namespace)
using namespace cinesis::capi;  // NOLINT(google-build-using-namespace)

extern "C" {

cinesis_err_t cinesis_local_new(const cinesis_options_t* options, cinesis_local_t** out) {
  return Guard(__func__, [&](const char* capi_fn) -> cinesis_err_t {
    if (options != nullptr) CINESIS_CHECK_HANDLE(options, kOptionsMagic, "cinesis_options_t");
    CINESIS_CHECK_ARG(out);
    testing::LocalKinesisOptions opts;
    CAPI_RETURN_IF_ERROR(ParseLocalOptions(options, opts));
    auto h = std::make_unique<cinesis_local>();
    h->local = std::make_unique<testing::LocalKinesis>(opts);
    h->client.client = &h->local->client();
    *out = h.release();
    return CINESIS_OK;
  });
}

cinesis_client_t* cinesis_local_client(cinesis_local_t* local) {
  if (!Valid(local, kLocalMagic)) {
    (void)BadHandle("cinesis_local_client", "local", "cinesis_local_t", local == nullptr);
    return nullptr;
  }
  return &local->client;
}

cinesis_err_t cinesis_local_tick(cinesis_local_t* local) {
  return Guard(__func__, [&](const char* capi_fn) -> cinesis_err_t {
    CINESIS_CHECK_HANDLE(local, kLocalMagic, "cinesis_local_t");
    local->local->Tick();
    return CINESIS_OK;
  });
}

void cinesis_local_destroy(cinesis_local_t* local) {
  if (!Valid(local, kLocalMagic)) return;
  local->magic = 0;
  local->client.magic = 0;
  delete local;
}

}  // extern "C"
