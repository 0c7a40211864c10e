package hub

import "github.com/janus-desktop/janus/app"

// DefaultRepo is the model pulled when none is named: app.DefaultRepo, the smallest
// Janus-Pro.
const DefaultRepo = app.DefaultRepo
