package reports

// Capacity is a capacity search of one strategy x database (stampede capacity): every step it
// ran, the boundary it found, the Universal Scalability Law fitted to the steps, what limited
// the system, the on-sale answer, and the verdict. Loads and capacities are in arrivals (users)
// per second, throughputs in requests per second, latencies in milliseconds.
type Capacity struct {
	// Verdict is how the search ended: capacity (a boundary was found), at-least (every load
	// tried held), none (no load held), unsafe (a correctness check failed), generator-bound
	// (the load generator ran out first) or error (a step could not run).
	Verdict string `json:"verdict"`
	// Answer is the result in one line ("820 arrivals/s (790-850) at hold p99 <= 250 ms;
	// limited by pool wait on conn_tag hold").
	Answer string `json:"answer"`
	// Capacity is the answer's figure (also Run.Capacity when the search measured one); Lower
	// is the highest load at which every run held and Upper the lowest at which none did (0
	// when not found).
	Capacity float64 `json:"capacity"`
	Lower    float64 `json:"lower"`
	Upper    float64 `json:"upper,omitempty"`
	// Mode is how a step offered its load: scale (the scenario's profile scaled) or rate (a
	// constant rate for StepSeconds).
	Mode        string  `json:"mode"`
	StepSeconds float64 `json:"step_seconds,omitempty"`
	// Precision is the boundary's relative width asked for (0.05 for 5%); Converged says the
	// search reached it; Repeat is the runs each load at the boundary was to get.
	Precision float64 `json:"precision"`
	Converged bool    `json:"converged"`
	Repeat    int     `json:"repeat"`
	// BudgetSeconds is the time this search was given and ElapsedSeconds what it took;
	// BudgetSpent says the budget ended it early.
	BudgetSeconds  float64 `json:"budget_seconds,omitempty"`
	ElapsedSeconds float64 `json:"elapsed_seconds"`
	BudgetSpent    bool    `json:"budget_spent,omitempty"`
	// Objectives are the SLOs every step had to hold, in words; Missed those the first load
	// beyond the capacity did not.
	Objectives string   `json:"objectives"`
	Missed     []string `json:"missed,omitempty"`
	// Limit names what limited the system at the boundary, and LimitEvidence what was measured.
	Limit         string `json:"limit,omitempty"`
	LimitEvidence string `json:"limit_evidence,omitempty"`
	// At is the load where the search was stopped: unsafe, generator-bound or a step error.
	At float64 `json:"at,omitempty"`
	// Violation is the failed check and its counterexample, for an unsafe search.
	Violation *Check `json:"violation,omitempty"`
	// Min is the capacity asked for (--min; 0 when none) and BelowMin says the search could
	// not vouch for it.
	Min      float64 `json:"min,omitempty"`
	BelowMin bool    `json:"below_min,omitempty"`
	// Reason is why the search fails its run, empty when it does not.
	Reason string         `json:"reason,omitempty"`
	Steps  []CapacityStep `json:"steps"`
	Fit    *USLFit        `json:"fit,omitempty"`
	// FitNote says why there is no fit.
	FitNote string  `json:"fit_note,omitempty"`
	OnSale  *OnSale `json:"on_sale,omitempty"`
}

// CapacityStep is one step of a search: a seeded run at an offered load.
type CapacityStep struct {
	// Offered is the load asked for; Arrivals what the generator started (0 when unknown).
	Offered  float64 `json:"offered"`
	Arrivals float64 `json:"arrivals,omitempty"`
	Phase    string  `json:"phase"`
	Repeat   int     `json:"repeat"`
	Seed     uint64  `json:"seed"`
	// Throughput is the requests per second that completed with a definite outcome;
	// Concurrency the mean requests in flight.
	Throughput  float64 `json:"throughput"`
	Concurrency float64 `json:"concurrency"`
	// P99 is the p99 latency per operation, in milliseconds, from the intended start.
	P99            map[string]float64 `json:"p99,omitempty"`
	ErrorRate      float64            `json:"error_rate"`
	ShedRate       float64            `json:"shed_rate,omitempty"`
	Pass           bool               `json:"pass"`
	Unsafe         bool               `json:"unsafe,omitempty"`
	GeneratorBound bool               `json:"generator_bound,omitempty"`
	// Failures say why the step did not pass.
	Failures       []string `json:"failures,omitempty"`
	ElapsedSeconds float64  `json:"elapsed_seconds"`
	// Dir is the step's run directory, relative to the summary.
	Dir string `json:"dir,omitempty"`
}

// USLFit is the Universal Scalability Law X(N) = λN / (1 + σ(N−1) + κN(N−1)) fitted to the
// steps' throughput against their concurrency.
type USLFit struct {
	Lambda float64 `json:"lambda"`
	Sigma  float64 `json:"sigma"`
	Kappa  float64 `json:"kappa"`
	// PeakN is the concurrency of the highest throughput, sqrt((1−σ)/κ), and PeakThroughput
	// that throughput; PeakN is 0 when κ is 0 (no peak: PeakThroughput is then the asymptote
	// λ/σ, or 0 when σ is 0 too).
	PeakN          float64 `json:"peak_n"`
	PeakThroughput float64 `json:"peak_throughput"`
	// Knee is where the fit does half the work of linear scaling (0: no knee).
	Knee float64 `json:"knee"`
	// RMSE and MaxRelative say how far the measured points are from the fit (root mean
	// square, in requests per second; largest relative residual, 0.1 for 10%).
	RMSE        float64       `json:"rmse"`
	MaxRelative float64       `json:"max_relative"`
	Residuals   []USLResidual `json:"residuals"`
}

// USLResidual is one measured point beside the fit's value there.
type USLResidual struct {
	N        float64 `json:"n"`
	Measured float64 `json:"measured"`
	Fitted   float64 `json:"fitted"`
}

// OnSale is the on-sale answer: the waiting room's admission rate, and for an expected crowd
// how long the queue gets and how long its last fan waits.
type OnSale struct {
	AdmitRate float64 `json:"admit_rate"`
	// Rule says where the admission rate comes from.
	Rule        string  `json:"rule"`
	Users       int64   `json:"users,omitempty"`
	OverSeconds float64 `json:"over_seconds,omitempty"`
	ArrivalRate float64 `json:"arrival_rate,omitempty"`
	PeakQueue   float64 `json:"peak_queue,omitempty"`
	// LastWaitSeconds is how long the last fan waits; DrainedSeconds when the last fan is
	// admitted, from the first arrival.
	LastWaitSeconds float64 `json:"last_wait_seconds,omitempty"`
	DrainedSeconds  float64 `json:"drained_seconds,omitempty"`
}
