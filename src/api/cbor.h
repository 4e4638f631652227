// The CBOR variant of the protocol (`application/x-amz-cbor-1.1`, sent by the Java SDKs):
// the same documents as JSON 1.1, with blobs as CBOR byte strings and timestamps as tag 1
// around integer epoch *milliseconds*. Requests are converted to the JSON document model
// so one validator and one codec serve both; responses are converted back guided by the
// operation's output shape (which members are blobs and timestamps). Decoding is our own,
// bounded by the body's size (libcbor allocates what a header claims; docs/security.md).
#pragma once

#include <boost/json/value.hpp>
#include <cstddef>
#include <string>
#include <string_view>

#include "api/model.h"
#include "common/status.h"

namespace cinesis::api {

// CBOR request body -> JSON document: byte strings become base64 text, tag-1 timestamps
// (milliseconds) become epoch seconds. Definite and indefinite lengths are accepted.
// Fails (SerializationException, no message) on malformed CBOR, non-text map keys, nesting
// deeper than 64, a length or count larger than the bytes left, or a document that would
// take more than kCborMemoryFactor x bytes.size() + kCborMemorySlack bytes in memory. The
// document is allocated from `sp`.
inline constexpr std::size_t kCborMemoryFactor = 24;
inline constexpr std::size_t kCborMemorySlack = 64 * 1024;
Result<boost::json::value> CborToJson(std::string_view bytes, boost::json::storage_ptr sp = {});

// JSON document of shape `shape` -> CBOR: base64 blobs become byte strings, timestamps
// (epoch seconds) become tag 1 + integer milliseconds.
std::string JsonToCbor(const boost::json::value& v, const Shape* shape);

}  // namespace cinesis::api
