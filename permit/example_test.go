package permit_test

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	"github.com/epermit/epermit/permit"
)

func ExampleValidateCitizenID() {
	fmt.Println(permit.ValidateCitizenID("11010519491231002X"))
	err := permit.ValidateCitizenID("110105194912310020")
	fmt.Println(errors.Is(err, permit.ErrIDChecksum))
	fmt.Println(err)
	// Output:
	// <nil>
	// true
	// permit: citizen id "110105********0020": citizen id check character does not match
}

func ExampleMaskID() {
	fmt.Println(permit.MaskID("11010519491231002X"))
	fmt.Println(permit.MaskID("not a number at all"))
	// Output:
	// 110105********002X
	// **************
}

func ExampleDecide() {
	a := permit.Application{
		Name:              "李明",
		Sex:               permit.SexMale,
		Ethnicity:         "01",
		BirthDate:         permit.Date{Year: 1992, Month: time.August, Day: 14},
		CitizenID:         "110105199208140517",
		HouseholdAddress:  "北京市朝阳区示例路 12 号",
		HouseholdDivision: "110105",
		ResidenceAddress:  "浙江省杭州市西湖区示例街 88 号",
		ResidenceDivision: "330106",
		ResidenceSince:    permit.Date{Year: 2026, Month: time.May, Day: 28},
	}
	today := permit.Date{Year: 2026, Month: time.November, Day: 27}
	d := permit.Decide(a, today)
	fmt.Println(d.Eligible)
	for _, c := range d.Unmet {
		fmt.Println(c.Code, "|", c.ZH)
	}
	// Output:
	// false
	// residence_under_six_months | 未满足：在居住地居住满半年（第二条）
	// no_basis | 未满足：有合法稳定就业、合法稳定住所、连续就读条件之一，并提供证明材料（第二条）
}

func ExamplePermit_Endorse() {
	a := permit.Application{
		Name:              "李明",
		Sex:               permit.SexMale,
		Ethnicity:         "01",
		BirthDate:         permit.Date{Year: 1992, Month: time.August, Day: 14},
		CitizenID:         "110105199208140517",
		HouseholdAddress:  "北京市朝阳区示例路 12 号",
		HouseholdDivision: "110105",
		ResidenceAddress:  "浙江省杭州市西湖区示例街 88 号",
		ResidenceDivision: "330106",
		ResidenceSince:    permit.Date{Year: 2024, Month: time.March, Day: 15},
		Basis:             []permit.BasisClaim{{Kind: permit.BasisEmployment, Evidence: "labour contract HZ-1"}},
	}
	issued := permit.Date{Year: 2026, Month: time.November, Day: 27}
	number, _ := permit.NewNumber(a.ResidenceDivision, issued.Year, bytes.NewReader([]byte{0x26, 0x7b, 0x8a, 0x9d}))
	p, err := permit.NewPermit(a, number, "杭州市公安局西湖区分局", issued)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(p.Number, p.ValidUntil, p.WindowOpens())

	_, err = p.Endorse(permit.Date{Year: 2027, Month: time.October, Day: 1})
	fmt.Println(err)

	late := permit.Date{Year: 2028, Month: time.January, Day: 5}
	fmt.Println(p.State(late))
	p, _ = p.Endorse(late)
	fmt.Println(p.State(late), p.ValidUntil, p.ResidenceSince)
	// Output:
	// 33010626K7Q2MX 2027-11-27 2027-10-27
	// permit: endorse on 2027-10-01: the window opens on 2027-10-27, in 26 days: endorsement window is not open yet
	// overdue
	// valid 2029-01-05 2028-01-05
}
