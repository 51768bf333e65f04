// Survives a memory-mapped file being truncated while it is read (POSIX).
//
// Reading a page of a file mapping that now lies past the file's end raises SIGBUS, which by
// default ends the process (Node included). Registered mappings get a SIGBUS handler instead: when
// the faulting address lies in one, the rest of that mapping from the faulting page on is replaced
// by zero-filled anonymous pages (mmap MAP_FIXED), the mapping is marked faulted, and the read
// resumes, returning zeros. Whoever produced results from the mapping must then ask
// MappedFile::check_intact() and discard them: the engine does so after every step and job that
// saw a fault, and at the end of a load.
//
// What is guarded: truncation (or a shrinking rewrite) of a mapped checkpoint at any time, on
// Linux and macOS, in any thread. What is not: a file rewritten in place at the same size (the
// mapping may show the new bytes; nothing detects it); faults outside registered mappings (passed
// on to the handler installed before ours, or the default action); a process that blocks or
// replaces the SIGBUS handler after us. mmap is not on POSIX's list of async-signal-safe calls;
// on Linux and macOS it is a plain system call without user-space locks, which this relies on.
#pragma once

#include <cstddef>
#include <cstdint>

namespace wenxin::mapping_guard {

// Watches [base, base + bytes); returns a slot for faulted()/unwatch(), or -1 when the table of
// watched mappings (4096) is full or the platform has no guard (Windows).
int watch(const void* base, size_t bytes);
// Stops watching (call before unmapping).
void unwatch(int slot);
// Whether a read in this mapping faulted since watch().
bool faulted(int slot);
// Faults absorbed in any mapping since the process started: a cheap check for hot loops.
uint64_t fault_count();

}  // namespace wenxin::mapping_guard
