package testnode

import (
	"strings"
	"testing"
)

func TestStartKillRestart(t *testing.T) {
	t.Parallel()
	n := Start(t, Options{})
	names, err := EpmdNames()
	if err != nil || !names[n.Alive] {
		t.Fatalf("node %s not in epmd (%v): %v", n.Alive, names, err)
	}
	n.Kill()
	n.Restart()
	names, err = EpmdNames()
	if err != nil || !names[n.Alive] {
		t.Fatalf("restarted node %s not in epmd (%v): %v", n.Alive, names, err)
	}
}

func TestEval(t *testing.T) {
	t.Parallel()
	out := Eval(t, `io:format("~p", [lists:seq(1, 3)])`)
	if strings.TrimSpace(out) != "[1,2,3]" {
		t.Fatalf("Eval printed %q, want [1,2,3]", out)
	}
}
