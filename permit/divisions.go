package permit

//go:generate go run ./internal/gendivisions -modood ${EPERMIT_MODOOD_DIST} -khaeru ${EPERMIT_KHAERU_UNIFIED} -o divisions_gen.go

// Name returns the place d names, in Chinese from the province down
// (浙江省杭州市西湖区) and in English from the division up (Xihu District,
// Hangzhou, Zhejiang), for display.
//
// The names come from a table generated from the National Bureau of
// Statistics' 2023 list of division codes (see internal/gendivisions): the
// provinces, every prefecture-level city of the mainland, the county-level
// divisions of Zhejiang and those ruled directly by a province. A code the
// table does not name in full is shown as far as it is known, followed by
// the code itself (湖北省武汉市 420106; 北京市 110105); a code that is not
// [Division.Valid] is returned as it is, in both languages.
func (d Division) Name() (zh, en string) {
	if !d.Valid() {
		return string(d), string(d)
	}
	p := provinces[string(d[:2])]
	zh, en = p.zh, p.en
	county, full := divisionNames[d]
	city, hasCity := divisionNames[d.City()]
	switch {
	case full && d[2:4] == "90":
		// A county-level division ruled directly by its province.
		return zh + county.zh, county.en + ", " + en
	case municipalities[string(d[:2])]:
		// The city is the province: 北京市.
		if d[4:] == "00" {
			return zh, en
		}
	case hasCity:
		zh, en = zh+city.zh, city.en+", "+en
	}
	switch {
	case full && d[4:] != "00":
		return zh + county.zh, county.en + ", " + en
	case d[4:] == "00" && hasCity:
		return zh, en
	}
	return zh + " " + string(d), en + " (" + string(d) + ")"
}

// DivisionNames returns the full names of every division the name table
// knows (see [Division.Name]) and of the provinces, keyed by code, for
// pages that show places without this package.
func DivisionNames() map[Division][2]string {
	out := make(map[Division][2]string, len(divisionNames)+len(provinces))
	for code, p := range provinces {
		out[Division(code+"0000")] = [2]string{p.zh, p.en}
	}
	for d := range divisionNames {
		zh, en := d.Name()
		out[d] = [2]string{zh, en}
	}
	return out
}
