package console

import (
	"time"

	"github.com/eitaxii/eitaxii/store"
)

// Chart geometry, in SVG user units: one bar per hour.
const (
	chartBarWidth = 8
	chartGap      = 2
	chartHeight   = 40
)

// chart is a bar chart of versions added per hour, laid out for the
// template (an inline SVG: no script, no style attribute).
type chart struct {
	Width, Height int
	Bars          []bar
	Total, Max    int64
	From, To      time.Time
}

type bar struct {
	X, Y, W, H int
	Hour       time.Time
	Added      int64
}

// hourlyChart lays out n hourly bars starting at the hour of since; hours
// without a count are empty bars.
func hourlyChart(hours []store.HourCount, since time.Time, n int) chart {
	start := since.UTC().Truncate(time.Hour)
	counts := make([]int64, n)
	for _, h := range hours {
		i := int(h.Hour.UTC().Sub(start) / time.Hour)
		if i >= 0 && i < n {
			counts[i] += h.Added
		}
	}
	ch := chart{Width: n * (chartBarWidth + chartGap), Height: chartHeight, From: start, To: start.Add(time.Duration(n) * time.Hour)}
	for _, c := range counts {
		ch.Total += c
		ch.Max = max(ch.Max, c)
	}
	for i, c := range counts {
		h := 0
		if ch.Max > 0 {
			h = int(c * (chartHeight - 1) / ch.Max)
			if c > 0 {
				h = max(h, 1) // a count is never an invisible bar
			}
		}
		ch.Bars = append(ch.Bars, bar{X: i * (chartBarWidth + chartGap), Y: chartHeight - h, W: chartBarWidth, H: h,
			Hour: start.Add(time.Duration(i) * time.Hour), Added: c})
	}
	return ch
}
