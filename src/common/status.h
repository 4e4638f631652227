// Internal forwarder: the public Status/Result live in cinesis/status.h. The error-propagation
// macros stay internal (unprefixed names do not belong in users' builds).
#pragma once

#include <cassert>

#include "cinesis/status.h"

namespace cinesis {

#define CINESIS_CONCAT_INNER(a, b) a##b
#define CINESIS_CONCAT(a, b) CINESIS_CONCAT_INNER(a, b)

// RETURN_IF_ERROR(expr): returns the Status of `expr` if it is not OK.
#define RETURN_IF_ERROR(expr)                          \
  do {                                                 \
    ::cinesis::Status cinesis_status_ = (expr);        \
    if (!cinesis_status_.ok()) return cinesis_status_; \
  } while (0)

// ASSIGN_OR_RETURN(lhs, expr): evaluates a Result; returns its Status on error,
// otherwise moves the value into `lhs` (which may be a declaration).
#define ASSIGN_OR_RETURN(lhs, expr) \
  ASSIGN_OR_RETURN_IMPL(CINESIS_CONCAT(cinesis_result_, __LINE__), lhs, expr)
#define ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr)         \
  auto tmp = (expr);                                  \
  if (!tmp.ok()) return std::move(tmp).take_status(); \
  lhs = std::move(tmp).value()

}  // namespace cinesis
