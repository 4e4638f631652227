// A KinesisService for the fuzz harnesses: every operation answers an empty success (so the
// response encoders run too), or the error set in `fail`.
#pragma once

#include "api/operation_list.h"
#include "api/service.h"

namespace cinesis::fuzz {

template <class R>
struct EmptyAnswer;
template <>
struct EmptyAnswer<Status> {
  static Status Get() { return Status::Ok(); }
};
template <class T>
struct EmptyAnswer<Result<T>> {
  static Result<T> Get() { return T{}; }
};

class FakeService final : public api::KinesisService {
 public:
  Status fail;  // OK: answer success

#define CINESIS_FUZZ_OP(Ret, Name, In) \
  Ret Name(const In&) override { return Answer<Ret>(); }
#define CINESIS_FUZZ_OP0(Ret, Name) \
  Ret Name() override { return Answer<Ret>(); }
  CINESIS_KINESIS_OPERATIONS(CINESIS_FUZZ_OP, CINESIS_FUZZ_OP0)
#undef CINESIS_FUZZ_OP
#undef CINESIS_FUZZ_OP0

 private:
  template <class R>
  R Answer() {
    if (!fail.ok()) return fail;
    return EmptyAnswer<R>::Get();
  }
};

}  // namespace cinesis::fuzz
