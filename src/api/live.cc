#include "api/live.h"

namespace cinesis::api {

namespace {
thread_local FaultDirective* current_directive = nullptr;
}  // namespace

FaultDirective* FaultDirective::Current() { return current_directive; }

ScopedFaultDirective::ScopedFaultDirective(FaultDirective* d) : previous_(current_directive) {
  current_directive = d;
}

ScopedFaultDirective::~ScopedFaultDirective() { current_directive = previous_; }

}  // namespace cinesis::api
