package ottlsubset

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"reflect"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// cmpOp is a comparison operator.
type cmpOp int

const (
	opEq cmpOp = iota
	opNe
	opLt
	opLte
	opGte
	opGt
)

var compareOps = map[string]cmpOp{"==": opEq, "!=": opNe, "<": opLt, "<=": opLte, ">": opGt, ">=": opGte}

// rawValue converts an attribute value to the Go value OTTL's getters
// return: string, bool, int64, float64, []byte, pcommon.Map, pcommon.Slice,
// or nil for an empty value.
func rawValue(v pcommon.Value) any {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return v.Str()
	case pcommon.ValueTypeBool:
		return v.Bool()
	case pcommon.ValueTypeInt:
		return v.Int()
	case pcommon.ValueTypeDouble:
		return v.Double()
	case pcommon.ValueTypeBytes:
		return v.Bytes().AsRaw()
	case pcommon.ValueTypeMap:
		return v.Map()
	case pcommon.ValueTypeSlice:
		return v.Slice()
	}
	return nil
}

// setValue stores val into v as OTTL's set does for attribute values.
func setValue(v pcommon.Value, val any) error {
	switch x := val.(type) {
	case string:
		v.SetStr(x)
	case bool:
		v.SetBool(x)
	case int64:
		v.SetInt(x)
	case float64:
		v.SetDouble(x)
	case []byte:
		v.SetEmptyBytes().FromRaw(x)
	case pcommon.Map:
		// Copy first: the source may be v itself or the map holding v.
		tmp := pcommon.NewMap()
		x.CopyTo(tmp)
		tmp.MoveTo(v.SetEmptyMap())
	case pcommon.Slice:
		tmp := pcommon.NewSlice()
		x.CopyTo(tmp)
		tmp.MoveAndAppendTo(v.SetEmptySlice())
	case []any:
		if err := v.SetEmptySlice().FromRaw(x); err != nil {
			return fmt.Errorf("cannot set list %v: %w", x, err)
		}
	case nil:
	default:
		return fmt.Errorf("cannot set a value of type %T", val)
	}
	return nil
}

// compare applies op to a and b with OTTL's comparison rules: nil equals
// only nil; ints and floats compare numerically; strings, bools and bytes
// compare with their own kind; maps and lists only for (in)equality; any
// other pair is not equal and not ordered (every operator but != is false).
func compare(a, b any, op cmpOp) bool {
	if a == nil && b == nil {
		return op == opEq || op == opLte || op == opGte
	}
	invalid := op == opNe
	switch x := a.(type) {
	case nil:
		return compare(b, nil, op)
	case bool:
		y, ok := b.(bool)
		if !ok {
			return invalid
		}
		switch op {
		case opEq:
			return x == y
		case opNe:
			return x != y
		case opLt:
			return !x && y
		case opLte:
			return !x || y
		case opGte:
			return x || !y
		default:
			return x && !y
		}
	case int64:
		switch y := b.(type) {
		case int64:
			return ordered(x, y, op)
		case float64:
			return ordered(float64(x), y, op)
		}
		return invalid
	case float64:
		switch y := b.(type) {
		case int64:
			return ordered(x, float64(y), op)
		case float64:
			return ordered(x, y, op)
		}
		return invalid
	case string:
		y, ok := b.(string)
		if !ok {
			return invalid
		}
		return ordered(x, y, op)
	case []byte:
		if x == nil {
			return compare(b, nil, op)
		}
		y, ok := b.([]byte)
		if !ok || y == nil {
			return invalid
		}
		return ordered(bytes.Compare(x, y), 0, op)
	case pcommon.Map:
		switch y := b.(type) {
		case pcommon.Map:
			return equality(x.Equal(y), op)
		case map[string]any:
			return equality(reflect.DeepEqual(x.AsRaw(), y), op)
		}
		return invalid
	case pcommon.Slice:
		switch y := b.(type) {
		case pcommon.Slice:
			return equality(x.Equal(y), op)
		case []any:
			return equality(reflect.DeepEqual(x.AsRaw(), y), op)
		}
		return invalid
	case []any:
		switch y := b.(type) {
		case pcommon.Slice:
			return equality(reflect.DeepEqual(x, y.AsRaw()), op)
		case []any:
			return equality(reflect.DeepEqual(x, y), op)
		}
		return invalid
	}
	return invalid
}

func equality(eq bool, op cmpOp) bool {
	switch op {
	case opEq:
		return eq
	case opNe:
		return !eq
	}
	return false
}

func ordered[T int | int64 | float64 | string](a, b T, op cmpOp) bool {
	switch op {
	case opEq:
		return a == b
	case opNe:
		return a != b
	case opLt:
		return a < b
	case opLte:
		return a <= b
	case opGte:
		return a >= b
	default:
		return a > b
	}
}

// stringLike converts v to a string as OTTL's StringLikeGetter does: bytes
// as hex, maps and lists as JSON, other values as JSON. ok is false for
// nil; err is set for values JSON cannot encode (NaN, infinities), which
// OTTL reports as an evaluation error.
func stringLike(v any) (s string, ok bool, err error) {
	switch x := v.(type) {
	case nil:
		return "", false, nil
	case string:
		return x, true, nil
	case []byte:
		return hex.EncodeToString(x), true, nil
	case pcommon.Map:
		v = x.AsRaw()
	case pcommon.Slice:
		v = x.AsRaw()
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "", false, fmt.Errorf("cannot convert %T to a string: %w", v, err)
	}
	return string(b), true, nil
}
