package statuslist_test

import (
	"fmt"

	"github.com/epermit/epermit/statuslist"
)

func Example() {
	l, err := statuslist.New(2, 12)
	if err != nil {
		panic(err)
	}
	for i, s := range []statuslist.Status{1, 2, 0, 3, 0, 1, 0, 1, 1, 2, 3, 3} {
		if err := l.Set(i, s); err != nil {
			panic(err)
		}
	}
	fmt.Printf("bytes %x\n", l.Bytes())
	e, err := l.Encode()
	if err != nil {
		panic(err)
	}
	d, err := statuslist.Decode(e, statuslist.DefaultSize)
	if err != nil {
		panic(err)
	}
	s, _ := d.Get(1)
	fmt.Println(e.Bits, d.Size(), s)
	fmt.Println(l.Set(0, 4))
	// Output:
	// bytes c944f9
	// 2 12 SUSPENDED
	// statuslist: set status 4 in a 2-bit list: status does not fit in bits per entry
}

func ExampleAllocator() {
	a, err := statuslist.NewAllocator(statuslist.DefaultSize, nil)
	if err != nil {
		panic(err)
	}
	idx, err := a.Allocate()
	if err != nil {
		panic(err)
	}
	// Issuing the permit failed part-way: give the index back.
	if err := a.Release(idx); err != nil {
		panic(err)
	}
	fmt.Println(a.Used())
	// Output: 0
}
