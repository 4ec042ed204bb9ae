// Package sut is the system under test (Jepsen's db): the noun a run starts, drives, faults,
// settles and reads back. It holds the vocabulary the other packages share and nothing that
// brings a dependency:
//
//   - system.go: the System interface (start, stop, settle, ledgers, the URL the herd is sent
//     to, the payment processor's URL) and the Handles faults act on;
//   - capability.go: the capabilities a fault asks a handle for by type assertion (Killer,
//     Pauser, Restarter, Proxy), their func adapters, and ErrUnsupported, returned when a
//     handle lacks one;
//   - client.go: typed clients of the booking system's /admin/ledger (and its settle and
//     metrics endpoints) and of the processor's /ledger, decoding with the checker's decoders.
//
// The implementations sit in sub-packages: sut/reference runs stampede's reference server as
// a child process on services from package infra, with toxiproxy proxies in its path when the
// fault schedule needs them, a fresh database and Redis key namespace per run; sut/external is
// a booking system that runs elsewhere, known by its URL. Both run stampede's payment
// processor in process (sut/processor), so the money is reconciled for either.
package sut
