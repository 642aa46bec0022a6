package client_test

import (
	"context"
	"fmt"
	"log"
	"net/http"

	"github.com/eitaxii/eitaxii/client"
)

// Poll a collection from the start, page by page, and tell a refusal by
// the server from a failure to reach it.
func Example() {
	ctx := context.Background()
	c, err := client.New("https://taxii.example.org", client.Options{Token: "eit_..."})
	if err != nil {
		log.Fatal(err)
	}
	f := client.Filter{Limit: 100}
	for {
		page, err := c.Objects(ctx, "officials", "3f0b8c5e-2d1a-4e7b-9c6f-8a1d2e3f4a5b", f)
		if client.StatusOf(err) == http.StatusUnauthorized {
			log.Fatal("the token was revoked")
		}
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(len(page.Objects), "objects up to", page.DateAddedLast)
		if !page.More {
			break
		}
		f.Next = page.Next
	}
}
