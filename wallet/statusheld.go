package wallet

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/epermit/epermit/internal/atomicfile"
)

// statusFile is where the wallet keeps what it last learnt of each
// credential's status: status.json in the wallet directory, by credential
// file name. The wallet keeps the conclusion, not the status list itself,
// which for a province is far larger than the wallet.
const statusFile = "status.json"

// maxStatusFile bounds status.json: a few hundred bytes a credential.
const maxStatusFile = 1 << 20

// heldStatus is what the wallet last learnt of one credential's status.
type heldStatus struct {
	// URI and Idx are the status list entry read: a credential replaced
	// since (an endorsement) has another entry, and its held status no
	// longer applies.
	URI        string     `json:"uri"`
	Idx        int        `json:"idx"`
	Status     ListStatus `json:"status"`
	ListIssued time.Time  `json:"list_issued"`
	Checked    time.Time  `json:"checked"`
	// ETag is the list's ETag as served, for a conditional request.
	ETag string `json:"etag,omitempty"`
}

// statusKey names a credential in status.json as its file is named.
func statusKey(e Entry) string { return e.PermitNo + "." + issuerTag(e.Issuer) }

// readHeld reads status.json. A missing file is an empty one; so is a file
// that does not decode, since it is a cache that the next check rewrites.
func (w *Wallet) readHeld() map[string]heldStatus {
	m := map[string]heldStatus{}
	f, err := os.Open(filepath.Join(w.dir, statusFile))
	if err != nil {
		return m
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxStatusFile+1))
	if err != nil || len(data) > maxStatusFile || json.Unmarshal(data, &m) != nil || m == nil {
		return map[string]heldStatus{}
	}
	return m
}

// writeHeld replaces status.json atomically, mode 0600.
func (w *Wallet) writeHeld(m map[string]heldStatus) error {
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.Write(filepath.Join(w.dir, statusFile), append(data, '\n'), 0o600); err != nil {
		return fmt.Errorf("wallet: keep status: %w", err)
	}
	return nil
}

// statusFrom returns the status of e as h records it: unknown when h is
// about another status list entry (a credential replaced since).
func statusFrom(e Entry, h heldStatus, found bool) Status {
	s := Status{Entry: e, List: StatusUnknown}
	if found && h.URI == e.Status.URI && h.Idx == e.Status.Idx && h.Status != "" {
		s.List, s.ListIssued, s.Checked = h.Status, h.ListIssued, h.Checked
	}
	return s
}

// HeldStatus returns the status of every credential held as the wallet
// last learnt it, without the network, in the order of List: StatusUnknown
// for a credential whose status list it has not read. See CheckStatus.
func (w *Wallet) HeldStatus() ([]Status, error) {
	list, err := w.List()
	if err != nil {
		return nil, err
	}
	held := w.readHeld()
	out := make([]Status, 0, len(list))
	for _, e := range list {
		h, ok := held[statusKey(e)]
		out = append(out, statusFrom(e, h, ok))
	}
	return out, nil
}

// heldStatusOf returns the held status of one credential.
func (w *Wallet) heldStatusOf(e Entry) Status {
	h, ok := w.readHeld()[statusKey(e)]
	return statusFrom(e, h, ok)
}
