// doc_encoder.cc: JSON doc lines -> ordered-binary key + msgpackr value (contract and mapping in doc_encoder.h; the
// encoding rules are node_modules/msgpackr/pack.js pack(), writeRecord, newRecord and the Date extension, and
// node_modules/ordered-binary/index.js writeKey).
//
// Two passes per line. Parse: a recursive-descent JSON parser that validates the line as JSON.parse would, writes
// every scalar's final msgpack bytes into body_ and records where each container starts (marks_); an object's key
// sequence is only known at its closing brace, and its record id depends on the key sequences of the objects before
// it, so headers cannot be written in this pass. Emit: copies body_ to the output, inserting the array headers and
// the record ids or definitions in pre-order, exactly the order in which msgpackr's pack() assigns record ids.

#include "doc_encoder.h"

#include <locale.h>
#include <stdlib.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace pagevault {

namespace {

constexpr uint64_t kOnes = 0x0101010101010101ull;
constexpr uint64_t kHighBits = 0x8080808080808080ull;
constexpr double kMaxTimeMs = 8.64e15;        // ECMAScript TimeClip
constexpr double kTwo32 = 4294967296.0;
constexpr double kMaxSafeInteger = 9007199254740991.0;

// ScanPlain: the first byte in [p, end) that is '"', '\\', below 0x20 or non-ASCII, or `end`. 16 bytes at a time with
// SSE2 (a signed compare below 0x20 also catches bytes >= 0x80), else 8 at a time with the SWAR test, whose lowest
// flagged byte is exact (borrows only propagate upwards).
inline const uint8_t* ScanPlain(const uint8_t* p, const uint8_t* end) {
#if defined(__SSE2__)
  const __m128i quote = _mm_set1_epi8('"');
  const __m128i slash = _mm_set1_epi8('\\');
  const __m128i space = _mm_set1_epi8(0x20);
  while (end - p >= 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const __m128i hit =
        _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, slash)), _mm_cmplt_epi8(v, space));
    const int mask = _mm_movemask_epi8(hit);
    if (mask != 0) return p + __builtin_ctz(static_cast<unsigned>(mask));
    p += 16;
  }
#endif
  while (end - p >= 8) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    const uint64_t below = (v - 0x20 * kOnes) & ~v;
    const uint64_t quote8 = (v ^ (0x22 * kOnes));
    const uint64_t slash8 = (v ^ (0x5c * kOnes));
    const uint64_t mask =
        ((below | ((quote8 - kOnes) & ~quote8) | ((slash8 - kOnes) & ~slash8)) | v) & kHighBits;
    if (mask != 0) {
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
      return p + (__builtin_ctzll(mask) >> 3);
#else
      break;
#endif
    }
    p += 8;
  }
  while (p < end && *p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\') ++p;
  return p;
}

// Utf8Length: length of the valid UTF-8 sequence at the non-ASCII byte `p`, 0 when invalid (stray continuation,
// overlong, surrogate, above U+10FFFF, truncated). Same rules as json_out.cc.
inline size_t Utf8Length(const uint8_t* p, size_t avail) {
  const uint8_t c = p[0];
  if (c < 0xc2) return 0;
  if (c < 0xe0) return avail >= 2 && (p[1] & 0xc0) == 0x80 ? 2 : 0;
  if (c < 0xf0) {
    if (avail < 3 || (p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80) return 0;
    if (c == 0xe0 && p[1] < 0xa0) return 0;
    if (c == 0xed && p[1] >= 0xa0) return 0;
    return 3;
  }
  if (c < 0xf5) {
    if (avail < 4 || (p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80 || (p[3] & 0xc0) != 0x80) return 0;
    if (c == 0xf0 && p[1] < 0x90) return 0;
    if (c == 0xf4 && p[1] >= 0x90) return 0;
    return 4;
  }
  return 0;
}

inline int HexDigit(uint8_t c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

inline bool Hex4(const uint8_t* p, uint32_t* out) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) {
    const int d = HexDigit(p[i]);
    if (d < 0) return false;
    v = (v << 4) | static_cast<uint32_t>(d);
  }
  *out = v;
  return true;
}

inline bool Equals(const uint8_t* data, size_t size, const char* text, size_t n) {
  return size == n && std::memcmp(data, text, n) == 0;
}
#define PV_IS(data, size, text) Equals((data), (size), (text), sizeof(text) - 1)

inline void PutBe16(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
inline void PutBe32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}
inline void PutBe64(uint8_t* p, uint64_t v) {
  PutBe32(p, static_cast<uint32_t>(v >> 32));
  PutBe32(p + 4, static_cast<uint32_t>(v));
}

// WriteNumber: pack.js pack() for a number with useRecords on, no randomAccessStructure, no useFloat32.
void WriteNumber(double value, ByteSink* out) {
  out->Reserve(9);
  uint8_t* t = out->tail();
  if (value >= 0 && value < kTwo32 && std::floor(value) == value) {  // value >>> 0 === value (also -0)
    const uint32_t v = static_cast<uint32_t>(value);
    if (v < 0x40) {
      t[0] = static_cast<uint8_t>(v);
      out->Advance(1);
    } else if (v < 0x100) {
      t[0] = 0xcc;
      t[1] = static_cast<uint8_t>(v);
      out->Advance(2);
    } else if (v < 0x10000) {
      t[0] = 0xcd;
      PutBe16(t + 1, v);
      out->Advance(3);
    } else {
      t[0] = 0xce;
      PutBe32(t + 1, v);
      out->Advance(5);
    }
    return;
  }
  if (value < 0 && value >= -2147483648.0 && std::floor(value) == value) {  // value >> 0 === value
    const int32_t v = static_cast<int32_t>(value);
    if (v >= -0x20) {
      t[0] = static_cast<uint8_t>(0x100 + v);
      out->Advance(1);
    } else if (v >= -0x80) {
      t[0] = 0xd0;
      t[1] = static_cast<uint8_t>(v + 0x100);
      out->Advance(2);
    } else if (v >= -0x8000) {
      t[0] = 0xd1;
      PutBe16(t + 1, static_cast<uint32_t>(v) & 0xffff);
      out->Advance(3);
    } else {
      t[0] = 0xd2;
      PutBe32(t + 1, static_cast<uint32_t>(v));
      out->Advance(5);
    }
    return;
  }
  uint64_t bits;
  std::memcpy(&bits, &value, 8);
  t[0] = 0xcb;
  PutBe64(t + 1, bits);
  out->Advance(9);
}

// StrHeaderSize / WriteStrHeader: the smallest msgpack str header for `n` UTF-8 bytes (what pack.js ends up with).
inline size_t StrHeaderSize(size_t n) { return n < 0x20 ? 1 : n < 0x100 ? 2 : n < 0x10000 ? 3 : 5; }
inline void WriteStrHeader(uint8_t* t, size_t n) {
  if (n < 0x20) {
    t[0] = static_cast<uint8_t>(0xa0 | n);
  } else if (n < 0x100) {
    t[0] = 0xd9;
    t[1] = static_cast<uint8_t>(n);
  } else if (n < 0x10000) {
    t[0] = 0xda;
    PutBe16(t + 1, static_cast<uint32_t>(n));
  } else {
    t[0] = 0xdb;
    PutBe32(t + 1, static_cast<uint32_t>(n));
  }
}

void AppendStr(const uint8_t* data, size_t n, std::string* out) {
  uint8_t header[5];
  WriteStrHeader(header, n);
  out->append(reinterpret_cast<const char*>(header), StrHeaderSize(n));
  out->append(reinterpret_cast<const char*>(data), n);
}

// WriteContainerHeader: fixarray/array16/array32 (pack.js packArray; the keys of a record definition too).
void WriteArrayHeader(uint32_t count, ByteSink* out) {
  out->Reserve(5);
  uint8_t* t = out->tail();
  if (count < 0x10) {
    t[0] = static_cast<uint8_t>(0x90 | count);
    out->Advance(1);
  } else if (count < 0x10000) {
    t[0] = 0xdc;
    PutBe16(t + 1, count);
    out->Advance(3);
  } else {
    t[0] = 0xdd;
    PutBe32(t + 1, count);
    out->Advance(5);
  }
}

// WriteDate: pack.js's Date extension for `new Date(ms)` (ms already a JS number; TimeClip applied here).
void WriteDate(double ms, ByteSink* out) {
  out->Reserve(15);
  uint8_t* t = out->tail();
  if (!std::isfinite(ms) || std::fabs(ms) > kMaxTimeMs) {
    t[0] = 0xd4;  // invalid date: onInvalidDate is not set
    t[1] = 0xff;
    t[2] = 0xff;
    out->Advance(3);
    return;
  }
  ms = std::trunc(ms) + 0.0;  // TimeClip: ToIntegerOrInfinity, and -0 becomes +0
  const double seconds = ms / 1000;
  double millis = std::fmod(ms, 1000.0);  // getMilliseconds(): time zone offsets are whole seconds
  if (millis < 0) millis += 1000;
  if (millis == 0 && seconds >= 0 && seconds < kTwo32) {
    t[0] = 0xd6;
    t[1] = 0xff;
    PutBe32(t + 2, static_cast<uint32_t>(seconds));
    out->Advance(6);
  } else if (seconds > 0 && seconds < kTwo32) {
    t[0] = 0xd7;
    t[1] = 0xff;
    // (seconds / 1000 / 0x100000000) >> 0 is 0 below 2^32 seconds; setUint32 truncates the fractional seconds.
    PutBe32(t + 2, static_cast<uint32_t>(millis * 4000000));
    PutBe32(t + 6, static_cast<uint32_t>(seconds));
    out->Advance(10);
  } else {
    t[0] = 0xc7;
    t[1] = 12;
    t[2] = 0xff;
    PutBe32(t + 3, static_cast<uint32_t>(millis * 1000000));
    PutBe64(t + 7, static_cast<uint64_t>(static_cast<int64_t>(std::floor(seconds))));
    out->Advance(15);
  }
}

// Base64Value: the 6-bit value of a standard-alphabet character, or -1.
inline int Base64Value(uint8_t c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

// WriteBase64Bin: strict padded base64 (as AppendBase64 writes it, zero leftover bits) -> c4/c5/c6 + bytes, as
// pack.js writeBuffer packs the Buffer that Buffer.from(v, 'base64') returns. False (out unchanged) otherwise.
bool WriteBase64Bin(const uint8_t* s, size_t n, ByteSink* out) {
  if (n % 4 != 0) return false;
  size_t pad = 0;
  if (n > 0 && s[n - 1] == '=') pad = s[n - 2] == '=' ? 2 : 1;
  const size_t size = n / 4 * 3 - pad;
  if (size > 0xffffffffu) return false;
  out->Reserve(size + 5);
  uint8_t* t = out->tail();
  size_t h;
  if (size < 0x100) {
    t[0] = 0xc4;
    t[1] = static_cast<uint8_t>(size);
    h = 2;
  } else if (size < 0x10000) {
    t[0] = 0xc5;
    PutBe16(t + 1, static_cast<uint32_t>(size));
    h = 3;
  } else {
    t[0] = 0xc6;
    PutBe32(t + 1, static_cast<uint32_t>(size));
    h = 5;
  }
  uint8_t* d = t + h;
  for (size_t i = 0; i < n; i += 4) {
    const bool last = i + 4 == n;
    const int a = Base64Value(s[i]);
    const int b = Base64Value(s[i + 1]);
    if (a < 0 || b < 0) return false;
    const int c = last && pad == 2 ? 0 : Base64Value(s[i + 2]);
    const int e = last && pad >= 1 ? 0 : Base64Value(s[i + 3]);
    if (c < 0 || e < 0) return false;
    const uint32_t v = (static_cast<uint32_t>(a) << 18) | (static_cast<uint32_t>(b) << 12) |
                       (static_cast<uint32_t>(c) << 6) | static_cast<uint32_t>(e);
    *d++ = static_cast<uint8_t>(v >> 16);
    if (last && pad == 2) {
      if ((v & 0xffff) != 0) return false;  // leftover bits
      break;
    }
    *d++ = static_cast<uint8_t>(v >> 8);
    if (last && pad == 1) {
      if ((v & 0xff) != 0) return false;
      break;
    }
    *d++ = static_cast<uint8_t>(v);
  }
  out->Advance(h + size);
  return true;
}

// WriteBigInt: `^-?\d+$` as BigInt(v) packed by pack.js: int64 `d3` when -2^63 <= v < 2^63, uint64 `cf` below 2^64,
// else false (msgpackr throws a RangeError without useBigIntExtension).
bool WriteBigInt(const uint8_t* s, size_t n, ByteSink* out) {
  size_t i = 0;
  const bool negative = n > 0 && s[0] == '-';
  if (negative) i = 1;
  if (i == n) return false;
  unsigned __int128 v = 0;
  for (; i < n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
    if (v > (static_cast<unsigned __int128>(1) << 64)) return false;
  }
  const unsigned __int128 two63 = static_cast<unsigned __int128>(1) << 63;
  out->Reserve(9);
  uint8_t* t = out->tail();
  if (negative ? v <= two63 : v < two63) {
    const uint64_t magnitude = static_cast<uint64_t>(v);
    t[0] = 0xd3;
    PutBe64(t + 1, negative ? (~magnitude + 1) : magnitude);
  } else if (!negative && v < (static_cast<unsigned __int128>(1) << 64)) {
    t[0] = 0xcf;
    PutBe64(t + 1, static_cast<uint64_t>(v));
  } else {
    return false;
  }
  out->Advance(9);
  return true;
}

inline uint64_t HashBytes(const uint8_t* p, size_t n) {
  uint64_t h = 0xcbf29ce484222325ull ^ n;
  for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 0x100000001b3ull;
  return h;
}

inline uint64_t Mix(uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  return h;
}

// KeyAllowed: see "a key ... treat specially" at the top of doc_encoder.h.
bool KeyAllowed(const uint8_t* k, size_t n) {
  bool digits = n > 0;
  for (size_t i = 0; i < n && digits; ++i) digits = k[i] >= '0' && k[i] <= '9';
  if (digits) return false;
  switch (n) {
    case 6:
      return !PV_IS(k, n, "toJSON");
    case 8:
      return !PV_IS(k, n, "__keys__");
    case 9:
      return !PV_IS(k, n, "__proto__");
    case 11:
      return !PV_IS(k, n, "constructor");
    case 14:
      return !PV_IS(k, n, "hasOwnProperty");
    default:
      return true;
  }
}

}  // namespace

bool DocEncoder::Literal(const char* text, size_t n) {
  if (static_cast<size_t>(end_ - p_) < n || std::memcmp(p_, text, n) != 0) return false;
  p_ += n;
  return true;
}

bool DocEncoder::String(uint8_t* scratch, const uint8_t** data, size_t* size) {
  const uint8_t* const start = p_;
  const uint8_t* p = p_;
  for (;;) {
    p = ScanPlain(p, end_);
    if (p >= end_) return false;
    const uint8_t c = *p;
    if (c == '"') {
      *data = start;
      *size = static_cast<size_t>(p - start);
      p_ = p + 1;
      return true;
    }
    if (c == '\\') break;
    if (c < 0x20) return false;
    if (c < 0x80) {
      ++p;
      continue;
    }
    const size_t n = Utf8Length(p, static_cast<size_t>(end_ - p));
    if (n == 0) return false;
    p += n;
  }
  // Escapes: decode into scratch (never longer than the source text).
  const size_t prefix = static_cast<size_t>(p - start);
  std::memcpy(scratch, start, prefix);
  uint8_t* d = scratch + prefix;
  while (p < end_) {
    const uint8_t c = *p;
    if (c == '"') {
      *data = scratch;
      *size = static_cast<size_t>(d - scratch);
      p_ = p + 1;
      return true;
    }
    if (c == '\\') {
      if (end_ - p < 2) return false;
      switch (p[1]) {
        case '"':
        case '\\':
        case '/':
          *d++ = p[1];
          break;
        case 'b':
          *d++ = '\b';
          break;
        case 'f':
          *d++ = '\f';
          break;
        case 'n':
          *d++ = '\n';
          break;
        case 'r':
          *d++ = '\r';
          break;
        case 't':
          *d++ = '\t';
          break;
        case 'u': {
          uint32_t u;
          if (end_ - p < 6 || !Hex4(p + 2, &u)) return false;
          if (u >= 0xdc00 && u <= 0xdfff) return false;  // lone low surrogate
          if (u >= 0xd800 && u <= 0xdbff) {
            uint32_t low;
            if (end_ - p < 12 || p[6] != '\\' || p[7] != 'u' || !Hex4(p + 8, &low) || low < 0xdc00 || low > 0xdfff) {
              return false;  // lone high surrogate
            }
            const uint32_t cp = 0x10000 + ((u - 0xd800) << 10) + (low - 0xdc00);
            *d++ = static_cast<uint8_t>(0xf0 | (cp >> 18));
            *d++ = static_cast<uint8_t>(0x80 | ((cp >> 12) & 0x3f));
            *d++ = static_cast<uint8_t>(0x80 | ((cp >> 6) & 0x3f));
            *d++ = static_cast<uint8_t>(0x80 | (cp & 0x3f));
            p += 12;
            continue;
          }
          if (u < 0x80) {
            *d++ = static_cast<uint8_t>(u);
          } else if (u < 0x800) {
            *d++ = static_cast<uint8_t>(0xc0 | (u >> 6));
            *d++ = static_cast<uint8_t>(0x80 | (u & 0x3f));
          } else {
            *d++ = static_cast<uint8_t>(0xe0 | (u >> 12));
            *d++ = static_cast<uint8_t>(0x80 | ((u >> 6) & 0x3f));
            *d++ = static_cast<uint8_t>(0x80 | (u & 0x3f));
          }
          p += 6;
          continue;
        }
        default:
          return false;
      }
      p += 2;
      continue;
    }
    if (c < 0x20) return false;
    if (c < 0x80) {
      *d++ = c;
      ++p;
      continue;
    }
    const size_t n = Utf8Length(p, static_cast<size_t>(end_ - p));
    if (n == 0) return false;
    std::memcpy(d, p, n);
    d += n;
    p += n;
  }
  return false;
}

bool DocEncoder::ScratchString(const uint8_t** data, size_t* size) {
  if (!String(key_scratch_.data() + key_scratch_used_, data, size)) return false;
  if (*data == key_scratch_.data() + key_scratch_used_) key_scratch_used_ += *size;
  return true;
}

bool DocEncoder::StringValue() {
  body_.Reserve(5 + static_cast<size_t>(end_ - p_));
  uint8_t* t = body_.tail();
  const uint8_t* data;
  size_t n;
  if (!String(t + 5, &data, &n)) return false;
  if (n > 0xffffffffu) return false;
  const size_t h = StrHeaderSize(n);
  if (data == t + 5) {
    std::memmove(t + h, t + 5, n);
  } else {
    std::memcpy(t + h, data, n);
  }
  WriteStrHeader(t, n);
  body_.Advance(h + n);
  return true;
}

bool DocEncoder::Number(double* value) {
  const uint8_t* const start = p_;
  const uint8_t* p = p_;
  const bool negative = p < end_ && *p == '-';
  if (negative) ++p;
  if (p >= end_) return false;
  const uint8_t* const digits = p;
  if (*p == '0') {
    ++p;
  } else if (*p >= '1' && *p <= '9') {
    while (p < end_ && *p >= '0' && *p <= '9') ++p;
  } else {
    return false;
  }
  bool integer = true;
  if (p < end_ && *p == '.') {
    ++p;
    if (p >= end_ || *p < '0' || *p > '9') return false;
    while (p < end_ && *p >= '0' && *p <= '9') ++p;
    integer = false;
  }
  if (p < end_ && (*p == 'e' || *p == 'E')) {
    ++p;
    if (p < end_ && (*p == '+' || *p == '-')) ++p;
    if (p >= end_ || *p < '0' || *p > '9') return false;
    while (p < end_ && *p >= '0' && *p <= '9') ++p;
    integer = false;
  }
  if (integer && p - digits <= 15) {
    // Exact in a double: up to 15 digits.
    int64_t v = 0;
    for (const uint8_t* q = digits; q < p; ++q) v = v * 10 + (*q - '0');
    *value = negative ? -static_cast<double>(v) : static_cast<double>(v);
  } else {
    // Correctly rounded, as JSON.parse.
    const std::from_chars_result r =
        std::from_chars(reinterpret_cast<const char*>(start), reinterpret_cast<const char*>(p), *value);
    if (r.ptr != reinterpret_cast<const char*>(p)) return false;
    if (r.ec == std::errc::result_out_of_range) {
      // libstdc++ reports overflow and subnormal or zero results as out of range without a value; glibc's strtod
      // (correctly rounded, C locale) gives what JSON.parse does: Infinity, a subnormal, or 0.
      static const locale_t c_locale = newlocale(LC_ALL_MASK, "C", static_cast<locale_t>(0));
      if (c_locale == static_cast<locale_t>(0)) return false;
      const std::string text(reinterpret_cast<const char*>(start), static_cast<size_t>(p - start));
      char* parsed_end = nullptr;
      *value = strtod_l(text.c_str(), &parsed_end, c_locale);
      if (parsed_end != text.c_str() + text.size()) return false;
    } else if (r.ec != std::errc()) {
      return false;
    }
  }
  p_ = p;
  return true;
}

bool DocEncoder::Value(uint32_t depth) {
  SkipWs();
  if (p_ >= end_) return false;
  switch (*p_) {
    case '{':
      ++p_;
      return depth < kMaxDocDepth && Object(depth + 1, false, false);
    case '[':
      ++p_;
      return depth < kMaxDocDepth && Array(depth + 1);
    case '"':
      ++p_;
      return StringValue();
    case 't':
      if (!Literal("true", 4)) return false;
      body_.Push(0xc3);
      return true;
    case 'f':
      if (!Literal("false", 5)) return false;
      body_.Push(0xc2);
      return true;
    case 'n':
      if (!Literal("null", 4)) return false;
      body_.Push(0xc0);
      return true;
    default: {
      double v;
      if (!Number(&v)) return false;
      last_number_ = v;
      WriteNumber(v, &body_);
      return true;
    }
  }
}

bool DocEncoder::Array(uint32_t depth) {
  const size_t mark = marks_.size();
  marks_.push_back(Mark{body_.size(), 0, nullptr});
  SkipWs();
  uint32_t count = 0;
  if (p_ < end_ && *p_ == ']') {
    ++p_;
  } else {
    for (;;) {
      if (!Value(depth)) return false;
      if (++count == 0xffffffffu) return false;
      SkipWs();
      if (p_ >= end_) return false;
      if (*p_ == ',') {
        ++p_;
        continue;
      }
      if (*p_ != ']') return false;
      ++p_;
      break;
    }
  }
  marks_[mark].count = count;
  return true;
}

bool DocEncoder::Object(uint32_t depth, bool inner_of_obj_tag, bool top) {
  const size_t mark = marks_.size();
  marks_.push_back(Mark{body_.size(), 0, nullptr});
  const size_t first = keys_.size();
  SkipWs();
  if (p_ < end_ && *p_ == '}') {
    ++p_;
  } else {
    for (;;) {
      if (!Expect('"')) return false;
      const uint8_t* key;
      size_t key_size;
      if (!ScratchString(&key, &key_size)) return false;
      if (!inner_of_obj_tag && PV_IS(key, key_size, "$pv")) {
        // A tag: only as the first key of a value that is not the document itself.
        if (keys_.size() != first || top) return false;
        marks_.pop_back();
        return Tag(depth);
      }
      if (!KeyAllowed(key, key_size) || key_size > 0xffffffffu) return false;
      keys_.push_back(KeyRef{key, static_cast<uint32_t>(key_size), HashBytes(key, key_size)});
      if (!Expect(':')) return false;
      SkipWs();
      const uint8_t value_start = p_ < end_ ? *p_ : 0;
      if (!Value(depth)) return false;
      if (top && PV_IS(key, key_size, "etag")) {
        has_etag_ = value_start == '-' || (value_start >= '0' && value_start <= '9');
        etag_ = last_number_;
      }
      SkipWs();
      if (p_ >= end_) return false;
      if (*p_ == ',') {
        ++p_;
        continue;
      }
      if (*p_ != '}') return false;
      ++p_;
      break;
    }
  }
  Shape* shape = FindShape(first, keys_.size() - first);
  if (shape == nullptr) return false;
  marks_[mark].shape = shape;
  keys_.resize(first);
  return true;
}

bool DocEncoder::Tag(uint32_t depth) {
  const uint8_t* tag;
  size_t tag_size;
  if (!Expect(':') || !Expect('"') || !ScratchString(&tag, &tag_size)) return false;
  if (PV_IS(tag, tag_size, "undefined")) {
    if (!Expect('}')) return false;
    body_.Reserve(3);
    body_.Push(0xd4);
    body_.Push(0x00);
    body_.Push(0x00);
    return true;
  }
  const uint8_t* key;
  size_t key_size;
  if (!Expect(',') || !Expect('"') || !ScratchString(&key, &key_size) || !PV_IS(key, key_size, "v") ||
      !Expect(':')) {
    return false;
  }
  SkipWs();
  if (PV_IS(tag, tag_size, "obj")) {
    if (!Expect('{') || depth >= kMaxDocDepth || !Object(depth + 1, true, false)) return false;
  } else if (PV_IS(tag, tag_size, "date")) {
    if (p_ < end_ && *p_ == 'n') {
      if (!Literal("null", 4)) return false;
      WriteDate(NAN, &body_);
    } else {
      double ms;
      if (!Number(&ms)) return false;
      WriteDate(ms, &body_);
    }
  } else {
    const uint8_t* v;
    size_t v_size;
    if (!Expect('"') || !ScratchString(&v, &v_size)) return false;
    if (PV_IS(tag, tag_size, "bin")) {
      if (!WriteBase64Bin(v, v_size, &body_)) return false;
    } else if (PV_IS(tag, tag_size, "bigint")) {
      if (!WriteBigInt(v, v_size, &body_)) return false;
    } else if (PV_IS(tag, tag_size, "num")) {
      double number;
      if (PV_IS(v, v_size, "NaN")) {
        number = std::numeric_limits<double>::quiet_NaN();
      } else if (PV_IS(v, v_size, "Infinity")) {
        number = std::numeric_limits<double>::infinity();
      } else if (PV_IS(v, v_size, "-Infinity")) {
        number = -std::numeric_limits<double>::infinity();
      } else {
        return false;
      }
      WriteNumber(number, &body_);
    } else {
      return false;  // mp, raw, key (opaque bytes) and unknown tags: the JS importer decides
    }
  }
  return Expect('}');
}

DocEncoder::Shape* DocEncoder::FindShape(size_t first, size_t count) {
  const KeyRef* keys = keys_.data() + first;
  // Duplicate keys (by hash: a collision merely sends the line to JS).
  if (count <= 16) {
    for (size_t i = 1; i < count; ++i) {
      for (size_t j = 0; j < i; ++j) {
        if (keys[i].hash == keys[j].hash) return nullptr;
      }
    }
  } else {
    dup_scratch_.clear();
    for (size_t i = 0; i < count; ++i) dup_scratch_.push_back(keys[i].hash);
    std::sort(dup_scratch_.begin(), dup_scratch_.end());
    if (std::adjacent_find(dup_scratch_.begin(), dup_scratch_.end()) != dup_scratch_.end()) return nullptr;
  }
  uint64_t h = Mix(0x9e3779b97f4a7c15ull ^ count);
  for (size_t i = 0; i < count; ++i) h = Mix(h * 31 + keys[i].hash);
  auto found = shapes_.find(h);
  if (found != shapes_.end()) {
    Shape* shape = found->second.get();
    if (shape->keys.size() != count) return nullptr;
    for (size_t i = 0; i < count; ++i) {
      const std::string& k = shape->keys[i];
      if (k.size() != keys[i].size || std::memcmp(k.data(), keys[i].data, k.size()) != 0) return nullptr;
    }
    return shape;
  }
  if (count > 0xffffffffu) return nullptr;
  auto shape = std::make_unique<Shape>();
  shape->keys.reserve(count);
  ByteSink header;
  WriteArrayHeader(static_cast<uint32_t>(count), &header);
  shape->key_array.assign(reinterpret_cast<const char*>(header.data()), header.size());
  for (size_t i = 0; i < count; ++i) {
    shape->keys.emplace_back(reinterpret_cast<const char*>(keys[i].data), keys[i].size);
    AppendStr(keys[i].data, keys[i].size, &shape->key_array);
  }
  Shape* raw = shape.get();
  shapes_.emplace(h, std::move(shape));
  return raw;
}

void DocEncoder::Emit(ByteSink* out) {
  const uint8_t* body = body_.data();
  size_t done = 0;
  for (const Mark& mark : marks_) {
    if (mark.at > done) out->Append(body + done, mark.at - done);
    done = mark.at;
    Shape* shape = mark.shape;
    if (shape == nullptr) {
      WriteArrayHeader(mark.count, out);
    } else if (shape->gen == gen_) {
      out->Push(shape->id);
    } else {
      // pack.js newRecord: ids 0x40..0x7f in order, wrapping; the shape that held the id is forgotten.
      const uint32_t slot = next_id_;
      next_id_ = (next_id_ + 1) & 63;
      if (owner_gen_[slot] == gen_ && owners_[slot] != nullptr) owners_[slot]->gen = 0;
      owners_[slot] = shape;
      owner_gen_[slot] = gen_;
      shape->gen = gen_;
      shape->id = static_cast<uint8_t>(0x40 + slot);
      out->Reserve(3 + shape->key_array.size());
      uint8_t* t = out->tail();
      t[0] = 0xd4;
      t[1] = 0x72;
      t[2] = shape->id;
      std::memcpy(t + 3, shape->key_array.data(), shape->key_array.size());
      out->Advance(3 + shape->key_array.size());
    }
  }
  if (body_.size() > done) out->Append(body + done, body_.size() - done);
}

bool DocEncoder::EncodeLine(const uint8_t* line, size_t size, ByteSink* out, size_t* key_size, size_t* value_size,
                            double* etag) {
  if (shapes_.size() > kMaxCachedShapes) shapes_.clear();
  p_ = line;
  end_ = line + size;
  body_.Truncate(0);
  marks_.clear();
  keys_.clear();
  if (key_scratch_.size() < size) key_scratch_.resize(size);
  key_scratch_used_ = 0;
  has_etag_ = false;
  ++gen_;
  next_id_ = 0;

  const uint8_t* text;
  size_t text_size;
  if (!Expect('{') || !Expect('"') || !ScratchString(&text, &text_size) || !PV_IS(text, text_size, "t") ||
      !Expect(':') || !Expect('"') || !ScratchString(&text, &text_size) || !PV_IS(text, text_size, "doc")) {
    return false;
  }
  const uint8_t* id = nullptr;
  size_t id_size = 0;
  bool have_v = false;
  for (int member = 0; member < 2; ++member) {
    if (!Expect(',') || !Expect('"') || !ScratchString(&text, &text_size)) return false;
    if (id == nullptr && PV_IS(text, text_size, "id")) {
      if (!Expect(':') || !Expect('"') || !ScratchString(&id, &id_size)) return false;
    } else if (!have_v && PV_IS(text, text_size, "v")) {
      if (!Expect(':') || !Expect('{') || !Object(1, false, true)) return false;
      have_v = true;
    } else {
      return false;
    }
  }
  if (!Expect('}')) return false;
  SkipWs();
  if (p_ != end_) return false;
  if (!has_etag_ || !(etag_ >= 1 && etag_ <= kMaxSafeInteger && std::floor(etag_) == etag_)) return false;

  // The key: ordered-binary's string key (see the top of doc_encoder.h).
  if (id_size == 0) return false;
  for (size_t i = 0; i < id_size; ++i) {
    if (id[i] < 5) return false;
  }
  const size_t prefix = id[0] < 28 ? 1 : 0;
  if (id_size + prefix > kMaxDocKeyBytes) return false;

  const size_t before = out->size();
  out->Reserve(prefix + id_size + body_.size() + 16);
  if (prefix) out->Push(27);
  out->Append(id, id_size);
  Emit(out);
  *key_size = prefix + id_size;
  *value_size = out->size() - before - *key_size;
  *etag = etag_;
  return true;
}

}  // namespace pagevault
