// page_writer.h: writes a batch of page runs into a data file with pwrite, off the JS thread (restore).
//
// A restore applies incrementals whose pages are scattered over the file: thousands of short runs per file. One
// JS-level async write per run costs a thread-pool round trip each; one AsyncWorker per batch of runs does the
// same pwrites in a loop.

#ifndef PAGEVAULT_NATIVE_PAGE_WRITER_H_
#define PAGEVAULT_NATIVE_PAGE_WRITER_H_

#include <napi.h>

namespace pagevault {

// JS: writeRuns(fd: number, runs: Float64Array /* [firstPgno, count, ...] */, data: Buffer | Buffer[],
// pageSize: number): Promise<void>. `data` holds the runs' pages back to back (sum of counts x pageSize bytes), or
// is an array with one buffer per run holding exactly that run's pages (no copy into a batch buffer). The buffers
// must not be modified until the promise settles (the worker keeps a reference to them). Rejects with an Error carrying
// `errno`/`syscall` if a pwrite fails. Throws a TypeError/RangeError for inconsistent arguments.
Napi::Value JsWriteRuns(const Napi::CallbackInfo& info);

}  // namespace pagevault

#endif  // PAGEVAULT_NATIVE_PAGE_WRITER_H_
