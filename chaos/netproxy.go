package chaos

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sync"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"stampede/sut"
)

// Proxies is an embedded toxiproxy: TCP proxies a run puts between the server and its
// backing services, so net-* faults can slow, cut or reset those links.
type Proxies struct {
	srv *toxiproxy.ApiServer
	mu  sync.Mutex
	all []*NetProxy
}

// NewProxies creates an embedded toxiproxy with its logs silenced and its metrics kept private.
func NewProxies() *Proxies {
	return &Proxies{srv: toxiproxy.NewServer(toxiproxy.NewMetricsContainer(prometheus.NewRegistry()), zerolog.Nop())}
}

// Start opens a proxy named name on a free loopback port, forwarding to upstream (host:port).
func (ps *Proxies) Start(name, upstream string) (*NetProxy, error) {
	p := toxiproxy.NewProxy(ps.srv, name, "127.0.0.1:0", upstream)
	if err := p.Start(); err != nil {
		return nil, fmt.Errorf("start proxy %s: %w", name, err)
	}
	np := &NetProxy{p: p}
	ps.mu.Lock()
	ps.all = append(ps.all, np)
	ps.mu.Unlock()
	return np, nil
}

// Close stops every proxy.
func (ps *Proxies) Close() {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	for _, p := range ps.all {
		p.p.Stop()
	}
	ps.all = nil
}

// NetProxy is one proxy; it implements sut.Proxy.
type NetProxy struct {
	p *toxiproxy.Proxy
}

var _ sut.Proxy = (*NetProxy)(nil)

// Addr is the proxy's listen address (host:port): give it to the server instead of the
// service's own.
func (n *NetProxy) Addr() string {
	n.p.Lock()
	defer n.p.Unlock()
	return n.p.Listen
}

// AddToxic adds a toxic to the proxy's links, existing and new.
func (n *NetProxy) AddToxic(_ context.Context, t sut.Toxic) error {
	b, err := json.Marshal(t)
	if err != nil {
		return err
	}
	if _, err := n.p.Toxics.AddToxicJson(bytes.NewReader(b)); err != nil {
		return fmt.Errorf("add toxic %s to %s: %w", t.Name, n.p.Name, err)
	}
	return nil
}

// RemoveToxic removes a toxic by name.
func (n *NetProxy) RemoveToxic(ctx context.Context, name string) error {
	if err := n.p.Toxics.RemoveToxic(ctx, name); err != nil {
		return fmt.Errorf("remove toxic %s from %s: %w", name, n.p.Name, err)
	}
	return nil
}

// Disable closes the listener and every connection.
func (n *NetProxy) Disable() error { n.p.Stop(); return nil }

// Enable listens again on the same address.
func (n *NetProxy) Enable() error {
	if err := n.p.Start(); err != nil && err != toxiproxy.ErrProxyAlreadyStarted {
		return fmt.Errorf("enable proxy %s: %w", n.p.Name, err)
	}
	return nil
}
