// CRC-32C (Castagnoli), as used to frame log records. Uses the SSE4.2 instruction when
// the CPU has it, a table otherwise; both give identical results.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace cinesis {

// Extends `crc` (0 to start) over `n` bytes.
std::uint32_t Crc32c(std::uint32_t crc, const void* data, std::size_t n);
inline std::uint32_t Crc32c(std::string_view s) { return Crc32c(0, s.data(), s.size()); }

}  // namespace cinesis
