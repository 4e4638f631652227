// Standard base64 (RFC 4648 alphabet, with padding), as Kinesis uses for blobs in JSON.
#pragma once

#include <string>
#include <string_view>

namespace cinesis {

// Appends the base64 encoding of `in` to `out`.
void Base64Encode(std::string_view in, std::string& out);
std::string Base64Encode(std::string_view in);
// Writes the base64 encoding of `in` at `out` (room for Base64EncodedSize(in.size())
// characters); returns the end of what it wrote.
char* Base64EncodeTo(std::string_view in, char* out);

// Number of characters Base64Encode produces for `n` input bytes.
constexpr std::size_t Base64EncodedSize(std::size_t n) { return (n + 2) / 3 * 4; }
// Number of bytes a valid encoding of length `n` with `pad` padding characters decodes to.
constexpr std::size_t Base64DecodedSize(std::size_t n, std::size_t pad) { return n / 4 * 3 - pad; }

// Decodes `in`, replacing `out`. On failure returns false and sets `why` to the reason
// in the words the Kinesis (Java) front end uses, e.g. "Invalid Base64 character: '='".
// Strict: length must be a multiple of 4, padding only at the end, unused bits zero.
bool Base64Decode(std::string_view in, std::string& out, std::string& why);

}  // namespace cinesis
