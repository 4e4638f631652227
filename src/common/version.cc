// cinesis::Version(): the version this library was built as (cinesis/version.h).
#include "cinesis/version.h"

namespace cinesis {

std::string_view Version() noexcept { return CINESIS_VERSION_STRING; }

}  // namespace cinesis
