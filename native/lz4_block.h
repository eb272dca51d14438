// lz4_block.h: a decoder of the LZ4 block format (lz4's doc/lz4_Block_format.md) with an external dictionary, as
// lmdb-js's `compression` stores values: LZ4_decompress_safe_usingDict semantics (the dictionary logically precedes
// the output, so matches may reach into its tail). Written from the format description; bounds-checked on every
// read and write, so corrupt input fails instead of reading or writing out of bounds.
//
// lmdb-js's framing around the block (src/compression.cpp): byte 254 then a 24-bit big-endian plain length, block
// from byte 4; or byte 255, three ignored bytes, a 32-bit big-endian length, block from byte 8. A stored value whose
// first byte is below 250 was not compressed (lmdb-js compresses any value starting with 250..255, so the marker is
// unambiguous).

#ifndef PAGEVAULT_NATIVE_LZ4_BLOCK_H_
#define PAGEVAULT_NATIVE_LZ4_BLOCK_H_

#include <cstddef>
#include <cstdint>
#include <vector>

namespace pagevault {

// Lz4DecompressBlock: decodes the block [src, src + src_size) into dst (capacity dst_cap); the number of bytes
// written, or -1 when the block is malformed or does not fit.
long Lz4DecompressBlock(const uint8_t* src, size_t src_size, uint8_t* dst, size_t dst_cap, const uint8_t* dict,
                        size_t dict_size);

// LmdbJsDecompress: a value of an lmdb-js compression store: when it starts with lmdb-js's compression header,
// decompresses it into `*out` and points `*data`/`*size` there; otherwise leaves them as they are. False when the
// header or block is malformed, or the plain length is larger than `max_size`.
bool LmdbJsDecompress(const uint8_t** data, size_t* size, const uint8_t* dict, size_t dict_size, size_t max_size,
                      std::vector<uint8_t>* out);

}  // namespace pagevault

#endif  // PAGEVAULT_NATIVE_LZ4_BLOCK_H_
