#include "api/model.h"

#include <malloc.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cctype>
#include <map>
#include <memory>

namespace cinesis::api {

extern const char* const kEmbeddedModelJson;  // model_data.cc (generated)

namespace {

ShapeType ParseType(std::string_view t) {
  if (t == "structure") return ShapeType::kStructure;
  if (t == "list") return ShapeType::kList;
  if (t == "map") return ShapeType::kMap;
  if (t == "integer") return ShapeType::kInteger;
  if (t == "long") return ShapeType::kLong;
  if (t == "boolean") return ShapeType::kBoolean;
  if (t == "blob") return ShapeType::kBlob;
  if (t == "timestamp") return ShapeType::kTimestamp;
  return ShapeType::kString;
}

std::string LowerFirst(std::string s) {
  if (!s.empty()) s[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(s[0])));
  return s;
}

}  // namespace

const Member* Shape::FindMember(std::string_view n) const {
  for (const auto& m : members) {
    if (m.name == n) return &m;
  }
  return nullptr;
}

const Model& Model::Get() {
  static const Model model = [] {
    Model m;
    // Hand the parse's scratch memory (the model's JSON document) back to the system:
    // it is freed by now, but would otherwise stay resident for the life of the process.
    ::malloc_trim(0);
    return m;
  }();
  return model;
}

const boost::regex* Shape::Regex() const {
  if (!pattern) return nullptr;
  std::call_once(regex_once_, [this] { regex_.emplace(*pattern, boost::regex::perl); });
  return &*regex_;
}

bool Shape::PatternMatches(std::string_view s) const {
  if (!pattern) return true;
  if (*pattern == "[a-zA-Z0-9_.-]+") {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
      return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
             c == '_' || c == '.' || c == '-';
    });
  }
  return boost::regex_match(s.begin(), s.end(), *Regex());
}

Model::Model() {
  // The embedded text is produced by our own generator; a parse failure is a build bug.
  boost::json::value root = boost::json::parse(kEmbeddedModelJson);
  const auto& obj = root.as_object();
  target_prefix_ = std::string(obj.at("metadata").as_object().at("targetPrefix").as_string());
  const auto& shapes = obj.at("shapes").as_object();
  std::map<std::string, Shape*, std::less<>> by_name;
  for (const auto& [name, _] : shapes) {
    shapes_.push_back(std::make_unique<Shape>());
    shapes_.back()->name = std::string(name);
    by_name[std::string(name)] = shapes_.back().get();
  }
  auto lookup = [&](const boost::json::value& v) { return by_name.at(std::string(v.as_string())); };
  for (const auto& [name, jv] : shapes) {
    const auto& s = jv.as_object();
    Shape& shape = *by_name.at(std::string(name));
    shape.type = ParseType(s.at("type").as_string());
    if (auto* v = s.if_contains("min")) shape.min = v->to_number<std::int64_t>();
    if (auto* v = s.if_contains("max")) shape.max = v->to_number<std::int64_t>();
    if (auto* v = s.if_contains("pattern")) {
      shape.pattern = std::string(v->as_string());
    }
    if (auto* v = s.if_contains("enum")) {
      for (const auto& e : v->as_array()) shape.enum_values.emplace_back(e.as_string());
    }
    shape.is_error = s.contains("exception");
    shape.is_eventstream = s.contains("eventstream");
    if (shape.type == ShapeType::kStructure) {
      std::vector<std::string> required;
      if (auto* r = s.if_contains("required")) {
        for (const auto& e : r->as_array()) required.emplace_back(e.as_string());
      }
      for (const auto& mv : s.at("members").as_array()) {
        const auto& m = mv.as_object();
        Member member;
        member.name = std::string(m.at("name").as_string());
        member.path_name = LowerFirst(member.name);
        member.shape = lookup(m.at("shape"));
        member.required =
            std::find(required.begin(), required.end(), member.name) != required.end();
        if (auto* sv = m.if_contains("service")) {
          const auto& so = sv->as_object();
          if (auto* v = so.if_contains("min")) member.service_min = v->to_number<std::int64_t>();
          if (auto* v = so.if_contains("max")) member.service_max = v->to_number<std::int64_t>();
        }
        shape.members.push_back(std::move(member));
      }
    } else if (shape.type == ShapeType::kList) {
      shape.member = lookup(s.at("member"));
    } else if (shape.type == ShapeType::kMap) {
      shape.key = lookup(s.at("key"));
      shape.value = lookup(s.at("value"));
    }
  }
  for (const auto& [name, jv] : obj.at("operations").as_object()) {
    const auto& o = jv.as_object();
    Operation op;
    op.name = std::string(name);
    if (auto* v = o.if_contains("input")) op.input = lookup(*v);
    if (auto* v = o.if_contains("output")) op.output = lookup(*v);
    for (const auto& e : o.at("errors").as_array()) op.errors.emplace_back(e.as_string());
    operations_.push_back(std::move(op));
  }
}

const Operation* Model::FindOperation(std::string_view name) const {
  for (const auto& op : operations_) {
    if (op.name == name) return &op;
  }
  return nullptr;
}

const Shape* Model::FindShape(std::string_view name) const {
  for (const auto& s : shapes_) {
    if (s->name == name) return s.get();
  }
  return nullptr;
}

}  // namespace cinesis::api
