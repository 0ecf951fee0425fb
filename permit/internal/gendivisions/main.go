// Command gendivisions writes permit/divisions_gen.go, the table of GB/T 2260
// division names that permit.Division.Name uses, from two public datasets:
//
//   - the codes and Chinese names: modood/Administrative-divisions-of-China
//     at commit 57a0aa9cef47169a2eb74cf057b0245052a34e8c, files
//     dist/provinces.csv, dist/cities.csv and dist/areas.csv, which hold the
//     National Bureau of Statistics' 2023 statistical division codes
//     (2023年统计用区划代码, as of 2023-06-30, published 2023-09-11);
//   - English names where it has a plain one: khaeru/gb2260 at commit
//     d7c94b9828040657a2c51cdc2f1709ef1492010a, gb2260/data/unified.csv
//     (column name_en); the names it lacks or renders as raw pinyin are
//     written below, in the English forms in common official use.
//
// The table keeps every prefecture-level city of the mainland, every
// county-level division of Zhejiang, and the county-level divisions ruled
// directly by a province (codes xx90xx), which are cities of their own. The
// provinces' names are in permit/division.go.
//
// Usage (from the permit directory, as go generate runs it):
//
//	go run ./internal/gendivisions -modood DIR -khaeru FILE -o divisions_gen.go
//
// where DIR holds the three CSV files of the first dataset and FILE is the
// second's unified.csv.
package main

import (
	"bytes"
	"encoding/csv"
	"flag"
	"fmt"
	"go/format"
	"io"
	"log"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// english holds the English names that the second dataset lacks, has in a
// raw form (untranslated ethnic names, pinyin with a suffix) or predates.
var english = map[string]string{
	// Prefecture level.
	"150700": "Hulunbuir", "150800": "Bayannur", "150900": "Ulanqab",
	"141100": "Lüliang",
	"152200": "Hinggan League", "152500": "Xilingol League", "152900": "Alxa League",
	"222400": "Yanbian Korean Autonomous Prefecture",
	"232700": "Da Hinggan Ling Prefecture",
	"320500": "Suzhou",
	"422800": "Enshi Tujia and Miao Autonomous Prefecture",
	"433100": "Xiangxi Tujia and Miao Autonomous Prefecture",
	"460300": "Sansha", "460400": "Danzhou",
	"513200": "Ngawa Tibetan and Qiang Autonomous Prefecture",
	"513300": "Garzê Tibetan Autonomous Prefecture",
	"513400": "Liangshan Yi Autonomous Prefecture",
	"522300": "Qianxinan Buyei and Miao Autonomous Prefecture",
	"522600": "Qiandongnan Miao and Dong Autonomous Prefecture",
	"522700": "Qiannan Buyei and Miao Autonomous Prefecture",
	"532300": "Chuxiong Yi Autonomous Prefecture",
	"532500": "Honghe Hani and Yi Autonomous Prefecture",
	"532600": "Wenshan Zhuang and Miao Autonomous Prefecture",
	"532800": "Xishuangbanna Dai Autonomous Prefecture",
	"532900": "Dali Bai Autonomous Prefecture",
	"533100": "Dehong Dai and Jingpo Autonomous Prefecture",
	"533300": "Nujiang Lisu Autonomous Prefecture",
	"533400": "Dêqên Tibetan Autonomous Prefecture",
	"540200": "Shigatse", "540300": "Chamdo", "540400": "Nyingchi", "540500": "Shannan", "540600": "Nagqu",
	"542500": "Ngari Prefecture",
	"622900": "Linxia Hui Autonomous Prefecture",
	"623000": "Gannan Tibetan Autonomous Prefecture",
	"632200": "Haibei Tibetan Autonomous Prefecture",
	"632300": "Huangnan Tibetan Autonomous Prefecture",
	"632500": "Hainan Tibetan Autonomous Prefecture",
	"632600": "Golog Tibetan Autonomous Prefecture",
	"632700": "Yushu Tibetan Autonomous Prefecture",
	"632800": "Haixi Mongol and Tibetan Autonomous Prefecture",
	"650400": "Turpan", "650500": "Hami",
	"652300": "Changji Hui Autonomous Prefecture",
	"652700": "Bortala Mongol Autonomous Prefecture",
	"652800": "Bayingolin Mongol Autonomous Prefecture",
	"652900": "Aksu Prefecture",
	"653000": "Kizilsu Kirghiz Autonomous Prefecture",
	"653100": "Kashgar Prefecture",
	"653200": "Hotan Prefecture",
	"654000": "Ili Kazakh Autonomous Prefecture",
	"654200": "Tacheng Prefecture",
	"654300": "Altay Prefecture",

	// Zhejiang's county level.
	"330108": "Binjiang District", "330109": "Xiaoshan District", "330110": "Yuhang District",
	"330111": "Fuyang District", "330112": "Lin'an District", "330113": "Linping District",
	"330114": "Qiantang District", "330212": "Yinzhou District", "330213": "Fenghua District",
	"330226": "Ninghai County", "330305": "Dongtou District", "330382": "Yueqing", "330383": "Longgang",
	"330402": "Nanhu District", "330411": "Xiuzhou District", "330481": "Haining", "330483": "Tongxiang",
	"330502": "Wuxing District", "330503": "Nanxun District", "330603": "Keqiao District",
	"330604": "Shangyu District", "330683": "Shengzhou", "330703": "Jindong District",
	"330803": "Qujiang District", "331022": "Sanmen County", "331023": "Tiantai County",
	"331024": "Xianju County", "331081": "Wenling", "331082": "Linhai", "331083": "Yuhuan",
	"331102": "Liandu District", "331121": "Qingtian County", "331122": "Jinyun County",
	"331123": "Suichang County", "331124": "Songyang County", "331125": "Yunhe County",
	"331126": "Qingyuan County", "331127": "Jingning She Autonomous County", "331181": "Longquan",

	// County level ruled directly by a province.
	"419001": "Jiyuan", "429004": "Xiantao", "429005": "Qianjiang", "429006": "Tianmen",
	"429021": "Shennongjia Forestry District",
	"469001": "Wuzhishan", "469002": "Qionghai", "469005": "Wenchang", "469006": "Wanning", "469007": "Dongfang",
	"469021": "Ding'an County", "469022": "Tunchang County", "469023": "Chengmai County", "469024": "Lingao County",
	"469025": "Baisha Li Autonomous County", "469026": "Changjiang Li Autonomous County",
	"469027": "Ledong Li Autonomous County", "469028": "Lingshui Li Autonomous County",
	"469029": "Baoting Li and Miao Autonomous County", "469030": "Qiongzhong Li and Miao Autonomous County",
	"659002": "Aral", "659003": "Tumxuk", "659004": "Wujiaqu", "659005": "Beitun", "659006": "Tiemenguan",
	"659007": "Shuanghe", "659008": "Kokdala", "659009": "Kunyu", "659010": "Huyanghe", "659011": "Xinxing",
	"659012": "Baiyang",
}

// plain is an English name in the second dataset that needs no review: one
// romanized word.
var plain = regexp.MustCompile(`^[A-Z][a-z']+$`)

type entry struct{ code, zh, en string }

func main() {
	modood := flag.String("modood", "", "directory with provinces.csv, cities.csv and areas.csv of modood/Administrative-divisions-of-China")
	khaeru := flag.String("khaeru", "", "unified.csv of khaeru/gb2260")
	out := flag.String("o", "divisions_gen.go", "output file")
	flag.Parse()
	if *modood == "" || *khaeru == "" {
		log.Fatal("gendivisions: -modood and -khaeru are required (see the command's doc comment)")
	}
	en := map[string]string{}
	zhOld := map[string]string{}
	for _, r := range readCSV(*khaeru) {
		zhOld[r["code"]], en[r["code"]] = r["name_zh"], r["name_en"]
	}
	var entries []entry
	add := func(code, zh string, county bool) {
		name, ok := english[code]
		if !ok {
			if zhOld[code] != zh || !plain.MatchString(en[code]) {
				log.Fatalf("gendivisions: no English name for %s %s: add it to the table", code, zh)
			}
			name = en[code] + suffix(zh, county)
		}
		entries = append(entries, entry{code, zh, name})
	}
	for _, r := range readCSV(filepath.Join(*modood, "cities.csv")) {
		code, zh := r["code"], r["name"]
		if len(code) != 4 {
			log.Fatalf("gendivisions: city code %q", code)
		}
		// The municipalities' "市辖区" and "县", and the provinces' "省直辖县级行政区划", are groupings, not cities.
		if zh == "市辖区" || zh == "县" || strings.HasSuffix(zh, "直辖县级行政区划") {
			continue
		}
		add(code+"00", zh, false)
	}
	for _, r := range readCSV(filepath.Join(*modood, "areas.csv")) {
		code, zh := r["code"], r["name"]
		if len(code) != 6 {
			log.Fatalf("gendivisions: county code %q", code)
		}
		if r["provinceCode"] == "33" || code[2:4] == "90" {
			add(code, zh, true)
		}
	}
	if n := len(readCSV(filepath.Join(*modood, "provinces.csv"))); n != 31 {
		log.Fatalf("gendivisions: %d provinces, want 31", n)
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].code < entries[j].code })

	var b bytes.Buffer
	fmt.Fprintf(&b, "// Code generated by permit/internal/gendivisions; DO NOT EDIT.\n\n")
	fmt.Fprintf(&b, "package permit\n\n")
	fmt.Fprintf(&b, "// divisionNames names %d divisions of GB/T 2260: every prefecture-level city of the mainland, the\n", len(entries))
	fmt.Fprintf(&b, "// county-level divisions of Zhejiang and those ruled directly by a province. Source: the National Bureau of\n")
	fmt.Fprintf(&b, "// Statistics' 2023 division codes (as of 2023-06-30) from modood/Administrative-divisions-of-China at\n")
	fmt.Fprintf(&b, "// 57a0aa9c; English names from khaeru/gb2260 at d7c94b98 and the generator's table.\n")
	fmt.Fprintf(&b, "var divisionNames = map[Division]province{\n")
	for _, e := range entries {
		fmt.Fprintf(&b, "\t%q: {%q, %q},\n", e.code, e.zh, e.en)
	}
	fmt.Fprintf(&b, "}\n")
	src, err := format.Source(b.Bytes())
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(*out, src, 0o644); err != nil {
		log.Fatal(err)
	}
}

// suffix is the English word for the kind of a county-level division, from
// its Chinese name; a county-level city (市) and a prefecture-level city
// take none.
func suffix(zh string, county bool) string {
	if !county {
		return ""
	}
	switch {
	case strings.HasSuffix(zh, "区"):
		return " District"
	case strings.HasSuffix(zh, "县"):
		return " County"
	}
	return ""
}

func readCSV(path string) []map[string]string {
	f, err := os.Open(path)
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	head, err := r.Read()
	if err != nil {
		log.Fatalf("gendivisions: %s: %v", path, err)
	}
	var rows []map[string]string
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return rows
		}
		if err != nil {
			log.Fatalf("gendivisions: %s: %v", path, err)
		}
		m := map[string]string{}
		for i, h := range head {
			m[h] = strings.TrimSpace(rec[i])
		}
		rows = append(rows, m)
	}
}
