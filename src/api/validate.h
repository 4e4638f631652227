// Model-driven request checking, in the order the service applies it:
//   1. member types (JSON type vs model type)      -> SerializationException
//   2. constraints (required, length, range, enum,
//      pattern; at most 10 reported)                -> ValidationException
// Both passes work on the parsed JSON document and normalise it in place, so the typed
// decoders that follow can trust it: unknown members and nulls are removed, integers are
// truncated and clamped as the service does, blobs are replaced by their decoded bytes,
// timestamps become integer epoch milliseconds.
#pragma once

#include <boost/json/value.hpp>

#include "api/model.h"
#include "common/status.h"

namespace cinesis::api {

// Pass 1. `body` must be a JSON object (the caller rejects anything else).
Status CheckTypes(const Shape& input, boost::json::object& body);

// Pass 2, on a document that passed CheckTypes.
Status CheckConstraints(const Shape& input, const boost::json::object& body);

// Length of a string as the service counts it (UTF-16 code units, as Java does).
std::size_t JavaLength(std::string_view utf8);

}  // namespace cinesis::api
