// KPL deaggregation: aggregation::Decode over arbitrary bytes; what it unpacks, packed again
// by Encode, unpacks to the same records.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "check.h"
#include "cinesis/aggregation.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace agg = cinesis::aggregation;
  auto records = agg::Decode(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!records || records->empty()) return 0;
  const std::string packed = agg::Encode(*records);
  auto again = agg::Decode(packed);
  FUZZ_CHECK(again.has_value());
  FUZZ_CHECK(again->size() == records->size());
  for (std::size_t i = 0; i < records->size(); ++i) {
    FUZZ_CHECK((*again)[i].partition_key == (*records)[i].partition_key);
    FUZZ_CHECK((*again)[i].explicit_hash_key == (*records)[i].explicit_hash_key);
    FUZZ_CHECK((*again)[i].data == (*records)[i].data);
  }
  return 0;
}
