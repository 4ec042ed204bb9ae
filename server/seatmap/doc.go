// Package seatmap serves GET /events/{event_id}/seats, the seat map, in a way a herd can
// afford: every reader of an event shares one snapshot of its availability for a bounded time
// (the freshness), the snapshot is read from the database by one reader at a time, and each of
// its answers (the whole event or one section, in the full or the compact form) is encoded once
// and then served as bytes (compressed with gzip, also once, for clients that accept it), with
// an ETag so that a client that has it gets 304 Not Modified.
// The server builds one Snapshots (New) over its strategy and routes the seat map to its
// Handle. It never imports the server.
//
// Freshness. A snapshot is read starting at its as_of (the server clock) and is served to
// requests that arrive less than Freshness after that, so every answer reflects the database no
// more than Freshness before the request arrived. A request that finds no fresh snapshot reads
// one, unless a read is already running that began recently enough for it, whose result it then
// shares (singleflight); a read that began too long before the request is not shared with it.
// Freshness 0 reads the database for every request, as the server did before snapshots.
// Holds stay the authority: a seat a snapshot shows available may be refused.
//
// The forms (api.yaml, Availability and CompactAvailability). The full form is the contract's
// seat list. The compact form gives, per section, a string per row with one character per seat
// number ('a' available, 'h' held, 's' sold, '-' no such seat): about one byte a seat instead of
// fifty. ?section=NAME narrows either form to one section (without the general-admission
// tiers).
//
// Files:
//
//	snapshots.go  Config, Snapshots, New: the shared snapshots, their freshness and reads
//	forms.go      the full and compact forms, their encoding, Compact.Expand
//	handler.go    GET /events/{event_id}/seats: parameters, conditional requests, answers
//	metrics.go    reads by how they were served, snapshot read time
//	errors.go     ErrSectionNotFound and its row of the server's error table
package seatmap
