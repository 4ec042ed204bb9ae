package capacity

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

// synthetic returns the law's throughput at n = 1..maxN (every step), each multiplied by
// 1 + noise*u with u uniform in [-1, 1] from seed.
func synthetic(u USL, maxN, step int, noise float64, seed uint64) []Point {
	r := rand.New(rand.NewPCG(seed, 0))
	var pts []Point
	for n := 1; n <= maxN; n += step {
		x := u.Throughput(float64(n)) * (1 + noise*(2*r.Float64()-1))
		pts = append(pts, Point{N: float64(n), X: x})
	}
	return pts
}

func TestFitUSLRecoversCoefficients(t *testing.T) {
	for _, tc := range []struct {
		name             string
		want             USL
		maxN, step       int
		noise            float64
		relTol, kappaTol float64 // relative tolerance on λ and σ, and on κ
	}{
		{"contention and coherency", USL{Lambda: 100, Sigma: 0.05, Kappa: 0.001}, 80, 3, 0, 0.01, 0.01},
		{"database-like", USL{Lambda: 950, Sigma: 0.02, Kappa: 0.0002}, 200, 7, 0, 0.01, 0.01},
		{"2% noise", USL{Lambda: 100, Sigma: 0.05, Kappa: 0.001}, 80, 3, 0.02, 0.1, 0.2},
		{"5% noise", USL{Lambda: 500, Sigma: 0.1, Kappa: 0.002}, 60, 2, 0.05, 0.2, 0.35},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for seed := uint64(1); seed <= 5; seed++ {
				got, err := FitUSL(synthetic(tc.want, tc.maxN, tc.step, tc.noise, seed))
				if err != nil {
					t.Fatalf("FitUSL: %v", err)
				}
				rel := func(a, b float64) float64 { return math.Abs(a-b) / b }
				if rel(got.Lambda, tc.want.Lambda) > tc.relTol || rel(got.Sigma, tc.want.Sigma) > tc.relTol || rel(got.Kappa, tc.want.Kappa) > tc.kappaTol {
					t.Fatalf("seed %d: FitUSL = λ %.4g σ %.4g κ %.4g, want λ %.4g σ %.4g κ %.4g within %.0f%% (κ %.0f%%)", seed,
						got.Lambda, got.Sigma, got.Kappa, tc.want.Lambda, tc.want.Sigma, tc.want.Kappa, tc.relTol*100, tc.kappaTol*100)
				}
				wantN, wantX := tc.want.Peak()
				n, x := got.Peak()
				if rel(n, wantN) > tc.kappaTol || rel(x, wantX) > tc.relTol {
					t.Errorf("seed %d: peak %.1f at N %.1f, want %.1f at N %.1f", seed, x, n, wantX, wantN)
				}
				if got.MaxRelative > tc.noise*1.5+1e-6 || len(got.Residuals) == 0 {
					t.Errorf("seed %d: residuals up to %.3f of the measured points with %.0f%% noise", seed, got.MaxRelative, tc.noise*100)
				}
				if tc.noise > 0 {
					break
				}
			}
		})
	}
}

func TestUSLShape(t *testing.T) {
	u := USL{Lambda: 100, Sigma: 0.05, Kappa: 0.001}
	n, x := u.Peak()
	if math.Abs(n-math.Sqrt(0.95/0.001)) > 1e-9 || math.Abs(x-u.Throughput(n)) > 1e-9 {
		t.Fatalf("Peak = %v, %v; want N* = sqrt((1-σ)/κ) and X(N*)", n, x)
	}
	if u.Throughput(n) < u.Throughput(n-1) || u.Throughput(n) < u.Throughput(n+1) {
		t.Fatalf("X(N*) is not a maximum")
	}
	k := u.Knee()
	if eff := u.Throughput(k) / (u.Lambda * k); math.Abs(eff-0.5) > 1e-9 || k > n {
		t.Fatalf("Knee = %v: efficiency there %.3f, want 0.5, at or before the peak %v", k, eff, n)
	}
	amdahl := USL{Lambda: 100, Sigma: 0.1}
	if n, x := amdahl.Peak(); !math.IsInf(n, 1) || math.Abs(x-1000) > 1e-9 {
		t.Fatalf("Amdahl's peak = %v, %v; want no peak and the asymptote λ/σ = 1000", n, x)
	}
	if k := amdahl.Knee(); math.Abs(k-11) > 1e-9 {
		t.Fatalf("Amdahl's knee = %v, want 1 + 1/σ = 11", k)
	}
	if k := (&USL{Lambda: 1}).Knee(); !math.IsInf(k, 1) {
		t.Fatalf("linear scaling has a knee at %v", k)
	}
}

func TestFitUSLAmdahl(t *testing.T) {
	got, err := FitUSL(synthetic(USL{Lambda: 200, Sigma: 0.08}, 60, 2, 0, 1))
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(got.Sigma-0.08) > 0.001 || got.Kappa > 1e-6 {
		t.Fatalf("FitUSL on Amdahl data = σ %v κ %v, want σ 0.08, κ 0", got.Sigma, got.Kappa)
	}
}

func TestFitUSLTooFew(t *testing.T) {
	_, err := FitUSL([]Point{{1, 10}, {2, 19}, {2, 19.5}, {0, 5}, {3, -1}})
	if !errors.Is(err, ErrTooFewPoints) {
		t.Fatalf("FitUSL with two usable concurrencies = %v, want ErrTooFewPoints", err)
	}
}
