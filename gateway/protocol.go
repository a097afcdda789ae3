package gateway

import (
	"bufio"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"sync"
)

// Version is the protocol's version: a controller and a gateway that say
// different versions refuse each other in the hello. Version 2: a Connect
// names the rest of the node's route (gateways of gateways), which a
// version-1 gateway would ignore and reach the node directly. Version 3
// added the heartbeat (kindPing, kindPong, Options.Heartbeat), output
// blocks by hash (Options.Blocks) and each job's output window (kindAck),
// which an older gateway would refuse as unknown frames or ignore.
// Version 4 added streams (stream.go: a node's subsystem, such as sftp
// for drove copy, relayed as frames), which an older gateway would refuse
// as unknown frames.
const Version = "drove-gateway/4"

// kind is a frame's meaning.
type kind uint8

const (
	kindHello     kind = iota + 1 // both ways, first: Hello
	kindConnect                   // controller: connect node ID to Text (a node spec) through Route
	kindConnected                 // gateway: node ID is connected, or Err says why not
	kindRun                       // controller: run job ID, Text, on node Node
	kindOut                       // gateway: Data written by job ID on Stream (1 stdout, 2 stderr)
	kindDone                      // gateway: job ID ended as Result says
	kindCancel                    // controller: kill job ID (a timeout, Ctrl-C)
	kindClose                     // controller: close node ID's connection
	kindPing                      // controller: are you there? (ID counts them)
	kindPong                      // gateway: the answer to ping ID
)

// Hello opens a conversation: the controller sends its own, the gateway
// answers with its own Version (the rest empty).
type Hello struct {
	Version string
	Options Options
}

// Options are what the controller tells a gateway about reaching nodes:
// the parts of drove's command line that a gateway applies as its own.
// Durations are in nanoseconds; zero keeps the gateway's defaults.
type Options struct {
	SSHConfig      string // ssh_config file on the gateway; "" for the user's own
	AcceptNew      bool   // StrictHostKeyChecking accept-new
	ConnectTimeout int64
	Keepalive      int64
	Grace          int64
	// Heartbeat is the interval of the controller's pings; a gateway that
	// hears nothing from its controller for Heartbeat*HeartbeatMisses
	// (HeartbeatMisses < 1 counts as 1) gives it up as gone (heartbeat.go).
	// 0: no heartbeat.
	Heartbeat       int64
	HeartbeatMisses int
	Blocks          bool // send each job's stdout as blocks by hash (blocks.go), for --gather
	// MaxHandshakes bounds the gateway's SSH handshakes in progress at
	// once; 0 keeps its default.
	MaxHandshakes int
}

// Result is how a job ended, as the gateway's runner.Host said.
type Result struct {
	Kind   ResultKind
	Status int    // ResultExit: the exit status (128+n for a signal when known)
	Signal string // ResultExit: the signal's name without SIG, "" when it exited
	Text   string // the error's text, for every kind but ResultOK
	// Route, with ResultNode, says the node's route failed (a gateway of
	// this one's, further down a topology, was lost), not the node: a
	// *runner.RouteError. A controller of an older drove ignores it (gob
	// drops a field it lacks) and evicts the node, as it did before.
	Route bool
}

// ResultKind sorts a job's end as runner's error types do.
type ResultKind uint8

const (
	ResultOK          ResultKind = iota // it succeeded
	ResultExit                          // *runner.ExitError: the job's own failure
	ResultNode                          // *runner.NodeError: the node or its connection failed
	ResultUnstartable                   // *runner.UnstartableError: no node could start it
	ResultOther                         // anything else (a killed job, a refused session)
)

// frame is one message. Each kind uses the fields its comment names.
type frame struct {
	Kind   kind
	ID     uint64
	Node   uint64
	Stream uint8
	Text   string
	Data   []byte
	Bytes  int64 // kindAck
	Err    string
	Hello  *Hello
	Result *Result
	// Subsystem (StreamOpen) is what to open on the node: "sftp".
	Subsystem string
	// Route (Connect, StreamOpen) is the rest of the node's route below this gateway:
	// at each level the gateways one of which carries it on; empty when
	// this gateway reaches the node itself.
	Route [][]string
	// Lost (StreamClose) names the gateway further down a topology whose
	// loss ended the stream (Err is then why it was lost): the
	// controller's reads end with a *LostError, as for its own gateway's
	// loss. A controller of an older drove ignores it (gob drops a field
	// it lacks) and reads the loss as the node's, as it did before.
	Lost string
}

// conn sends and receives frames on one byte stream. Send is safe for
// concurrent use; recv is for one goroutine.
type conn struct {
	sem      chan struct{} // held by the one send under way
	dead     chan struct{} // closed by shut
	shutOnce sync.Once
	bw       *bufio.Writer
	enc      *gob.Encoder
	dec      *gob.Decoder
	// broken, when set before the conn is shared, is called with the
	// error of every send that fails to write: the byte stream is broken
	// (a frame may be cut in half), so the conversation is over.
	broken func(error)
}

func newConn(r io.Reader, w io.Writer) *conn {
	bw := bufio.NewWriterSize(w, 64<<10)
	return &conn{sem: make(chan struct{}, 1), dead: make(chan struct{}), bw: bw, enc: gob.NewEncoder(bw), dec: gob.NewDecoder(bufio.NewReaderSize(r, 64<<10))}
}

// errShut is a send on a conn given up for silent (shut).
var errShut = errors.New("gateway: send: the other side went silent")

// shut makes every send not yet writing fail at once with errShut: the
// other side went silent, and a write to it could block for good.
func (c *conn) shut() { c.shutOnce.Do(func() { close(c.dead) }) }

func (c *conn) send(f *frame) error {
	select {
	case c.sem <- struct{}{}:
	case <-c.dead:
		return errShut
	}
	defer func() { <-c.sem }()
	select {
	case <-c.dead:
		return errShut
	default:
	}
	err := c.enc.Encode(f)
	if err == nil {
		err = c.bw.Flush()
	}
	if err != nil {
		err = fmt.Errorf("gateway: send: %w", err)
		if c.broken != nil {
			c.broken(err)
		}
		return err
	}
	return nil
}

func (c *conn) recv() (*frame, error) {
	var f frame
	if err := c.dec.Decode(&f); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, io.EOF
		}
		return nil, fmt.Errorf("gateway: receive: %w", err)
	}
	return &f, nil
}

// VersionError is a hello from the other side that does not speak this
// protocol's Version (another drove release, or not drove at all).
type VersionError struct{ Got string }

func (e *VersionError) Error() string {
	return fmt.Sprintf("gateway: the other side speaks %q, not %q (another drove version?)", e.Got, Version)
}
