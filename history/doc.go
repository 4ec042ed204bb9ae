// Package history is the shared vocabulary of a stampede run: the operations a client performed
// against a booking system, each with its call and return times and an outcome of ok, fail,
// info or shed (a refusal of an overloaded system, which certainly did not take effect), plus
// the fault events of the run. Every other package of the harness (workloads, chaos,
// checker, reports) speaks it; it imports only the standard library.
//
// A history is JSON Lines: one Record a line, written as the run goes by a Writer and read back
// by a Reader, or by Stream, which decodes on several goroutines for a large history. Both
// decode with Decode, which takes a fast path for the plain JSON a Writer produces and leaves
// anything else to encoding/json, with the same results and errors. A run directory keeps its
// history in FileName. Times are monotonic nanoseconds since the run's start; the first line
// (a header record) gives the wall-clock time of that start, so server times such as a hold's
// expires_at can be placed on the same axis.
//
// Files: history.go (the Record and its parts), hazard.go (the names of the hazards a run can
// exercise, shared by scenario files and the checker), io.go (Writer, Reader, ReadAll, ReadFile),
// decode.go (Decode and its fast path) and stream.go (Stream).
package history
