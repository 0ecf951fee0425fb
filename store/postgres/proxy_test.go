package postgres_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"net"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/epermit/epermit/issuer"
	"github.com/epermit/epermit/store/postgres"
	"github.com/epermit/epermit/store/postgres/pgtest"
)

// Ways the proxy loses a COMMIT.
const (
	passCommit  = iota
	dropCommit  // the client's connection breaks before the COMMIT reaches the server
	eraseAnswer // the server commits, and the connection breaks before the client hears it
)

// commitProxy relays the PostgreSQL protocol between the store and the
// server, and can break a connection around its next COMMIT.
type commitProxy struct {
	t      *testing.T
	ln     net.Listener
	target string
	mode   atomic.Int32
	cut    chan struct{} // a COMMIT was lost
}

func newCommitProxy(t *testing.T, target string) *commitProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &commitProxy{t: t, ln: ln, target: target, cut: make(chan struct{}, 1)}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.serve(c)
		}
	}()
	return p
}

// readMsg reads one protocol message: its type byte (none for the startup
// message) and its whole bytes.
func readMsg(r io.Reader, typed bool) (byte, []byte, error) {
	n := 4
	if typed {
		n = 5
	}
	head := make([]byte, n)
	if _, err := io.ReadFull(r, head); err != nil {
		return 0, nil, err
	}
	size := int(binary.BigEndian.Uint32(head[n-4:]))
	if size < 4 || size > 64<<20 {
		return 0, nil, io.ErrUnexpectedEOF
	}
	msg := make([]byte, n+size-4)
	copy(msg, head)
	if _, err := io.ReadFull(r, msg[n:]); err != nil {
		return 0, nil, err
	}
	if !typed {
		return 0, msg, nil
	}
	return head[0], msg, nil
}

// cstrings returns the first n NUL-terminated strings of a message body.
func cstrings(body []byte, n int) []string {
	var out []string
	for range n {
		i := bytes.IndexByte(body, 0)
		if i < 0 {
			break
		}
		out = append(out, string(body[:i]))
		body = body[i+1:]
	}
	return out
}

func (p *commitProxy) serve(client net.Conn) {
	defer client.Close()
	server, err := net.Dial("tcp", p.target)
	if err != nil {
		return
	}
	defer server.Close()
	var swallow atomic.Bool
	relayed := make(chan struct{})
	go func() {
		// Server to client, message by message; once swallowing, the answer
		// to the COMMIT is dropped and both connections close when the
		// server is ready again.
		defer close(relayed)
		for {
			typ, msg, err := readMsg(server, true)
			if err != nil {
				client.Close()
				return
			}
			if swallow.Load() {
				if typ == 'Z' {
					client.Close()
					server.Close()
					return
				}
				continue
			}
			if _, err := client.Write(msg); err != nil {
				return
			}
		}
	}()
	_, startup, err := readMsg(client, false)
	if err != nil || writeAll(server, startup) != nil {
		return
	}
	commits := map[string]bool{} // prepared statements that are a COMMIT
	var held []byte
	holding := false
	for {
		typ, msg, err := readMsg(client, true)
		if err != nil {
			return
		}
		body := msg[5:]
		switch typ {
		case 'P': // Parse: statement name, query
			if s := cstrings(body, 2); len(s) == 2 && s[1] == "COMMIT" {
				commits[s[0]] = true
			}
		case 'B': // Bind: portal, statement
			if s := cstrings(body, 2); len(s) == 2 && commits[s[1]] && p.mode.Load() != passCommit {
				holding = true
			}
		}
		if !holding {
			if writeAll(server, msg) != nil {
				return
			}
			continue
		}
		held = append(held, msg...)
		if typ != 'S' { // the pipeline ends with Sync
			continue
		}
		mode := p.mode.Swap(passCommit)
		holding = false
		if mode == dropCommit {
			client.Close()
			server.Close()
		} else {
			swallow.Store(true)
			writeAll(server, held)
			<-relayed
		}
		p.cut <- struct{}{}
		return
	}
}

func writeAll(w io.Writer, b []byte) error {
	_, err := w.Write(b)
	return err
}

// TestLostCommit breaks the connection of a shared transaction around its
// COMMIT, before the server has it and after it has committed: each time
// the Update returns nil and its writes are there exactly once.
func TestLostCommit(t *testing.T) {
	u, err := url.Parse(pgtest.DSN(t))
	if err != nil {
		t.Fatal(err)
	}
	p := newCommitProxy(t, u.Host)
	u.Host = p.ln.Addr().String()
	schema := newSchema(t)
	ctx := context.Background()
	s, err := postgres.Open(ctx, u.String(), postgres.Options{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	increment := func(key string) error {
		return s.Update(ctx, func(tx issuer.Tx) error {
			v, err := tx.Get(issuer.BucketMeta, []byte(key))
			if err != nil {
				return err
			}
			n, _ := strconv.Atoi(string(v))
			return tx.Put(issuer.BucketMeta, []byte(key), []byte(strconv.Itoa(n+1)))
		})
	}
	// Warm up: the COMMIT statement is prepared on the connection.
	if err := increment("warm"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name     string
		mode     int32
		lostWant bool // whether the functions ran again
	}{
		{"dropped", dropCommit, true},
		{"answer lost", eraseAnswer, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := s.Stats()
			p.mode.Store(c.mode)
			var wg sync.WaitGroup
			errs := make([]error, 8)
			for i := range errs {
				wg.Add(1)
				go func() { defer wg.Done(); errs[i] = increment("n-" + c.name) }()
			}
			wg.Wait()
			select {
			case <-p.cut:
			case <-time.After(time.Second):
				t.Fatal("the proxy cut no COMMIT")
			}
			for _, err := range errs {
				if err != nil {
					t.Fatalf("Update = %v", err)
				}
			}
			if v, _ := getString(t, s, issuer.BucketMeta, "n-"+c.name); v != "8" {
				t.Errorf("counter = %s after 8 acknowledged increments", v)
			}
			if lost := s.Stats().Lost > before.Lost; lost != c.lostWant {
				t.Errorf("functions ran again: %v, want %v", lost, c.lostWant)
			}
		})
	}
}
