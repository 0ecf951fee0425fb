package issuer

import (
	"context"
	"time"
)

// Maintain runs the service's periodic work until ctx ends: it destroys
// data keys scheduled for destruction, shreds revoked permits whose
// retention ended, sweeps expired grants and signs audit checkpoints, every
// interval (a minute when 0), and signs a last checkpoint when it stops.
// Every replica may run it: each step is safe to run twice.
func (s *Service) Maintain(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		interval = time.Minute
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		s.MaintainOnce(ctx)
		select {
		case <-ctx.Done():
			if _, err := s.Checkpoint(context.WithoutCancel(ctx)); err != nil {
				s.log.Error("audit checkpoint", "err", err)
			}
			return
		case <-t.C:
		}
	}
}

// MaintainOnce does one round of [Service.Maintain].
func (s *Service) MaintainOnce(ctx context.Context) {
	now := s.cfg.Now()
	s.shredPending(ctx)
	if n, err := s.SweepRetention(ctx, now, 1000); err != nil {
		s.log.Error("retention sweep", "err", err)
	} else if n > 0 {
		s.log.Info("shredded revoked permits after their retention", "count", n)
	}
	if _, err := s.SweepGrants(ctx, now, 5000); err != nil {
		s.log.Error("grant sweep", "err", err)
	}
	s.maybeCheckpoint(ctx)
}
