package server

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"stampede/strategies"
)

// searchFixture is the events every search test runs against.
var searchFixture = []strategies.Event{
	{ID: "eras-london", Name: "The Eras Tour", Performer: "Taylor Swift", Venue: "Wembley Stadium", City: "London"},
	{ID: "eras-paris", Name: "The Eras Tour", Performer: "Taylor Swift", Venue: "Paris La Defense Arena", City: "Nanterre"},
	{ID: "acdc", Name: "Power Up", Performer: "AC/DC", Venue: "Stade de France", City: "Saint-Denis"},
	{ID: "u2", Name: "Joshua Tree", Performer: "U2", Venue: "Rose Bowl", City: "Pasadena"},
	{ID: "who", Name: "Quadrophenia", Performer: "The Who", Venue: "Royal Albert Hall", City: "London"},
	{ID: "opera", Name: "Tosca", Performer: "Wiener Staatsoper", Venue: "Staatsoper", City: "Wien"},
}

func searchIDs(tb testing.TB, s *Server, q string) (int, []string, errorResponse) {
	tb.Helper()
	r := httptest.NewRequest("GET", "/events/search?q="+url.QueryEscape(q), nil)
	w := httptest.NewRecorder()
	s.ServeHTTP(w, r)
	var er errorResponse
	if w.Code != http.StatusOK {
		_ = json.Unmarshal(w.Body.Bytes(), &er)
		return w.Code, nil, er
	}
	var res searchResult
	if err := json.Unmarshal(w.Body.Bytes(), &res); err != nil {
		tb.Fatalf("search %q: decode %s: %v", q, w.Body.String(), err)
	}
	ids := []string{}
	for _, ev := range res.Events {
		ids = append(ids, ev.ID)
	}
	slices.Sort(ids)
	return w.Code, ids, er
}

func TestSearch(t *testing.T) {
	t.Parallel()
	for _, dialect := range []string{"postgres", "mysql"} {
		t.Run(dialect, func(t *testing.T) {
			e := newStoreEnv(t, dialect)
			s := e.server(t, nil)
			for _, ev := range searchFixture {
				ev.Sections = []strategies.Section{{Name: "A", Rows: 1, SeatsPerRow: 2}}
				if _, _, err := e.store.CreateEvent(context.Background(), ev); err != nil {
					t.Fatalf("create %s: %v", ev.ID, err)
				}
			}
			for _, tc := range []struct {
				name, q string
				want    []string
			}{
				{name: "by name", q: "Quadrophenia", want: []string{"who"}},
				{name: "by performer", q: "taylor swift", want: []string{"eras-london", "eras-paris"}},
				{name: "by venue", q: "Wembley", want: []string{"eras-london"}},
				{name: "by city", q: "london", want: []string{"eras-london", "who"}},
				{name: "by city, hyphenated", q: "Saint-Denis", want: []string{"acdc"}},
				{name: "words across fields", q: "swift london", want: []string{"eras-london"}},
				{name: "word prefixes", q: "tay swi", want: []string{"eras-london", "eras-paris"}},
				{name: "case does not matter", q: "ROSE BOWL", want: []string{"u2"}},
				{name: "short word", q: "U2", want: []string{"u2"}},
				{name: "slash in a name", q: "AC/DC", want: []string{"acdc"}},
				{name: "stopword in a name", q: "the who", want: []string{"who"}},
				{name: "only common words", q: "the", want: []string{"eras-london", "eras-paris", "who"}},
				{name: "every word must match", q: "swift wien", want: []string{}},
				{name: "no match", q: "metallica", want: []string{}},
				{name: "punctuation around words", q: `"wien"!`, want: []string{"opera"}},
			} {
				t.Run(tc.name, func(t *testing.T) {
					code, ids, er := searchIDs(t, s, tc.q)
					if code != 200 {
						t.Fatalf("search %q = %d %+v", tc.q, code, er)
					}
					if !slices.Equal(ids, tc.want) {
						t.Fatalf("search %q = %v, want %v", tc.q, ids, tc.want)
					}
				})
			}
		})
	}
}

func TestSearchValidatesQ(t *testing.T) {
	t.Parallel()
	e := newStoreEnv(t, "postgres")
	s := e.server(t, nil)
	for _, tc := range []struct {
		name, q string
	}{
		{name: "empty", q: ""},
		{name: "blank", q: "   "},
		{name: "too long", q: strings.Repeat("a", 201)},
		{name: "no letters or digits", q: "!?*"},
		{name: "boolean operators only", q: "+-<>()~*"},
		{name: "not UTF-8", q: "\xff\xfe"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, er := searchIDs(t, s, tc.q)
			if code != 400 || er.Error.Code != "invalid_request" || er.Error.Field != "q" {
				t.Fatalf("search %q = %d %+v, want 400 invalid_request on q", tc.q, code, er.Error)
			}
		})
	}
	if code, _, er := searchIDs(t, s, strings.Repeat("é", 200)); code != 200 {
		t.Fatalf("search of 200 characters = %d %+v, want 200", code, er)
	}
}

func TestSearchIsCached(t *testing.T) {
	t.Parallel()
	e := newStoreEnv(t, "mysql")
	s := e.server(t, nil)
	ev := searchFixture[0]
	ev.Sections = []strategies.Section{{Name: "A", Rows: 1, SeatsPerRow: 2}}
	if _, _, err := e.store.CreateEvent(t.Context(), ev); err != nil {
		t.Fatalf("create: %v", err)
	}
	if _, ids, _ := searchIDs(t, s, "wembley"); len(ids) != 1 {
		t.Fatalf("first search = %v", ids)
	}
	if _, ids, _ := searchIDs(t, s, "Wembley"); len(ids) != 1 {
		t.Fatalf("second search = %v", ids)
	}
	if hits := cacheCount(s, "search", cacheHit); hits != 1 {
		t.Fatalf("search cache hits %v, want 1 (same words, other case)", hits)
	}
	// A new event invalidates the search results.
	ev2 := searchFixture[4]
	ev2.Sections = ev.Sections
	ev2.Venue = "Wembley Arena"
	if _, _, err := e.store.CreateEvent(t.Context(), ev2); err != nil {
		t.Fatalf("create: %v", err)
	}
	if err := s.invalidateEvent(t.Context(), ev2.ID); err != nil {
		t.Fatalf("invalidateEvent: %v", err)
	}
	if _, ids, _ := searchIDs(t, s, "wembley"); len(ids) != 2 {
		t.Fatalf("search after a new event = %v, want both", ids)
	}
}
