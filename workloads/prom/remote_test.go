package prom

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/exp/api/remote"
	writev2 "github.com/prometheus/client_golang/exp/api/remote/genproto/v2"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/proto"

	"stampede/workloads"
)

// receiver is a remote-write 2.0 endpoint (client_golang's own handler) that keeps the
// latest value of every series it was sent, by its labels.
type receiver struct {
	mu     sync.Mutex
	pushes int
	last   map[string]float64 // series ("name{k=v,...}") -> value
	types  map[string]writev2.Metadata_MetricType
}

func (r *receiver) Store(req *http.Request, _ remote.WriteMessageType) (*remote.WriteResponse, error) {
	w := remote.NewWriteResponse()
	body, err := io.ReadAll(req.Body)
	if err != nil {
		w.SetStatusCode(http.StatusBadRequest)
		return w, err
	}
	var wr writev2.Request
	if err := proto.Unmarshal(body, &wr); err != nil {
		w.SetStatusCode(http.StatusBadRequest)
		return w, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pushes++
	for _, ts := range wr.Timeseries {
		var name string
		var labels []string
		for i := 0; i+1 < len(ts.LabelsRefs); i += 2 {
			k, v := wr.Symbols[ts.LabelsRefs[i]], wr.Symbols[ts.LabelsRefs[i+1]]
			if k == "__name__" {
				name = v
				continue
			}
			labels = append(labels, k+"="+v)
		}
		key := name + "{" + strings.Join(labels, ",") + "}"
		r.last[key] = ts.Samples[len(ts.Samples)-1].Value
		r.types[name] = ts.GetMetadata().GetType()
	}
	w.Add(remote.WriteResponseStats{Samples: len(wr.Timeseries)})
	return w, nil
}

// TestPusherSendsTheRegistry drives a small herd with live metrics and pushes them by remote
// write: the receiver has every counter of the run at its value, the latency histograms as
// buckets, sum and count, and the metric types.
func TestPusherSendsTheRegistry(t *testing.T) {
	rcv := &receiver{last: map[string]float64{}, types: map[string]writev2.Metadata_MetricType{}}
	srv := httptest.NewServer(remote.NewWriteHandler(rcv, remote.MessageTypes{remote.WriteV2MessageType}))
	t.Cleanup(srv.Close)
	stub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{}`))
	}))
	t.Cleanup(stub.Close)

	reg := prometheus.NewRegistry()
	m, err := New(reg)
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewPusher(srv.URL+"/api/v1/write", reg, 0)
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	const users = 30
	if _, err := workloads.Run(context.Background(), workloads.Config{Scenario: browsers(t, users), Target: stub.URL, Observer: m}); err != nil {
		t.Fatal(err)
	}
	stop() // Run pushes once more as it ends
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}

	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	if rcv.pushes == 0 {
		t.Fatal("nothing was pushed")
	}
	if v := rcv.last[RequestsTotal+"{op=browse,outcome=ok}"]; v != users {
		t.Errorf("%s{op=browse,outcome=ok} = %v, want %d", RequestsTotal, v, users)
	}
	if rcv.types[RequestsTotal] != writev2.Metadata_METRIC_TYPE_COUNTER {
		t.Errorf("%s type %v, want counter", RequestsTotal, rcv.types[RequestsTotal])
	}
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		name := f.GetName()
		if f.GetType() == dto.MetricType_HISTOGRAM {
			for _, suffix := range []string{"_bucket", "_sum", "_count"} {
				if _, ok := rcv.types[name+suffix]; !ok {
					t.Errorf("histogram %s: no %s series pushed", name, suffix)
				}
			}
			continue
		}
		if _, ok := rcv.types[name]; !ok {
			t.Errorf("%s is in the registry but was not pushed", name)
		}
	}

	if _, err := NewPusher("localhost:9090", reg, 0); err == nil {
		t.Error("NewPusher of a URL without a scheme: no error")
	}
}
