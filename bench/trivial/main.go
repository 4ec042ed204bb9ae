// Command trivial is the fast endpoint of stampede's driver benchmarks: every GET answers `{}`,
// and the booking calls a herd makes (holds, checkouts, releases, joining the queue) get the
// shortest answer the contract allows, with no state beyond a counter. It measures the load
// generator, not a booking system.
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	ttl := flag.Duration("hold-ttl", 10*time.Second, "ttl reported for holds")
	flag.Parse()
	var n atomic.Int64
	json := func(w http.ResponseWriter, status int, body string) {
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) { json(w, 200, "{}") })
	mux.HandleFunc("POST /admin/events", func(w http.ResponseWriter, r *http.Request) { json(w, 201, "{}") })
	mux.HandleFunc("POST /events/{id}/queue", func(w http.ResponseWriter, r *http.Request) {
		json(w, 409, `{"error":{"code":"waiting_room_off","message":"off"}}`)
	})
	mux.HandleFunc("POST /events/{id}/holds", func(w http.ResponseWriter, r *http.Request) {
		id := n.Add(1)
		exp := time.Now().Add(*ttl).UTC().Format(time.RFC3339Nano)
		json(w, 201, fmt.Sprintf(`{"hold_id":"h%d","event_id":%q,"session":"s","expires_at":%q,"ttl_ms":%d}`,
			id, r.PathValue("id"), exp, ttl.Milliseconds()))
	})
	mux.HandleFunc("DELETE /holds/{id}", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) })
	mux.HandleFunc("POST /holds/{id}/checkout", func(w http.ResponseWriter, r *http.Request) {
		id := n.Add(1)
		json(w, 201, fmt.Sprintf(`{"booking_id":"b%d","hold_id":%q,"event_id":"e","session":"s","charge_id":"c%d","amount_cents":100}`,
			id, r.PathValue("id"), id))
	})
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(ln.Addr().String())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	log.Fatal(srv.Serve(ln))
}
