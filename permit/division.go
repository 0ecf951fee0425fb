package permit

// Division is a six-digit administrative division code of GB/T 2260 (行政区划代码), such as "330106" for
// Xihu District, Hangzhou. Digits 1-2 name the province, 3-4 the prefecture-level city, 5-6 the county-level
// division.
//
// [Division.Valid] is a shape check, not a look-up in the full GB/T 2260 list, which changes every year: a code
// is valid when it is six ASCII digits, its first two digits are one of the 31 mainland provinces, and digits
// 3-4 are not "00" (a province code alone never locates a household or a residence). Codes 71 (Taiwan),
// 81 (Hong Kong) and 82 (Macao) are refused: their residents hold no mainland household registration, and their
// identity numbers (address codes 810000, 820000, 830000) belong to the separate Residence Permit for Hong Kong,
// Macao and Taiwan Residents, which these Regulations do not govern.
type Division string

// province is one entry of the GB/T 2260 list of mainland provincial-level divisions.
type province struct{ zh, en string }

// provinces holds the 31 mainland provincial-level divisions of GB/T 2260, keyed by their two-digit code.
var provinces = map[string]province{
	"11": {"北京市", "Beijing"},
	"12": {"天津市", "Tianjin"},
	"13": {"河北省", "Hebei"},
	"14": {"山西省", "Shanxi"},
	"15": {"内蒙古自治区", "Inner Mongolia"},
	"21": {"辽宁省", "Liaoning"},
	"22": {"吉林省", "Jilin"},
	"23": {"黑龙江省", "Heilongjiang"},
	"31": {"上海市", "Shanghai"},
	"32": {"江苏省", "Jiangsu"},
	"33": {"浙江省", "Zhejiang"},
	"34": {"安徽省", "Anhui"},
	"35": {"福建省", "Fujian"},
	"36": {"江西省", "Jiangxi"},
	"37": {"山东省", "Shandong"},
	"41": {"河南省", "Henan"},
	"42": {"湖北省", "Hubei"},
	"43": {"湖南省", "Hunan"},
	"44": {"广东省", "Guangdong"},
	"45": {"广西壮族自治区", "Guangxi"},
	"46": {"海南省", "Hainan"},
	"50": {"重庆市", "Chongqing"},
	"51": {"四川省", "Sichuan"},
	"52": {"贵州省", "Guizhou"},
	"53": {"云南省", "Yunnan"},
	"54": {"西藏自治区", "Xizang"},
	"61": {"陕西省", "Shaanxi"},
	"62": {"甘肃省", "Gansu"},
	"63": {"青海省", "Qinghai"},
	"64": {"宁夏回族自治区", "Ningxia"},
	"65": {"新疆维吾尔自治区", "Xinjiang"},
}

// municipalities are the four provincial-level cities (直辖市): each is one city whatever its district codes.
var municipalities = map[string]bool{"11": true, "12": true, "31": true, "50": true}

// Valid reports whether d has the shape of a mainland division code (see [Division]).
func (d Division) Valid() bool { return validDivision(string(d)) }

func validDivision(s string) bool {
	if len(s) != 6 {
		return false
	}
	for i := 0; i < 6; i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	if _, ok := provinces[s[:2]]; !ok {
		return false
	}
	return s[2:4] != "00"
}

// String returns the code itself.
func (d Division) String() string { return string(d) }

// City returns the prefecture-level code of d: its first four digits followed by "00" (330106 -> 330100).
// It returns "" when d is not [Division.Valid]. To decide whether two divisions lie in one city, use
// [Division.SameCity], which also knows the municipalities and the county-level cities ruled directly by a
// province.
func (d Division) City() Division {
	if !d.Valid() {
		return ""
	}
	return d[:4] + "00"
}

// Province returns the provincial-level code of d: its first two digits followed by "0000" (330106 -> 330000).
// It returns "" when d is not [Division.Valid].
func (d Division) Province() Division {
	if !d.Valid() {
		return ""
	}
	return d[:2] + "0000"
}

// SameCity reports whether d and o lie in the same city, the unit of Art. 2 ("到其他城市居住"). Both must be
// valid. Two divisions are in one city when their [Division.City] codes are equal, except that
//   - all divisions of a municipality (Beijing 11, Tianjin 12, Shanghai 31, Chongqing 50) are one city, including
//     their former or remaining county codes (such as 1102xx and 5002xx);
//   - a county-level division ruled directly by its province (digits 3-4 "90", such as 429004 Xiantao) is a city
//     of its own.
func (d Division) SameCity(o Division) bool {
	if !d.Valid() || !o.Valid() {
		return false
	}
	if d[:2] != o[:2] {
		return false
	}
	if municipalities[string(d[:2])] {
		return true
	}
	if d[2:4] == "90" || o[2:4] == "90" {
		return d == o
	}
	return d[:4] == o[:4]
}

// ProvinceName returns the Chinese and English names of d's province, and false when d is not [Division.Valid].
func (d Division) ProvinceName() (zh, en string, ok bool) {
	if !d.Valid() {
		return "", "", false
	}
	p := provinces[string(d[:2])]
	return p.zh, p.en, true
}

// CityName returns the Chinese and English names of d's city when this package knows them (see [Division.Name]):
// every prefecture-level city, the county-level divisions ruled directly by a province, and the four
// municipalities. Other valid codes are still valid; ok is then false.
func (d Division) CityName() (zh, en string, ok bool) {
	if !d.Valid() {
		return "", "", false
	}
	if municipalities[string(d[:2])] {
		p := provinces[string(d[:2])]
		return p.zh, p.en, true
	}
	if d[2:4] == "90" {
		c, found := divisionNames[d]
		return c.zh, c.en, found
	}
	if c, found := divisionNames[d.City()]; found {
		return c.zh, c.en, true
	}
	return "", "", false
}
