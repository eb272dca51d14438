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
// pageSize: number, directFd?: number): Promise<void>. With `directFd` (the same file opened with O_DIRECT), runs of
// 64 KiB or more that are 4 KiB-aligned are copied through an aligned per-thread buffer and written past the page
// cache: on this VM, allocating fresh page-cache pages made a buffered 2 GB write cost 0.4-5 s of kernel time
// depending on the state of memory, a direct one 0.36 s (1.1 s of disk time). Short runs (an incremental's
// scattered pages) stay buffered, and so does everything once the file system refuses direct I/O (EINVAL). `data` holds the runs' pages back to back (sum of counts x pageSize bytes), or
// is an array with one buffer per run holding exactly that run's pages (no copy into a batch buffer). The buffers
// must not be modified until the promise settles (the worker keeps a reference to them). Rejects with an Error carrying
// `errno`/`syscall` if a pwrite fails. Throws a TypeError/RangeError for inconsistent arguments.
Napi::Value JsWriteRuns(const Napi::CallbackInfo& info);

// JS: preallocate(fd: number, offset: number, length: number, keepSize: boolean): Promise<boolean>. Allocates the
// file's blocks for [offset, offset + length) with fallocate(2) on the libuv pool (with keepSize, without growing
// the file's size). Resolves false where the file system or OS cannot (the writes then allocate as they go).
// Why: on ext4 here, writing 2 GB into a new file's unallocated range cost 1.6-5 s of kernel time, into an
// fallocated range 0.3-0.45 s (dd, same file system). Rejects with errno/syscall (code ENOSPC when the disk is full).
Napi::Value JsPreallocate(const Napi::CallbackInfo& info);

}  // namespace pagevault

#endif  // PAGEVAULT_NATIVE_PAGE_WRITER_H_
