package metal

// SetSplitWork lowers the work after which a command buffer is committed, so that tests
// split small workloads.
func SetSplitWork(b *Backend, flops float64) { b.split = flops }
