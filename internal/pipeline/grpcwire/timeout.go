package grpcwire

import (
	"fmt"
	"math"
	"strconv"
	"time"
)

// maxTimeoutValue is the largest TimeoutValue: at most 8 digits.
const maxTimeoutValue = 99_999_999

// timeoutUnits are the units of grpc-timeout, finest first.
var timeoutUnits = []struct {
	unit byte
	d    time.Duration
}{
	{'n', time.Nanosecond},
	{'u', time.Microsecond},
	{'m', time.Millisecond},
	{'S', time.Second},
	{'M', time.Minute},
	{'H', time.Hour},
}

// EncodeTimeout returns the grpc-timeout value for d: at most 8 digits in
// the finest unit that holds it, rounded up so that the server never
// believes it has more time than the client gives it. A d of zero or less
// is "0n".
func EncodeTimeout(d time.Duration) string {
	if d <= 0 {
		return "0n"
	}
	for _, u := range timeoutUnits {
		v := d / u.d
		if d%u.d != 0 {
			v++
		}
		if v <= maxTimeoutValue {
			return strconv.FormatInt(int64(v), 10) + string(u.unit)
		}
	}
	return strconv.Itoa(maxTimeoutValue) + "H" // d is at most ~2.5 million hours
}

// ParseTimeout parses a grpc-timeout value: 1 to 8 digits and a unit, H,
// M, S, m, u or n. A timeout too long for a time.Duration is the longest.
func ParseTimeout(v string) (time.Duration, error) {
	if len(v) < 2 || len(v) > 9 {
		return 0, fmt.Errorf("grpc-timeout %q: want 1 to 8 digits and a unit (H, M, S, m, u, n)", v)
	}
	var unit time.Duration
	for _, u := range timeoutUnits {
		if u.unit == v[len(v)-1] {
			unit = u.d
		}
	}
	if unit == 0 {
		return 0, fmt.Errorf("grpc-timeout %q: unit %q is not one of H, M, S, m, u, n", v, v[len(v)-1:])
	}
	digits := v[:len(v)-1]
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return 0, fmt.Errorf("grpc-timeout %q: %q is not a number", v, digits)
		}
	}
	n, _ := strconv.ParseInt(digits, 10, 64) // at most 8 digits
	if n > int64(math.MaxInt64/unit) {
		return time.Duration(math.MaxInt64), nil
	}
	return time.Duration(n) * unit, nil
}
