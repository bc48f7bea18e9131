package unlock

import (
	"log/slog"
	"sync"
	"time"
)

// logLimiter logs each message at most once per interval. The next line
// of a message reports how many were suppressed since the last one.
type logLimiter struct {
	interval time.Duration

	mu         sync.Mutex
	next       map[string]time.Time
	suppressed map[string]int
}

func newLogLimiter(interval time.Duration) *logLimiter {
	return &logLimiter{
		interval:   interval,
		next:       make(map[string]time.Time),
		suppressed: make(map[string]int),
	}
}

// warn logs msg with args at level Warn unless msg was logged less than
// interval ago, in which case it only counts it.
func (l *logLimiter) warn(logger *slog.Logger, msg string, args ...any) {
	l.mu.Lock()
	now := time.Now()
	if now.Before(l.next[msg]) {
		l.suppressed[msg]++
		l.mu.Unlock()
		return
	}
	skipped := l.suppressed[msg]
	l.suppressed[msg] = 0
	l.next[msg] = now.Add(l.interval)
	l.mu.Unlock()

	if skipped > 0 {
		args = append(args, "suppressed", skipped)
	}
	logger.Warn(msg, args...)
}
