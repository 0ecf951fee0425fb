package server

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the service's Prometheus metrics.
type metrics struct {
	issued       *prometheus.CounterVec
	status       *prometheus.CounterVec
	proofsFailed *prometheus.CounterVec
	latency      *prometheus.HistogramVec
}

func newMetrics(reg *prometheus.Registry) (*metrics, error) {
	m := &metrics{
		issued: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "epermit_credentials_issued_total", Help: "Credentials issued to wallets."}, []string{"authority"}),
		status: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "epermit_permit_status_changes_total", Help: "Permits revoked, suspended or reinstated."}, []string{"authority", "action"}),
		proofsFailed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "epermit_proof_verification_failures_total", Help: "Wallet proofs of possession refused."}, []string{"reason"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "epermit_http_request_duration_seconds", Help: "Latency of HTTP requests by route.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5}}, []string{"method", "route", "code"}),
	}
	for _, c := range []prometheus.Collector{m.issued, m.status, m.proofsFailed, m.latency} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (m *metrics) observe(method, route string, status int, d time.Duration) {
	switch method {
	case "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS":
	default:
		method = "other" // a client's made-up method must not make new series
	}
	m.latency.WithLabelValues(method, route, strconv.Itoa(status)).Observe(d.Seconds())
}

func (m *metrics) handler(reg *prometheus.Registry) http.Handler {
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}
