package awsemfexporter

// maxSeries bounds the series whose previous value is kept. When it is
// reached the memory is cleared: the next value of each series is again a
// first value (a baseline).
const maxSeries = 20000

// deltas remembers the previous value of each cumulative series for the
// life of the execution environment (upstream keeps it for the life of
// the collector process, which in Lambda is the same).
type deltas struct {
	max     int
	numbers map[string]float64
	sums    map[string]summaryValue
}

type summaryValue struct {
	sum   float64
	count uint64
}

func newDeltas(max int) *deltas {
	return &deltas{max: max, numbers: map[string]float64{}, sums: map[string]summaryValue{}}
}

func (d *deltas) full() bool { return len(d.numbers)+len(d.sums) >= d.max }

func (d *deltas) clear() {
	d.numbers = map[string]float64{}
	d.sums = map[string]summaryValue{}
}

// number returns v minus the previous value of series key, and false for
// the first value of a series.
func (d *deltas) number(key string, v float64) (float64, bool) {
	prev, ok := d.numbers[key]
	if !ok && d.full() {
		d.clear()
	}
	d.numbers[key] = v
	return v - prev, ok
}

// summary returns the differences of sum and count to the previous values
// of series key, and false for the first value of a series.
func (d *deltas) summary(key string, sum float64, count uint64) (float64, uint64, bool) {
	prev, ok := d.sums[key]
	if !ok && d.full() {
		d.clear()
	}
	d.sums[key] = summaryValue{sum, count}
	if ok && count < prev.count {
		return sum, count, true // a reset: the values since
	}
	return sum - prev.sum, count - prev.count, ok
}
