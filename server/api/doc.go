// Package api is the vocabulary every handler of the booking contract (server/api.yaml) shares:
// the Error object with its stable codes, the error tables that turn errors into answers, JSON
// request decoding and answers, and the request parts every area reads (X-Session-Id, event
// ids), and Deps, what every area takes from the server. The server and its areas
// (server/waitingroom, server/checkout) import it; it imports only the strategies (for their
// sentinel errors) and the Prometheus client, so the areas need nothing from the server itself.
//
// Errors become answers in one table the server composes (server/errors.go): Common first, then
// each area's rows, then Unknown. An area gets that table in its Config, with the rest of Deps
// (registry, logger, clock), and answers through it; its tests answer through the same rows.
//
// Files:
//
//	error.go    Error, ErrorBody, the codes, Invalid and the sentinels every area shares
//	table.go    Mapping and Table (errors to answers), Common and Unknown, the request logger
//	deps.go     Deps: what every area takes from the server
//	json.go     DecodeJSON, WriteJSON, WriteRawJSON
//	request.go  Session, EventID, CheckEventID, Truncate
package api
