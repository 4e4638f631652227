#include "common/random.h"

#include <sys/random.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <random>

namespace cinesis {

// The kernel's CSPRNG directly: no library state to initialise (OpenSSL's DRBG touches
// megabytes of code and tables at start-up, all of it resident afterwards).
void RandomBytes(void* out, std::size_t n) {
  auto* p = static_cast<std::uint8_t*>(out);
  while (n > 0) {
    const ssize_t got = ::getrandom(p, n, 0);
    if (got < 0) {
      if (errno == EINTR) continue;
      // Only without a kernel entropy source: fall back rather than abort.
      thread_local std::mt19937_64 rng{std::random_device{}()};
      for (std::size_t i = 0; i < n; ++i) p[i] = static_cast<std::uint8_t>(rng());
      return;
    }
    p += got;
    n -= static_cast<std::size_t>(got);
  }
}

namespace {

// splitmix64 seeded once per thread from the kernel: request ids need uniqueness, not
// secrecy, and are made on every response. The state is looked up once per call of
// FastRandomBytes (a thread_local with an initialiser costs a guarded call per access).
std::uint64_t& IdState() {
  thread_local std::uint64_t state = [] {
    std::uint64_t seed;
    RandomBytes(&seed, sizeof seed);
    return seed;
  }();
  return state;
}

std::uint64_t NextId64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

}  // namespace

void FastRandomBytes(void* out, std::size_t n) {
  std::uint64_t& state = IdState();
  auto* p = static_cast<std::uint8_t*>(out);
  while (n > 0) {
    const std::uint64_t v = NextId64(state);
    const std::size_t k = n < sizeof v ? n : sizeof v;
    std::memcpy(p, &v, k);
    p += k;
    n -= k;
  }
}

std::string RandomUuid() {
  std::string s(36, '-');
  WriteRandomUuid(s.data());
  return s;
}

void WriteRandomUuid(char* out) {
  std::uint8_t b[16];
  FastRandomBytes(b, sizeof b);
  b[6] = static_cast<std::uint8_t>((b[6] & 0x0F) | 0x40);
  b[8] = static_cast<std::uint8_t>((b[8] & 0x3F) | 0x80);
  static constexpr char kHex[] = "0123456789abcdef";
  std::size_t j = 0;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out[j++] = '-';
    out[j++] = kHex[b[i] >> 4];
    out[j++] = kHex[b[i] & 15];
  }
}

}  // namespace cinesis
