package client_test

import (
	"context"
	"fmt"
	"log"

	"github.com/cointracker/cointracker/client"
)

// The README's example: a user's incoming transactions, every page.
func ExampleTransactions() {
	ctx, token := context.Background(), "a token: cointracker dev-token --subject user-1"

	c, err := client.New("http://localhost:8000", token) // a token: cointracker dev-token --subject user-1
	if err != nil {
		log.Fatal(err)
	}
	dir := client.ListTransactionsParamsDirectionIncoming
	for tx, err := range client.Transactions(ctx, c, client.ListTransactionsParams{Direction: &dir}) {
		if err != nil {
			log.Fatal(err) // a *client.Problem when the API refused
		}
		fmt.Println(tx.Txid, tx.NetBtc, tx.Status)
	}
}
