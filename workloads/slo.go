package workloads

import "time"

// SLO holds the run's service-level objectives; zero fields are not checked.
type SLO struct {
	HoldP99     time.Duration
	CheckoutP99 time.Duration
	// ErrorRate is the largest acceptable share of errors (see Summary.ErrorRate).
	ErrorRate float64
	// ErrorRateSet tells an error_rate of 0 from none.
	ErrorRateSet bool
}

// fileSLO mirrors the slo section of a scenario file.
type fileSLO struct {
	HoldP99     string `yaml:"hold_p99"`
	CheckoutP99 string `yaml:"checkout_p99"`
	ErrorRate   string `yaml:"error_rate"`
}

func (v *validator) slo(fs *fileSLO) SLO {
	var slo SLO
	if fs == nil {
		return slo
	}
	slo.HoldP99 = v.duration("slo.hold_p99", fs.HoldP99, 0)
	slo.CheckoutP99 = v.duration("slo.checkout_p99", fs.CheckoutP99, 0)
	if fs.ErrorRate != "" {
		slo.ErrorRate = v.fraction("slo.error_rate", fs.ErrorRate)
		slo.ErrorRateSet = true
	}
	return slo
}
