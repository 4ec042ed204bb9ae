package seatmap

import (
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"

	"stampede/server/api"
)

// sectionPattern is api.yaml's section name pattern.
var sectionPattern = regexp.MustCompile(`^[A-Za-z0-9]{1,8}$`)

// Handle is GET /events/{event_id}/seats[?section=NAME][&format=full|compact]: the event's
// seat map from a snapshot at most the freshness old, in the form asked for, with its ETag,
// compressed with gzip when the client accepts it; 304 Not Modified when If-None-Match names
// that ETag. 400 invalid_request for a malformed section
// or an unknown format (error.field names the parameter), 404 event_not_found or
// section_not_found.
func (s *Snapshots) Handle(w http.ResponseWriter, r *http.Request) {
	id, err := api.EventID(r)
	if err != nil {
		s.table.Write(w, r, err)
		return
	}
	v, err := parseView(r.URL.Query())
	if err != nil {
		s.table.Write(w, r, err)
		return
	}
	snap, how, err := s.get(r.Context(), id)
	if err != nil {
		s.table.Write(w, r, err)
		return
	}
	a, err := snap.answer(v)
	if err != nil {
		s.table.Write(w, r, err)
		return
	}
	body, etag, gzipped := a.body, a.etag, acceptsGzip(r.Header.Get("Accept-Encoding"))
	if gzipped {
		if body, etag, err = a.gzipped(); err != nil {
			s.table.Write(w, r, err)
			return
		}
	}
	s.m.reads.WithLabelValues(how).Inc()
	h := w.Header()
	h.Set("ETag", etag)
	h.Set("Vary", "Accept-Encoding")
	// Caches must ask again: the server decides how fresh an answer is.
	h.Set("Cache-Control", "no-cache")
	if matchesETag(r.Header.Get("If-None-Match"), etag) {
		s.m.notModified.Inc()
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Type", "application/json")
	if gzipped {
		h.Set("Content-Encoding", "gzip")
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	if !gzipped && r.Method != http.MethodHead {
		if f := a.bodyFile(); f != nil {
			sendBody(w, f, body)
			return
		}
	}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// sendBody sends a large body from f, its in-memory file, with sendfile(2) where the
// connection allows it: the kernel sends the file's pages without copying them from user
// space. When f cannot be opened again, body is written as it is.
func sendBody(w http.ResponseWriter, f *os.File, body []byte) {
	rf, err := openBody(f)
	if err != nil {
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(body)
		return
	}
	defer rf.Close()
	w.WriteHeader(http.StatusOK)
	_, _ = io.Copy(w, rf)
}

// acceptsGzip reports whether an Accept-Encoding header accepts gzip (named, with a q-value
// other than 0).
func acceptsGzip(header string) bool {
	for part := range strings.SplitSeq(header, ",") {
		coding, params, _ := strings.Cut(part, ";")
		if !strings.EqualFold(strings.TrimSpace(coding), "gzip") {
			continue
		}
		if q, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			if v, err := strconv.ParseFloat(q, 64); err == nil && v == 0 {
				return false
			}
		}
		return true
	}
	return false
}

// parseView reads the section and format parameters.
func parseView(q url.Values) (view, error) {
	var v view
	switch secs := q["section"]; {
	case len(secs) > 1:
		return v, api.Invalid("section", "section: give one section, got %d", len(secs))
	case len(secs) == 1:
		if !sectionPattern.MatchString(secs[0]) {
			return v, api.Invalid("section", "section %q: want 1..8 characters of [A-Za-z0-9]", api.Truncate(secs[0], 40))
		}
		v.section = secs[0]
	}
	switch f := q.Get("format"); f {
	case "", "full":
	case FormatCompact:
		v.compact = true
	default:
		return v, api.Invalid("format", "format %q: want full or compact", api.Truncate(f, 40))
	}
	return v, nil
}

// matchesETag reports whether an If-None-Match header names etag (weak comparison, as RFC
// 9110 asks for If-None-Match), or is "*".
func matchesETag(header, etag string) bool {
	if header == "" {
		return false
	}
	for tag := range strings.SplitSeq(header, ",") {
		tag = strings.TrimSpace(tag)
		if tag == "*" || strings.TrimPrefix(tag, "W/") == etag {
			return true
		}
	}
	return false
}
