// json_out.h: ByteSink, the growable byte buffer the JSON export writes into, and the JSON primitives written into
// it: strings escaped exactly as JSON.stringify escapes them (after strict UTF-8 validation), base64, and numbers.
//
// Contracts:
// - ByteSink owns one malloc'd block; Release() hands it to the caller, who frees it with free() (the export hands it
//   to JS as an external Buffer without a copy). Allocation failure aborts the process, as V8 does when it runs out
//   of memory: the export has no partial-output state worth saving, and checking every append would slow the
//   transcoder's inner loops.
// - AppendJsonString validates `bytes` as UTF-8 (no overlong forms, no surrogates U+D800..DFFF, nothing above
//   U+10FFFF) and appends `"..."` with JSON.stringify's escapes: `"` and `\` backslashed, \b \f \n \r \t, other bytes
//   below 0x20 as \u00xx (lower-case hex), everything else (DEL, non-ASCII) as the raw UTF-8 bytes. On invalid UTF-8 it
//   returns false and leaves the sink's size as it was (bytes past it may have been written).
// - AppendBase64: RFC 4648 standard alphabet with padding (what Buffer.from(s, 'base64') reads back).
// - AppendDouble: the shortest text that parses back to the same double (std::to_chars), e.g. 0.1, 1e+21, -0, 5.
//   The caller handles NaN and infinities (they are not JSON numbers).
//
// Threading: plain data, one thread at a time.

#ifndef PAGEVAULT_NATIVE_JSON_OUT_H_
#define PAGEVAULT_NATIVE_JSON_OUT_H_

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>

namespace pagevault {

// ByteSink: see the top of this file.
class ByteSink {
 public:
  ByteSink() = default;
  ~ByteSink() { std::free(data_); }
  ByteSink(const ByteSink&) = delete;
  ByteSink& operator=(const ByteSink&) = delete;

  // Reserve: guarantees room for `extra` more bytes after size().
  void Reserve(size_t extra) {
    if (cap_ - size_ < extra) Grow(extra);
  }
  void Append(const void* bytes, size_t n) {
    Reserve(n);
    std::memcpy(data_ + size_, bytes, n);
    size_ += n;
  }
  void Append(const char* text) { Append(text, std::strlen(text)); }
  void Push(uint8_t byte) {
    Reserve(1);
    data_[size_++] = byte;
  }
  // Unchecked writes after a Reserve: `tail()` is where the next byte goes; Advance() commits `n` written bytes.
  uint8_t* tail() { return data_ + size_; }
  void Advance(size_t n) { size_ += n; }

  size_t size() const { return size_; }
  size_t capacity() const { return cap_; }
  const uint8_t* data() const { return data_; }
  // Truncate: forgets everything after the first `size` bytes (rewinds a failed transcode).
  void Truncate(size_t size) { size_ = size; }

  // Adopt: takes ownership of `data` (malloc'd, `capacity` bytes; e.g. a block Release gave out earlier) as this
  // empty sink's block, freeing the one it had. Reuses memory without new page faults.
  void Adopt(uint8_t* data, size_t capacity) {
    std::free(data_);
    data_ = data;
    size_ = 0;
    cap_ = data == nullptr ? 0 : capacity;
  }

  // Release: the block (nullptr when nothing was ever reserved) and its size; the sink is empty afterwards.
  uint8_t* Release(size_t* size) {
    uint8_t* data = data_;
    *size = size_;
    data_ = nullptr;
    size_ = cap_ = 0;
    return data;
  }

 private:
  void Grow(size_t extra);

  uint8_t* data_ = nullptr;
  size_t size_ = 0;
  size_t cap_ = 0;
};

// AppendJsonString, AppendBase64, AppendDouble, AppendInt, AppendUint: see the top of this file.
bool AppendJsonString(const uint8_t* bytes, size_t size, ByteSink* out);
void AppendBase64(const uint8_t* bytes, size_t size, ByteSink* out);
void AppendDouble(double value, ByteSink* out);
void AppendInt(int64_t value, ByteSink* out);
void AppendUint(uint64_t value, ByteSink* out);

// IsValidUtf8: the validation AppendJsonString applies, without output.
bool IsValidUtf8(const uint8_t* bytes, size_t size);

}  // namespace pagevault

#endif  // PAGEVAULT_NATIVE_JSON_OUT_H_
