package permit

import "testing"

func TestDivisionValid(t *testing.T) {
	t.Parallel()
	valid := []Division{"330106", "110105", "110228", "441900", "429004", "650102", "330100", "540102"}
	for _, d := range valid {
		if !d.Valid() {
			t.Errorf("%q is not valid", d)
		}
	}
	invalid := []Division{"", "33010", "3301066", "330000", "110000", "330006", "000000", "990101", "200101",
		"710101", "810101", "820101", "830000", "33O106", "３３０１０６", "-30106"}
	for _, d := range invalid {
		if d.Valid() {
			t.Errorf("%q is valid", d)
		}
	}
}

func TestDivisionCityProvince(t *testing.T) {
	t.Parallel()
	tests := []struct{ d, city, prov Division }{
		{"330106", "330100", "330000"},
		{"331082", "331000", "330000"},
		{"110105", "110100", "110000"},
		{"bad", "", ""},
	}
	for _, tt := range tests {
		if got := tt.d.City(); got != tt.city {
			t.Errorf("%q.City() = %q, want %q", tt.d, got, tt.city)
		}
		if got := tt.d.Province(); got != tt.prov {
			t.Errorf("%q.Province() = %q, want %q", tt.d, got, tt.prov)
		}
	}
}

func TestSameCity(t *testing.T) {
	t.Parallel()
	tests := []struct {
		a, b Division
		want bool
	}{
		{"330102", "330106", true},  // Shangcheng and Xihu, Hangzhou
		{"330106", "330106", true},  // same district
		{"330106", "330212", false}, // Hangzhou and Ningbo
		{"110105", "330106", false}, // Beijing and Hangzhou
		{"110105", "110228", true},  // Beijing district and a former Beijing county code
		{"500101", "500229", true},  // Chongqing district and county
		{"310101", "310230", true},  // Shanghai
		{"429004", "429005", false}, // Xiantao and Qianjiang, county-level cities ruled by Hubei
		{"429004", "429004", true},
		{"420106", "429004", false}, // Wuhan and Xiantao
		{"330106", "bad", false},
		{"", "", false},
	}
	for _, tt := range tests {
		if got := tt.a.SameCity(tt.b); got != tt.want {
			t.Errorf("%q.SameCity(%q) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
		if got := tt.b.SameCity(tt.a); got != tt.want {
			t.Errorf("%q.SameCity(%q) = %v, want %v (not symmetric)", tt.b, tt.a, got, tt.want)
		}
	}
}

func TestDivisionNames(t *testing.T) {
	t.Parallel()
	tests := []struct {
		d      Division
		zh, en string
		ok     bool
	}{
		{"330106", "杭州市", "Hangzhou", true},
		{"330212", "宁波市", "Ningbo", true},
		{"331102", "丽水市", "Lishui", true},
		{"331082", "台州市", "Taizhou", true},
		{"110105", "北京市", "Beijing", true},
		{"500229", "重庆市", "Chongqing", true},
		{"340104", "合肥市", "Hefei", true},
		{"429004", "仙桃市", "Xiantao", true}, // ruled directly by Hubei
		{"429099", "", "", false},          // valid, but not in the name table
		{"bad", "", "", false},
	}
	for _, tt := range tests {
		zh, en, ok := tt.d.CityName()
		if zh != tt.zh || en != tt.en || ok != tt.ok {
			t.Errorf("%q.CityName() = %q, %q, %v; want %q, %q, %v", tt.d, zh, en, ok, tt.zh, tt.en, tt.ok)
		}
	}
	if !Division("429099").Valid() {
		t.Error("a division missing from the name table must still be valid")
	}
	if zh, en, ok := Division("330106").ProvinceName(); zh != "浙江省" || en != "Zhejiang" || !ok {
		t.Errorf("ProvinceName = %q, %q, %v", zh, en, ok)
	}
	if _, _, ok := Division("810000").ProvinceName(); ok {
		t.Error("ProvinceName of Hong Kong's code should not be ok")
	}
	if len(provinces) != 31 {
		t.Errorf("the table has %d provinces, want 31", len(provinces))
	}
}
