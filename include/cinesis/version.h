/* version.h: the version of the libcinesis headers. Plain C; safe to include from C and
 * C++. The CMake project reads its version from here, so this file is the one place it is
 * written. The version of the library actually loaded: cinesis_version() (cinesis.h) or
 * cinesis::Version(). */
#ifndef CINESIS_VERSION_H_
#define CINESIS_VERSION_H_

#define CINESIS_VERSION_MAJOR 0
#define CINESIS_VERSION_MINOR 2
#define CINESIS_VERSION_PATCH 0
#define CINESIS_VERSION_STRING "0.2.0"
/* MAJOR * 10000 + MINOR * 100 + PATCH, for #if comparisons. */
#define CINESIS_VERSION_NUMBER \
  (CINESIS_VERSION_MAJOR * 10000 + CINESIS_VERSION_MINOR * 100 + CINESIS_VERSION_PATCH)

#ifdef __cplusplus
#include <string_view>

#include "cinesis/export.h"
namespace cinesis {
/* The version of the loaded library, e.g. "0.2.0" (may differ from CINESIS_VERSION_STRING
 * when a program runs against a newer shared library). */
CINESIS_EXPORT std::string_view Version() noexcept;
}  // namespace cinesis
#endif

#endif /* CINESIS_VERSION_H_ */
