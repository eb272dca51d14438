// msgpack_json.h: MsgpackJson, a transcoder from msgpackr's output (lmdb-js's default value encoding) straight to JSON
// text, following the decoding rules of msgpackr 1.12's unpack.js for `new Packr({useRecords: true, copyBuffers: true})`
// (what lmdb-js 3.5.6 builds), so that the JSON, read back through src/json/value-json.ts's fromJsonValue, equals what
// lmdb-js's get() returns.
//
// Mapping (msgpack -> JSON; tags are objects with a first key "$pv"):
//   nil, true, false -> null, true, false
//   fixint, uint8..32, int8..32 -> integer; float32 -> its double widening; float64 -> shortest round-trip number
//   NaN, +-Infinity -> {"$pv":"num","v":"NaN" | "Infinity" | "-Infinity"};  -0.0 -> -0
//   uint64 (0xcf), int64 (0xd3) -> {"$pv":"bigint","v":"<decimal>"}   (msgpackr returns BigInts)
//   str -> JSON string (JSON.stringify's escapes); invalid UTF-8 or an encoded surrogate fails (msgpackr decodes those
//     lossily, so no JSON string reproduces the value)
//   bin8/16/32 -> {"$pv":"bin","v":"<base64>"}
//   array -> JSON array
//   record definition `d4 72 XX <array of key strings> <values>` (XX & 0x3f is the slot) and record instance (a bare
//     byte 0x40..0x7f naming a defined slot, followed by its values) -> JSON object with the record's keys in order.
//     A byte 0x40..0x7f naming no record is the integer itself (msgpackr's read()). Slots start each value with the
//     shared structures (slot i = structures[i]) and inline definitions override them for the rest of that value
//     only (msgpackr truncates and restores its structures per unpack). Shared structures at index >= 32 are
//     "two-byte" records (msgpackr's _mergeStructures gives them a highByte): their id byte is followed by a byte
//     that, when non-zero, selects slot (id & 0x3f) + (byte << 5) instead.
//   map (only with maps_as_objects; otherwise msgpackr returns a Map, which JSON cannot carry, so it fails) -> JSON
//     object when every key is a string
//   objects whose first key is exactly "$pv" -> {"$pv":"obj","v":{...}}; a key "__proto__" is written "__proto_", as
//     msgpackr renames it
//   ext -1 timestamps (d6 ff, d7 ff, c7 0c ff) -> {"$pv":"date","v":<milliseconds>} computed as msgpackr does, then
//     truncated like new Date(); an invalid date fails
//   fixext1 type 0 (`d4 00 xx`, msgpackr's undefined) -> {"$pv":"undefined"}
// Everything else fails: other extensions (Set/Error/RegExp with moreTypes, structured clone, 0xd5 0x72 two-byte
// definitions, 0xc1), maps (unless maps_as_objects with string keys), non-string record keys, truncated data, nesting
// deeper than kMaxMsgpackDepth, and bytes left after the value.
//
// A failure is reported by Transcode returning false with the sink rewound to where it was; the caller writes the
// fallback {"$pv":"mp","v":"<base64 of the value>"}.
//
// Threading: one thread at a time; reused across values (keeps its buffers).

#ifndef PAGEVAULT_NATIVE_MSGPACK_JSON_H_
#define PAGEVAULT_NATIVE_MSGPACK_JSON_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "json_out.h"

namespace pagevault {

// kMaxMsgpackDepth: deeper nesting fails (falls back to base64) instead of recursing further.
constexpr uint32_t kMaxMsgpackDepth = 512;

// MsgpackJson: see the top of this file.
class MsgpackJson {
 public:
  MsgpackJson();

  // SetSharedStructures: structures[i] lists the keys (UTF-8) of record 0x40 + i; an empty optional entry (has_keys
  // false) is a hole. False (and nothing changed) when a key is not valid UTF-8 or there are more than 8160
  // structures (msgpackr's maximum).
  struct SharedStructure {
    bool present = false;
    std::vector<std::string> keys;
  };
  bool SetSharedStructures(const std::vector<SharedStructure>& structures);

  // Transcode: appends the JSON text of the msgpack value in [data, data + size) to `out`; false (out rewound) when
  // the value must take the fallback. `maps_as_objects`: the store decodes msgpack maps as plain objects (msgpackr's
  // mapsAsObjects option) rather than Maps.
  bool Transcode(const uint8_t* data, size_t size, bool maps_as_objects, ByteSink* out);

 private:
  // Shape: one record's keys, pre-rendered as `"key":` fragments (ends[i] is where fragment i ends in `text`).
  struct Shape {
    std::string text;
    std::vector<uint32_t> ends;
    bool pv_first = false;  // first key is "$pv": the object gets the "obj" wrapper
    bool two_byte = false;  // a shared structure at index >= 32 (see the top of this file)
  };

  bool Value(uint32_t depth);
  bool Str(size_t length);
  bool Record(const Shape& shape, uint32_t depth);
  bool DefineRecord(uint32_t slot, uint32_t depth);
  bool Map(size_t count, uint32_t depth);
  bool Array(size_t count, uint32_t depth);
  bool Timestamp(const uint8_t* data, size_t length);
  // RenderKey: appends `"key":` (validated, escaped, __proto__ renamed) to `text`; false for invalid UTF-8.
  bool RenderKey(const uint8_t* bytes, size_t size, std::string* text);
  bool Need(size_t n) const { return static_cast<size_t>(end_ - p_) >= n; }

  const uint8_t* p_ = nullptr;
  const uint8_t* end_ = nullptr;
  ByteSink* out_ = nullptr;
  bool maps_as_objects_ = false;

  std::vector<std::unique_ptr<Shape>> shared_;  // by shared index; nullptr for holes
  std::vector<const Shape*> slots_;              // by record id - 0x40 (0..63, more with two-byte shared records)
  // Inline definitions by slot, kept across values with the bytes of the key array they were rendered from: lmdb-js
  // values re-define the same records in every value, and msgpack is prefix-free, so a byte match of a complete
  // cached key array is that array. A replaced shape may still be in use by an enclosing record of the same value
  // (a slot redefined inside it), so it is retired until the value is done rather than freed.
  struct CachedShape {
    std::string raw;
    std::unique_ptr<Shape> shape;
  };
  std::vector<CachedShape> own_;                 // by slot (0..63: a definition's slot is its id byte & 0x3f)
  std::vector<std::unique_ptr<Shape>> retired_;
  std::vector<uint32_t> overridden_;             // slots changed by the current value, restored before the next
  ByteSink key_scratch_;                         // RenderKey's escaping buffer
};

}  // namespace pagevault

#endif  // PAGEVAULT_NATIVE_MSGPACK_JSON_H_
