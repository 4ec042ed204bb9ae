package compare

// Option changes how Compare and Gate judge.
type Option func(*options)

type options struct {
	alpha, confidence float64
	force             bool
}

// Defaults, benchstat's.
const (
	DefaultAlpha      = 0.05
	DefaultConfidence = 0.95
)

func newOptions(opts []Option) options {
	o := options{alpha: DefaultAlpha, confidence: DefaultConfidence}
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// WithAlpha sets the significance level of the U test (default 0.05): a change is
// significant when its p-value is at most alpha. A smaller alpha needs more runs.
func WithAlpha(alpha float64) Option { return func(o *options) { o.alpha = alpha } }

// WithConfidence sets the level of the medians' confidence intervals (default 0.95).
func WithConfidence(c float64) Option { return func(o *options) { o.confidence = c } }

// WithForce compares summaries of different scenarios instead of refusing (the difference
// becomes a warning). Summaries of different schemas are never compared.
func WithForce() Option { return func(o *options) { o.force = true } }
