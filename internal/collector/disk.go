package collector

import (
	"context"
	"strconv"
	"strings"

	"github.com/beamctl/beamctl/internal/etf"
)

func init() { registerCollector("disk", true, func() Collector { return diskCollector{} }) }

// diskCmd lists the host's local filesystems as the node sees them, in
// POSIX format (1 KiB blocks). Read-only images (squashfs: always full)
// and devtmpfs are left out; timeout bounds a df stuck on a bad disk, so
// that nothing outlives the rpc's deadline for long.
const diskCmd = "timeout 3 df -kPl -x squashfs -x devtmpfs -x iso9660 2>/dev/null"

// diskCollector reports the size and the space available of every local
// filesystem of the node's host, through the node (os:cmd runs df on the
// node: nothing is loaded, and os_mon need not run). A full disk stops
// logs, crash dumps, disk_log and mnesia. Its own rpc: df forks.
type diskCollector struct{}

func (diskCollector) unbatched(Conn) bool { return true }

func (diskCollector) Update(ctx context.Context, c Conn, dst *Samples) error {
	r, err := c.Call(ctx, "os", "cmd", etf.String(diskCmd))
	if err != nil {
		return err
	}
	out, err := etf.ToString(r)
	if err != nil {
		return ErrNoData
	}
	disks := parseDF(out)
	if len(disks) == 0 {
		return ErrNoData // no df (not a Unix host) or nothing local
	}
	for _, d := range disks {
		l := []Label{{"mount", d.mount}, {"device", d.device}}
		dst.Add(Sample{Name: "erlang_vm_os_disk_size_bytes", Help: "Size of a local filesystem of the node's host (df).", Labels: l, Value: d.size})
		dst.Add(Sample{Name: "erlang_vm_os_disk_available_bytes", Help: "Space available to unprivileged users on a local filesystem of the node's host (df).",
			Labels: l, Value: d.avail})
	}
	return nil
}

// disk is one line of df -kP.
type disk struct {
	device, mount string
	size, avail   float64 // bytes
}

// parseDF reads df -kP output: a header, then "device blocks used
// available capacity mount" (the mount point may hold spaces). Lines that
// do not parse are skipped, as are filesystems of size 0 (pseudo ones).
func parseDF(out string) []disk {
	var ds []disk
	for i, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if i == 0 || len(f) < 6 || !strings.HasSuffix(f[4], "%") {
			continue
		}
		size, err1 := strconv.ParseFloat(f[1], 64)
		avail, err2 := strconv.ParseFloat(f[3], 64)
		if err1 != nil || err2 != nil || size <= 0 || avail < 0 {
			continue
		}
		mount := strings.Join(f[5:], " ")
		ds = append(ds, disk{device: f[0], mount: mount, size: size * 1024, avail: avail * 1024})
	}
	return ds
}
