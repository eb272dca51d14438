// msgpack_json.cc: the msgpackr -> JSON transcoder (contract and mapping in msgpack_json.h; decoding rules from
// node_modules/msgpackr/unpack.js: read(), readKey(), recordDefinition, createSecondByteReader, the 0xff extension).

#include "msgpack_json.h"

#include <cmath>
#include <cstring>

namespace pagevault {

namespace {

// msgpackr's limit on shared structures (pack.js: "Maximum maxSharedStructure is 8160").
constexpr size_t kMaxSharedStructures = 8160;
// new Date(ms) is valid for |ms| <= 8.64e15 (ECMAScript TimeClip).
constexpr double kMaxTimeMs = 8.64e15;

inline uint16_t Be16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }
inline uint32_t Be32(const uint8_t* p) {
  return (static_cast<uint32_t>(p[0]) << 24) | (static_cast<uint32_t>(p[1]) << 16) |
         (static_cast<uint32_t>(p[2]) << 8) | p[3];
}
inline uint64_t Be64(const uint8_t* p) { return (static_cast<uint64_t>(Be32(p)) << 32) | Be32(p + 4); }

void AppendLiteral(ByteSink* out, const char* text, size_t n) { out->Append(text, n); }
#define PV_LIT(out, text) AppendLiteral((out), (text), sizeof(text) - 1)

void AppendNumber(double value, ByteSink* out) {
  if (std::isnan(value)) {
    PV_LIT(out, "{\"$pv\":\"num\",\"v\":\"NaN\"}");
  } else if (std::isinf(value)) {
    if (value > 0) {
      PV_LIT(out, "{\"$pv\":\"num\",\"v\":\"Infinity\"}");
    } else {
      PV_LIT(out, "{\"$pv\":\"num\",\"v\":\"-Infinity\"}");
    }
  } else {
    AppendDouble(value, out);
  }
}

}  // namespace

MsgpackJson::MsgpackJson() : slots_(64, nullptr), own_(64) {}

bool MsgpackJson::SetSharedStructures(const std::vector<SharedStructure>& structures) {
  if (structures.size() > kMaxSharedStructures) return false;
  std::vector<std::unique_ptr<Shape>> shared;
  for (size_t i = 0; i < structures.size(); ++i) {
    if (!structures[i].present) {
      shared.emplace_back();
      continue;
    }
    auto shape = std::make_unique<Shape>();
    for (const std::string& key : structures[i].keys) {
      if (!RenderKey(reinterpret_cast<const uint8_t*>(key.data()), key.size(), &shape->text)) return false;
      shape->ends.push_back(static_cast<uint32_t>(shape->text.size()));
    }
    shape->pv_first = !structures[i].keys.empty() && structures[i].keys[0] == "$pv";
    shape->two_byte = i >= 32;
    shared.push_back(std::move(shape));
  }
  shared_ = std::move(shared);
  slots_.assign(std::max<size_t>(64, shared_.size()), nullptr);
  for (size_t i = 0; i < shared_.size(); ++i) slots_[i] = shared_[i].get();
  overridden_.clear();
  return true;
}

bool MsgpackJson::RenderKey(const uint8_t* bytes, size_t size, std::string* text) {
  // msgpackr renames "__proto__" (readKey, createStructureReader), so the object it returns has "__proto_".
  static const char kProto[] = "__proto__";
  if (size == sizeof(kProto) - 1 && std::memcmp(bytes, kProto, size) == 0) --size;
  bool plain = true;  // printable ASCII without '"' or '\\': written as it is
  for (size_t i = 0; i < size && plain; ++i) plain = bytes[i] >= 0x20 && bytes[i] < 0x7f && bytes[i] != '"' && bytes[i] != '\\';
  if (plain) {
    text->push_back('"');
    text->append(reinterpret_cast<const char*>(bytes), size);
    text->append("\":", 2);
    return true;
  }
  key_scratch_.Truncate(0);
  if (!AppendJsonString(bytes, size, &key_scratch_)) return false;
  text->append(reinterpret_cast<const char*>(key_scratch_.data()), key_scratch_.size());
  text->push_back(':');
  return true;
}

bool MsgpackJson::Transcode(const uint8_t* data, size_t size, bool maps_as_objects, ByteSink* out) {
  p_ = data;
  end_ = data + size;
  out_ = out;
  maps_as_objects_ = maps_as_objects;
  const size_t mark = out->size();
  bool ok = size > 0 && Value(0) && p_ == end_;
  // Inline definitions live for one value only: put back the shared structures (or holes) they replaced.
  for (uint32_t slot : overridden_) slots_[slot] = slot < shared_.size() ? shared_[slot].get() : nullptr;
  overridden_.clear();
  retired_.clear();
  if (!ok) out->Truncate(mark);
  return ok;
}

bool MsgpackJson::Str(size_t length) {
  if (!Need(length)) return false;
  if (!AppendJsonString(p_, length, out_)) return false;
  p_ += length;
  return true;
}

bool MsgpackJson::Array(size_t count, uint32_t depth) {
  // Every element takes at least one byte: a count beyond the bytes left is truncated data, caught before looping.
  if (!Need(count)) return false;
  out_->Push('[');
  for (size_t i = 0; i < count; ++i) {
    if (i > 0) out_->Push(',');
    if (!Value(depth + 1)) return false;
  }
  out_->Push(']');
  return true;
}

bool MsgpackJson::Map(size_t count, uint32_t depth) {
  if (!maps_as_objects_ || !Need(count * 2)) return false;
  // The wrapper decision needs the first key: render keys into the sink directly and patch the opening if needed.
  const size_t open = out_->size();
  out_->Push('{');
  bool wrapped = false;
  for (size_t i = 0; i < count; ++i) {
    if (i > 0) out_->Push(',');
    if (!Need(1)) return false;
    const uint8_t token = *p_++;
    size_t length;
    if (token >= 0xa0 && token <= 0xbf) {
      length = token - 0xa0;
    } else if (token == 0xd9 && Need(1)) {
      length = *p_++;
    } else if (token == 0xda && Need(2)) {
      length = Be16(p_);
      p_ += 2;
    } else if (token == 0xdb && Need(4)) {
      length = Be32(p_);
      p_ += 4;
    } else {
      return false;  // msgpackr stringifies number/boolean keys; the JSON form could not tell them apart
    }
    if (!Need(length)) return false;
    if (i == 0 && length == 3 && std::memcmp(p_, "$pv", 3) == 0) wrapped = true;
    static const char kProto[] = "__proto__";
    const size_t key_length = length == sizeof(kProto) - 1 && std::memcmp(p_, kProto, length) == 0 ? length - 1 : length;
    if (!AppendJsonString(p_, key_length, out_)) return false;
    p_ += length;
    out_->Push(':');
    if (!Value(depth + 1)) return false;
  }
  out_->Push('}');
  if (wrapped) {
    static const char kWrap[] = "{\"$pv\":\"obj\",\"v\":";
    const size_t body = out_->size() - open;
    out_->Reserve(sizeof(kWrap));
    uint8_t* base = out_->tail() - body;
    std::memmove(base + sizeof(kWrap) - 1, base, body);
    std::memcpy(base, kWrap, sizeof(kWrap) - 1);
    out_->Advance(sizeof(kWrap) - 1);
    out_->Push('}');
  }
  return true;
}

bool MsgpackJson::Record(const Shape& shape, uint32_t depth) {
  if (shape.pv_first) PV_LIT(out_, "{\"$pv\":\"obj\",\"v\":");
  out_->Push('{');
  uint32_t start = 0;
  for (size_t i = 0; i < shape.ends.size(); ++i) {
    if (i > 0) out_->Push(',');
    out_->Append(shape.text.data() + start, shape.ends[i] - start);
    start = shape.ends[i];
    if (!Value(depth + 1)) return false;
  }
  out_->Push('}');
  if (shape.pv_first) out_->Push('}');
  return true;
}

bool MsgpackJson::DefineRecord(uint32_t slot, uint32_t depth) {
  CachedShape& cached = own_[slot];
  if (!cached.raw.empty() && Need(cached.raw.size()) && std::memcmp(p_, cached.raw.data(), cached.raw.size()) == 0) {
    p_ += cached.raw.size();
    slots_[slot] = cached.shape.get();
    overridden_.push_back(slot);
    return Record(*cached.shape, depth);
  }
  // recordDefinition: read() must give an array (its .map) whose items asSafeString accepts; only strings are
  // accepted here (a number or boolean key would be stringified and could not be told apart).
  const uint8_t* const start = p_;
  if (!Need(1)) return false;
  const uint8_t token = *p_++;
  size_t count;
  if (token >= 0x90 && token <= 0x9f) {
    count = token - 0x90;
  } else if (token == 0xdc && Need(2)) {
    count = Be16(p_);
    p_ += 2;
  } else if (token == 0xdd && Need(4)) {
    count = Be32(p_);
    p_ += 4;
  } else {
    return false;
  }
  if (!Need(count)) return false;
  auto shape = std::make_unique<Shape>();
  for (size_t i = 0; i < count; ++i) {
    if (!Need(1)) return false;
    const uint8_t key_token = *p_++;
    size_t length;
    if (key_token >= 0xa0 && key_token <= 0xbf) {
      length = key_token - 0xa0;
    } else if (key_token == 0xd9 && Need(1)) {
      length = *p_++;
    } else if (key_token == 0xda && Need(2)) {
      length = Be16(p_);
      p_ += 2;
    } else if (key_token == 0xdb && Need(4)) {
      length = Be32(p_);
      p_ += 4;
    } else {
      return false;
    }
    if (!Need(length)) return false;
    if (i == 0 && length == 3 && std::memcmp(p_, "$pv", 3) == 0) shape->pv_first = true;
    if (!RenderKey(p_, length, &shape->text)) return false;
    shape->ends.push_back(static_cast<uint32_t>(shape->text.size()));
    p_ += length;
  }
  cached.raw.assign(reinterpret_cast<const char*>(start), static_cast<size_t>(p_ - start));
  if (cached.shape) retired_.push_back(std::move(cached.shape));
  cached.shape = std::move(shape);
  slots_[slot] = cached.shape.get();
  overridden_.push_back(slot);
  // The definition is followed at once by the first instance's values.
  return Record(*cached.shape, depth);
}

bool MsgpackJson::Timestamp(const uint8_t* d, size_t length) {
  // msgpackr's currentExtensions[0xff], operation for operation in doubles (JS numbers), then new Date()'s TimeClip.
  double ms;
  if (length == 4) {
    ms = (static_cast<double>(d[0]) * 0x1000000 + ((d[1] << 16) + (d[2] << 8) + d[3])) * 1000;
  } else if (length == 8) {
    const double nanos = static_cast<double>((d[0] << 22) + (d[1] << 14) + (d[2] << 6) + (d[3] >> 2));
    const double seconds = (d[3] & 0x3) * 4294967296.0 + static_cast<double>(d[4]) * 0x1000000 +
                           ((d[5] << 16) + (d[6] << 8) + d[7]);
    ms = nanos / 1000000 + seconds * 1000;
  } else if (length == 12) {
    // (data[0] << 24) is a signed 32-bit shift in JS.
    const int32_t high = static_cast<int32_t>(static_cast<uint32_t>(d[0]) << 24);
    const double nanos = static_cast<double>(static_cast<int64_t>(high) + ((d[1] << 16) + (d[2] << 8) + d[3]));
    // msgpackr reads the sign from data[4] and ignores data[5] and data[4]'s other bits.
    const double seconds = ((d[4] & 0x80) ? -281474976710656.0 : 0.0) + static_cast<double>(d[6]) * 1099511627776.0 +
                           static_cast<double>(d[7]) * 4294967296.0 + static_cast<double>(d[8]) * 0x1000000 +
                           ((d[9] << 16) + (d[10] << 8) + d[11]);
    ms = nanos / 1000000 + seconds * 1000;
  } else {
    return false;
  }
  if (!std::isfinite(ms) || std::fabs(ms) > kMaxTimeMs) return false;  // new Date(...) would be invalid
  PV_LIT(out_, "{\"$pv\":\"date\",\"v\":");
  AppendInt(static_cast<int64_t>(std::trunc(ms)), out_);  // -0 prints as 0, as Date's +0 does
  out_->Push('}');
  return true;
}

bool MsgpackJson::Value(uint32_t depth) {
  if (depth > kMaxMsgpackDepth || !Need(1)) return false;
  const uint8_t token = *p_++;
  if (token < 0x40) {
    AppendUint(token, out_);
    return true;
  }
  if (token < 0x80) {
    const Shape* shape = slots_[token & 0x3f];
    if (shape == nullptr) {
      AppendUint(token, out_);  // no record with this id: read() returns the byte itself
      return true;
    }
    if (shape->two_byte) {
      // createSecondByteReader: a zero high byte means this slot; otherwise slot (token & 0x3f) + (high << 5).
      if (!Need(1)) return false;
      const uint32_t high = *p_++;
      if (high != 0) {
        const size_t slot = (token & 0x3f) + (high << 5);
        if (slot >= slots_.size() || slots_[slot] == nullptr) return false;  // "Record id is not defined"
        shape = slots_[slot];
      }
    }
    return Record(*shape, depth);
  }
  if (token < 0x90) return Map(token - 0x80, depth);
  if (token < 0xa0) return Array(token - 0x90, depth);
  if (token < 0xc0) return Str(token - 0xa0);
  if (token >= 0xe0) {
    AppendInt(static_cast<int64_t>(token) - 0x100, out_);
    return true;
  }
  switch (token) {
    case 0xc0:
      PV_LIT(out_, "null");
      return true;
    case 0xc2:
      PV_LIT(out_, "false");
      return true;
    case 0xc3:
      PV_LIT(out_, "true");
      return true;
    case 0xc4:
    case 0xc5:
    case 0xc6: {
      const size_t width = token == 0xc4 ? 1 : token == 0xc5 ? 2 : 4;
      if (!Need(width)) return false;
      const size_t length = width == 1 ? *p_ : width == 2 ? Be16(p_) : Be32(p_);
      p_ += width;
      if (!Need(length)) return false;
      PV_LIT(out_, "{\"$pv\":\"bin\",\"v\":\"");
      AppendBase64(p_, length, out_);
      PV_LIT(out_, "\"}");
      p_ += length;
      return true;
    }
    case 0xc7:
    case 0xc8:
    case 0xc9: {
      // ext 8/16/32: only the 12-byte timestamp is understood (msgpackr packs dates that way outside 32-bit seconds).
      const size_t width = token == 0xc7 ? 1 : token == 0xc8 ? 2 : 4;
      if (!Need(width + 1)) return false;
      const size_t length = width == 1 ? *p_ : width == 2 ? Be16(p_) : Be32(p_);
      const uint8_t type = p_[width];
      p_ += width + 1;
      if (type != 0xff || !Need(length)) return false;
      const uint8_t* data = p_;
      p_ += length;
      return Timestamp(data, length);
    }
    case 0xca: {
      if (!Need(4)) return false;
      const uint32_t bits = Be32(p_);
      p_ += 4;
      float value;
      std::memcpy(&value, &bits, 4);
      AppendNumber(static_cast<double>(value), out_);
      return true;
    }
    case 0xcb: {
      if (!Need(8)) return false;
      const uint64_t bits = Be64(p_);
      p_ += 8;
      double value;
      std::memcpy(&value, &bits, 8);
      AppendNumber(value, out_);
      return true;
    }
    case 0xcc:
      if (!Need(1)) return false;
      AppendUint(*p_++, out_);
      return true;
    case 0xcd:
      if (!Need(2)) return false;
      AppendUint(Be16(p_), out_);
      p_ += 2;
      return true;
    case 0xce:
      if (!Need(4)) return false;
      AppendUint(Be32(p_), out_);
      p_ += 4;
      return true;
    case 0xcf:
      if (!Need(8)) return false;
      PV_LIT(out_, "{\"$pv\":\"bigint\",\"v\":\"");
      AppendUint(Be64(p_), out_);
      PV_LIT(out_, "\"}");
      p_ += 8;
      return true;
    case 0xd0:
      if (!Need(1)) return false;
      AppendInt(static_cast<int8_t>(*p_++), out_);
      return true;
    case 0xd1:
      if (!Need(2)) return false;
      AppendInt(static_cast<int16_t>(Be16(p_)), out_);
      p_ += 2;
      return true;
    case 0xd2:
      if (!Need(4)) return false;
      AppendInt(static_cast<int32_t>(Be32(p_)), out_);
      p_ += 4;
      return true;
    case 0xd3:
      if (!Need(8)) return false;
      PV_LIT(out_, "{\"$pv\":\"bigint\",\"v\":\"");
      AppendInt(static_cast<int64_t>(Be64(p_)), out_);
      PV_LIT(out_, "\"}");
      p_ += 8;
      return true;
    case 0xd4: {
      // fixext 1: 'r' (0x72) defines a record; type 0 is undefined (a filler byte follows); anything else fails.
      if (!Need(2)) return false;
      const uint8_t type = p_[0];
      const uint8_t arg = p_[1];
      p_ += 2;
      if (type == 0x72) return DefineRecord(arg & 0x3f, depth);
      if (type == 0x00) {
        PV_LIT(out_, "{\"$pv\":\"undefined\"}");
        return true;
      }
      return false;
    }
    case 0xd6:
    case 0xd7: {
      const size_t length = token == 0xd6 ? 4 : 8;
      if (!Need(length + 1) || p_[0] != 0xff) return false;
      const uint8_t* data = p_ + 1;
      p_ += length + 1;
      return Timestamp(data, length);
    }
    case 0xd9:
      if (!Need(1)) return false;
      return Str(*p_++);
    case 0xda: {
      if (!Need(2)) return false;
      const size_t length = Be16(p_);
      p_ += 2;
      return Str(length);
    }
    case 0xdb: {
      if (!Need(4)) return false;
      const size_t length = Be32(p_);
      p_ += 4;
      return Str(length);
    }
    case 0xdc:
    case 0xdd: {
      const size_t width = token == 0xdc ? 2 : 4;
      if (!Need(width)) return false;
      const size_t count = width == 2 ? Be16(p_) : Be32(p_);
      p_ += width;
      return Array(count, depth);
    }
    case 0xde:
    case 0xdf: {
      const size_t width = token == 0xde ? 2 : 4;
      if (!Need(width)) return false;
      const size_t count = width == 2 ? Be16(p_) : Be32(p_);
      p_ += width;
      return Map(count, depth);
    }
    default:
      return false;  // 0xc1, 0xd5 (two-byte record definitions, other fixext 2), 0xd8
  }
}

}  // namespace pagevault
