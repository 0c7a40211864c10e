package sample

import (
	"math"
	"slices"
	"testing"
)

func TestArgmax(t *testing.T) {
	nan := float32(math.NaN())
	tests := []struct {
		name string
		in   []float32
		want int
	}{
		{"single", []float32{3}, 0},
		{"max in middle", []float32{1, 5, 2}, 1},
		{"tie takes lowest index", []float32{1, 7, 3, 7}, 1},
		{"negative", []float32{-3, -1, -2}, 1},
		{"leading NaN skipped", []float32{nan, 2, 1}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Argmax(tt.in); got != tt.want {
				t.Errorf("Argmax(%v) = %d, want %d", tt.in, got, tt.want)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		p    Params
		ok   bool
	}{
		{"greedy", Params{}, true},
		{"demo settings", Params{Temperature: 0.1, TopP: 0.95, TopK: 50}, true},
		{"negative temperature", Params{Temperature: -1}, false},
		{"NaN temperature", Params{Temperature: math.NaN()}, false},
		{"negative top-k", Params{Temperature: 1, TopK: -2}, false},
		{"top-p above 1", Params{Temperature: 1, TopP: 1.5}, false},
		{"negative penalty", Params{RepetitionPenalty: -1}, false},
		{"infinite temperature", Params{Temperature: math.Inf(1)}, false},
		{"NaN top-p", Params{Temperature: 1, TopP: math.NaN()}, false},
		{"negative top-p", Params{Temperature: 1, TopP: -0.1}, false},
		{"top-p one", Params{Temperature: 1, TopP: 1}, true},
		{"NaN penalty", Params{RepetitionPenalty: math.NaN()}, false},
		{"infinite penalty", Params{RepetitionPenalty: math.Inf(1)}, false},
		{"penalty below one", Params{RepetitionPenalty: 0.5}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.p.Validate()
			if (err == nil) != tt.ok {
				t.Errorf("Validate(%+v) = %v, want ok=%v", tt.p, err, tt.ok)
			}
			if _, err := New(tt.p, 1); (err == nil) != tt.ok {
				t.Errorf("New(%+v) = %v, want ok=%v", tt.p, err, tt.ok)
			}
		})
	}
}

func TestGreedy(t *testing.T) {
	tests := []struct {
		name     string
		logits   []float32
		previous []int32
		penalty  float64
		want     int32
	}{
		{"plain argmax", []float32{0.1, 2, 1.9}, nil, 0, 1},
		{"tie lowest index", []float32{4, 1, 4}, nil, 1, 0},
		// 2/2 = 1 < 1.9: the penalised token loses.
		{"positive logit divided", []float32{0.1, 2, 1.9}, []int32{1}, 2, 2},
		// -1*2 = -2 < -1.5: a negative logit is multiplied, so it also loses.
		{"negative logit multiplied", []float32{-1, -1.5, -3}, []int32{0}, 2, 1},
		// Repeats are penalised once: 8/2 = 4 > 3.
		{"duplicates penalised once", []float32{8, 3}, []int32{0, 0, 0}, 2, 0},
		{"penalty below one favours repeats", []float32{1, 1.5}, []int32{0}, 0.5, 0},
		{"out-of-range history ignored", []float32{1, 2}, []int32{-1, 7}, 2, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := New(Params{RepetitionPenalty: tt.penalty}, 42)
			if err != nil {
				t.Fatal(err)
			}
			orig := slices.Clone(tt.logits)
			if got := s.Next(tt.logits, tt.previous); got != tt.want {
				t.Errorf("Next = %d, want %d", got, tt.want)
			}
			if !slices.Equal(orig, tt.logits) {
				t.Errorf("Next modified its input: %v -> %v", orig, tt.logits)
			}
		})
	}
}

// all returns the candidate list of every token of scores.
func all(scores []float32) []int32 {
	out := make([]int32, len(scores))
	for i := range out {
		out[i] = int32(i)
	}
	return out
}

func TestTopK(t *testing.T) {
	tests := []struct {
		name string
		in   []float32
		k    int
		want []int32
	}{
		{"keep two", []float32{1, 4, 2, 3}, 2, []int32{1, 3}},
		{"ties with the k-th survive", []float32{1, 3, 3, 2}, 1, []int32{1, 2}},
		{"ties below the k-th go", []float32{5, 1, 1, 4}, 2, []int32{0, 3}},
		{"k of one among equals", []float32{2, 2, 2}, 1, []int32{0, 1, 2}},
		{"negative scores", []float32{-3, -1, -2, -1.5}, 3, []int32{1, 2, 3}},
		{"heap of five over a long row", []float32{9, 0, 8, 1, 7, 2, 6, 3, 5, 4, 5}, 5, []int32{0, 2, 4, 6, 8, 10}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &Sampler{}
			if got := s.topK(tt.in, all(tt.in), tt.k); !slices.Equal(got, tt.want) {
				t.Errorf("topK(%v, %d) kept %v, want %v", tt.in, tt.k, got, tt.want)
			}
		})
	}
}

func logs(p ...float64) []float32 {
	out := make([]float32, len(p))
	for i, v := range p {
		out[i] = float32(math.Log(v))
	}
	return out
}

func TestTopP(t *testing.T) {
	tests := []struct {
		name string
		in   []float32
		p    float32
		kept []bool
	}{
		// Ascending: 0.05 (cum 0.05), 0.15 (0.20), 0.3 (0.50), 0.5: remove cum <= 0.25.
		{"tail removed", logs(0.5, 0.3, 0.15, 0.05), 0.75, []bool{true, true, false, false}},
		// Remove cum <= 0.45: 0.3 reaches cum 0.5 and survives.
		{"small p", logs(0.5, 0.3, 0.15, 0.05), 0.55, []bool{true, true, false, false}},
		{"tiny p keeps the best token", logs(0.2, 0.7, 0.1), 0.01, []bool{false, true, false}},
		// Equal probabilities: the lower indices come first in the ascending order and go.
		{"ties cut by index", logs(0.25, 0.25, 0.25, 0.25), 0.5, []bool{false, false, true, true}},
		// exp(-200) is 0 in float32: that token is never sorted, and always goes.
		{"zero probability skipped", []float32{0, -200, -1}, 0.99, []bool{true, false, true}},
		{"p near one keeps all", logs(0.4, 0.35, 0.25), 0.999, []bool{true, true, true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &Sampler{}
			got := s.topP(tt.in, all(tt.in), tt.p)
			for i, keep := range tt.kept {
				if kept := slices.Contains(got, int32(i)); kept != keep {
					t.Errorf("token %d kept=%v, want %v (kept %v)", i, kept, keep, got)
				}
			}
		})
	}
}

func TestSampleFrequencies(t *testing.T) {
	tests := []struct {
		name string
		p    Params
		in   []float32
		want []float64
	}{
		{"temperature 1", Params{Temperature: 1}, logs(0.5, 0.3, 0.2), []float64{0.5, 0.3, 0.2}},
		// Temperature 0.5 squares the probabilities: 0.25, 0.09, 0.04 over 0.38.
		{"temperature 0.5", Params{Temperature: 0.5}, logs(0.5, 0.3, 0.2), []float64{0.25 / 0.38, 0.09 / 0.38, 0.04 / 0.38}},
		{"top-k 2 renormalises", Params{Temperature: 1, TopK: 2}, logs(0.5, 0.3, 0.2), []float64{0.625, 0.375, 0}},
		{"top-p keeps the head", Params{Temperature: 1, TopP: 0.6}, logs(0.5, 0.3, 0.2), []float64{0.625, 0.375, 0}},
	}
	const n = 20000
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := New(tt.p, 7)
			if err != nil {
				t.Fatal(err)
			}
			counts := make([]int, len(tt.in))
			for range n {
				counts[s.Next(tt.in, nil)]++
			}
			for i, w := range tt.want {
				got := float64(counts[i]) / n
				// 4 standard deviations of a binomial proportion at n draws.
				if tol := 4*math.Sqrt(w*(1-w)/n) + 1e-9; math.Abs(got-w) > tol {
					t.Errorf("token %d frequency %.4f, want %.4f ± %.4f", i, got, w, tol)
				}
			}
		})
	}
}

func TestSeedReproducible(t *testing.T) {
	logits := logs(0.2, 0.2, 0.2, 0.2, 0.2)
	run := func(seed uint64) []int32 {
		s, err := New(Params{Temperature: 1}, seed)
		if err != nil {
			t.Fatal(err)
		}
		var out []int32
		for range 32 {
			out = append(out, s.Next(logits, out))
		}
		return out
	}
	a, b, c := run(1), run(1), run(2)
	if !slices.Equal(a, b) {
		t.Errorf("same seed gave %v and %v", a, b)
	}
	if slices.Equal(a, c) {
		t.Errorf("seeds 1 and 2 gave the same 32 tokens %v", a)
	}
}

// TestDegenerateLogits checks what a broken model's logits give when sampling: NaN is
// never drawn, +Inf tokens share all the probability (top-k keeps them as ties), and a row
// with nothing drawable gives the first token.
func TestDegenerateLogits(t *testing.T) {
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	tests := []struct {
		name     string
		p        Params
		in       []float32
		possible []int32 // every token that may come out; each must, over the draws
	}{
		{"NaN never drawn", Params{Temperature: 1}, []float32{nan, 0, nan, 0.5}, []int32{1, 3}},
		{"NaN with top-k and top-p", Params{Temperature: 1, TopK: 2, TopP: 0.9}, []float32{nan, 0, nan, 0.2, 0.1}, []int32{3, 4}},
		{"+Inf tokens share", Params{Temperature: 1}, []float32{1, inf, 3, inf}, []int32{1, 3}},
		{"+Inf ties survive top-k 1", Params{Temperature: 0.5, TopK: 1}, []float32{inf, 2, inf}, []int32{0, 2}},
		{"temperature overflows to +Inf", Params{Temperature: 1e-10}, []float32{3e38, 1, 2e38}, []int32{0, 2}},
		{"all -Inf", Params{Temperature: 1}, []float32{-inf, -inf, -inf}, []int32{0}},
		{"all NaN", Params{Temperature: 1, TopP: 0.5}, []float32{nan, nan}, []int32{0}},
		{"NaN or -Inf", Params{Temperature: 1, TopK: 1}, []float32{-inf, nan}, []int32{0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := New(tt.p, 5)
			if err != nil {
				t.Fatal(err)
			}
			seen := map[int32]bool{}
			for range 200 {
				tok := s.Next(tt.in, nil)
				if !slices.Contains(tt.possible, tok) {
					t.Fatalf("drew token %d, want one of %v", tok, tt.possible)
				}
				seen[tok] = true
			}
			if len(seen) != len(tt.possible) {
				t.Errorf("200 draws gave %v, want each of %v", seen, tt.possible)
			}
		})
	}
}

// TestExpZeroBelow checks the bound topP uses to skip exponentials: float32(exp(d)) is 0 at
// the bound and below, and not at the next float32 above -103.972084.
func TestExpZeroBelow(t *testing.T) {
	e := func(d float32) float32 { return float32(math.Exp(float64(d))) }
	if e(expZeroBelow) != 0 || e(-103.972084) != 0 {
		t.Errorf("exp(%v) = %g, exp(-103.972084) = %g, want 0", float32(expZeroBelow), e(expZeroBelow), e(-103.972084))
	}
	if d := math.Nextafter32(-103.972084, 0); e(d) == 0 {
		t.Errorf("exp(%v) = 0: the bound is not the last float32 that underflows", d)
	}
}

// FuzzNext feeds arbitrary logits and settings: the token must be a valid index, and greedy
// decoding must be the argmax.
func FuzzNext(f *testing.F) {
	f.Add([]byte{1, 2, 3, 4, 200, 9}, 0.0, 0, 1.0, 1.0, uint64(1))
	f.Add([]byte{0, 0, 0, 0}, 0.7, 2, 0.9, 1.3, uint64(2))
	f.Add([]byte{255, 0, 255, 0, 255, 0, 255, 0}, 5.0, 1, 0.01, 0.5, uint64(3))
	f.Fuzz(func(t *testing.T, raw []byte, temp float64, k int, p, pen float64, seed uint64) {
		if len(raw) < 4 {
			return
		}
		logits := make([]float32, len(raw)/4)
		for i := range logits {
			logits[i] = math.Float32frombits(uint32(raw[4*i]) | uint32(raw[4*i+1])<<8 | uint32(raw[4*i+2])<<16 | uint32(raw[4*i+3])<<24)
		}
		s, err := New(Params{Temperature: temp, TopK: k, TopP: p, RepetitionPenalty: pen}, seed)
		if err != nil {
			return
		}
		previous := []int32{0, int32(len(logits) - 1), 99}
		got := s.Next(logits, previous)
		if got < 0 || int(got) >= len(logits) {
			t.Fatalf("token %d outside [0, %d)", got, len(logits))
		}
		if temp == 0 && (pen == 0 || pen == 1) && got != int32(Argmax(logits)) {
			t.Fatalf("greedy gave %d, argmax is %d", got, Argmax(logits))
		}
		// Without a penalty, a finite non-negative logit stays drawable after the temperature,
		// so the token drawn must be a number, not NaN or -Inf.
		if temp > 0 && (pen == 0 || pen == 1) && slices.ContainsFunc(logits, func(v float32) bool { return v >= 0 && v <= math.MaxFloat32 }) {
			if v := logits[got]; v != v || math.IsInf(float64(v), -1) {
				t.Fatalf("drew token %d with logit %v", got, v)
			}
		}
	})
}
