package permit

import "testing"

func TestDivisionName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		d      Division
		zh, en string
	}{
		{"330106", "浙江省杭州市西湖区", "Xihu District, Hangzhou, Zhejiang"},
		{"330114", "浙江省杭州市钱塘区", "Qiantang District, Hangzhou, Zhejiang"}, // created 2021
		{"330382", "浙江省温州市乐清市", "Yueqing, Wenzhou, Zhejiang"},
		{"331127", "浙江省丽水市景宁畲族自治县", "Jingning She Autonomous County, Lishui, Zhejiang"},
		{"330100", "浙江省杭州市", "Hangzhou, Zhejiang"},
		{"340100", "安徽省合肥市", "Hefei, Anhui"},
		{"222400", "吉林省延边朝鲜族自治州", "Yanbian Korean Autonomous Prefecture, Jilin"},
		{"429004", "湖北省仙桃市", "Xiantao, Hubei"}, // ruled directly by the province
		{"110000", "110000", "110000"},         // a province alone is no division (see Valid)
		{"110100", "北京市", "Beijing"},
		{"110105", "北京市 110105", "Beijing (110105)"},
		// Not in the table: as far as known, then the code.
		{"340104", "安徽省合肥市 340104", "Hefei, Anhui (340104)"},
		{"330104", "浙江省杭州市 330104", "Hangzhou, Zhejiang (330104)"}, // abolished in 2021
		{"139999", "河北省 139999", "Hebei (139999)"},
		{"429099", "湖北省 429099", "Hubei (429099)"},
		{"bad", "bad", "bad"},
		{"", "", ""},
	}
	for _, tt := range tests {
		zh, en := tt.d.Name()
		if zh != tt.zh || en != tt.en {
			t.Errorf("%q.Name() = %q, %q; want %q, %q", tt.d, zh, en, tt.zh, tt.en)
		}
	}
}

func TestDivisionNamesTable(t *testing.T) {
	t.Parallel()
	zhejiang, cities := 0, 0
	for d, n := range divisionNames {
		if !d.Valid() || n.zh == "" || n.en == "" {
			t.Errorf("entry %q = %q is not a named valid division", d, n)
		}
		if d[:2] == "33" && d[4:] != "00" {
			zhejiang++
		}
		if d[4:] == "00" {
			cities++
		}
	}
	// 90 county-level divisions in Zhejiang, 333 prefecture-level cities (2023).
	if zhejiang != 90 || cities != 333 {
		t.Errorf("table has %d Zhejiang counties and %d cities, want 90 and 333", zhejiang, cities)
	}
	all := DivisionNames()
	if got := all["330000"]; got != [2]string{"浙江省", "Zhejiang"} {
		t.Errorf("DivisionNames()[330000] = %q", got)
	}
	if got := all["330106"]; got != [2]string{"浙江省杭州市西湖区", "Xihu District, Hangzhou, Zhejiang"} {
		t.Errorf("DivisionNames()[330106] = %q", got)
	}
	if len(all) != len(divisionNames)+31 {
		t.Errorf("DivisionNames has %d entries, want %d", len(all), len(divisionNames)+31)
	}
}
