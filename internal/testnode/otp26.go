package testnode

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// OTP26Args returns erl arguments that make an OTP 25 node demand OTP 26's
// extra mandatory distribution flags (DFLAG_UNLINK_ID and DFLAG_V4_NC) from
// every peer. They select o26_tcp_dist, a copy of OTP's own inet_tcp_dist
// (from the erlang-src package) whose #hs_data{} sets require_flags, compiled
// into the test's temp dir.
func OTP26Args(t testing.TB) []string {
	t.Helper()
	ErlPath(t)
	kernel := strings.TrimSpace(Eval(t, `io:format("~s", [code:lib_dir(kernel)])`))
	srcPath := filepath.Join(kernel, "src", "inet_tcp_dist.erl")
	src, err := os.ReadFile(srcPath)
	if err != nil {
		t.Fatalf("read %s (install erlang-src, as `make test` does): %v", srcPath, err)
	}
	s := string(src)
	if !strings.Contains(s, "-module(inet_tcp_dist).") || !strings.Contains(s, "this_flags = 0,") {
		t.Fatalf("%s does not look like OTP 25's inet_tcp_dist", srcPath)
	}
	s = strings.Replace(s, "-module(inet_tcp_dist).", "-module(o26_tcp_dist).", 1)
	// DFLAG_UNLINK_ID bor DFLAG_V4_NC: OTP 26's additions to the mandatory set.
	s = strings.ReplaceAll(s, "this_flags = 0,", "this_flags = 0, require_flags = 16#2000000 bor (1 bsl 34),")
	dir := t.TempDir()
	file := filepath.Join(dir, "o26_tcp_dist.erl")
	if err := os.WriteFile(file, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "erlc", "-I", filepath.Join(kernel, "src"), "-I", filepath.Join(kernel, "include"),
		"-o", dir, file).CombinedOutput()
	if err != nil {
		t.Fatalf("erlc o26_tcp_dist.erl: %v\n%s", err, out)
	}
	return []string{"-pa", dir, "-proto_dist", "o26_tcp"}
}

// Compile compiles an Erlang module from source with erlc into a temp dir
// and returns the dir, for erl's -pa.
func Compile(t testing.TB, module, source string, erlcFlags ...string) string {
	t.Helper()
	ErlPath(t)
	dir := t.TempDir()
	file := filepath.Join(dir, module+".erl")
	if err := os.WriteFile(file, []byte(source), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	args := append(append([]string{}, erlcFlags...), "-o", dir, file)
	if out, err := exec.CommandContext(ctx, "erlc", args...).CombinedOutput(); err != nil {
		t.Fatalf("erlc %s: %v\n%s", file, err, out)
	}
	return dir
}
