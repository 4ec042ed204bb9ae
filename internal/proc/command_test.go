package proc

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
)

// TestServerAnswers: a server that answers, whatever the status (a 503 from /healthz while its
// pool is busy), is ready; nothing listening is not.
func TestServerAnswers(t *testing.T) {
	for _, status := range []int{http.StatusOK, http.StatusServiceUnavailable} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(status) }))
		if err := ServerAnswers(srv.URL + "/healthz")(context.Background()); err != nil {
			t.Errorf("status %d: %v, want ready", status, err)
		}
		srv.Close()
	}
	port, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	if err := ServerAnswers("http://127.0.0.1:" + strconv.Itoa(port) + "/healthz")(context.Background()); err == nil {
		t.Error("nothing listening: ready, want an error")
	}
}
