// encode_doc_lines.h: the addon's encodeDocLines export, the batch driver of doc_encoder.h for the JSON importer.
//
//   encodeDocLines(lines: Buffer): Promise<{kinds, lineOffsets, docOffsets, etags, data}>
//     `lines` holds whole NDJSON lines separated by '\n' (the last may lack its '\n'; "" is no line, "\n" is one
//     empty line). On the libuv pool, every line that DocEncoder encodes becomes kind 1, every other line kind 0.
//     kinds: Uint8Array, one per line.  lineOffsets: Uint32Array, [start, end) of every line in `lines` (without
//     its '\n'), 2 per line.  docOffsets: Uint32Array, [keyStart, keyEnd, valueStart, valueEnd] into `data` per kind-1
//     line, in order.  etags: Float64Array, the etag of every kind-1 line.  data: Buffer, keys and values back to back.
//     A line whose output would end past 2^32 - 1 bytes of `data` is kind 0 (offsets are 32-bit).
//   Throws a TypeError synchronously unless `lines` is a Buffer, a RangeError when it is 2^32 - 1 bytes or longer.
//
// The worker reads `lines` in place (it keeps a reference to it): the caller must not modify it until the promise
// settles. `data` is handed to JS without a copy (an external Buffer whose size is reported to V8); the typed arrays
// are copied. Calls are independent (each has its own encoder), so several may run at once on the pool.

#ifndef PAGEVAULT_NATIVE_ENCODE_DOC_LINES_H_
#define PAGEVAULT_NATIVE_ENCODE_DOC_LINES_H_

#include <napi.h>

namespace pagevault {

// JsEncodeDocLines: the module function documented at the top of this file.
Napi::Value JsEncodeDocLines(const Napi::CallbackInfo& info);

}  // namespace pagevault

#endif  // PAGEVAULT_NATIVE_ENCODE_DOC_LINES_H_
