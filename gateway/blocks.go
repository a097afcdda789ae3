package gateway

import (
	"crypto/sha256"
	"fmt"
	"io"
	"sync"
)

// Output blocks by hash (Options.Blocks): for --gather, where many jobs
// print the same output, the gateway cuts each job's stdout into blocks of
// BlockSize bytes at fixed offsets of the stream, sends a block's bytes the
// first time it meets it in this conversation and only its SHA-256 after
// that. The Client keeps every block it received, by hash, and writes each
// job's stdout in full, in order, as it would have arrived unmerged. A
// block no longer than a hash goes as plain output. stderr is streamed as
// without blocks.
//
// So identical output crosses the controller's session once per gateway,
// at the price of stdout arriving a block (or the job's end) at a time.
// Each side's store lasts the conversation: the gateway keeps a hash per
// distinct block it sent, the Client the distinct blocks themselves.

// BlockSize is the size of the blocks a job's stdout is cut into (the same
// as termview's for --gather, so the blocks are the ones it keeps).
const BlockSize = 64 << 10

// The frame kinds of output blocks, apart from protocol.go's so that
// other kinds can be added there without renumbering these.
const (
	kindBlock    kind = 64 + iota // gateway: a stdout block of job ID, Data its bytes, sent the first time
	kindBlockRef                  // gateway: a stdout block of job ID sent before, Data its SHA-256
)

// blockSender is a gateway's record of the blocks it sent in this
// conversation.
type blockSender struct {
	c    *conn
	mu   sync.Mutex // held across a send, so no reference overtakes its block
	sent map[[sha256.Size]byte]struct{}
}

func newBlockSender(c *conn) *blockSender {
	return &blockSender{c: c, sent: map[[sha256.Size]byte]struct{}{}}
}

// send sends one block of job id's stdout: its bytes, or its hash when they
// were sent before.
func (s *blockSender) send(id uint64, b []byte) error {
	if len(b) <= sha256.Size {
		return s.c.send(&frame{Kind: kindOut, ID: id, Stream: 1, Data: b})
	}
	sum := sha256.Sum256(b)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.sent[sum]; ok {
		return s.c.send(&frame{Kind: kindBlockRef, ID: id, Data: sum[:]})
	}
	if err := s.c.send(&frame{Kind: kindBlock, ID: id, Data: b}); err != nil {
		return err
	}
	s.sent[sum] = struct{}{}
	return nil
}

// blockWriter is one job's stdout on a gateway that sends blocks: it
// holds the block being filled, and flush sends what is left at the end.
type blockWriter struct {
	s       *blockSender
	cr      *credit // taken before s's lock, which no wait may hold
	id      uint64
	pending []byte // less than BlockSize bytes
}

func (w *blockWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		if len(w.pending) == 0 && len(p) >= BlockSize {
			if err := w.send(p[:BlockSize]); err != nil {
				return n - len(p), err
			}
			p = p[BlockSize:]
			continue
		}
		if w.pending == nil {
			w.pending = make([]byte, 0, min(BlockSize, max(len(p), 512)))
		}
		k := min(len(p), BlockSize-len(w.pending))
		w.pending = append(w.pending, p[:k]...)
		p = p[k:]
		if len(w.pending) == BlockSize {
			if err := w.send(w.pending); err != nil {
				return n - len(p), err
			}
			w.pending = w.pending[:0]
		}
	}
	return n, nil
}

// flush sends the last, partial block; the job has ended.
func (w *blockWriter) flush() error {
	if len(w.pending) == 0 {
		return nil
	}
	err := w.send(w.pending)
	w.pending = nil
	return err
}

// send sends one block within the job's window.
func (w *blockWriter) send(b []byte) error {
	if !w.cr.take(len(b)) {
		return errGone
	}
	return w.s.send(w.id, b)
}

// blockStore is a Client's blocks, by hash; its owner's lock guards it.
type blockStore map[[sha256.Size]byte][]byte

// data is the bytes a block frame stands for, kept for later references
// when it brings them.
func (bs blockStore) data(f *frame) ([]byte, error) {
	if f.Kind == kindBlock {
		bs[sha256.Sum256(f.Data)] = f.Data
		return f.Data, nil
	}
	var sum [sha256.Size]byte
	if len(f.Data) != len(sum) {
		return nil, fmt.Errorf("gateway: a block reference of %d bytes, not %d", len(f.Data), len(sum))
	}
	copy(sum[:], f.Data)
	b, ok := bs[sum]
	if !ok {
		return nil, fmt.Errorf("gateway: a reference to block %x, which the gateway never sent", sum[:8])
	}
	return b, nil
}

var _ io.Writer = (*blockWriter)(nil)
