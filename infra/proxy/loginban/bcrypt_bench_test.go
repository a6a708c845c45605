package loginban

import (
	"fmt"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// BenchmarkBcryptWrongPassword is what one wrong password costs the proxy
// at each bcrypt cost (Caddy's basic_auth compares with the same package):
// the figure behind stacks.ProxyBcryptCost. Run:
//
//	go test -run '^$' -bench BcryptWrongPassword -benchtime 3x ./infra/proxy/loginban
func BenchmarkBcryptWrongPassword(b *testing.B) {
	for _, cost := range []int{8, 10, 12, 14} {
		hash, err := bcrypt.GenerateFromPassword([]byte("the-right-password-of-32-chars!!"), cost)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprint("cost=", cost), func(b *testing.B) {
			for b.Loop() {
				if bcrypt.CompareHashAndPassword(hash, []byte("a-wrong-guess")) == nil {
					b.Fatal("a wrong password matched")
				}
			}
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/guess")
		})
	}
}
