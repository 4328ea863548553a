package deploy

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/beamctl/beamctl/internal/etf"
	"github.com/beamctl/beamctl/internal/inspect"
)

// What a deploy does on one node. Every call is a plain rpc with the
// caller's deadline; the loads are inspect.Load's (ectl's purge semantics).

// otpRelease reads erlang:system_info(otp_release).
func otpRelease(ctx context.Context, c inspect.Conn) (string, error) {
	r, err := c.Call(ctx, "erlang", "system_info", etf.Atom("otp_release"))
	if err != nil {
		return "", err
	}
	s, err := etf.ToString(r)
	if err != nil {
		return "", fmt.Errorf("otp_release of %s: %w", c.Node(), err)
	}
	return s, nil
}

// planModule is PlanLoad plus how the node's current code would be kept.
func (m *Manager) planModule(ctx context.Context, c inspect.Conn, beam []byte) (ModulePlan, error) {
	lp, err := inspect.PlanLoad(ctx, c, beam)
	if err != nil {
		return ModulePlan{}, err
	}
	mp := ModulePlan{LoadPlan: *lp, Now: lp.MD5Before}
	switch {
	case lp.MD5Before == "":
		mp.Backup = BackupDelete
	case m.heldMD5(ctx, lp.MD5Before):
		mp.Backup = BackupHeld
	default:
		md5, _, err := fileMD5(ctx, c, etf.Atom(lp.Module))
		switch {
		case err != nil:
			return ModulePlan{}, err
		case md5 == lp.MD5Before:
			mp.Backup = BackupFile
		default:
			mp.Backup = BackupMissing
		}
	}
	return mp, nil
}

func (m *Manager) heldMD5(ctx context.Context, md5 string) bool {
	var n int
	_ = m.st.db.QueryRowContext(ctx, "SELECT count(*) FROM modules WHERE md5 = ?", md5).Scan(&n)
	if n == 0 {
		_ = m.st.db.QueryRowContext(ctx, "SELECT count(*) FROM backups WHERE md5 = ? AND beam IS NOT NULL", md5).Scan(&n)
	}
	return n > 0
}

// fileMD5 is the md5 of the module's object code file on the node's code
// path ("" when it has none), read on the node (beam_lib:md5 of the file:
// no object code travels).
func fileMD5(ctx context.Context, c inspect.Conn, mod etf.Atom) (md5, file string, err error) {
	w, err := c.Call(ctx, "code", "which", mod)
	if err != nil {
		return "", "", err
	}
	path, err := etf.ToString(w)
	if err != nil || path == "" || filepath.Ext(path) != ".beam" { // non_existing, preloaded, cover_compiled
		return "", "", nil
	}
	_, md5, err = inspect.FileMD5(ctx, c, path)
	if err != nil {
		return "", path, nil // unreadable or not object code: no backup from it
	}
	return md5, path, nil
}

// objectCode fetches the node's object code file of a module
// (code:get_object_code) and checks it is the code loaded (md5).
func objectCode(ctx context.Context, c inspect.Conn, mod etf.Atom, loaded string) ([]byte, string, error) {
	r, err := c.Call(ctx, "code", "get_object_code", mod)
	if err != nil {
		return nil, "", err
	}
	t, err := etf.ToTuple(r, 3)
	if err != nil {
		return nil, "", fmt.Errorf("%s has no object code file for %s: rollback would be impossible", c.Node(), mod)
	}
	beam, _ := t[1].([]byte)
	file, _ := etf.ToString(t[2])
	_, md5, err := inspect.BeamMD5(ctx, c, beam)
	if err != nil {
		return nil, "", err
	}
	if md5 != loaded {
		return nil, "", fmt.Errorf("the object code file of %s on %s (md5 %s) is not the code loaded (md5 %s): rollback would be impossible",
			mod, c.Node(), md5, loaded)
	}
	return beam, file, nil
}

// deleteModule unloads a module the deploy added: its old code is purged
// (killing what runs it), the current code made old and purged too.
func deleteModule(ctx context.Context, c inspect.Conn, mod etf.Atom) error {
	for _, f := range []string{"purge", "delete", "purge"} {
		if _, err := c.Call(ctx, "code", f, mod); err != nil {
			return err
		}
	}
	if md5, err := inspect.LoadedMD5(ctx, c, string(mod)); err != nil || md5 != "" {
		return fmt.Errorf("%s is still loaded on %s after code:delete (md5 %s, %v)", mod, c.Node(), md5, err)
	}
	return nil
}

func charlist(s string) etf.Term {
	l := make(etf.List, 0, len(s))
	for _, r := range s {
		l = append(l, int64(r))
	}
	return l
}

// loadNode loads every module of the deploy on one node: what runs now is
// kept first (once: a resumed load keeps the first copy), then loaded,
// then its md5 verified. A module already at its new md5 is skipped, so
// that a load resumed after a restart does the rest only.
func (m *Manager) loadNode(ctx context.Context, d *Deploy, c inspect.Conn, np *NodePlan) error {
	o := d.Options
	for i := range np.Modules {
		mp := &np.Modules[i]
		mod := etf.Atom(mp.Module)
		beam, file, err := m.st.beam(ctx, d.ID, mp.Module)
		if err != nil {
			return err
		}
		now, err := inspect.LoadedMD5(ctx, c, string(mod))
		if err != nil {
			return err
		}
		mp.Now = now
		if now == mp.MD5New {
			continue // loaded before (by this deploy before a restart, or already there)
		}
		if now != mp.MD5Before {
			return fmt.Errorf("%s on %s changed since the plan (md5 %s, planned from %s): plan again", mp.Module, np.Node, now, mp.MD5Before)
		}
		if err := m.keep(ctx, d.ID, c, np.Node, mod, now); err != nil {
			return err
		}
		res, err := inspect.Load(ctx, c, beam, filepath.Base(file), o.Force, time.Duration(o.PurgeWait))
		if err != nil {
			return fmt.Errorf("load %s on %s: %w", mp.Module, np.Node, err)
		}
		mp.Killed, mp.Now = res.Killed, res.MD5After
		if res.MD5After != mp.MD5New {
			return fmt.Errorf("%s on %s has md5 %s after the load, not %s", mp.Module, np.Node, res.MD5After, mp.MD5New)
		}
	}
	return nil
}

// keep stores the code a node runs now for a module, before it is
// replaced.
func (m *Manager) keep(ctx context.Context, id string, c inspect.Conn, node string, mod etf.Atom, md5 string) error {
	if md5 == "" {
		return m.st.keep(ctx, id, node, string(mod), "", "", nil)
	}
	if beam, file, ok := m.st.held(ctx, md5); ok {
		return m.st.keep(ctx, id, node, string(mod), md5, file, beam)
	}
	beam, file, err := objectCode(ctx, c, mod, md5)
	if err != nil {
		return err
	}
	return m.st.keep(ctx, id, node, string(mod), md5, file, beam)
}

// rollbackNode puts back on one node the code each module ran before the
// deploy (loading it, with a forced purge: a rollback must not be stopped
// by processes in the bad code), or deletes a module the deploy added, and
// verifies the md5s.
func (m *Manager) rollbackNode(ctx context.Context, d *Deploy, c inspect.Conn, np *NodePlan) error {
	for i := range np.Modules {
		mp := &np.Modules[i]
		mod := etf.Atom(mp.Module)
		md5, file, beam, ok, err := m.st.backup(ctx, d.ID, np.Node, mp.Module)
		if err != nil {
			return err
		}
		if !ok {
			continue // never replaced on this node
		}
		now, err := inspect.LoadedMD5(ctx, c, string(mod))
		if err != nil {
			return err
		}
		if now == md5 {
			mp.Now = now
			continue
		}
		if md5 == "" {
			if err := deleteModule(ctx, c, mod); err != nil {
				return err
			}
			mp.Now = ""
			continue
		}
		res, err := inspect.Load(ctx, c, beam, file, true, time.Duration(d.Options.PurgeWait))
		if err != nil {
			return fmt.Errorf("roll back %s on %s: %w", mp.Module, np.Node, err)
		}
		mp.Now = res.MD5After
		if res.MD5After != md5 {
			return fmt.Errorf("%s on %s has md5 %s after the rollback, not %s", mp.Module, np.Node, res.MD5After, md5)
		}
	}
	return nil
}
