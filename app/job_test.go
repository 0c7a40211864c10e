package app_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/janus-desktop/janus/app"
)

func TestJob(t *testing.T) {
	t.Run("progress and result", func(t *testing.T) {
		var seen []int
		j := app.StartJob(context.Background(), func(ctx context.Context, report func(app.Progress)) error {
			for i := 1; i <= 3; i++ {
				report(app.Progress{Done: i, Total: 3})
			}
			return nil
		}, func(p app.Progress) { seen = append(seen, p.Done) })
		if err := j.Wait(); err != nil {
			t.Fatal(err)
		}
		if len(seen) != 3 || seen[2] != 3 {
			t.Errorf("onProgress saw %v, want 1 2 3", seen)
		}
		if p := j.Progress(); p.Done != 3 || p.Fraction() != 1 {
			t.Errorf("Progress() = %+v (fraction %v), want 3 of 3", p, p.Fraction())
		}
	})
	t.Run("cancel", func(t *testing.T) {
		started := make(chan struct{})
		j := app.StartJob(context.Background(), func(ctx context.Context, report func(app.Progress)) error {
			close(started)
			<-ctx.Done()
			return ctx.Err()
		}, nil)
		<-started
		j.Cancel()
		if err := j.Wait(); !errors.Is(err, context.Canceled) {
			t.Errorf("Err() = %v after Cancel, want context.Canceled", err)
		}
		j.Cancel() // cancelling a finished job does nothing
	})
	t.Run("parent context", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		j := app.StartJob(ctx, func(ctx context.Context, report func(app.Progress)) error {
			<-ctx.Done()
			return ctx.Err()
		}, nil)
		cancel()
		if err := j.Wait(); !errors.Is(err, context.Canceled) {
			t.Errorf("Err() = %v, want context.Canceled", err)
		}
	})
	t.Run("panic", func(t *testing.T) {
		j := app.StartJob(context.Background(), func(ctx context.Context, report func(app.Progress)) error {
			var m map[string]int
			m["x"]++ // a bug in a job must not take the window down
			return nil
		}, nil)
		if err := j.Wait(); err == nil || !strings.Contains(err.Error(), "internal error") {
			t.Errorf("Err() = %v, want an internal error", err)
		}
	})
}

func TestProgressFraction(t *testing.T) {
	for _, tc := range []struct {
		p    app.Progress
		want float64
	}{
		{app.Progress{}, 0},
		{app.Progress{Done: 1, Total: 4}, 0.25},
		{app.Progress{Done: 5, Total: 4}, 1},
		{app.Progress{Done: -1, Total: 4}, 0},
	} {
		if got := tc.p.Fraction(); got != tc.want {
			t.Errorf("%+v.Fraction() = %v, want %v", tc.p, got, tc.want)
		}
	}
}
