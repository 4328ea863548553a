package capture

import (
	"bufio"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/beamctl/beamctl/internal/dist"
	"github.com/beamctl/beamctl/internal/etf"
	"github.com/beamctl/beamctl/internal/inspect"
	"github.com/beamctl/beamctl/internal/termtext"
)

// openDump is evaluated on the node with erl_eval. If the crash dump
// exists it spawns a reader that sends it to Dest in 1 MiB chunks, each
// after the previous one was acknowledged (so a dump of gigabytes never
// sits in memory on either side), and gives up when beamctl goes away or
// stops acknowledging for a minute. It returns {Pid, Size, Path} or none.
const openDump = `
P = case Path of
        "" -> case os:getenv("ERL_CRASH_DUMP") of
                  false -> "erl_crash.dump";
                  E -> E
              end;
        _ -> Path
    end,
Abs = filename:absname(P),
case filelib:is_regular(Abs) of
    false -> none;
    true ->
        Pid = spawn(fun() ->
            {ok, F} = file:open(Abs, [read, binary, raw]),
            MRef = erlang:monitor(process, Dest),
            Loop = fun Loop() ->
                case file:read(F, 1048576) of
                    {ok, Bin} ->
                        Dest ! {beamctl_dump, self(), Bin},
                        receive
                            ack -> Loop();
                            {'DOWN', MRef, _, _, _} -> file:close(F)
                        after 60000 -> file:close(F)
                        end;
                    eof -> file:close(F), Dest ! {beamctl_dump_eof, self()};
                    {error, R} -> file:close(F), Dest ! {beamctl_dump_error, self(), R}
                end
            end,
            Loop()
        end),
        {Pid, filelib:file_size(Abs), Abs}
end.
`

// Dump is a crash dump fetched from a node.
type Dump struct {
	NodePath  string // where it was on the node
	RenamedTo string // where it is on the node now
	Stored    string // the gzip file in beamctl's data directory
	Size      int64
	Slogan    string
	Written   string // the dump's own time line
	// TopMemory and TopQueue are the processes with the most memory
	// (stack+heap and old heap, in words) and the longest message queues.
	TopMemory, TopQueue []DumpProcess
}

// DumpProcess is a process as the crash dump describes it.
type DumpProcess struct {
	Pid, Name string
	Words     int64
	Queue     int64
}

// FetchCrashDump copies the node's crash dump (path "" means
// $ERL_CRASH_DUMP or erl_crash.dump in the node's working directory), if
// there is one, into dir as a gzip file, reads its slogan and top processes
// on the way, and renames it on the node so that it is fetched once. It
// returns nil when there is no dump.
func FetchCrashDump(ctx context.Context, c *dist.Conn, path, dir string) (*Dump, error) {
	mb := c.NewMailbox(4)
	defer c.CloseMailbox(mb)
	r, err := inspect.EvalWith(ctx, c, openDump, map[string]etf.Term{"Path": etf.String(path), "Dest": mb.Pid})
	if err != nil {
		return nil, fmt.Errorf("look for a crash dump on %s: %w", c.Node(), err)
	}
	if r == etf.Atom("none") {
		return nil, nil
	}
	t, err := etf.ToTuple(r, 3)
	if err != nil {
		return nil, fmt.Errorf("look for a crash dump on %s: unexpected %s", c.Node(), termtext.Format(r))
	}
	reader, _ := t[0].(etf.Pid)
	d := &Dump{}
	d.Size, _ = etf.ToInt64(t[1])
	d.NodePath, _ = etf.ToString(t[2])
	// A crash dump holds the node's cookie (twice): only this user may
	// read it, as ~/.erlang.cookie.
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("crash dump: %w", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil { // made looser by an older beamctl
		return nil, fmt.Errorf("crash dump: %w", err)
	}
	d.Stored = filepath.Join(dir, time.Now().UTC().Format("20060102T150405Z")+"-erl_crash.dump.gz")
	out, err := os.OpenFile(d.Stored, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("crash dump: %w", err)
	}
	gz := gzip.NewWriter(out)
	pr, pw := io.Pipe()
	parsed := make(chan error, 1)
	go func() { parsed <- d.parse(pr) }()
	fail := func(err error) (*Dump, error) {
		pw.CloseWithError(err)
		<-parsed
		out.Close()
		os.Remove(d.Stored)
		return nil, err
	}
	for done := false; !done; {
		select {
		case <-ctx.Done():
			return fail(fmt.Errorf("fetch the crash dump of %s: %w", c.Node(), ctx.Err()))
		case <-c.Done():
			return fail(fmt.Errorf("fetch the crash dump of %s: the connection closed", c.Node()))
		case <-mb.Ready():
			m, ok := mb.Next() // one at a time: Next signals Ready again while more wait
			if !ok {
				continue
			}
			msg, err := etf.ToTuple(m.Msg, -1)
			if err != nil || len(msg) < 2 {
				continue
			}
			switch msg[0] {
			case etf.Atom("beamctl_dump"):
				chunk, _ := msg[2].([]byte)
				if _, err := gz.Write(chunk); err != nil {
					return fail(fmt.Errorf("store the crash dump: %w", err))
				}
				if _, err := pw.Write(chunk); err != nil {
					return fail(fmt.Errorf("read the crash dump: %w", err))
				}
				if err := c.SendFrom(ctx, mb.Pid, reader, etf.Atom("ack")); err != nil {
					return fail(fmt.Errorf("fetch the crash dump of %s: %w", c.Node(), err))
				}
			case etf.Atom("beamctl_dump_eof"):
				done = true
			case etf.Atom("beamctl_dump_error"):
				return fail(fmt.Errorf("read the crash dump on %s: %s", c.Node(), termtext.Format(msg[len(msg)-1])))
			}
		}
	}
	pw.Close()
	if err := <-parsed; err != nil {
		return fail(err)
	}
	if err := errors.Join(gz.Close(), out.Close()); err != nil {
		os.Remove(d.Stored)
		return nil, fmt.Errorf("store the crash dump: %w", err)
	}
	d.RenamedTo = d.NodePath + ".beamctl-" + time.Now().UTC().Format("20060102T150405Z")
	r, err = c.Call(ctx, "file", "rename", etf.String(d.NodePath), etf.String(d.RenamedTo))
	if err != nil || r != etf.Atom("ok") {
		return d, fmt.Errorf("rename the crash dump on %s (it will be fetched again): %v %v", c.Node(), r, err)
	}
	return d, nil
}

// parse reads the dump's header and process sections as it streams by.
// Lines longer than 64 KiB (heap dumps) are skipped.
func (d *Dump) parse(r io.Reader) error {
	br := bufio.NewReaderSize(r, 64<<10)
	var procs []DumpProcess
	var cur *DumpProcess
	line := 0
	for {
		b, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			for errors.Is(err, bufio.ErrBufferFull) { // skip the rest of a long line
				_, err = br.ReadSlice('\n')
			}
			continue
		}
		s := strings.TrimRight(string(b), "\r\n")
		line++
		switch {
		case line == 2:
			d.Written = s
		case strings.HasPrefix(s, "Slogan: ") && d.Slogan == "":
			d.Slogan = strings.TrimPrefix(s, "Slogan: ")
		case strings.HasPrefix(s, "=proc:"):
			procs = append(procs, DumpProcess{Pid: strings.TrimPrefix(s, "=proc:")})
			cur = &procs[len(procs)-1]
		case strings.HasPrefix(s, "="):
			cur = nil
		case cur != nil:
			k, v, _ := strings.Cut(s, ": ")
			switch k {
			case "Name":
				cur.Name = v
			case "Message queue length":
				cur.Queue, _ = strconv.ParseInt(v, 10, 64)
			case "Stack+heap", "OldHeap":
				n, _ := strconv.ParseInt(v, 10, 64)
				cur.Words += n
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("read the crash dump: %w", err)
		}
	}
	top := func(less func(a, b DumpProcess) bool) []DumpProcess {
		s := append([]DumpProcess(nil), procs...)
		sort.SliceStable(s, func(i, j int) bool { return less(s[i], s[j]) })
		return s[:min(5, len(s))]
	}
	d.TopMemory = top(func(a, b DumpProcess) bool { return a.Words > b.Words })
	d.TopQueue = top(func(a, b DumpProcess) bool { return a.Queue > b.Queue })
	return nil
}
