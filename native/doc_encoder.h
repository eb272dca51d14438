// doc_encoder.h: DocEncoder, the reverse of msgpack_json.h for document records: one NDJSON line of a JSON backup,
// `{"t":"doc","id":<string>,"v":<object>}`, straight to the two byte strings lmdb-js 3.5.6 stores for it with
// `docs.putSync(id, fromJsonValue(v))` on a default store (src/json/apply.ts): the ordered-binary key and the msgpackr
// value, byte for byte, without building JS values.
//
// Key (node_modules/ordered-binary/index.js writeKey, case 'string'): a byte 27 first when the id's first character
// is below 28, then the id's UTF-8. Ids that are empty, hold a character below 5 (ordered-binary escapes those as
// `04 XX`) or are longer than kMaxDocKeyBytes fail.
//
// Value: what msgpackr 1.12's Packr (node_modules/msgpackr/pack.js) writes with lmdb-js's default options
// (`useRecords` on, no shared structures: maxSharedStructures 0, maxOwnStructures 64, one-byte record ids):
//   object -> a record: the first object of a key sequence in the value is `d4 72 <id>` + the msgpack array of its
//     keys + its values; a later one with the same key sequence is `<id>` + values. Ids are 0x40.. in order of first
//     use (pre-order), counted afresh in every value; the 65th definition wraps to 0x40 and makes the key sequence
//     that held the id undefined again (pack.js newRecord: `recordIdsToRemove` is a FIFO of 64 transitions).
//   number (JSON text parsed to the nearest double, as JSON.parse does) -> `value >>> 0 === value`: fixint below
//     0x40 (0x40..0x7f are record ids), else uint8/16/32; `value >> 0 === value`: negative fixint/int8/16/32;
//     otherwise float64 `cb`. -0 is 0x00.
//   string -> fixstr/str8/16/32 by UTF-8 byte length (msgpackr's header estimate from the UTF-16 length never
//     exceeds the final header, so the result is always the smallest header).
//   array -> fixarray/array16/array32; true, false, null -> c3, c2, c0.
//   `$pv` tags (src/json/value-json.ts), recognised only as `{"$pv":<tag>}` / `{"$pv":<tag>,"v":<value>}` exactly:
//     bin (strict padded base64) -> c4/c5/c6 + bytes; bigint (`^-?\d+$`) -> `d3` int64 when it fits, else `cf`
//     uint64 below 2^64, else it fails; date (ms number or null) -> `new Date(ms)` through pack.js's Date extension
//     (`d6 ff` seconds, `d7 ff` ms+seconds, `c7 0c ff` 96-bit, `d4 ff ff` invalid); undefined -> `d4 00 00`;
//     num NaN/Infinity/-Infinity -> float64; obj -> its inner object, whose own `$pv` keys are plain keys.
// A line fails (the caller leaves it to the JS importer, which parses it with JSON.parse) whenever the result might
// differ from lmdb-js's, or JSON.parse would reject the line:
//   - the line is not exactly a JSON object with the keys "t" (first, value "doc"), "id" (string) and "v" (object,
//     not a tag) in any order after "t", or any byte is not valid JSON / valid UTF-8 (JS would decode invalid UTF-8
//     to U+FFFD; we do not guess)
//   - a string holds a lone surrogate escape (msgpackr and Buffer#utf8Write disagree on those)
//   - `v` lacks a top-level "etag" that is a plain JSON number with a safe integer value >= 1
//   - an object repeats a key (JSON.parse keeps the first position and the last value), has a key that is all digits
//     (JS orders array-index keys first), or a key msgpackr or fromJsonValue treat specially: "__proto__",
//     "__keys__" (pack.js keeps it on its transition objects), "constructor", "toJSON", "hasOwnProperty"
//   - a `$pv` key anywhere but first in an object (fromJsonValue would read the object as a tag), a tag with other
//     keys, an unknown tag or mp/raw/key (opaque bytes), a malformed tag value
//   - nesting deeper than kMaxDocDepth
//   - two different key sequences with the same 64-bit hash (verified, never trusted)
//
// Threading: one thread at a time; an encoder is reused across the lines of one batch (it caches key sequences and
// their rendered definitions across values, bounded by kMaxCachedShapes).

#ifndef PAGEVAULT_NATIVE_DOC_ENCODER_H_
#define PAGEVAULT_NATIVE_DOC_ENCODER_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "json_out.h"

namespace pagevault {

// kMaxDocDepth: containers nested deeper than this (the document object is depth 1) fail.
constexpr uint32_t kMaxDocDepth = 512;
// kMaxDocKeyBytes: lmdb-js's maximum key size for its default 4 KiB pages (env.getMaxKeySize(), checked by
// test/native/08.encode-doc-lines.test.ts); longer ids fail so that the JS importer reports them.
constexpr size_t kMaxDocKeyBytes = 1978;
// kMaxCachedShapes: the key-sequence cache is dropped (between lines) when it grows past this.
constexpr size_t kMaxCachedShapes = 1 << 16;

// DocEncoder: see the top of this file.
class DocEncoder {
 public:
  DocEncoder() = default;
  DocEncoder(const DocEncoder&) = delete;
  DocEncoder& operator=(const DocEncoder&) = delete;

  // EncodeLine: encodes the line [line, line + size) (no '\n'). On success appends the key and then the value to
  // `out` and returns true with *key_size, *value_size and *etag set. On failure returns false and leaves `out` as
  // it was.
  bool EncodeLine(const uint8_t* line, size_t size, ByteSink* out, size_t* key_size, size_t* value_size,
                  double* etag);

 private:
  // Shape: one key sequence: its keys (for verification) and its definition's key array, rendered once.
  struct Shape {
    std::vector<std::string> keys;
    std::string key_array;  // msgpack array of the key strings
    uint64_t gen = 0;       // the value in which it was last defined (0: never)
    uint8_t id = 0;         // its record id in that value
  };
  // KeyRef: one key of an object being parsed (bytes are in the line or in key_scratch_).
  struct KeyRef {
    const uint8_t* data;
    uint32_t size;
    uint64_t hash;
  };
  // Mark: where a container header goes in body_: a record (shape) or an array of `count` elements.
  struct Mark {
    size_t at;
    uint32_t count;
    Shape* shape;
  };

  bool Value(uint32_t depth);
  bool Object(uint32_t depth, bool inner_of_obj_tag, bool top);
  bool Array(uint32_t depth);
  bool Tag(uint32_t depth);
  bool Number(double* value);
  bool StringValue();
  // String: p_ just after an opening quote; decodes up to the closing quote. *data points into the line when the
  // string had no escapes, else into `scratch` (room for the rest of the line required).
  bool String(uint8_t* scratch, const uint8_t** data, size_t* size);
  // ScratchString: String into key_scratch_ (kept for the rest of the line).
  bool ScratchString(const uint8_t** data, size_t* size);
  // Literal: consumes `text` (true, false, null) when the line continues with it.
  bool Literal(const char* text, size_t n);
  Shape* FindShape(size_t first_key, size_t count);
  void Emit(ByteSink* out);
  void SkipWs() {
    while (p_ < end_ && (*p_ == ' ' || *p_ == '\t' || *p_ == '\n' || *p_ == '\r')) ++p_;
  }
  bool Expect(uint8_t c) {
    SkipWs();
    if (p_ >= end_ || *p_ != c) return false;
    ++p_;
    return true;
  }

  const uint8_t* p_ = nullptr;
  const uint8_t* end_ = nullptr;
  ByteSink body_;                    // the value's bytes without container headers
  std::vector<Mark> marks_;          // container headers, in byte (= pre-) order
  std::vector<KeyRef> keys_;         // keys of the objects being parsed, innermost last
  std::vector<uint64_t> dup_scratch_;
  std::vector<uint8_t> key_scratch_;  // decoded escaped keys and tag strings of the current line
  size_t key_scratch_used_ = 0;
  double last_number_ = 0;  // the last JSON number parsed
  bool has_etag_ = false;   // v's top-level "etag" was a JSON number
  double etag_ = 0;

  std::unordered_map<uint64_t, std::unique_ptr<Shape>> shapes_;  // by key-sequence hash
  uint64_t gen_ = 0;                 // current value
  uint32_t next_id_ = 0;             // next record id - 0x40 in this value
  Shape* owners_[64] = {};           // shape holding each record id in this value
  uint64_t owner_gen_[64] = {};
};

}  // namespace pagevault

#endif  // PAGEVAULT_NATIVE_DOC_ENCODER_H_
