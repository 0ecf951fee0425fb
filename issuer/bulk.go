package issuer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"time"

	"github.com/epermit/epermit/audit"
	"github.com/epermit/epermit/permit"
)

// EndorseResult is the outcome of a bulk endorsement for one permit.
type EndorseResult struct {
	Line       int         `json:"line"`
	PermitNo   string      `json:"permit_no"`
	Endorsed   bool        `json:"endorsed"`
	ValidUntil permit.Date `json:"valid_until,omitzero"`
	// Code and Reason say why a permit was skipped.
	Code   string `json:"code,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// Job is the progress of a bulk job, kept in the store with its work, so
// that a job resumes exactly where it stopped.
type Job struct {
	ID        string    `json:"id"`
	Kind      string    `json:"kind"`
	Done      int       `json:"done"`
	Endorsed  int       `json:"endorsed"`
	Skipped   int       `json:"skipped"`
	Authority string    `json:"authority,omitempty"`
	Started   time.Time `json:"started"`
	Updated   time.Time `json:"updated"`
	By        string    `json:"by"`
}

// JobProgress returns a job's progress, zero for a job not started.
func (s *Service) JobProgress(ctx context.Context, id string) (Job, error) {
	var j Job
	err := s.view(ctx, func(tx Tx) error { _, err := getJSON(tx, BucketJobs, []byte(id), &j); return err })
	return j, err
}

// EndorseBatch endorses, as part of job id, the permits of lines
// [first, first+len(nos)) of the job's list (numbers an authority approved
// for the yearly endorsement). Lines the job has already done are skipped,
// so a job resumes after a crash or an interruption without endorsing
// anything twice; the batch and the job's progress commit together. A job
// belongs to the authority of the token that started it (all of them for a
// provincial token): a token limited to another authority is refused. A
// permit that cannot be endorsed (not found, not active, window not open)
// is reported with its reason and skipped. Each endorsed permit's wallet
// can then refresh its credential ([Service.Refresh]).
func (s *Service) EndorseBatch(ctx context.Context, by Official, id string, first int, nos []string, now time.Time) ([]EndorseResult, Job, error) {
	if err := requireRole(by, RoleOfficer); err != nil {
		return nil, Job{}, err
	}
	if id == "" || len(id) > 128 || first < 0 {
		return nil, Job{}, invalid("bad_job", "任务编号无效", "a job needs an id of 1 to 128 bytes and lines from 0")
	}
	// Lines the job has done are not prepared (the writer checks again).
	done, err := s.JobProgress(ctx, id)
	if err != nil {
		return nil, Job{}, fmt.Errorf("issuer: endorse batch: %w", err)
	}
	prep := s.prepareEndorse(ctx, by, nos, max(0, done.Done-first), now)
	var out []EndorseResult
	var job Job
	err = s.update(ctx, func(tx Tx) error {
		out = out[:0]
		found, err := getJSON(tx, BucketJobs, []byte(id), &job)
		if err != nil {
			return err
		}
		if !found {
			job = Job{ID: id, Kind: "endorse", Authority: by.Authority, Started: now.UTC(), By: by.actorName()}
		}
		// Job ids are chosen by clients (the CLI names a job after its
		// file): a job another authority started is not resumed, nor shown.
		if by.Authority != "" && job.Authority != by.Authority {
			return conflict("job_other_authority", "任务 %s 属于另一发证机关，请换一个任务编号", "job %s belongs to another authority; choose another job id", clip(id))
		}
		if job.Kind != "endorse" {
			return conflict("job_kind", "任务 %s 不是签注任务", "job %s is not an endorsement job", id)
		}
		if first > job.Done {
			return invalid("job_gap", "任务 %[1]s 已完成 %[2]d 行，不能从第 %[3]d 行继续", "job %[1]s has done %[2]d lines; it cannot go on from line %[3]d", id, job.Done, first)
		}
		for i, no := range nos {
			line := first + i
			if line < job.Done {
				continue
			}
			r := EndorseResult{Line: line, PermitNo: no}
			err := prep.use(tx, i, func(rec []byte, e audit.Entry) error {
				if err := tx.Put(BucketPermits, []byte(no), rec); err != nil {
					return err
				}
				return appendAudit(tx, e)
			})
			var p Permit
			if errors.Is(err, errStale) {
				// The permit changed since it was read (or the line was not
				// prepared): endorse it here.
				if p, err = readPermit(tx, by, no); err == nil {
					err = s.endorseTx(tx, by, &p, now)
				}
			} else if err == nil {
				p.ValidUntil = prep.lines[i].validUntil
			}
			var e *Error
			switch {
			case err == nil:
				r.Endorsed, r.ValidUntil = true, p.ValidUntil
				job.Endorsed++
			case errors.As(err, &e):
				r.Code, r.Reason = e.Code, e.EN
				job.Skipped++
			default:
				return err
			}
			out = append(out, r)
			job.Done = line + 1
		}
		job.Updated = now.UTC()
		data, err := json.Marshal(job)
		if err != nil {
			return err
		}
		return tx.Put(BucketJobs, []byte(id), data)
	})
	if err != nil {
		return nil, Job{}, fmt.Errorf("issuer: endorse batch: %w", err)
	}
	s.maybeCheckpoint(ctx)
	return out, job, nil
}

// Bulk endorsement prepares its lines outside the store's single writer:
// goroutines read each permit in read transactions, endorse it in memory
// and encode it, while the writer consumes the lines in order. The writer
// uses a prepared line only when the permit's stored bytes are still those
// that were read, so a permit changed meanwhile (or listed twice) is
// endorsed by the writer itself, as before: the outcome is the same, the
// JSON work is off the writer's path.

// errStale says a prepared line cannot be used.
var errStale = errors.New("prepared line is stale")

// endorseLine is one prepared line.
type endorseLine struct {
	ready      chan struct{}
	no         string
	old        []byte // the record read; nil when there was none
	rec        []byte // the endorsed record; nil when refused
	entry      audit.Entry
	validUntil permit.Date
	err        error // the refusal, or errStale
}

type endorsePrep struct{ lines []endorseLine }

// prepareEndorse starts preparing the lines of nos from index from on, and
// returns at once.
func (s *Service) prepareEndorse(ctx context.Context, by Official, nos []string, from int, now time.Time) *endorsePrep {
	p := &endorsePrep{lines: make([]endorseLine, len(nos))}
	for i := range p.lines {
		p.lines[i].ready, p.lines[i].no = make(chan struct{}), nos[i]
		if i < from {
			p.lines[i].err = errStale
			close(p.lines[i].ready)
		}
	}
	// One core is the writer's: more preparers only take it from the writer
	// (measured: docs/performance.md).
	workers := max(1, runtime.GOMAXPROCS(0)-1)
	for w := range min(workers, max(0, len(nos)-from)) {
		go func() {
			next := from + w
			defer func() {
				// Lines not prepared (an error of the read) go to the writer.
				for i := next; i < len(nos); i += workers {
					p.lines[i].err = errStale
					close(p.lines[i].ready)
				}
			}()
			_ = s.view(ctx, func(tx Tx) error {
				for ; next < len(nos); next += workers {
					l := &p.lines[next]
					l.prepare(tx, by, now)
					close(l.ready)
				}
				return nil
			})
		}()
	}
	return p
}

// prepare reads and endorses one permit in memory.
func (l *endorseLine) prepare(tx Tx, by Official, now time.Time) {
	old, err := tx.Get(BucketPermits, []byte(l.no))
	if err != nil {
		l.err = errStale
		return
	}
	l.old = bytes.Clone(old)
	p, err := decodePermit(by, l.no, l.old)
	if err == nil {
		l.entry, err = endorsePermit(by, &p, now)
	}
	if err == nil {
		l.rec, err = json.Marshal(p)
		l.validUntil = p.ValidUntil
	}
	var refusal *Error
	if err != nil && !errors.As(err, &refusal) {
		err = errStale
	}
	l.err = err
}

// use waits for line i and, when the permit is unchanged in tx, writes it
// with write (endorsed) or returns its refusal; otherwise errStale.
func (p *endorsePrep) use(tx Tx, i int, write func(rec []byte, e audit.Entry) error) error {
	l := &p.lines[i]
	<-l.ready
	if errors.Is(l.err, errStale) {
		return errStale
	}
	cur, err := tx.Get(BucketPermits, []byte(l.no))
	if err != nil {
		return err
	}
	if !bytes.Equal(cur, l.old) {
		return errStale
	}
	if l.err != nil {
		return l.err
	}
	return write(l.rec, l.entry)
}
