//go:build amd64 && !purego

package cpu

// sumWords512 and sumWords256 are in sumwords_amd64.s.
//
//go:noescape
func sumWords512(p *uint64, n int) uint64

//go:noescape
func sumWords256(p *uint64, n int) uint64

// sumWordsVector sums the longest prefix of w the widest vector loop takes, returning the
// sum and the words it covered.
func sumWordsVector(w []uint64) (uint64, int) {
	switch simdBest() {
	case simdAVX512:
		if n := len(w) &^ 31; n > 0 {
			return sumWords512(&w[0], n), n
		}
	case simdAVX2:
		if n := len(w) &^ 15; n > 0 {
			return sumWords256(&w[0], n), n
		}
	}
	return 0, 0
}
