package hub

import "time"

// meterWindow is how far back the download rate looks: long enough to smooth bursts,
// short enough to follow a changing connection.
const meterWindow = 5 * time.Second

// meter measures a download rate over the last meterWindow.
type meter struct {
	samples []sample
}

type sample struct {
	t time.Time
	n int64 // bytes received up to t since start
}

func (m *meter) start(now time.Time) { m.samples = []sample{{now, 0}} }

func (m *meter) add(now time.Time, n int64) {
	if len(m.samples) == 0 {
		m.start(now)
	}
	total := m.samples[len(m.samples)-1].n + n
	m.samples = append(m.samples, sample{now, total})
	// Keep one sample older than the window as the rate's base.
	cut := 0
	for cut+1 < len(m.samples) && now.Sub(m.samples[cut+1].t) > meterWindow {
		cut++
	}
	m.samples = m.samples[cut:]
}

// rate is bytes per second over the window, 0 before a measurable interval.
func (m *meter) rate(now time.Time) float64 {
	if len(m.samples) < 2 {
		return 0
	}
	first, last := m.samples[0], m.samples[len(m.samples)-1]
	d := now.Sub(first.t).Seconds()
	if d < 0.05 {
		return 0
	}
	return float64(last.n-first.n) / d
}
