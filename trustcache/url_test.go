package trustcache

import "testing"

func TestCheckURL(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		url string
		ok  bool
	}{
		{"https://ep.zjga.gov.cn", true},
		{"https://ep.zjga.gov.cn/status/zj-1", true},
		{"http://127.0.0.1:8080", true},
		{"http://localhost:8080/trust-list", true},
		{"http://[::1]:8080", true},
		{"http://ep.zjga.gov.cn", false},
		{"http://10.0.0.5:8080", false},
		{"ftp://ep.zjga.gov.cn", false},
		{"file:///etc/passwd", false},
		{"https://", false},
		{"::", false},
	} {
		if err := checkURL(tc.url); (err == nil) != tc.ok {
			t.Errorf("checkURL(%q) = %v, want ok=%v", tc.url, err, tc.ok)
		}
	}
}
