package capacity

import (
	"errors"
	"fmt"
	"math"
	"sort"

	"gonum.org/v1/gonum/optimize"
)

// Point is one measurement for the Universal Scalability Law: throughput X at concurrency N.
type Point struct {
	N, X float64
}

// USL is Gunther's Universal Scalability Law fitted to measured points:
//
//	X(N) = λN / (1 + σ(N−1) + κN(N−1))
//
// λ is the throughput of one unit of concurrency (requests per second at N = 1), σ the
// contention (the share of the work that queues for something shared: a lock, a pool, a hot
// row) and κ the coherency (the cost of keeping shared state consistent, paid per pair of
// concurrent requests: what makes throughput fall, not only flatten, past the peak).
type USL struct {
	Lambda, Sigma, Kappa float64
	// Residuals are the measured points beside the fit's value at each, in the order of N.
	Residuals []Residual
	// RMSE is the root of the mean squared residual, in the unit of X; MaxRelative the
	// largest residual relative to the measured value (0.1 for 10%).
	RMSE, MaxRelative float64
}

// Residual is one measured point and the fit's value there.
type Residual struct {
	N, Measured, Fitted float64
}

// Throughput is the fit's X(N).
func (u *USL) Throughput(n float64) float64 {
	return u.Lambda * n / (1 + u.Sigma*(n-1) + u.Kappa*n*(n-1))
}

// Peak is the concurrency N* = sqrt((1−σ)/κ) at which the fit's throughput is highest, and
// that throughput. Without coherency cost (κ = 0) there is no peak: n is +Inf and x the
// asymptote λ/σ (+Inf too when σ is 0: linear scaling). With σ >= 1 the peak is at N = 1.
func (u *USL) Peak() (n, x float64) {
	switch {
	case u.Sigma >= 1:
		return 1, u.Throughput(1)
	case u.Kappa <= 0 && u.Sigma <= 0:
		return math.Inf(1), math.Inf(1)
	case u.Kappa <= 0:
		return math.Inf(1), u.Lambda / u.Sigma
	}
	n = math.Sqrt((1 - u.Sigma) / u.Kappa)
	return n, u.Throughput(n)
}

// Knee is the concurrency at which the fit does half the work linear scaling would (its
// efficiency X(N)/(λN) falls to 1/2: σ(N−1) + κN(N−1) = 1), no later than the peak: past it,
// added concurrency mostly queues. With neither contention nor coherency there is no knee
// (+Inf).
func (u *USL) Knee() float64 {
	var n float64
	switch {
	case u.Kappa <= 0 && u.Sigma <= 0:
		return math.Inf(1)
	case u.Kappa <= 0:
		n = 1 + 1/u.Sigma
	default:
		b := u.Sigma - u.Kappa
		n = (-b + math.Sqrt(b*b+4*u.Kappa*(1+u.Sigma))) / (2 * u.Kappa)
	}
	peak, _ := u.Peak()
	return math.Min(n, peak)
}

// ErrTooFewPoints is returned by FitUSL for fewer than three distinct concurrencies: three
// coefficients need at least three points.
var ErrTooFewPoints = errors.New("too few points: the fit needs throughput at three or more concurrencies")

// FitUSL fits the Universal Scalability Law to pts by least squares on the throughput, with
// σ and κ kept at or above 0, using gonum's Nelder-Mead over log σ and log κ (λ, for given σ
// and κ, is solved exactly). Points with N or X not above 0 are left out.
func FitUSL(pts []Point) (*USL, error) {
	var ps []Point
	distinct := map[float64]bool{}
	for _, p := range pts {
		if p.N > 0 && p.X > 0 && !math.IsInf(p.N, 0) && !math.IsInf(p.X, 0) {
			ps = append(ps, p)
			distinct[p.N] = true
		}
	}
	if len(distinct) < 3 {
		return nil, fmt.Errorf("%w (%d)", ErrTooFewPoints, len(distinct))
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i].N < ps[j].N })
	norm := 0.0
	for _, p := range ps {
		norm += p.X * p.X
	}
	// fromLog maps the optimizer's coordinates to coefficients; far below any measurable
	// effect a coefficient is 0.
	fromLog := func(v float64) float64 {
		if v < -40 {
			return 0
		}
		return math.Exp(v)
	}
	sse := func(x []float64) float64 {
		u := USL{Sigma: fromLog(x[0]), Kappa: fromLog(x[1])}
		u.Lambda = bestLambda(ps, u.Sigma, u.Kappa)
		s := 0.0
		for _, p := range ps {
			d := u.Throughput(p.N) - p.X
			s += d * d
		}
		return s / norm
	}
	s0, k0 := quadraticGuess(ps)
	var best *optimize.Result
	for _, start := range [][]float64{
		{math.Log(s0), math.Log(k0)},
		{math.Log(0.01), math.Log(1e-5)},
		{math.Log(0.1), math.Log(1e-3)},
		{math.Log(0.5), math.Log(1e-2)},
	} {
		res, err := optimize.Minimize(optimize.Problem{Func: sse}, start,
			&optimize.Settings{MajorIterations: 4000, Converger: &optimize.FunctionConverge{Absolute: 1e-15, Relative: 1e-12, Iterations: 200}},
			&optimize.NelderMead{SimplexSize: 1})
		if err != nil {
			continue
		}
		if best == nil || res.F < best.F {
			best = res
		}
	}
	if best == nil {
		return nil, errors.New("the fit did not converge")
	}
	u := &USL{Sigma: fromLog(best.X[0]), Kappa: fromLog(best.X[1])}
	// A coefficient too small to change the throughput even at ten times the largest
	// concurrency measured is noise in the optimizer, not a finding: it is 0, so that a fit
	// without coherency cost says there is no peak instead of placing one far out of reach.
	far := 10 * ps[len(ps)-1].N
	if u.Kappa*far*far < 1e-3 {
		u.Kappa = 0
	}
	if u.Sigma*far < 1e-3 {
		u.Sigma = 0
	}
	u.Lambda = bestLambda(ps, u.Sigma, u.Kappa)
	sq := 0.0
	for _, p := range ps {
		f := u.Throughput(p.N)
		u.Residuals = append(u.Residuals, Residual{N: p.N, Measured: p.X, Fitted: f})
		sq += (f - p.X) * (f - p.X)
		u.MaxRelative = math.Max(u.MaxRelative, math.Abs(f-p.X)/p.X)
	}
	u.RMSE = math.Sqrt(sq / float64(len(ps)))
	return u, nil
}

// bestLambda is the least-squares λ for given σ and κ: X is linear in λ.
func bestLambda(ps []Point, sigma, kappa float64) float64 {
	num, den := 0.0, 0.0
	for _, p := range ps {
		g := p.N / (1 + sigma*(p.N-1) + kappa*p.N*(p.N-1))
		num += p.X * g
		den += g * g
	}
	if den == 0 {
		return 0
	}
	return num / den
}

// quadraticGuess is a starting point for the fit: N/X is a quadratic in N,
// ((1−σ) + (σ−κ)N + κN²)/λ, so a least-squares quadratic through the points gives σ and κ
// (clamped to small positive values when noise makes them negative).
func quadraticGuess(ps []Point) (sigma, kappa float64) {
	// Normal equations of y = a + bN + cN², solved by Cramer's rule.
	var s [5]float64 // sums of N^0..N^4
	var t [3]float64 // sums of y N^0..N^2
	for _, p := range ps {
		y := p.N / p.X
		pow := 1.0
		for k := 0; k < 5; k++ {
			s[k] += pow
			if k < 3 {
				t[k] += y * pow
			}
			pow *= p.N
		}
	}
	det3 := func(m [3][3]float64) float64 {
		return m[0][0]*(m[1][1]*m[2][2]-m[1][2]*m[2][1]) - m[0][1]*(m[1][0]*m[2][2]-m[1][2]*m[2][0]) + m[0][2]*(m[1][0]*m[2][1]-m[1][1]*m[2][0])
	}
	m := [3][3]float64{{s[0], s[1], s[2]}, {s[1], s[2], s[3]}, {s[2], s[3], s[4]}}
	d := det3(m)
	sigma, kappa = 0.05, 1e-4
	if d == 0 || math.IsNaN(d) {
		return sigma, kappa
	}
	col := func(i int) [3][3]float64 {
		c := m
		for r := 0; r < 3; r++ {
			c[r][i] = t[r]
		}
		return c
	}
	a, b, c := det3(col(0))/d, det3(col(1))/d, det3(col(2))/d
	if inv := a + b + c; inv > 0 { // 1/λ
		lambda := 1 / inv
		if v := (b + c) * lambda; v > 1e-6 && v < 1 {
			sigma = v
		}
		if v := c * lambda; v > 1e-9 {
			kappa = v
		}
	}
	return sigma, kappa
}

// fitSteps fits the law to the steps whose generator kept up; the note says why there is no
// fit.
func fitSteps(steps []Step) (*USL, string) {
	var pts []Point
	for _, st := range steps {
		if !st.Result.GeneratorBound {
			pts = append(pts, Point{N: st.Result.Concurrency, X: st.Result.Throughput})
		}
	}
	u, err := FitUSL(pts)
	if err != nil {
		return nil, err.Error()
	}
	return u, ""
}
