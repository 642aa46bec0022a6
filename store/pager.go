package store

// Pager accumulates the records of one page of a query up to its limit
// and its byte cap (Query.MaxBytes; see Page), and notes whether more
// exist. A backend offers it the selected records in date_added order and
// turns it into the Page, with its next token, at the end.
type Pager struct {
	Limit     int // the most records, at least 1
	MaxBytes  int // the byte cap; 0: none
	Records   []Record
	Bytes     int   // what the records count against MaxBytes
	More      bool  // a record was left out: the page is full
	LastAdded int64 // date_added (µs) of the last record
}

// NewPager returns the pager of q's page.
func NewPager(q *Query) *Pager {
	return &Pager{Limit: max(q.Limit, 1), MaxBytes: max(q.MaxBytes, 0)}
}

// Fits reports whether a record counting size bytes has room in the page,
// by count and by bytes (the first record always fits); if not, it notes
// that more exist.
func (p *Pager) Fits(size int) bool {
	if len(p.Records) == p.Limit || p.MaxBytes > 0 && len(p.Records) > 0 && p.Bytes+size > p.MaxBytes {
		p.More = true
		return false
	}
	return true
}

// Add appends r, added at dateAdded (µs) and counting size bytes, without
// checking that it Fits.
func (p *Pager) Add(r Record, dateAdded int64, size int) {
	p.Records = append(p.Records, r)
	p.Bytes += size
	p.LastAdded = dateAdded
}

// Offer adds r if it Fits, and reports whether it did: false means the
// page is full and the scan can stop.
func (p *Pager) Offer(r Record, dateAdded int64, size int) bool {
	if !p.Fits(size) {
		return false
	}
	p.Add(r, dateAdded, size)
	return true
}

// Page returns the page, with the token of the next one (see
// TokenCodec.Next) when more exist.
func (p *Pager) Page(k TokenCodec, kind, collID, objectID string, f *Filter) *Page {
	pg := &Page{Records: p.Records, More: p.More}
	if p.More {
		pg.Next = k.Next(kind, collID, objectID, p.LastAdded, f)
	}
	return pg
}
