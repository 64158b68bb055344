package load

import (
	"fmt"
	"io"
	"os"
	"time"
)

// isTerminal reports whether f is a character device (a terminal), without x/term.
func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// progress draws a progress bar until the returned function is called: bytes read against the
// file size when known, records, rate and rejects, redrawn in place four times a second.
func (l *Loader) progress(name string, counter *countingReader, size int64, ru *run) (stop func()) {
	w := l.cfg.Progress
	if w == nil && !l.cfg.NoProgress && isTerminal(os.Stderr) {
		w = os.Stderr
	}
	if w == nil || l.cfg.NoProgress {
		return func() {}
	}
	start := time.Now()
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				drawProgress(w, name, counter.n.Load(), size, ru, time.Since(start), false)
			case <-done:
				drawProgress(w, name, counter.n.Load(), size, ru, time.Since(start), true)
				return
			}
		}
	}()
	return func() {
		close(done)
		<-finished
	}
}

func drawProgress(w io.Writer, name string, read, size int64, ru *run, elapsed time.Duration, final bool) {
	records := ru.stats.records.Load()
	rate := float64(records) / max(elapsed.Seconds(), 1e-9)
	line := fmt.Sprintf("%s ", name)
	if size > 0 {
		frac := min(float64(read)/float64(size), 1)
		const width = 30
		filled := int(frac * width)
		bar := make([]byte, width)
		for i := range bar {
			switch {
			case i < filled:
				bar[i] = '='
			case i == filled:
				bar[i] = '>'
			default:
				bar[i] = ' '
			}
		}
		line += fmt.Sprintf("[%s] %3.0f%% %s/%s ", bar, frac*100, bytesText(read), bytesText(size))
	} else {
		line += bytesText(read) + " "
	}
	line += fmt.Sprintf("%d records %.0f/s, %d rejected", records, rate, ru.stats.rejected.Load())
	end := ""
	if final {
		end = "\n"
	}
	fmt.Fprintf(w, "\r\033[K%s%s", line, end)
}

func bytesText(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
