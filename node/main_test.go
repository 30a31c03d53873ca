package node_test

import (
	"os"
	"testing"
	"time"

	"feigo/internal/leakcheck"
)

// TestMain fails the package when a goroutine of FeiGo's code outlives its tests.
func TestMain(m *testing.M) { os.Exit(leakcheck.Main(m, 5*time.Second)) }
