package capacity

import (
	"time"
)

// AdmissionShare is the share of the measured capacity a waiting room should admit: 75%, the
// rule of thumb Cloudflare gives for its waiting rooms, which leaves the system headroom for
// the retries, slow payments and noise that the measurement did not see. It is a rule of
// thumb, not something stampede measured.
const AdmissionShare = 0.75

// OnSale is the answer for an on-sale: the admission rate to configure and, for an expected
// crowd, how the queue behaves.
type OnSale struct {
	// Capacity is the measured capacity and AdmitRate AdmissionShare of it, both in users per
	// second.
	Capacity  float64
	AdmitRate float64
	// Users are expected to arrive evenly over Over (a zero Over: all at once), at
	// ArrivalRate users per second; 0 when no crowd was given.
	Users       int64
	Over        time.Duration
	ArrivalRate float64
	// PeakQueue is the most users waiting at once, when the last of them arrives; LastWait how
	// long the last fan waits to be admitted; Drained when the last fan is admitted, counted
	// from the first arrival. All 0 when the room admits faster than the crowd arrives.
	PeakQueue float64
	LastWait  time.Duration
	Drained   time.Duration
}

// PlanOnSale is the on-sale answer for a measured capacity (users per second) and an
// expected crowd of users arriving evenly over a duration (users 0: no crowd, only the
// admission rate). It is a fluid model: the queue grows at the arrival rate less the
// admission rate while fans arrive, then drains at the admission rate.
func PlanOnSale(capacity float64, users int64, over time.Duration) OnSale {
	p := OnSale{Capacity: capacity, AdmitRate: capacity * AdmissionShare, Users: users, Over: over}
	if users <= 0 || p.AdmitRate <= 0 {
		return p
	}
	n := float64(users)
	sec := over.Seconds()
	if sec > 0 {
		p.ArrivalRate = n / sec
	}
	if sec > 0 && p.ArrivalRate <= p.AdmitRate {
		return p // admitted as fast as they come
	}
	p.PeakQueue = n - p.AdmitRate*sec
	done := n / p.AdmitRate
	p.Drained = seconds(done)
	p.LastWait = seconds(done - sec)
	return p
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }
