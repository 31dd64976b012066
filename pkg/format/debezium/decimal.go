package debezium

import (
	"encoding/base64"
	"fmt"
	"math/big"
	"strconv"
	"strings"

	"github.com/sluice-cdc/sluice/pkg/event"
)

// maxExponent bounds the exponents plainDecimal expands: far beyond any
// DECIMAL (65 digits), yet small enough that "1e999999999" cannot make the
// decoder write a gigabyte of zeros.
const maxExponent = 1000

// plainDecimal rewrites a JSON number with an exponent ("1.5e-3") as plain
// decimal text ("0.0015"), exactly: the point moves, no digit is rounded.
// Numbers without an exponent are returned as they are.
func plainDecimal(num string) (string, error) {
	i := strings.IndexAny(num, "eE")
	if i < 0 {
		return num, nil
	}
	exp, err := strconv.Atoi(num[i+1:])
	if err != nil || exp > maxExponent || exp < -maxExponent {
		return "", fmt.Errorf("%s is out of range for an exact decimal", truncate(num))
	}
	mant, neg := strings.CutPrefix(num[:i], "-")
	intPart, fracPart, _ := strings.Cut(mant, ".")
	digits := intPart + fracPart
	point := len(intPart) + exp
	if point <= 0 {
		digits, point = strings.Repeat("0", 1-point)+digits, 1
	}
	if point > len(digits) {
		digits += strings.Repeat("0", point-len(digits))
	}
	out := strings.TrimLeft(digits[:point], "0")
	if out == "" {
		out = "0"
	}
	if f := strings.TrimRight(digits[point:], "0"); f != "" {
		out += "." + f
	}
	if neg && strings.Trim(out, "0.") != "" {
		out = "-" + out
	}
	return out, nil
}

// maxDecimalBytes bounds Connect Decimal values: DECIMAL(65) needs 28.
const maxDecimalBytes = 64

// unscaled decodes Connect's Decimal bytes: base64 of the big-endian
// two's-complement unscaled value.
func unscaled(s string) (*big.Int, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("decimal %q is not base64: %w", truncate(s), err)
	}
	if len(b) == 0 || len(b) > maxDecimalBytes {
		return nil, fmt.Errorf("decimal %q: want 1 to %d bytes", truncate(s), maxDecimalBytes)
	}
	n := new(big.Int).SetBytes(b)
	if b[0]&0x80 != 0 {
		n.Sub(n, new(big.Int).Lsh(big.NewInt(1), uint(8*len(b))))
	}
	return n, nil
}

// DecimalFromBytes turns Connect's Decimal (base64 of the big-endian
// two's-complement unscaled value) into exact decimal text with scale
// digits after the point.
func DecimalFromBytes(s string, scale int) (event.Value, error) {
	if scale < 0 || scale > 1000 {
		return event.Value{}, fmt.Errorf("decimal scale %d is out of range", scale)
	}
	n, err := unscaled(s)
	if err != nil {
		return event.Value{}, err
	}
	digits, neg := strings.CutPrefix(n.String(), "-")
	if scale > 0 {
		if len(digits) <= scale {
			digits = strings.Repeat("0", scale-len(digits)+1) + digits
		}
		digits = digits[:len(digits)-scale] + "." + digits[len(digits)-scale:]
	}
	if neg {
		digits = "-" + digits
	}
	return event.DecimalValue(digits), nil
}

// uintFromDecimalBytes reads BIGINT UNSIGNED written by Debezium with
// bigint.unsigned.handling.mode=precise (a Decimal of scale 0).
func uintFromDecimalBytes(s string) (event.Value, error) {
	n, err := unscaled(s)
	if err != nil {
		return event.Value{}, err
	}
	if n.Sign() < 0 || !n.IsUint64() {
		return event.Value{}, fmt.Errorf("%s does not fit an unsigned 64-bit integer", n)
	}
	return event.UintValue(n.Uint64()), nil
}
