// Package dist joins Erlang clusters as a hidden, client-only node: it finds
// nodes through EPMD, performs the version 6 handshake, keeps connections
// alive with ticks, and makes bounded rpc calls through each node's rex
// server.
//
// The node beamctl presents is hidden (it never appears in nodes() on the
// peer), listens on no port and registers nothing in EPMD. It only speaks the
// subset of the distribution protocol a client needs; docs/protocol.md lists
// that subset.
package dist

import (
	"crypto/tls"
	"log/slog"
	"time"
)

// Distribution capability flags (erts/emulator/beam/dist.h).
const (
	FlagPublished          uint64 = 0x1
	FlagAtomCache          uint64 = 0x2
	FlagExtendedReferences uint64 = 0x4
	FlagDistMonitor        uint64 = 0x8
	FlagFunTags            uint64 = 0x10
	FlagDistMonitorName    uint64 = 0x20
	FlagHiddenAtomCache    uint64 = 0x40
	FlagNewFunTags         uint64 = 0x80
	FlagExtendedPidsPorts  uint64 = 0x100
	FlagExportPtrTag       uint64 = 0x200
	FlagBitBinaries        uint64 = 0x400
	FlagNewFloats          uint64 = 0x800
	FlagUnicodeIO          uint64 = 0x1000
	FlagDistHdrAtomCache   uint64 = 0x2000
	FlagSmallAtomTags      uint64 = 0x4000
	FlagUTF8Atoms          uint64 = 0x10000
	FlagMapTag             uint64 = 0x20000
	FlagBigCreation        uint64 = 0x40000
	FlagSendSender         uint64 = 0x80000
	FlagBigSeqTraceLabels  uint64 = 0x100000
	FlagExitPayload        uint64 = 0x400000
	FlagFragments          uint64 = 0x800000
	FlagHandshake23        uint64 = 0x1000000
	FlagUnlinkID           uint64 = 0x2000000
	FlagMandatory25Digest  uint64 = 0x4000000
	FlagSpawn              uint64 = 1 << 32
	FlagNameMe             uint64 = 1 << 33
	FlagV4NC               uint64 = 1 << 34
	FlagAlias              uint64 = 1 << 35
)

// Mandatory flag sets: OTP 25 refuses a peer without Mandatory25, OTP 26 and
// 27 also require Mandatory26.
const (
	Mandatory25 = FlagExtendedReferences | FlagFunTags | FlagNewFunTags |
		FlagExtendedPidsPorts | FlagExportPtrTag | FlagBitBinaries |
		FlagNewFloats | FlagUTF8Atoms | FlagMapTag | FlagBigCreation |
		FlagHandshake23 // = 0x1070F94
	Mandatory26 = Mandatory25 | FlagV4NC | FlagUnlinkID
)

// DefaultFlags are the capabilities beamctl advertises: every mandatory flag
// of OTP 25–27, the atom-cache header, monitors, exit payloads, SEND_SENDER
// and spawn requests. FlagPublished is never set: beamctl is a hidden node.
const DefaultFlags = Mandatory26 | FlagMandatory25Digest | FlagDistMonitor |
	FlagDistMonitorName | FlagDistHdrAtomCache | FlagSmallAtomTags |
	FlagUnicodeIO | FlagSendSender | FlagBigSeqTraceLabels | FlagExitPayload | FlagSpawn

// Defaults for Options.
const (
	DefaultMaxMessageSize = 64 << 20
	DefaultCallTimeout    = 15 * time.Second
	DefaultDialTimeout    = 5 * time.Second
	DefaultTickTime       = 60 * time.Second
)

// Options configure how beamctl joins a cluster. The zero value plus a
// Cookie is usable.
type Options struct {
	// Name is beamctl's own node name. Empty uses Alive, or else picks
	// beamctl_<random>@<host> (a new atom on the peer each time: the
	// beamctl binary always gives a Name or an Alive).
	Name string
	// Alive, when Name is empty, is the part before the @ of a name this
	// process holds (a NameLock's), completed with this host in the naming
	// style (short or long) of each peer. Since no other live process of
	// ours uses it, a connection the peer still has under this name (from a
	// process that just ended) is taken over in the handshake.
	Alive string
	// Cookie authenticates beamctl to the peer.
	Cookie string
	// TLS, when set, connects with TLS distribution (-proto_dist inet_tls).
	TLS *tls.Config
	// Flags override DefaultFlags (tests use this to drop a mandatory flag).
	Flags uint64
	// MaxMessageSize bounds one incoming frame; a larger message is refused
	// with a *MessageTooLargeError. Default DefaultMaxMessageSize.
	MaxMessageSize int
	// CallTimeout bounds an rpc whose context has no deadline.
	CallTimeout time.Duration
	// DialTimeout bounds EPMD lookup, TCP connect and handshake.
	DialTimeout time.Duration
	// EpmdPort is the EPMD port (default $ERL_EPMD_PORT or 4369).
	EpmdPort int
	// Logger receives debug logs. Default: discard.
	Logger *slog.Logger
	// RPC chooses how Call runs a function on the node (default RPCRex).
	RPC RPCMode
}

// RPCMode is how Conn.Call runs a function on the node.
type RPCMode int

const (
	// RPCRex sends the call to the node's rex server as a gen_server call
	// (the default). A call whose deadline passed still runs to its end on
	// the node; its late reply is dropped.
	RPCRex RPCMode = iota
	// RPCSpawn spawns the call's process on the node with a spawn_request
	// signal running erpc:execute_call/4, as OTP's own rpc:call/4 does, and
	// kills that process when the call's deadline passes or the
	// connection goes (it is linked). It measured about 10 % slower than
	// RPCRex here (docs/benchmarks.md). The beamctl command line and
	// server use it, so that no work outlives its deadline on a node.
	RPCSpawn
)

func (m RPCMode) String() string {
	if m == RPCSpawn {
		return "spawn"
	}
	return "rex"
}

func (o Options) withDefaults() Options {
	if o.Flags == 0 {
		o.Flags = DefaultFlags
	}
	if o.MaxMessageSize <= 0 {
		o.MaxMessageSize = DefaultMaxMessageSize
	}
	if o.CallTimeout <= 0 {
		o.CallTimeout = DefaultCallTimeout
	}
	if o.DialTimeout <= 0 {
		o.DialTimeout = DefaultDialTimeout
	}
	if o.EpmdPort <= 0 {
		o.EpmdPort = defaultEpmdPort()
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}
