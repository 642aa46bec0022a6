package store

import "testing"

// Ensure that a Pager stops at the limit and at the byte cap (the first
// record always fitting), and that only a full page has a next token,
// which resolves after its last record.
func TestPager(t *testing.T) {
	rec := Record{ID: "indicator--1"}
	p := NewPager(&Query{Limit: 2})
	if !p.Offer(rec, 1, 100) || !p.Offer(rec, 2, 100) || p.Offer(rec, 3, 1) {
		t.Fatal("the limit of 2 misapplied")
	}
	pg := p.Page(testCodec, KindObjects, "c", "", &Filter{})
	if len(pg.Records) != 2 || !pg.More || pg.Next == "" {
		t.Fatalf("page %+v", pg)
	}
	if _, after, err := testCodec.Resolve(KindObjects, "c", "", &Query{Next: pg.Next}); err != nil || after != 2 {
		t.Errorf("next token: after %d, %v; want 2", after, err)
	}

	p = NewPager(&Query{Limit: 10, MaxBytes: 150})
	if !p.Offer(rec, 1, 200) {
		t.Error("the first record did not fit")
	}
	if p.Offer(rec, 2, 1) || !p.More {
		t.Error("the byte cap misapplied")
	}
	p = NewPager(&Query{Limit: 10, MaxBytes: 150})
	if !p.Offer(rec, 1, 100) || !p.Offer(rec, 2, 50) || p.Offer(rec, 3, 1) {
		t.Error("the byte cap of 150 misapplied")
	}

	p = NewPager(&Query{}) // limit 0: at least one
	if !p.Offer(rec, 1, 1) || p.Offer(rec, 2, 1) {
		t.Error("a limit of 0 is not 1")
	}
	p = NewPager(&Query{Limit: 5})
	p.Offer(rec, 1, 1)
	if pg := p.Page(testCodec, KindObjects, "c", "", &Filter{}); pg.More || pg.Next != "" {
		t.Errorf("a last page has a next token: %+v", pg)
	}
}
