package agent

import (
	"sync"
	"time"
)

const (
	// dropLogInterval is the minimum time between two log lines for the
	// same reason of a dropped notification or a failed long-poll.
	dropLogInterval = time.Minute
	// maxDropReasons bounds the reasons a logLimiter tracks apart, because
	// a sender of junk datagrams chooses the error messages. Reasons
	// beyond it share one count.
	maxDropReasons = 32
)

// logLimiter rate-limits log lines per reason, so a flood of junk
// datagrams or a long-poll that keeps failing cannot fill the log. It
// counts the events it suppresses and reports the count with the next
// line for the reason.
type logLimiter struct {
	interval time.Duration

	mu      sync.Mutex
	reasons map[string]*limitedReason
}

// limitedReason is the log state of one reason.
type limitedReason struct {
	logged time.Time
	// count is the number of events since the last line, the current one
	// included.
	count int
}

func newLogLimiter(interval time.Duration) *logLimiter {
	return &logLimiter{interval: interval, reasons: map[string]*limitedReason{}}
}

// allow records one event for reason at now. It returns true and the
// number of events since the last line for the reason, this one included,
// when a line may be logged, and false while the reason was logged less
// than the interval before.
func (l *logLimiter) allow(reason string, now time.Time) (ok bool, count int) {
	l.mu.Lock()
	defer l.mu.Unlock()

	r, found := l.reasons[reason]
	if !found {
		if len(l.reasons) >= maxDropReasons {
			l.pruneLocked(now)
		}
		if len(l.reasons) >= maxDropReasons {
			reason = ""
			r = l.reasons[reason]
		}
		if r == nil {
			r = &limitedReason{}
			l.reasons[reason] = r
		}
	}

	r.count++
	if !r.logged.IsZero() && now.Sub(r.logged) < l.interval {
		return false, r.count
	}
	count = r.count
	r.logged = now
	r.count = 0
	return true, count
}

// pruneLocked deletes the reasons logged at least an interval before now
// with no event since.
func (l *logLimiter) pruneLocked(now time.Time) {
	for reason, r := range l.reasons {
		if r.count == 0 && now.Sub(r.logged) >= l.interval {
			delete(l.reasons, reason)
		}
	}
}
