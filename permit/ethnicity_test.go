package permit

import (
	"fmt"
	"strings"
	"testing"
)

// gbt3304Order is the GB/T 3304-1991 order of the 56 groups, written independently of the table under test.
const gbt3304Order = "汉 蒙古 回 藏 维吾尔 苗 彝 壮 布依 朝鲜 满 侗 瑶 白 土家 哈尼 哈萨克 傣 黎 傈僳 佤 畲 高山 拉祜 水 东乡 纳西 " +
	"景颇 柯尔克孜 土 达斡尔 仫佬 羌 布朗 撒拉 毛南 仡佬 锡伯 阿昌 普米 塔吉克 怒 乌孜别克 俄罗斯 鄂温克 德昂 保安 裕固 京 " +
	"塔塔尔 独龙 鄂伦春 赫哲 门巴 珞巴 基诺"

func TestEthnicityTable(t *testing.T) {
	t.Parallel()
	order := strings.Fields(gbt3304Order)
	if len(order) != 56 {
		t.Fatalf("reference order has %d names", len(order))
	}
	seenZH, seenEN := map[string]bool{}, map[string]bool{}
	for i, name := range order {
		code := fmt.Sprintf("%02d", i+1)
		zh, en, ok := EthnicityName(code)
		if !ok {
			t.Fatalf("EthnicityName(%q) not ok", code)
		}
		if zh != name+"族" {
			t.Errorf("EthnicityName(%q) = %q, want %q", code, zh, name+"族")
		}
		if en == "" || seenEN[en] || seenZH[zh] {
			t.Errorf("code %s: empty or duplicate name %q / %q", code, zh, en)
		}
		seenZH[zh], seenEN[en] = true, true
	}
}

func TestEthnicityName(t *testing.T) {
	t.Parallel()
	tests := []struct{ code, zh, en string }{
		{"01", "汉族", "Han"},
		{"04", "藏族", "Zang"},
		{"05", "维吾尔族", "Uygur"},
		{"10", "朝鲜族", "Chosen"},
		{"29", "柯尔克孜族", "Kirgiz"},
		{"56", "基诺族", "Jino"},
	}
	for _, tt := range tests {
		if zh, en, ok := EthnicityName(tt.code); zh != tt.zh || en != tt.en || !ok {
			t.Errorf("EthnicityName(%q) = %q, %q, %v", tt.code, zh, en, ok)
		}
	}
	for _, bad := range []string{"", "00", "57", "97", "1", "001", "ab", "-1", "１"} {
		if _, _, ok := EthnicityName(bad); ok {
			t.Errorf("EthnicityName(%q) ok", bad)
		}
	}
}
