package testenv

import (
	"os"
	"runtime/debug"
	"strconv"
	"strings"
)

// ResetPeakRSS returns freed heap to the OS and resets the kernel's
// peak-RSS mark (VmHWM), so PeakRSSMB then measures one phase of a
// benchmark (say, applying) without an earlier one (filling a topic).
func ResetPeakRSS() {
	debug.FreeOSMemory()
	_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
}

// PeakRSSMB is VmHWM in MB: the peak resident size since the process
// started or since ResetPeakRSS; -1 where /proc does not tell.
func PeakRSSMB() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return -1
}
