package metal

// SetSplitWork lowers the work after which a command buffer is committed, so that tests
// split small workloads.
func SetSplitWork(b *Backend, flops float64) { b.split = flops }

// SetSplitDispatches makes b commit its command buffer every n dispatches, so tests can split
// short sequences.
func SetSplitDispatches(b *Backend, n int) { b.splitN = n }
