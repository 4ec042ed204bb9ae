package sut_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"stampede/sut"
)

// fakeService shows the capability interfaces found by type assertion, built from closures.
type fakeService struct {
	sut.KillerFunc
	sut.RestarterFunc
}

func (fakeService) Name() string { return "fake" }
func (fakeService) Addr() string { return "fake:1" }

func TestCapabilityAdapters(t *testing.T) {
	var killed, restarted int
	boom := errors.New("boom")
	fs := fakeService{
		KillerFunc:    func() error { killed++; return nil },
		RestarterFunc: func(context.Context) error { restarted++; return boom },
	}
	if err := sut.Kill(fs); err != nil || killed != 1 {
		t.Errorf("Kill = %v with %d kills, want nil and 1", err, killed)
	}
	if err := sut.Restart(context.Background(), fs); !errors.Is(err, boom) || restarted != 1 {
		t.Errorf("Restart = %v with %d restarts, want boom and 1", err, restarted)
	}
	if err := sut.Pause(fs); !errors.Is(err, sut.ErrUnsupported) || !strings.Contains(err.Error(), "pause fake at fake:1") {
		t.Errorf("Pause of a service without Pauser = %v, want ErrUnsupported naming the service", err)
	}
	if err := sut.Resume(nil); !errors.Is(err, sut.ErrUnsupported) || !strings.Contains(err.Error(), "not part of this run") {
		t.Errorf("Resume of no service = %v, want ErrUnsupported saying it is not part of the run", err)
	}
}

func TestPauserFuncs(t *testing.T) {
	var calls []string
	p := sut.PauserFuncs{
		PauseFunc:  func() error { calls = append(calls, "pause"); return nil },
		ResumeFunc: func() error { calls = append(calls, "resume"); return nil },
	}
	svc := struct {
		sut.Service
		sut.PauserFuncs
	}{fakeService{}, p}
	if err := sut.Pause(svc); err != nil {
		t.Fatalf("Pause: %v", err)
	}
	if err := sut.Resume(svc); err != nil {
		t.Fatalf("Resume: %v", err)
	}
	if strings.Join(calls, ",") != "pause,resume" {
		t.Errorf("calls %v, want pause then resume", calls)
	}
}
